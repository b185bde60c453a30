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

"""Errors of the workflows, and the advice they share."""

from __future__ import annotations

from collections.abc import Callable

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import identity
from mfa_osc import recovery
from mfa_osc import rules as mfa_rules
from mfa_osc import totp

#: (attempt number, message about the previous attempt or '') -> a
#: passcode, or None when there is no (further) passcode to try.
PasscodeSource = Callable[[int, str], 'str | None']

PASSCODE_ATTEMPTS = 3


class WorkflowError(Exception):
    """A workflow stopped; the message says why and what to do next."""


class NeedsAdministrator(WorkflowError):
    """The signed-in user may not change the MFA rules this needs."""


class PasscodeRefused(WorkflowError):
    """The passcode or recovery code was not accepted."""


class WouldLockOut(WorkflowError):
    """The change would leave rules requiring TOTP and no device."""


#: No such user, device or recovery code: one class, the account model's,
#: whether the account or a workflow finds the thing missing.
NotFound = mfa_account.NotFound


#: What the commands turn into one clear error message.
ERRORS: tuple[type[Exception], ...] = (
    WorkflowError,
    mfa_account.AccountError,
    mfa_client.ClientError,
    mfa_rules.MethodsUnknown,
    totp.InvalidSecret,
    totp.InvalidPasscode,
    identity.InvalidID,
    recovery.InvalidRecoveryCode,
)


def user_flag(client: mfa_client.Keystone, user_id: str) -> str:
    """`` --user ID`` when the command is about someone else, else ''."""
    try:
        me = client.current_user_id()
    except mfa_client.ClientError:
        me = None
    return '' if me == user_id else f' --user {user_id}'


def clock_hint(client: mfa_client.Keystone) -> str:
    return totp.describe_skew(client.clock_skew)


def guard_command(user_id: str, options: mfa_rules.MFAOptions) -> str:
    """The command that puts guard rules on a user without rules: every
    way in but a TOTP code (:func:`mfa_osc.rules.guard_rules`), naming
    only the methods the cloud enables (before Keystone 28 a rule of a
    method it does not enable lets every sign-in in). When those could
    not be read, ``METHOD ...`` stands for them, not a guess."""
    if options.known:
        names = [rule[0] for rule in mfa_rules.guard_rules(options.methods)]
    else:
        names = ['METHOD', '...']
    rules = ' '.join(f'--multi-factor-auth-rule {name}' for name in names)
    return f'openstack user set --enable-multi-factor-auth {rules} {user_id}'
