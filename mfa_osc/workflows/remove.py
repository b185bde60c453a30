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

"""Remove devices; removing the last one turns MFA off safely.

Only what is named is deleted: ``--device`` deletes that credential,
``--all`` every ``totp`` credential of the user. When no device is left,
guard rules go on first (the code alone is refused while credentials are
deleted), then the rules the user had before enrolling come back exactly,
flag included, unless they would require TOTP with no device left (that
would lock the account out): then the rules are removed.

The guard rules of that first step are those of the rules to come back
(:meth:`~mfa_osc.rules.MFAOptions.guard`): every way in they let in but
the code alone, so that an interruption between the steps leaves no way
in shut that the account had before enrolling (a federated, ``external``
or ``oauth1`` sign-in, an application credential), and never a code alone.
"""

from __future__ import annotations

import dataclasses

from mfa_osc import account as mfa_account
from mfa_osc import bookkeeping
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import errors


@dataclasses.dataclass
class RemovalPlan:
    account: mfa_account.Account
    #: Credential ids to delete.
    targets: list[str]
    #: Whether no device is left afterwards (MFA turns off).
    last: bool

    @property
    def labels(self) -> list[str]:
        return [self.account.device_label(t) for t in self.targets]


@dataclasses.dataclass
class RemoveResult:
    user_id: str
    removed: list[str]
    last: bool
    rules: mfa_rules.Rules
    #: ``multi_factor_auth_enabled`` as left: True, False or None (unset).
    flag: bool | None
    #: Devices still there (labels), when it was not the last.
    left: list[str] = dataclasses.field(default_factory=list)
    note: str = ''


def plan(
    client: mfa_client.Keystone,
    user: mfa_client.User,
    *,
    device: str | None,
    all_devices: bool,
) -> RemovalPlan:
    """Which credentials go, and whether it is the last device.

    Raises before anything changes when the signed-in user may not relax
    the rules that removing the last device needs relaxed.
    """
    account = mfa_account.load_account(client, user)
    flag = errors.user_flag(client, account.user_id)
    if all_devices:
        targets = sorted(
            set(account.devices) | set(account.pending) | set(account.unusable)
        )
    elif device:
        try:
            targets = [account.find(device)]
        except mfa_account.NotFound as exc:
            raise errors.NotFound(
                f'{exc} See `openstack mfa status{flag}`.'
            ) from exc
    else:
        raise errors.WorkflowError(
            'Say which device to remove: --device NAME_OR_ID, or --all.'
        )
    options = account.options
    locked_out = account.state() == mfa_rules.STATE_LOCKED_OUT
    leftovers = (
        account.book.credential_id is not None
        or mfa_rules.is_guard(options.rules, options.methods)
        or locked_out
        or bool(account.recovery_ids)
    )
    if not targets and all_devices and leftovers:
        # NOTE: an interrupted removal left bookkeeping or guard rules and
        # no TOTP credential, or the account is locked out: finishing or
        # resetting needs no passcode.
        return RemovalPlan(account, [], True)
    if not targets:
        raise errors.NotFound(
            'This user has no TOTP device to remove (see `openstack mfa '
            f'status{flag}`).'
        )
    last = not (set(account.devices) - set(targets))
    if last and not options.password_alone_ok:
        # NOTE: the rules relaxed while the last device goes are written
        # by the cloud's enabled methods: refused, before anything
        # changes, when those could not be read.
        options.write_methods()
        if not client.can_update_user(account.user):
            raise errors.NeedsAdministrator(
                'This is the last device and the MFA rules require TOTP; '
                'removing it needs the rules relaxed first, which this '
                'account may not do (Keystone policy identity:update_user). '
                'Nothing was changed. Ask an administrator to run '
                f'`openstack mfa remove --user {account.user_id} --all`, '
                'or enroll another device first (`openstack mfa enroll '
                '--name NAME`) and then remove this one.'
            )
    return RemovalPlan(account, targets, last)


