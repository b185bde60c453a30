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

"""Before enrolling a device: read the account, check that enrolling can
neither weaken it nor fail, and plan, before any secret is shown or
anything in Keystone changes (:mod:`mfa_osc.workflows.enroll` then
enrolls by the plan).
"""

from __future__ import annotations

import dataclasses

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import errors


@dataclasses.dataclass
class EnrollPlan:
    """What :func:`prepare` found, before any secret is shown."""

    account: mfa_account.Account
    name: str
    can_update: bool
    #: The hand-made credential to adopt, or None for a new device.
    adopt: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: The guard step marked the user's older tokens as due to be revoked.
    marked: bool = False

    @property
    def adopted_secret(self) -> str | None:
        return self.account.totp.get(self.adopt) if self.adopt else None


def _device_name(
    account: mfa_account.Account, name: str | None, flag: str
) -> str:
    names = {d.get('name') for d in account.verified.values()}
    if name is None:
        number = 1
        while f'device-{number}' in names:
            number += 1
        return f'device-{number}'
    if len(name) > 64 or not name.strip():
        raise errors.WorkflowError(
            'A device name must be 1 to 64 characters; choose another with '
            '--name.'
        )
    if name in names and account.state() == mfa_rules.STATE_NOT_ENFORCED:
        raise errors.WorkflowError(
            f'Device {name!r} is already verified but MFA is not enforced '
            '(an earlier run was interrupted, or this account may not set '
            f'its own rules): run `openstack mfa enforce{flag}`, or enroll '
            'under another --name.'
        )
    if name in names:
        raise errors.WorkflowError(
            f'This user already has a device named {name!r}; choose another '
            'name with --name, or remove that device first with `openstack '
            f'mfa remove{flag} --device {name}`.'
        )
    return name


def prepare(
    client: mfa_client.Keystone,
    user: mfa_client.User,
    *,
    name: str | None,
    allow_weaker: bool = False,
    adopt: str | None = None,
) -> EnrollPlan:
    """Read, check and plan, before any secret is shown or anything changes.

    Raises when enrolling could weaken the account or cannot work.
    """
    account = mfa_account.load_account(client, user)
    user_id = account.user_id
    flag = errors.user_flag(client, user_id)
    who = user.name or user_id
    if not user.enabled:
        raise errors.WorkflowError(
            f'User {who} is disabled, so Keystone refuses every sign-in and '
            'every code: enable the user first (`openstack user set '
            f'--enable {user_id}`). Nothing was changed.'
        )
    # NOTE: only for another user: one's own domain is enabled, or one
    # could not have signed in.
    if (
        user.domain_id
        and flag
        and client.domain_enabled(user.domain_id) is False
    ):
        raise errors.WorkflowError(
            f'The domain {user.domain_id} of user {who} is disabled, so '
            'Keystone refuses every sign-in and every code in it: enable it '
            f'first (`openstack domain set --enable {user.domain_id}`). '
            'Nothing was changed.'
        )
    if 'totp' not in account.options.methods:
        raise errors.WorkflowError(
            "This cloud's Keystone does not enable the totp method (it "
            f'enables {", ".join(sorted(account.options.methods))}), so no '
            'code could be checked and rules naming totp are ignored. The '
            'operator adds totp to [auth] methods in keystone.conf. Nothing '
            'was changed.'
        )
    if adopt is not None:
        if adopt not in account.hand_made and adopt not in account.pending:
            raise errors.NotFound(
                f'{adopt!r} is not a TOTP credential of {who} that mfa-osc '
                'does not know yet; `openstack mfa status'
                f'{flag}` lists hand-made devices.'
            )
    plan = EnrollPlan(account, _device_name(account, name, flag), False, adopt)
    if adopt is None and account.hand_made:
        plan.warnings.append(
            f'{who} already has a hand-made TOTP credential '
            f'({", ".join(account.hand_made)}), which is kept. To make it a '
            'named, verified device instead of adding a new one, run '
            f'`openstack mfa enroll{flag} --adopt {account.hand_made[0]}` (a '
            'code from it is checked).'
        )
    plan.can_update = client.can_update_user(account.user)
    if plan.can_update:
        # NOTE: enrolling writes rules (the guard, then the rules that
        # require the code), by the methods the cloud enables: refused
        # before any secret is shown when those could not be read.
        account.options.write_methods()
    if not plan.can_update and not account.options.totp_alone_refused:
        if not allow_weaker:
            command = errors.guard_command(user_id, account.options)
            raise errors.NeedsAdministrator(
                'This account may not set its own MFA rules (Keystone policy '
                'identity:update_user), and a TOTP device without rules '
                'would let the code alone sign in, without the password: '
                'nothing was changed. Ask an administrator to enroll you '
                f'(`openstack mfa enroll --user {user_id}`, handing you the '
                'QR code), or to allow self-enrollment by setting guard '
                f'rules first (`{command}`), then run this command again.'
            )
        plan.warnings.append(
            'WARNING: --allow-weaker: this account has no MFA rules and may '
            'not set them, so until an administrator runs `openstack mfa '
            f'enforce --user {user_id}` the TOTP code ALONE, without the '
            'password, signs in to this account.'
        )
    return plan
