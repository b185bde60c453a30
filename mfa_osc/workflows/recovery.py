"""Recovery codes: make a new set, the old ones stop working."""

from __future__ import annotations

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc.workflows import errors


def make_codes(
    client: mfa_client.Keystone, account: mfa_account.Account, count: int
) -> list[str]:
    """Create ``count`` recovery-code credentials; the codes, formatted.

    Records their ids in ``account.book`` (the caller writes it).
    """
    shown: list[str] = []
    new_ids: list[str] = []
    for _ in range(count):
        code = recovery.new_code()
        cred = client.create_credential(
            account.user_id, mfa_client.TOTP_TYPE, recovery.secret(code)
        )
        account.totp[cred.id] = recovery.secret(code)
        new_ids.append(cred.id)
        shown.append(recovery.display(code))
    account.book.recovery_codes = new_ids
    return shown


def regenerate(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    *,
    count: int = recovery.DEFAULT_COUNT,
    used_recovery: str | None = None,
) -> list[str]:
    """New codes first, then the bookkeeping, then delete the old ones."""
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
    old = list(account.recovery_ids)
    if used_recovery and used_recovery not in old:
        old.append(used_recovery)
    shown = make_codes(client, account, count)
    account.book.devices = account.verified
    mfa_account.write_book(client, account)
    for cred_id in old:
        # NOTE: only credentials that were recovery codes, never a device,
        # whatever the bookkeeping says.
        if cred_id in account.totp and cred_id not in account.book.devices:
            client.delete_credential(cred_id)
            account.totp.pop(cred_id, None)
    return shown
