# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.


"""A value carried from one request to the next, sealed in the page.

Enrolling takes two requests: the first shows the new secret (QR code),
the second takes the code the app shows and enrolls. Nothing changes in
Keystone before the second one, so the new secret must wait somewhere in
between. NOTE: not in Django's session: deployments use signed-cookie
sessions (``django.contrib.sessions.backends.signed_cookies``), which are
signed, not encrypted, so the session is readable in the browser and in
anything that logs cookies; not in a URL either (logs, history, Referer).
Not in Django's cache: it would need a cache shared by every Horizon
process, which deployments do not always configure (a local-memory cache
per process sends the second request to a process that never saw the
secret). A hidden form field holding the value encrypted and
authenticated (Fernet: AES-128-CBC and HMAC-SHA256) works with any
session engine and any number of processes, and the secret only travels
to the browser that shows it anyway (as a QR code).

The key is derived (HKDF-SHA256) from Django's ``SECRET_KEY`` and bound
to the user ID, so one user's sealed value does not open for another, and
the token carries its time, so a value older than ``max_age`` seconds is
refused: a page left open does not enroll a device hours later.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography import fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf import hkdf

#: Seconds a sealed value stays valid: enough to install an app and scan.
MAX_AGE = 600


class Expired(Exception):
    """The sealed value is too old, altered, or someone else's."""


def _key(secret_key: str, user_id: str, purpose: str) -> bytes:
    if not secret_key:
        raise ValueError('No SECRET_KEY to seal with.')
    derived = hkdf.HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b'mfa-osc.dashboard.sealed',
        info=f'{purpose}\x00{user_id}'.encode(),
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


def seal(
    value: dict[str, Any], *, secret_key: str, user_id: str, purpose: str
) -> str:
    """``value`` (JSON-able) encrypted for ``user_id`` and ``purpose``."""
    box = fernet.Fernet(_key(secret_key, user_id, purpose))
    return box.encrypt(json.dumps(value).encode()).decode('ascii')


def unseal(
    token: str,
    *,
    secret_key: str,
    user_id: str,
    purpose: str,
    max_age: int = MAX_AGE,
) -> dict[str, Any]:
    """The value :func:`seal` sealed; :exc:`Expired` when it is older than
    ``max_age`` seconds, altered, or sealed for another user or purpose."""
    box = fernet.Fernet(_key(secret_key, user_id, purpose))
    try:
        data = box.decrypt(token.encode('ascii'), ttl=max_age)
        value = json.loads(data)
    except (fernet.InvalidToken, UnicodeError, ValueError) as exc:
        raise Expired(
            f'This page is older than {max_age // 60} minutes or was not '
            'made for you: start again.'
        ) from exc
    if not isinstance(value, dict):
        raise Expired('This page was not made for you; start again.')
    return value
