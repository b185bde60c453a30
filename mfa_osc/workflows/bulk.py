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

"""Enforce MFA for every user who can take it, at any cloud size.

For each user, from the same complete lists the audit reads:

* a verified device, and rules that do not require it (``enrolled, not
  enforced``, or ``code alone signs in``): the rules that require TOTP,
  keeping application credentials as the account allows them today
  unless told otherwise;
* a ``totp`` credential that lets the code alone sign in, and no verified
  device: guard rules (the code alone is refused, every other way in
  works as before: :meth:`mfa_osc.rules.MFAOptions.guard`);
* the guard rules of an earlier release (which refused federated,
  ``external`` and ``oauth1`` sign-ins): today's;
* a revocation of older tokens still due from an earlier run (the user
  record's :data:`~mfa_osc.client.records.REVOKE_KEY`): the revocation;
* anyone else: nothing. A user without a verified device is never made to
  need a code.

Each user is changed in one request, so an interrupted run leaves every
user either as before or done, and a second run finishes the rest. Once
a user's rules are tightened, their older tokens are revoked (a second
request, unless ``keep_sessions``) and the mark the first request set is
cleared (a third); the signed-in user's own come last, as revoking them
ends the run's session. A user whose credentials Keystone cannot list
whole is reported, and the others are done.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses

from mfa_osc import account as mfa_account
from mfa_osc import all_accounts
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import enforce as enforce_flow

ACTION_ENFORCE = 'enforce'
ACTION_GUARD = 'guard rules'
ACTION_LEFT = 'left as is'
#: Guard rules of an earlier release replaced by today's (no tightening).
ACTION_REPAIR = 'repair guard rules'
#: Guard rules lifted from a user with no TOTP credential (policy unset).
ACTION_LIFT = 'lift guard rules'
#: Rules as they are; only the revocation an earlier run could not do.
ACTION_SESSIONS = 'end sessions (due)'

#: The actions that write MFA rules (by the cloud's enabled methods).
WRITES_RULES = frozenset({ACTION_ENFORCE, ACTION_GUARD, ACTION_REPAIR})

RESULT_DONE = 'done'
RESULT_PLANNED = 'planned (dry run)'

#: (done, total) after each user, for a progress display.
Progress = Callable[[int, int], None]

#: One change: the account, the action and the rules it gets.
Change = tuple[mfa_account.Account, str, mfa_rules.Rules]

#: More changes for the accounts :func:`plan` leaves alone (the MFA
#: policies' guard rules, :func:`mfa_osc.workflows.policy.guard_changes`).
MoreChanges = Callable[
    [mfa_client.Keystone, list[mfa_account.Account]], list[Change]
]


@dataclasses.dataclass
class BulkRow:
    id: str
    name: str | None
    domain_id: str | None
    state: str
    action: str
    rules: mfa_rules.Rules
    result: str
    #: What became of the user's older tokens (``enforce.SESSIONS_*``).
    sessions: str = enforce_flow.SESSIONS_UNTOUCHED

    @property
    def failed(self) -> bool:
        return self.result not in (
            RESULT_DONE,
            RESULT_PLANNED,
        ) or self.sessions.startswith(enforce_flow.SESSIONS_FAILED)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`apply`; ``rows`` are the users done so far."""

    def __init__(self, rows: list[BulkRow]) -> None:
        super().__init__()
        self.rows = rows


def plan(
    account: mfa_account.Account, application_credentials: bool | None
) -> tuple[str, mfa_rules.Rules] | None:
    """What to do with one account, or None for nothing."""
    state = account.state()
    if account.verified and state in (
        mfa_rules.STATE_NOT_ENFORCED,
        mfa_rules.STATE_CODE_ALONE,
    ):
        rules = enforce_flow.plan_rules(account, application_credentials)
        return ACTION_ENFORCE, rules
    if state == mfa_rules.STATE_CODE_ALONE:
        guard = account.options.guard()
        if guard is None:
            # NOTE: the code alone is the only way in ([["totp"]]): left
            # as it is, and reported as not done.
            return ACTION_LEFT, account.options.rules
        return ACTION_GUARD, guard
    return upkeep(account)


def upkeep(
    account: mfa_account.Account,
) -> tuple[str, mfa_rules.Rules] | None:
    """What every bulk run does besides its own changes: replace the guard
    rules of an earlier release, and do the revocations still due."""
    options = account.options
    if options.legacy_guard:
        guard = options.guard() or mfa_rules.guard_rules(options.methods)
        return ACTION_REPAIR, guard
    if account.user.revoke_due:
        return ACTION_SESSIONS, list(options.rules)
    return None


def tightens(account: mfa_account.Account, action: str) -> bool:
    """Whether the change refuses a sign-in that worked before (then the
    user's older tokens are revoked after it)."""
    return action == ACTION_ENFORCE or (
        action == ACTION_GUARD
        and account.state() == mfa_rules.STATE_CODE_ALONE
    )


def enforce_all(
    client: mfa_client.Keystone,
    domain: str | None = None,
    *,
    application_credentials: bool | None = None,
    dry_run: bool = False,
    keep_sessions: bool = False,
    progress: Progress | None = None,
    more: MoreChanges | None = None,
) -> list[BulkRow]:
    """Enforce (or guard) every user who needs it; one row per change.

    ``more`` adds changes for the users :func:`plan` leaves alone (guard
    rules for those a domain's MFA policy covers, added since). A user
    whose credentials Keystone cannot list whole gets a failed row, and
    the others are done.
    """
    domain_id = client.find_domain_id(domain) if domain else None
    accounts, unread = all_accounts.load_all_readable(client, domain_id)
    todo: list[Change] = []
    rest = []
    for account in accounts:
        planned = plan(account, application_credentials)
        if planned is not None and planned[0] != ACTION_SESSIONS:
            todo.append((account, *planned))
        else:
            rest.append(account)
    if more is not None and rest:
        todo += more(client, rest)
    changed = {a.user_id for a, _, _ in todo}
    todo += [
        (a, ACTION_SESSIONS, list(a.options.rules))
        for a in rest
        if a.user_id not in changed and a.user.revoke_due
    ]
    return unread_rows(unread) + apply(
        client,
        todo,
        dry_run=dry_run,
        keep_sessions=keep_sessions,
        progress=progress,
    )