def _restore_target(
    account: mfa_account.Account,
) -> tuple[bookkeeping.Before, str]:
    """The MFA options to leave once no device is left, and a note."""
    before = account.book.before
    if before is None:
        before = bookkeeping.Before(
            account.options.flag, account.options.rules
        )
        if mfa_rules.is_guard(before.rules, account.options.methods):
            before = bookkeeping.Before(None, [])
    target = account.options.with_rules(before.rules, before.flag)
    if target.password_alone_ok:
        return before, ''
    return bookkeeping.Before(None, []), (
        f'the rules {mfa_rules.text(before.rules)} require TOTP and no '
        'device is left, so they were removed (keeping them would lock the '
        'account out)'
    )


def _relaxed(
    account: mfa_account.Account, target: bookkeeping.Before
) -> mfa_rules.Rules:
    """The rules while the last device's credentials are deleted.

    Every way in the rules to come back (``target``) let in, the password
    among them (:func:`_restore_target` sees to that), but the code alone:
    the guard of those rules. NOTE: not the guard of the rules in force,
    which require the code and would stay as they are; and not one fixed
    list, which refused federated, ``external`` and ``oauth1`` sign-ins
    (issue 20): an interruption would have left those users locked out.
    """
    options = account.options.with_rules(target.rules, target.flag)
    return options.guard() or mfa_rules.guard_rules(options.methods)


def _remove_some(
    client: mfa_client.Keystone, removal: RemovalPlan
) -> RemoveResult:
    """Delete devices that are not the last: the rules stay as they are."""
    account = removal.account
    book = account.book
    labels = removal.labels  # NOTE: named before the bookkeeping changes.
    for cred_id in removal.targets:
        client.delete_credential(cred_id)
        account.totp.pop(cred_id, None)
    if book.credential_id:
        book.devices = account.verified
        book.recovery_codes = account.recovery_ids
        mfa_account.write_book(client, account)
    return RemoveResult(
        account.user_id,
        labels,
        False,
        account.options.rules,
        account.options.flag,
        left=[account.device_label(c) for c in account.devices],
    )


def _restore(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    target: bookkeeping.Before,
    *,
    relaxed: bool,
    noted: bool,
) -> None:
    """Leave the rules of ``target`` once the last device is gone: where
    this run relaxed them, where guard rules stand, or where the rules
    in force would lock the account out (``noted``)."""
    current = account.options
    wanted = current.with_rules(target.rules, target.flag)
    if relaxed or (
        wanted.stored() != current.stored()
        and (mfa_rules.is_guard(current.rules, current.methods) or noted)
    ):
        try:
            client.update_user_options(account.user_id, wanted.stored())
            account.options = wanted
        except mfa_client.Forbidden:
            # NOTE: guard rules an administrator set stay; they refuse TOTP
            # alone and leave password sign-in as it was.
            pass


def remove(
    client: mfa_client.Keystone,
    removal: RemovalPlan,
    *,
    used_recovery: str | None = None,
) -> RemoveResult:
    """Delete devices; for the last one, relax rules first, then restore."""
    account = removal.account
    user_id = account.user_id
    book = account.book
    labels = removal.labels
    if used_recovery:
        client.delete_credential(used_recovery)
        account.totp.pop(used_recovery, None)
    if not removal.last:
        return _remove_some(client, removal)

    target, note = _restore_target(account)
    relaxed = False
    if not account.options.password_alone_ok:
        guard = _relaxed(account, target)
        client.update_user_options(
            user_id,
            mfa_rules.turned_on(guard, account.options.write_methods()),
        )
        account.options = account.options.with_rules(guard, True)
        relaxed = True
    gone = set(account.recovery_ids) | set(removal.targets)
    gone |= set(account.pending)
    for cred_id in account.recovery_ids:
        client.delete_credential(cred_id)
    for cred_id in sorted(gone - set(account.recovery_ids)):
        client.delete_credential(cred_id)
    for cred_id in gone:
        account.totp.pop(cred_id, None)
    if book.credential_id:
        client.delete_credential(book.credential_id)
    _restore(client, account, target, relaxed=relaxed, noted=bool(note))
    return RemoveResult(
        user_id,
        labels,
        True,
        account.options.rules,
        account.options.flag,
        note=note,
    )
