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

"""A domain's MFA policy, kept in Keystone: who must use MFA, by when.

The policy is an extra attribute of the domain (``mfa_policy``), set by
an administrator with ``PATCH /v3/domains/{id}``. Every user of the
domain reads it with their own token (``GET /v3/domains/{id}``), and none
can change it. One record per domain, so users created later are covered
without another write, and a policy is one request to set or to read.

Setting a policy puts guard rules (a code alone never signs in; every
other way in, password, application credentials, federated and
``external`` sign-ins, as before) on every covered user whose rules
would let a code alone in, with the machinery of ``enforce --all``: one
request per user, complete at any size, so that the users' own
enrollment is never weaker than before. Removing it lifts them from the
users who have no TOTP credential.
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
import datetime
from typing import Any

from mfa_osc import account as mfa_account
from mfa_osc import all_accounts
from mfa_osc import client as mfa_client
from mfa_osc import policy_record
from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import bulk
from mfa_osc.workflows import errors

#: The domain's extra attribute that holds the policy.
#: Where the policy is kept: :mod:`mfa_osc.policy_record`, read by the
#: sign-in plugin too.
POLICY_KEY = policy_record.KEY

COMPLIANT = 'enrolled and enforced'
NOT_ENFORCED = 'enrolled, not enforced'
NOT_ENROLLED = 'not enrolled'
OVERDUE = 'not enrolled, overdue'


@dataclasses.dataclass
class Policy:
    """What ``policy show`` shows; dates are ISO 8601 (YYYY-MM-DD)."""

    domain_id: str
    required: bool
    deadline: str | None
    roles: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            'required': self.required,
            'deadline': self.deadline,
            'roles': list(self.roles),
        }

    @classmethod
    def from_json(cls, domain_id: str, value: object) -> Policy | None:
        """The policy of a domain record's attribute; None when unset."""
        record = policy_record.parse(value)
        if record is None:
            return None
        deadline = record.stored_deadline
        return cls(
            domain_id,
            True,
            parse_date(deadline) if deadline is not None else None,
            list(record.roles),
        )

    def days_left(self, today: datetime.date | None = None) -> int:
        """Days until the deadline (0 or less: past; no deadline: 0)."""
        if self.deadline is None:
            return 0
        today = today or datetime.datetime.now(datetime.UTC).date()
        return (datetime.date.fromisoformat(self.deadline) - today).days


def parse_date(text: str) -> str:
    """A date as YYYY-MM-DD, or a WorkflowError saying so."""
    try:
        return datetime.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise errors.WorkflowError(
            f'{text!r} is not a date: give it as YYYY-MM-DD (ISO 8601), '
            'for example 2027-03-31.'
        ) from None


#: ``--deadline now``: the policy is in force at once (as without
#: ``--deadline``), said explicitly.
DEADLINE_NOW = 'now'


def check_deadline(
    text: str | None, today: datetime.date | None = None
) -> str | None:
    """The deadline of ``policy set``: YYYY-MM-DD, or None for at once.

    None (``--deadline`` not given) and ``now`` mean in force at once.
    An empty value (an unset shell variable) and a date already past (a
    typo of the year) would mean the same, silently, and are refused.
    """
    if text is None or text.strip().lower() == DEADLINE_NOW:
        return None
    if not text.strip():
        raise errors.WorkflowError(
            'The deadline is empty (an unset variable?): give a date as '
            'YYYY-MM-DD, or `--deadline now` (or no --deadline) for a '
            'policy in force at once. Nothing was changed.'
        )
    date = parse_date(text)
    today = today or datetime.datetime.now(datetime.UTC).date()
    if datetime.date.fromisoformat(date) < today:
        raise errors.WorkflowError(
            f'The deadline {date} is in the past (today is '
            f'{today.isoformat()}): give a future date, or `--deadline now` '
            'for a policy in force at once. Nothing was changed.'
        )
    return date


def read(client: mfa_client.Keystone, domain_id: str) -> Policy | None:
    return Policy.from_json(
        domain_id, client.get_domain_extra(domain_id, POLICY_KEY)
    )


def show(client: mfa_client.Keystone, domain: str) -> Policy | None:
    """The policy of a domain (name or ID), or None.

    The user's own domain (or their project's) is known from the token:
    a covered user may read their domain but not list domains.
    """
    domain_id = client.token_domain_id(domain) or client.find_domain_id(domain)
    return read(client, domain_id)


def covered_ids(
    client: mfa_client.Keystone,
    policy: Policy,
    accounts: Iterable[mfa_account.Account],
) -> set[str]:
    """Who of ``accounts`` (users of the policy's domain) it covers.

    Without roles, every user of the domain; with roles, those holding
    one of them (effectively, groups included) on the domain or one of
    its projects: one request per role.
    """
    ids = {a.user_id for a in accounts if a.user.domain_id == policy.domain_id}
    if not policy.roles:
        return ids
    holders: set[str] = set()
    for name in policy.roles:
        for role_id in client.find_role_ids(name):
            for item in client.role_assignments(role_id, include_names=True):
                if _scope_domain(item.get('scope')) == policy.domain_id:
                    user = item.get('user')
                    if isinstance(user, dict) and user.get('id'):
                        holders.add(str(user['id']))
    return ids & holders


def _scope_domain(scope: object) -> str | None:
    if not isinstance(scope, dict):
        return None
    for key in ('domain', 'project'):
        target = scope.get(key)
        if not isinstance(target, dict):
            continue
        if key == 'domain':
            return str(target.get('id')) if target.get('id') else None
        domain = target.get('domain')
        if isinstance(domain, dict) and domain.get('id'):
            return str(domain['id'])
    return None


