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

"""What the guard reads of a request: whether Keystone routes it to
``POST /v3/auth/tokens`` or to a request that makes a delegation
(:func:`delegation`), its body (within :data:`MAX_BODY`), and the
``totp`` method's user and passcode. Nothing here is logged or kept: the
passcode leaves this module only as a digest.
"""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import json
import posixpath
import re
from typing import Any

#: The largest token request body read; a bigger one is refused (400).
MAX_BODY = 64 * 1024

TOKEN_PATH = '/v3/auth/tokens'  # noqa: S105 (a path)


CREDENTIALS_PATH = '/v3/credentials'

#: Requests that make a way to sign in, or to act as the user, later and
#: without a passcode, from the token that makes them: method, path (as
#: Keystone routes it) and what the request makes, for people.
#: ``POST /v3/credentials`` makes one only for an EC2 credential
#: (:func:`is_ec2_credential`): ``/v3/ec2tokens`` and ``/v3/s3tokens``
#: sign in with those.
DELEGATIONS = (
    ('POST', re.compile(re.escape(CREDENTIALS_PATH)), 'an EC2 credential'),
    (
        'POST',
        re.compile('/v3/users/[^/]+/credentials/OS-EC2'),
        'an EC2 credential',
    ),
    ('POST', re.compile('/v3/OS-TRUST/trusts'), 'a trust'),
    (
        'POST',
        re.compile('/v3/users/[^/]+/application_credentials'),
        'an application credential',
    ),
    (
        'PUT',
        re.compile('/v3/OS-OAUTH1/authorize/[^/]+'),
        'an OAuth 1.0a access token',
    ),
)


def _method(environ: Mapping[str, Any]) -> str:
    # NOTE: werkzeug upper-cases the method.
    return str(environ.get('REQUEST_METHOD', '')).upper()


def path(environ: Mapping[str, Any]) -> str:
    """The request's path as Keystone routes it: repeated slashes and dot
    segments resolved, and no trailing slash (Keystone's
    URLNormalizingMiddleware strips it)."""
    collapsed = re.sub('/+', '/', str(environ.get('PATH_INFO') or '/'))
    return posixpath.normpath(collapsed)


def is_token_request(environ: Mapping[str, Any]) -> bool:
    """Whether Keystone routes the request to ``POST /v3/auth/tokens``."""
    return _method(environ) == 'POST' and path(environ) == TOKEN_PATH


def delegation(environ: Mapping[str, Any]) -> str | None:
    """What the request would make of :data:`DELEGATIONS`, or None."""
    method, where = _method(environ), path(environ)
    return next(
        (
            what
            for wanted, pattern, what in DELEGATIONS
            if method == wanted and pattern.fullmatch(where)
        ),
        None,
    )


def is_ec2_credential(body: bytes) -> bool:
    """Whether a ``POST /v3/credentials`` body makes an EC2 credential
    (``"type": "ec2"``, which Keystone gives the ID ``/v3/ec2tokens``
    finds it by); an unparsable body makes nothing."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return _dict(_dict(request).get('credential')).get('type') == 'ec2'


def read_body(environ: Mapping[str, Any], limit: int) -> bytes | None:
    """The request body; None when it is larger than ``limit``."""
    stream = environ.get('wsgi.input')
    if stream is None:
        return b''
    try:
        length = int(environ.get('CONTENT_LENGTH') or 0)
    except ValueError:
        length = 0  # NOTE: as werkzeug reads it: no body
    if length > limit:
        return None
    if length > 0:
        return bytes(stream.read(length))
    if environ.get('wsgi.input_terminated'):
        data = bytes(stream.read(limit + 1))
        return None if len(data) > limit else data
    return b''


def totp_user(body: bytes) -> dict[str, Any] | None:
    """The ``totp`` method's user of a TOTP-bearing request, or None for
    any other request (unparsable ones included: Keystone refuses those
    before it checks a passcode)."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError):
        return None
    identity = _dict(_dict(request).get('auth')).get('identity')
    methods = _dict(identity).get('methods')
    if not isinstance(methods, list) or 'totp' not in methods:
        return None
    user = _dict(_dict(identity).get('totp')).get('user')
    return user if isinstance(user, dict) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def passcode_digest(user: Mapping[str, Any]) -> str:
    passcode = user.get('passcode')
    text = passcode if isinstance(passcode, str) else json.dumps(passcode)
    return hashlib.sha256(text.encode()).hexdigest()
