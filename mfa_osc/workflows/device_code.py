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

"""A new device's code: checked against its secret here, before Keystone
is asked, and, when Keystone refuses a code that is right here, why.
"""

from __future__ import annotations

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.workflows import errors

NOT_THIS_CODE = (
    'That passcode is not the current code of this secret; enter the 6 '
    'digits the authenticator app shows now.'
)


def local_code(
    secret: str, passcodes: errors.PasscodeSource, first_hint: str = ''
) -> tuple[str | None, int, str]:
    """A code of ``secret`` from ``passcodes``: (code, attempts, hint)."""
    hint = first_hint
    for attempt in range(errors.PASSCODE_ATTEMPTS):
        raw = passcodes(attempt, hint)
        if raw is None:
            return None, attempt, hint
        redact.register(raw)
        try:
            code = totp.normalize_passcode(raw)
        except totp.InvalidPasscode as exc:
            hint = str(exc)
            continue
        if totp.window_offset(secret, code) is None:
            hint = NOT_THIS_CODE
            continue
        return code, attempt + 1, ''
    return None, errors.PASSCODE_ATTEMPTS, hint


def why_refused(
    client: mfa_client.Keystone, user: mfa_client.User, offset: int
) -> tuple[str, bool]:
    """Why Keystone refused a code that is right here: (hint, final)."""
    if user.domain_id and client.domain_enabled(user.domain_id) is False:
        return (
            f'Keystone refused the code because the domain {user.domain_id} '
            'of this user is disabled (no one in it can sign in): enable it '
            f'first (`openstack domain set --enable {user.domain_id}`).',
            True,
        )
    if offset != 0:
        way = 'ahead of' if offset > 0 else 'behind'
        return (
            f'That passcode is the code of about {abs(offset) * 30} seconds '
            f"{way} this machine's clock: the phone's clock or this "
            "machine's is off; set both to network time and try again."
            + errors.clock_hint(client),
            False,
        )
    return (
        "Keystone refused a passcode that is right by this machine's "
        "clock: Keystone's clock or this machine's is off."
        + (errors.clock_hint(client) or ' Check both against network time.'),
        False,
    )


def shifted(
    passcodes: errors.PasscodeSource, by: int
) -> errors.PasscodeSource:
    def source(attempt: int, hint: str) -> str | None:
        return passcodes(by + attempt, hint)

    return source