def unread_rows(unread: list[mfa_client.User]) -> list[BulkRow]:
    """Failed rows of the users whose credentials could not be read."""
    return [
        BulkRow(
            user.id,
            user.name,
            user.domain_id,
            'unknown',
            ACTION_LEFT,
            mfa_rules.parse(user.options.get(mfa_rules.RULES_OPTION)),
            'failed: the user has more credentials than Keystone lists in '
            'one answer ([DEFAULT] max_db_limit, or list_limit on Keystone '
            '25 and older), so the account cannot be judged; nothing was '
            'changed. Delete the credentials they do not use (`openstack '
            f'credential list --user {user.id}`), or raise that limit.',
        )
        for user in unread
    ]


def apply(
    client: mfa_client.Keystone,
    todo: list[Change],
    *,
    dry_run: bool = False,
    keep_sessions: bool = False,
    progress: Progress | None = None,
) -> list[BulkRow]:
    """Set each account's rules in one request, then revoke the older
    tokens of those whose rules were tightened (or whose revocation is
    still due from an earlier run); one row per account.

    The rules that tighten are sent with the revocation mark
    (:func:`mfa_osc.workflows.enforce.tighten`), so a revocation that
    fails or is interrupted is done by the next run. Ctrl-C raises
    :class:`Interrupted` with the rows of the users done so far.
    """
    for account, action, _ in todo:
        if action in WRITES_RULES:
            # NOTE: before any user is changed (dry runs too: their plan
            # would be judged by assumed methods): a check that cannot
            # decide refuses.
            account.options.write_methods()
    me = client.current_user_id()
    todo = sorted(
        todo, key=lambda t: (str(t[0].user.domain_id), str(t[0].user.name))
    )
    rows: list[BulkRow] = []
    mine: BulkRow | None = None
    try:
        for number, (account, action, rules) in enumerate(todo, 1):
            row = _apply_one(
                client, account, action, rules, dry_run, keep_sessions, me
            )
            if row.sessions == enforce_flow.SESSIONS_PLANNED and not dry_run:
                # NOTE: last, as it revokes the token this run signs in
                # with.
                mine = row
            rows.append(row)
            if progress is not None:
                progress(number, len(todo))
    except KeyboardInterrupt:
        raise Interrupted(rows) from None
    if mine is not None:
        mine.sessions = enforce_flow.end_sessions(client, mine.id, marked=True)
    enforce_flow.settle(client)
    return rows


def _apply_one(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    action: str,
    rules: mfa_rules.Rules,
    dry_run: bool,
    keep_sessions: bool,
    me: str,
) -> BulkRow:
    revoke = tightens(account, action)
    due = bool(account.user.revoke_due)
    row = BulkRow(
        account.user_id,
        account.user.name,
        account.user.domain_id,
        account.state(),
        action,
        rules,
        RESULT_PLANNED,
    )
    if action == ACTION_LEFT:
        # NOTE: refusing the code alone could lock the user out, and
        # requiring the password too needs a device whose code was checked.
        row.result = (
            'not changed: the code alone is the only way in; adopt the '
            'hand-made credential: openstack mfa enroll --user '
            f'{account.user_id} --adopt '
            f'{(account.hand_made or ["CREDENTIAL_ID"])[0]}'
        )
        revoke = False
    elif dry_run:
        pass
    elif action == ACTION_SESSIONS:
        row.result = RESULT_DONE
    else:
        try:
            _write(client, account, action, rules, revoke, keep_sessions)
            row.result = RESULT_DONE
        except mfa_client.ClientError as exc:
            row.result = f'failed: {exc}'
            if not due:
                return row
    if revoke or due:
        row.sessions = _sessions(
            client, account.user_id, dry_run, keep_sessions, me
        )
    return row


def _write(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    action: str,
    rules: mfa_rules.Rules,
    revoke: bool,
    keep_sessions: bool,
) -> None:
    """The one request that changes a user's rules for ``action``."""
    if action == ACTION_LIFT:
        client.update_user_options(
            account.user_id,
            {
                mfa_rules.RULES_OPTION: None,
                mfa_rules.ENABLED_OPTION: None,
            },
        )
    elif revoke:
        enforce_flow.tighten(
            client,
            account.user_id,
            rules,
            account.options,
            keep_sessions=keep_sessions,
        )
    else:
        client.update_user_options(
            account.user_id,
            mfa_rules.turned_on(rules, account.options.write_methods()),
        )


def _sessions(
    client: mfa_client.Keystone,
    user_id: str,
    dry_run: bool,
    keep_sessions: bool,
    me: str,
) -> str:
    """What becomes of the older tokens of a user whose rules tightened
    (or whose revocation is due); one's own are revoked last, by
    :func:`apply`."""
    if dry_run or keep_sessions:
        return (
            enforce_flow.SESSIONS_KEPT
            if keep_sessions
            else enforce_flow.SESSIONS_PLANNED
        )
    if user_id == me:
        return enforce_flow.SESSIONS_PLANNED
    return enforce_flow.end_sessions(client, user_id, marked=True)
