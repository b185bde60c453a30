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

"""Recovery codes: make, format, read, and derive the secret they stand for.

Pure functions, no requests. A recovery code is 80 random bits shown as
``XXXX-XXXX-XXXX-XXXX``. It stands for one ``totp`` credential whose
secret is derived from the code (:func:`secret`): Keystone's
``cryptography`` refuses TOTP keys under 128 bits, and a code that long is
tiresome to type, so the code itself is never stored. Signing in with it
means the password plus the passcode of that secret, then deleting that
credential, so that a used code never works twice.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from collections.abc import Mapping
import hashlib
import hmac
import re
import secrets

from mfa_osc import redact
from mfa_osc import totp

DEFAULT_COUNT = 8
MAX_COUNT = 32
CODE_BYTES = 10  # 80 bits: 16 base32 characters
CODE_LENGTH = 16

_JUNK = re.compile(r'[\s\-]+')


class InvalidRecoveryCode(ValueError):
    """What was given is not a recovery code."""


def new_code() -> str:
    """A new 80-bit recovery code: 16 base32 characters."""
    raw = secrets.token_bytes(CODE_BYTES)
    code = base64.b32encode(raw).decode('ascii')
    redact.register(code, display(code))
    return code


def display(code: str) -> str:
    """``ABCDEFGHIJKLMNOP`` -> ``ABCD-EFGH-IJKL-MNOP``."""
    return '-'.join(code[i : i + 4] for i in range(0, len(code), 4))


def looks_like(text: str | None) -> bool:
    """Whether ``text`` has a recovery code's length (not a passcode)."""
    return len(_JUNK.sub('', text or '')) == CODE_LENGTH


def normalize(text: str | None) -> str:
    """The bare code from what a person typed, or InvalidRecoveryCode."""
    cleaned = _JUNK.sub('', text or '').upper()
    redact.register(text, cleaned)
    if len(cleaned) != CODE_LENGTH or not re.fullmatch(r'[A-Z2-7]+', cleaned):
        raise InvalidRecoveryCode(
            'That is not a recovery code: recovery codes have 16 letters '
            'and digits, shown as XXXX-XXXX-XXXX-XXXX.'
        )
    return cleaned


def secret(code: str) -> str:
    """The TOTP secret that a (normalised) recovery code stands for."""
    digest = hashlib.sha256(b'mfa-osc recovery code\0' + code.encode())
    value = base64.b32encode(digest.digest()[: totp.SECRET_BYTES]).decode(
        'ascii'
    )
    redact.register(value)
    return value


def passcode(code: str) -> str:
    """The passcode a (normalised) recovery code signs in with now."""
    value = totp.passcode(secret(code))
    redact.register(value)
    return value


def matching(
    code: str, secrets_by_id: Mapping[str, str], exclude: Iterable[str] = ()
) -> list[str]:
    """IDs of the credentials in ``secrets_by_id`` that hold ``code``."""
    wanted = secret(code)
    skip = set(exclude)
    return [
        cred_id
        for cred_id, blob in secrets_by_id.items()
        if cred_id not in skip
        and hmac.compare_digest(blob.encode(), wanted.encode())
    ]
