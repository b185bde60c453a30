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

"""Where one account stands (``status``), and every account (``audit``).

Both read only. Their records are dataclasses whose field order is the
commands' column order, so the columns come from one definition.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from mfa_osc import account as mfa_account
from mfa_osc import all_accounts
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import errors
from mfa_osc.workflows import policy as policy_flow


@dataclasses.dataclass
class Status:
    user_id: str
    user: str | None
    domain_id: str | None
    state: str
    enforced: bool
    #: Keystone's reading of ``multi_factor_auth_enabled`` (unset is on).
    mfa_enabled: bool
    rules: mfa_rules.Rules
    application_credentials_allowed: bool
    #: ``{"id", "name", "created_at", "origin"}``, verified ones first.
    devices: list[dict[str, Any]]
    recovery_codes_left: int
    unverified_credentials: list[str]
    session_used_totp: bool | None
    clock_skew_seconds: float | None
    warnings: list[str]
    #: mfa-osc's guard refuses the user's TOTP sign-in for now (too many
    #: wrong passcodes): its mark on the user record is in force.
    totp_locked: bool = False
    #: Until when (``YYYY-MM-DDTHH:MM:SSZ``, Keystone's clock); None when
    #: not locked or when the mark does not say.
    totp_locked_until: str | None = None


@dataclasses.dataclass
class AuditRow:
    id: str
    name: str | None
    domain_id: str | None
    devices: int
    recovery_codes_left: int
    unverified: int
    state: str
    admin: bool
    #: A domain's MFA policy covers the user.
    policy: bool = False
    #: The policy's deadline (YYYY-MM-DD), or None (in force at once).
    deadline: str | None = None
    #: Against the policy: ``enrolled and enforced``, ``enrolled, not
    #: enforced``, ``not enrolled, N days left``, ``not enrolled,
    #: overdue``; None when no policy covers the user.
    compliance: str | None = None
    #: As :attr:`Status.totp_locked` (from the list of users: no request
    #: per user).
    totp_locked: bool = False
    #: As :attr:`Status.totp_locked_until`.
    totp_locked_until: str | None = None


def iso_z(moment: datetime.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of an aware datetime, as the guard writes
    it."""
    return moment.astimezone(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def shown_time(moment: datetime.datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC``: a time in a sentence."""
    return moment.astimezone(datetime.UTC).strftime('%Y-%m-%d %H:%M:%S UTC')


def lock_columns(
    lock: mfa_client.TotpLock | None,
) -> tuple[bool, str | None]:
    """The ``totp_locked`` and ``totp_locked_until`` of a lock in force
    (None: not locked)."""
    if lock is None:
        return False, None
    return True, None if lock.until is None else iso_z(lock.until)


def lock_warning(
    account: mfa_account.Account, lock: mfa_client.TotpLock
) -> str:
    """The warning of a locked TOTP sign-in, naming the command that
    ends it."""
    when = (
        f"until {shown_time(lock.until)} (Keystone's clock): even the "
        'right code is refused until then'
        if lock.until is not None
        else 'and its mark on the user record does not say until when: '
        'even the right code is refused while it lasts'
    )
    return (
        f'TOTP sign-in is locked after too many wrong passcodes, {when}; '
        'an administrator ends the lock with `openstack mfa unlock --user '
        f'{account.user_id}`.'
    )


def columns(record: type[Any]) -> tuple[str, ...]:
    """The column names of a record type, in order."""
    return tuple(f.name for f in dataclasses.fields(record))


def values(record: Any) -> list[Any]:
    return [getattr(record, name) for name in columns(type(record))]


def _locked_out(account: mfa_account.Account) -> str:
    """Why nobody can sign in, and the command that repairs it.

    NOTE: three different causes share the state: rules that refuse a
    federated account's own protocol (it has no password), rules that
    require a code with no TOTP credential, and rules that refuse the
    password and a code together.
    """
    options = account.options
    user_id = account.user_id
    rules = mfa_rules.text(options.rules)
    refused = sorted(m for m in options.own if not options.signs_in(m))
    if refused:
        ways = ', '.join(refused)
        said = (
            f'The MFA rules ({rules}) refuse {ways}, the way this federated '
            'account signs in (it has no password): nobody can sign in to '
            'it.'
        )
        if options.legacy_guard and not account.verified:
            return (
                f'{said} They are the guard rules of an earlier mfa-osc '
                'release: an administrator runs `openstack mfa enforce '
                f'--user {user_id}`, which replaces them with guard rules '
                f'that let {ways} in.'
            )
        if not options.password_alone_ok:
            return (
                f'{said} An administrator runs `openstack mfa remove --user '
                f'{user_id} --all` to reset it (its TOTP credentials are '
                'deleted and the rules from before enrolling come back, or '
                'none).'
            )
        wanted = [list(r) for r in options.rules] + [[m] for m in refused]
        flags = ' '.join(
            f'--multi-factor-auth-rule {",".join(r)}' for r in wanted
        )
        return (
            f'{said} An administrator lets it in again, keeping the other '
            f'rules: `openstack user set {flags} {user_id}`.'
        )
    if not account.usable:
        return (
            f'The MFA rules ({rules}) require a TOTP code but the account '
            'has no TOTP credential Keystone can use: nobody can sign in '
            'with a password. An administrator runs `openstack mfa remove '
            f'--user {user_id} --all` to reset it.'
        )
    return (
        f'The MFA rules ({rules}) refuse a password alone and a password '
        'with a TOTP code: nobody can sign in with a password. An '
        f'administrator runs `openstack mfa remove --user {user_id} --all` '
        'to reset it (its TOTP credentials are deleted and the rules from '
        'before enrolling come back, or none).'
    )


def _warnings(
    client: mfa_client.Keystone, account: mfa_account.Account
) -> list[str]:
    state = account.state()
    user_id = account.user_id
    flag = errors.user_flag(client, user_id)
    out = _rule_warnings(account, state, flag)
    out += _credential_warnings(account, flag)
    if state == mfa_rules.STATE_NOT_ENFORCED:
        out.append(
            'A device is set up but the MFA rules do not require it yet: '
            f'an administrator runs `openstack mfa enforce --user {user_id}`.'
        )
    if account.verified and not account.recovery_ids:
        out.append(
            'No recovery codes left; make new ones with `openstack mfa '
            f'recovery code create{flag}`.'
        )
    skew = client.clock_skew
    if skew is not None and abs(skew) > totp.CLOCK_SKEW_WARNING:
        out.append(errors.clock_hint(client).strip())
    if client.enabled_methods() is None:
        out.append(
            'Keystone did not say which auth methods it enables, so the '
            'rules are judged as if totp were enabled; check with a real '
            'sign-in (`openstack token issue --os-auth-type v3multifactor`).'
        )
    return out


def _rule_warnings(
    account: mfa_account.Account, state: str, flag: str
) -> list[str]:
    """What the account's MFA rules let in, or keep out, that they should
    not, and what Keystone ignores of them."""
    options = account.options
    out: list[str] = []
    if state == mfa_rules.STATE_CODE_ALONE and not options.totp_alone_refused:
        out.append(
            'The account has a TOTP credential but no MFA rules that refuse '
            'it alone: the 6-digit code ALONE, without the password, signs '
            f'in. Run `openstack mfa enforce{flag}` (guard rules, or the '
            'full rules once a device is verified; an administrator may '
            'need to run it), or remove the credentials with `openstack mfa '
            f'remove{flag} --all`.'
        )
    if state == mfa_rules.STATE_LOCKED_OUT:
        out.append(_locked_out(account))
    if options.void_rules:
        # NOTE: the release is not read (no cheap API says it): judged as
        # the weaker of the two readings.
        out.append(
            f'The MFA rule(s) {mfa_rules.text(options.void_rules)} name only '
            'methods this cloud does not enable: Keystone 28 and newer '
            'ignore them, but before 28 each lets EVERY sign-in in, the '
            'code alone and the password alone included, so the account is '
            'not reported enforced. Run `openstack mfa enforce'
            f'{flag}` (an administrator may need to), which drops them.'
        )
    if options.ignored:
        out.append(
            'Keystone ignores these methods of the rules, as this cloud '
            'does not enable them: '
            f'{mfa_rules.text(options.ignored)}; rules are judged without '
            'them.'
            if options.enabled
            else 'multi_factor_auth_enabled is false: Keystone ignores the '
            f'rules {mfa_rules.text(options.rules)}.'
        )
    return out


def _credential_warnings(account: mfa_account.Account, flag: str) -> list[str]:
    """Credentials mfa-osc did not verify, cannot use, or no longer finds."""
    out: list[str] = []
    if account.hand_made:
        out.append(
            f'{len(account.hand_made)} TOTP credential(s) were not made by '
            'mfa-osc (hand-made, or from an older run); a code from them '
            'may be how this user signs in, so they are kept. Adopt one as '
            f'a verified device with `openstack mfa enroll{flag} --adopt '
            'ID` (a code from it is checked).'
        )
    if account.unusable:
        out.append(
            f'{len(account.unusable)} TOTP credential(s) hold a secret '
            'Keystone cannot use (not upper-case base32 of at least 128 '
            'bits): no code from them signs in. Remove them with '
            f'`openstack mfa remove{flag} --device ID`.'
        )
    if account.pending:
        out.append(
            f'{len(account.pending)} unverified TOTP credential(s) were '
            'left by an interrupted enrollment; the next `openstack mfa '
            f'enroll{flag}` deletes them.'
        )
    if account.stale:
        out.append(
            'The bookkeeping names credentials that no longer exist; '
            f'`openstack mfa recovery code create{flag}` repairs it.'
        )
    return out


def status(
    client: mfa_client.Keystone, user: mfa_client.User, *, is_self: bool
) -> Status:
    """Where one account stands, with warnings (reads only)."""
    account = mfa_account.load_account(client, user)
    options = account.options
    devices = [
        {
            'id': cid,
            'name': info.get('name'),
            'created_at': info.get('created_at'),
            'origin': 'mfa-osc',
        }
        for cid, info in sorted(
            account.verified.items(),
            key=lambda item: item[1].get('created_at', ''),
        )
    ]
    devices += [
        {'id': cid, 'name': None, 'created_at': None, 'origin': 'hand-made'}
        for cid in account.hand_made
    ]
    lock = account.totp_lock(mfa_account.keystone_now(client))
    warnings = _warnings(client, account)
    if lock is not None:
        warnings.insert(0, lock_warning(account, lock))
    locked, until = lock_columns(lock)
    skew = client.clock_skew
    return Status(
        user_id=account.user_id,
        user=user.name,
        domain_id=user.domain_id,
        state=account.state(),
        enforced=account.state() == mfa_rules.STATE_ENFORCED,
        mfa_enabled=options.enabled,
        rules=options.rules,
        application_credentials_allowed=options.app_creds_allowed,
        devices=devices,
        recovery_codes_left=len(account.recovery_ids),
        unverified_credentials=account.pending + account.unusable,
        session_used_totp=(
            'totp' in client.current_methods() if is_self else None
        ),
        clock_skew_seconds=None if skew is None else round(skew, 1),
        warnings=warnings,
        totp_locked=locked,
        totp_locked_until=until,
    )


def admin_ids(client: mfa_client.Keystone) -> set[str]:
    """Users holding the admin role anywhere (effective assignments)."""
    admins: set[str] = set()
    for role_id in client.find_role_ids('admin'):
        for assignment in client.role_assignments(role_id):
            user_ref = assignment.get('user')
            if isinstance(user_ref, dict) and user_ref.get('id'):
                admins.add(str(user_ref['id']))
    return admins


def policies(
    client: mfa_client.Keystone, accounts: list[mfa_account.Account]
) -> dict[str, policy_flow.Policy]:
    """The MFA policy covering each user who has one, by user ID.

    One read per domain among ``accounts`` and one per role a policy
    names: the count grows with domains and roles, not users.
    """
    covering: dict[str, policy_flow.Policy] = {}
    for domain_id in sorted({str(a.user.domain_id) for a in accounts}):
        try:
            policy = policy_flow.read(client, domain_id)
        except (mfa_client.Forbidden, mfa_client.NotFound):
            continue
        if policy is None:
            continue
        mine = [a for a in accounts if a.user.domain_id == domain_id]
        for user_id in policy_flow.covered_ids(client, policy, mine):
            covering[user_id] = policy
    return covering


def compliance(
    account: mfa_account.Account,
    policy: policy_flow.Policy | None,
    today: datetime.date | None = None,
) -> str | None:
    """Where a covered user stands against the policy (None: uncovered).

    In the words of the row's state (:func:`mfa_rules.state`): a device
    is any the person may sign in with, hand-made ones included. NOTE: a
    hand-made device under guard rules was ``enrolled, not enforced`` in
    the state column and ``not enrolled`` here, as only the devices
    mfa-osc verified counted.
    """
    if policy is None:
        return None
    state = account.state()
    if state == mfa_rules.STATE_ENFORCED:
        return policy_flow.COMPLIANT
    if account.devices:
        return policy_flow.NOT_ENFORCED
    left = policy.days_left(today)
    if left > 0:
        plural = 's' if left != 1 else ''
        return f'{policy_flow.NOT_ENROLLED}, {left} day{plural} left'
    return policy_flow.OVERDUE


def audit(
    client: mfa_client.Keystone,
    domain: str | None = None,
    today: datetime.date | None = None,
) -> list[AuditRow]:
    """One row per user, from requests that grow per page, not per user.

    Users, every ``totp`` and every ``mfa-osc`` credential (each a page at
    a time), the enabled methods, the admin role and its (effective)
    assignments, and each domain's MFA policy:
    ``ceil(users / page) + ceil(credentials / page) + 4 + domains`` requests
    (one more with a domain name to look up, and two per role a policy
    names). A lock of the guard comes from each user's record in the list
    (:data:`~mfa_osc.client.records.LOCK_KEY`), judged by Keystone's clock
    as the answers' ``Date`` measured it: no request of its own.
    """
    domain_id = client.find_domain_id(domain) if domain else None
    accounts = all_accounts.load_all(client, domain_id)
    rows = audit_rows(client, accounts, admin_ids(client), today)
    rows.sort(key=lambda r: (str(r.domain_id), str(r.name)))
    return rows


def audit_page(
    client: mfa_client.Keystone,
    users: list[mfa_client.User],
    admins: set[str],
    today: datetime.date | None = None,
) -> list[AuditRow]:
    """The audit's rows of ``users`` (one page of Keystone's list), in
    their order: ``ceil(credentials / page) + 1 + domains`` requests,
    whatever the page's size; ``admins`` is :func:`admin_ids`, read once
    for every page."""
    return audit_rows(
        client, all_accounts.load_users(client, users), admins, today
    )


def audit_rows(
    client: mfa_client.Keystone,
    accounts: list[mfa_account.Account],
    admins: set[str],
    today: datetime.date | None = None,
) -> list[AuditRow]:
    """One row per account, in their order (:func:`audit`)."""
    if not accounts:
        return []
    covering = policies(client, accounts)
    now = mfa_account.keystone_now(client)
    rows = []
    for account in accounts:
        policy = covering.get(account.user_id)
        locked, until = lock_columns(account.totp_lock(now))
        rows.append(
            AuditRow(
                id=account.user_id,
                name=account.user.name,
                domain_id=account.user.domain_id,
                devices=len(account.devices),
                recovery_codes_left=len(account.recovery_ids),
                unverified=len(account.pending) + len(account.unusable),
                state=account.state(),
                admin=account.user_id in admins,
                policy=policy is not None,
                deadline=policy.deadline if policy else None,
                compliance=compliance(account, policy, today),
                totp_locked=locked,
                totp_locked_until=until,
            )
        )
    return rows
