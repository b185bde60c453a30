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

"""The guard's own answers (to ``POST /v3/auth/tokens``, and to the
requests making a delegation): the contract.

Clients (mfa-osc's ``v3multifactor`` plugin among them) recognise each
refusal by its HTTP status and ``error.mfa_guard.reason``; the message is
one sentence for people. Keystone's error shape (``{"error": {"code",
"title", "message"}}``) is kept, so clients that know only Keystone show
the message as they show Keystone's.

* ``locked``: 429, ``Retry-After`` (whole seconds), ``until`` and
  ``retry_after`` in ``mfa_guard``;
* ``replayed``: 401;
* ``policy``: 403, ``deadline`` (YYYY-MM-DD or null); also the answer
  to a request making a delegation (an EC2 credential, a trust, an
  application credential, an OAuth 1.0a access token) with a token the
  policy refuses;
* ``unavailable``: 503;
* ``too_large``: 400 (a token request bigger than the guard reads).

Every answer to a token request that went through the guard, Keystone's
included, carries :data:`HEADER` (``OpenStack-MFA-Guard: 1``): a client
knows from it that the server enforces the policy.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

#: The header on every answer to a token request the guard handled.
HEADER = ('OpenStack-MFA-Guard', '1')

UNLOCK_COMMAND = 'openstack mfa unlock --user {user}'
ENROLL_COMMAND = 'openstack mfa enroll'


@dataclasses.dataclass(frozen=True)
class Answer:
    """A whole HTTP answer: status line, headers and body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


def iso_z(moment: datetime.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of an aware UTC datetime."""
    return moment.astimezone(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _answer(
    code: int,
    title: str,
    message: str,
    guard: dict[str, Any],
    headers: list[tuple[str, str]] | None = None,
) -> Answer:
    body = json.dumps(
        {
            'error': {
                'code': code,
                'title': title,
                'message': message,
                'mfa_guard': guard,
            }
        }
    ).encode()
    return Answer(
        f'{code} {title}',
        [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(body))),
            *(headers or []),
            HEADER,
        ],
        body,
    )


def locked(user_id: str, until: datetime.datetime, retry_after: int) -> Answer:
    """429: the user's TOTP sign-in is locked until ``until``."""
    when = iso_z(until)
    command = UNLOCK_COMMAND.format(user=user_id)
    return _answer(
        429,
        'Too Many Requests',
        'TOTP sign-in locked after too many wrong passcodes until '
        f'{when.removesuffix("Z")} UTC; an administrator can '
        f'end it with `{command}`.',
        {'reason': 'locked', 'until': when, 'retry_after': retry_after},
        [('Retry-After', str(retry_after))],
    )


def replayed() -> Answer:
    """401: the passcode signed this user in already."""
    return _answer(
        401,
        'Unauthorized',
        'That passcode was used already: wait for the next one.',
        {'reason': 'replayed'},
    )


def policy(deadline: str | None) -> Answer:
    """403: the domain's policy requires a second factor for this token."""
    return _answer(
        403,
        'Forbidden',
        f"Your domain's policy requires MFA since {deadline or 'now'}: sign "
        f'in with your passcode, or set up a device with `{ENROLL_COMMAND}` '
        '(an unscoped sign-in is allowed for it).',
        {'reason': 'policy', 'deadline': deadline},
    )


def delegation_refused(what: str, deadline: str | None) -> Answer:
    """403: the domain's policy refuses a token without a second factor
    making ``what`` (a delegation, which would sign in without one)."""
    return _answer(
        403,
        'Forbidden',
        f"Your domain's policy requires MFA since {deadline or 'now'}: "
        f'making {what} needs a token from a sign-in with your passcode '
        f'(set up a device with `{ENROLL_COMMAND}` first if you have none).',
        {'reason': 'policy', 'deadline': deadline},
    )


def unavailable(what_failed: str) -> Answer:
    """503: the guard cannot decide, so it refuses."""
    return _answer(
        503,
        'Service Unavailable',
        f'The MFA guard cannot check this sign-in ({what_failed}); try '
        'again later.',
        {'reason': 'unavailable'},
    )


def too_large(limit: int) -> Answer:
    """400: a token request bigger than the guard reads."""
    return _answer(
        400,
        'Bad Request',
        f'The token request is larger than {limit} bytes, which the MFA '
        'guard does not read: send a smaller one.',
        {'reason': 'too_large'},
    )