def needs_guard(account: mfa_account.Account) -> bool:
    """A covered user whose rules would let a TOTP code alone sign in
    (none, the flag off, or ``[["totp"], ["password"]]``): guard rules make
    their own enrollment safe, and keep them able to sign in past the
    deadline."""
    return (
        not account.options.totp_alone_refused
        and account.state()
        in (mfa_rules.STATE_NOT_ENROLLED, mfa_rules.STATE_CODE_ALONE)
        and account.options.guard() is not None
    )


def _guard(account: mfa_account.Account) -> bulk.Change:
    return (account, bulk.ACTION_GUARD, account.options.guard() or [])


def guard_changes(
    client: mfa_client.Keystone, accounts: list[mfa_account.Account]
) -> list[bulk.Change]:
    """Guard rules for the accounts a policy covers whose rules let a code
    alone in.

    One read per domain among ``accounts`` (a domain the signed-in user
    may not read has no policy for this purpose), and one per role the
    policies name.
    """
    changes: list[bulk.Change] = []
    for domain_id in sorted({str(a.user.domain_id) for a in accounts}):
        try:
            policy = read(client, domain_id)
        except (mfa_client.Forbidden, mfa_client.NotFound):
            continue
        if policy is None:
            continue
        mine = [a for a in accounts if a.user.domain_id == domain_id]
        covered = covered_ids(client, policy, mine)
        changes += [
            _guard(a) for a in mine if a.user_id in covered and needs_guard(a)
        ]
    return changes


def set_policy(
    client: mfa_client.Keystone,
    domain: str,
    *,
    deadline: str | None = None,
    roles: Iterable[str] = (),
    dry_run: bool = False,
    progress: bulk.Progress | None = None,
) -> tuple[Policy, list[bulk.BulkRow]]:
    """Store the policy, then guard every covered user a code alone could
    sign in to.

    The policy is stored first: a run interrupted while guarding leaves
    it in place, and running the command again guards the rest (as
    ``enforce --all --domain`` does). Every user of the domain also gets
    the upkeep of every bulk run (:func:`bulk.upkeep`): guard rules of an
    earlier release replaced, revocations still due done.
    """
    domain_id = client.find_domain_id(domain)
    # NOTE: judged by Keystone's clock (its Date header, just read).
    skew = client.clock_skew or 0.0
    today = (
        datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=skew)
    ).date()
    when = check_deadline(deadline, today)
    names = sorted(set(roles))
    for name in names:
        if not client.find_role_ids(name):
            raise errors.WorkflowError(
                f'No role named {name!r}; check `openstack role list`. '
                'Nothing was changed.'
            )
    policy = Policy(domain_id, True, when, names)
    # NOTE: guard rules name the methods the cloud enables: refused before
    # the policy is stored when Keystone does not say them.
    if client.enabled_methods() is None:
        raise mfa_rules.MethodsUnknown()
    if not dry_run:
        client.set_domain_extra(domain_id, POLICY_KEY, policy.to_json())
    accounts, unread = all_accounts.load_all_readable(client, domain_id)
    covered = covered_ids(client, policy, accounts)
    todo: list[bulk.Change] = []
    for account in accounts:
        if account.user_id in covered and needs_guard(account):
            todo.append(_guard(account))
            continue
        planned = bulk.upkeep(account)
        if planned is not None:
            todo.append((account, *planned))
    rows = bulk.unread_rows(unread) + bulk.apply(
        client,
        todo,
        dry_run=dry_run,
        keep_sessions=False,
        progress=progress,
    )
    return policy, rows


def covers_signed_in_user(client: mfa_client.Keystone, policy: Policy) -> bool:
    """Whether ``policy`` covers the user running the command, whose MFA
    is not enforced yet (past the deadline they need a code too)."""
    me = client.get_user(client.current_user_id())
    if me.domain_id != policy.domain_id:
        return False
    account = mfa_account.load_account(client, me)
    if account.state() == mfa_rules.STATE_ENFORCED:
        return False
    return account.user_id in covered_ids(client, policy, [account])


def unset(
    client: mfa_client.Keystone,
    domain: str,
    *,
    progress: bulk.Progress | None = None,
) -> tuple[str, list[bulk.BulkRow]]:
    """Remove a domain's policy, and lift the guard rules it needs no more.

    Guard rules (of this release or an earlier one) come off the users of
    the domain who have no TOTP credential: no code can sign in to them,
    so the rules guard nothing, and those of an earlier release refused
    federated sign-ins. A user with a TOTP credential keeps them (without,
    the code alone would sign in), today's in place of an earlier
    release's. Other rules stay as they are.
    """
    domain_id = client.find_domain_id(domain)
    client.set_domain_extra(domain_id, POLICY_KEY, None)
    accounts, unread = all_accounts.load_all_readable(client, domain_id)
    todo: list[bulk.Change] = []
    for account in accounts:
        options = account.options
        if (
            not account.totp
            and options.enabled
            and mfa_rules.is_guard(options.rules)
        ):
            todo.append((account, bulk.ACTION_LIFT, []))
            continue
        planned = bulk.upkeep(account)
        if planned is not None:
            todo.append((account, *planned))
    rows = bulk.unread_rows(unread) + bulk.apply(
        client, todo, progress=progress
    )
    return domain_id, rows
