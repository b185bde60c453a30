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


"""Whether a signed-in person must set up a device before anything else:
the set-up at sign-in of a domain's MFA policy, judged as ``openstack``'s
plugin judges it after a sign-in without a code
(:mod:`mfa_osc.auth.policy`), with the person's own token.

A covered person (the policy names no roles, or one they hold on the
sign-in's scope) past the deadline (or with none), who has no device
(verified by mfa-osc or hand-made), is due; one with a device is left
alone (enforcing its rules is an administrator's ``openstack mfa
enforce``), as are people no policy covers and those before the deadline
(they are told the days left).

NOTE: a check that cannot decide refuses: where the person's token
cannot read their domain's policy and they have no device, the set-up is
due, as the plugin offers it then. The server's clock (Keystone's
``Date``) decides the deadline.

No Django here: :mod:`mfa_osc.dashboard.sign_in_setup` calls it for each
new sign-in.
"""

from __future__ import annotations

import dataclasses
import datetime

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import policy_record
from mfa_osc.workflows import errors as workflow_errors

#: Due: the person is sent to Settings -> Multi-factor until set up.
DUE = 'due'
#: Covered, before the deadline: a reminder.
REMINDER = 'reminder'


@dataclasses.dataclass(frozen=True)
class Verdict:
    #: DUE, REMINDER, or None (nothing to do).
    kind: str | None
    #: The sentence the person reads (empty with nothing to do).
    sentence: str = ''


NOTHING = Verdict(None)


def _has_device(client: mfa_client.MFAClient, user: mfa_client.User) -> bool:
    creds = client.list_credentials(user_id=user.id)
    return bool(mfa_account.account_from(user, creds).devices)


def verdict(
    client: mfa_client.MFAClient,
    *,
    user_id: str,
    user_name: str | None,
    domain_id: str,
    role_names: set[str],
) -> Verdict:
    """The set-up verdict of this sign-in (requests: the domain, and the
    person's own credentials only when a policy covers them)."""
    user = mfa_client.User(user_id, user_name, domain_id, True, {})
    try:
        record = policy_record.parse(
            client.get_domain_extra(domain_id, policy_record.KEY)
        )
    except workflow_errors.ERRORS:
        # NOTE: cannot read the policy: a device settles it, else the
        # set-up (a check that cannot decide refuses).
        try:
            if _has_device(client, user):
                return NOTHING
        except workflow_errors.ERRORS:
            pass
        return Verdict(
            DUE,
            'Your domain may require multi-factor sign-in and its policy '
            'could not be read with this sign-in: set up a device to '
            'carry on.',
        )
    if record is None:
        return NOTHING
    if record.roles and not set(record.roles) & role_names:
        return NOTHING
    today = mfa_account.keystone_now(client).date()
    deadline = record.deadline
    try:
        if _has_device(client, user):
            return NOTHING
    except workflow_errors.ERRORS:
        pass  # NOTE: unknown is no device: the set-up reads it again.
    if deadline is not None:
        left = (datetime.date.fromisoformat(deadline) - today).days
        if left > 0:
            plural = 's' if left != 1 else ''
            return Verdict(
                REMINDER,
                'Your domain requires multi-factor sign-in from '
                f'{deadline} ({left} day{plural} left): set up a device '
                'in Settings -> Multi-factor before then.',
            )
    since = f' since {deadline}' if deadline else ''
    return Verdict(
        DUE,
        f'Your domain requires multi-factor sign-in{since}: set up a '
        'device (an authenticator app) to carry on.',
    )
