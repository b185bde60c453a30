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

"""Recovery codes: make a new set, the old ones stop working."""

from __future__ import annotations

from typing import Protocol

from mfa_osc import account as mfa_account
from mfa_osc import bookkeeping
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc.workflows import errors


class Keeper(Protocol):
    """Where the person keeps new codes (a file), saved before Keystone.

    NOTE: a secret that cannot be saved must not replace anything: the
    codes are saved before any of them is created and before the old ones
    are deleted, so a full disk changes nothing in Keystone.
    """

    def save(self, codes: list[str]) -> None:
        """Keep the formatted codes, wholly, or raise and keep nothing."""

    def void(self) -> None:
        """Undo :meth:`save`: Keystone will not hold the codes saved."""


def new_codes(count: int) -> list[str]:
    """``count`` new codes, not yet in Keystone."""
    return [recovery.new_code() for _ in range(count)]


def fingerprints(codes: list[str]) -> list[str]:
    """What the bookkeeping notes before the codes' credentials exist.

    An interrupted run then leaves credentials that are told apart from
    hand-made devices, and deleted by the next run.
    """
    return [bookkeeping.fingerprint(recovery.secret(c)) for c in codes]


def make_codes(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    codes: list[str],
) -> list[str]:
    """Create the recovery-code credentials of ``codes``; formatted codes.

    Records their ids in ``account.book`` (the caller writes it).
    """
    shown: list[str] = []
    new_ids: list[str] = []
    for code in codes:
        cred = client.create_credential(
            account.user_id, mfa_client.TOTP_TYPE, recovery.secret(code)
        )
        account.totp[cred.id] = recovery.secret(code)
        new_ids.append(cred.id)
        shown.append(recovery.display(code))
    account.book.recovery_codes = new_ids
    return shown


def check(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    count: int = recovery.DEFAULT_COUNT,
) -> None:
    """Refuse, before any proof is asked, what :func:`regenerate` cannot
    do: codes for an account without a verified device (they would
    recover nothing), or a count out of range."""
    if not account.verified:
        flag = errors.user_flag(client, account.user_id)
        extra = ''
        if account.hand_made:
            extra = (
                ' (a hand-made device exists: adopt it with `openstack mfa '
                f'enroll{flag} --adopt {account.hand_made[0]}`)'
            )
        raise errors.WorkflowError(
            'This user has no verified TOTP device, so recovery codes would '
            f'recover nothing{extra}; enroll a device first with `openstack '
            f'mfa enroll{flag}`.'
        )
    if count < 1 or count > recovery.MAX_COUNT:
        raise errors.WorkflowError(
            f'Ask for between 1 and {recovery.MAX_COUNT} recovery codes '
            '(--count).'
        )


def regenerate(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    *,
    count: int = recovery.DEFAULT_COUNT,
    used_recovery: str | None = None,
    keep: Keeper | None = None,
) -> list[str]:
    """New codes first, then the bookkeeping, then delete the old ones.

    ``keep`` saves the codes before anything in Keystone changes; it is
    voided when the run ends before the codes are the account's (the old
    codes then still work).
    """
    check(client, account, count)
    old = list(account.recovery_ids)
    if used_recovery and used_recovery not in old:
        old.append(used_recovery)
    codes = new_codes(count)
    if keep is not None:
        keep.save([recovery.display(c) for c in codes])
    stale = account.leftovers
    try:
        account.book.mark(*fingerprints(codes))
        mfa_account.write_book(client, account)
        shown = make_codes(client, account, codes)
        account.book.devices = account.verified
        old += [c for c in stale if c not in old]
        # NOTE: the old codes stay marked until they are deleted, so that
        # an interruption now leaves leftovers, never "hand-made" devices.
        account.book.pending = [
            bookkeeping.fingerprint(account.totp[c])
            for c in old
            if c in account.totp and c not in account.book.devices
        ]
        mfa_account.write_book(client, account)
    except BaseException:
        # NOTE: until this bookkeeping is written the new codes are
        # leftovers the next run deletes, and the old ones still work.
        if keep is not None:
            keep.void()
        raise
    for cred_id in old:
        # NOTE: only credentials that were recovery codes, never a device,
        # whatever the bookkeeping says.
        if cred_id in account.totp and cred_id not in account.book.devices:
            client.delete_credential(cred_id)
            account.totp.pop(cred_id, None)
    return shown
