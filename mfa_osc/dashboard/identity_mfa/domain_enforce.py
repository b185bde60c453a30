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


"""Enforce MFA for a whole domain: ``openstack mfa enforce --all --domain
D`` (and its ``--dry-run``), for the administrators' page.

The run is the command's own workflow
(:func:`mfa_osc.workflows.bulk.enforce_all` with the MFA policies' guard
rules, :func:`mfa_osc.workflows.policy.guard_changes`): the same plan per
user, the same order of changes, the same revocation of older tokens, and
it reads the domain's users and their credentials a page of Keystone's
lists at a time (the requests grow with the pages, never with the users).
What it adds is the summary a page shows: how many users were changed
and how, how many needed nothing, and each one left as is or failed,
with the workflow's own sentence why.
"""

from __future__ import annotations

from collections import Counter
import dataclasses

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc.client import lists
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import policy as policy_flow


@dataclasses.dataclass
class Outcome:
    """What a domain's run did (or, dry, would do)."""

    domain: str
    dry_run: bool
    #: One row per user changed (or to change), as ``enforce --all``.
    rows: list[bulk_flow.BulkRow]
    #: Users of the domain the run looked at and left alone: nothing to
    #: do (MFA enforced already, guard rules on, or no device and no
    #: policy that covers them).
    unchanged: int
    #: Lists Keystone may have cut short (its ``list_limit``).
    truncated: list[str]

    @property
    def changed(self) -> list[bulk_flow.BulkRow]:
        return [r for r in self.rows if not r.failed]

    @property
    def failed(self) -> list[bulk_flow.BulkRow]:
        return [r for r in self.rows if r.failed]

    def counts(self) -> list[tuple[str, int]]:
        """How many changed rows of each action, in a fixed order."""
        counted = Counter(r.action for r in self.changed)
        return sorted(counted.items())


class _Rest:
    """The ``more`` of :func:`bulk_flow.enforce_all`: the MFA policies'
    guard rules, remembering which users the plan left alone (to count
    those who needed nothing)."""

    def __init__(self) -> None:
        self.user_ids: set[str] = set()

    def __call__(
        self,
        client: mfa_client.Keystone,
        accounts: list[mfa_account.Account],
    ) -> list[bulk_flow.Change]:
        self.user_ids = {a.user_id for a in accounts}
        return policy_flow.guard_changes(client, accounts)


def run(
    client: mfa_client.MFAClient, domain: str, *, dry_run: bool
) -> Outcome:
    """``enforce --all --domain DOMAIN`` (``--dry-run``): every user of
    the domain who needs it, one request each; raises the workflow's
    errors (an unknown domain, a refusal) before anything changes."""
    rest = _Rest()
    rows = bulk_flow.enforce_all(client, domain, dry_run=dry_run, more=rest)
    touched = {r.id for r in rows}
    return Outcome(
        domain=domain,
        dry_run=dry_run,
        rows=rows,
        unchanged=len(rest.user_ids - touched),
        truncated=sorted(set(client.truncated)),
    )


#: What each action did, and (dry run) would do, to a count of users.
_DONE = {
    bulk_flow.ACTION_ENFORCE: (
        'MFA enforced for {n} user(s) with a verified device',
        'MFA would be enforced for {n} user(s) with a verified device',
    ),
    bulk_flow.ACTION_GUARD: (
        'guard rules for {n} user(s) without one (a code alone no longer '
        'signs them in, everything else as before)',
        'guard rules would be set for {n} user(s) without one (a code alone '
        'refused, everything else as before)',
    ),
    bulk_flow.ACTION_REPAIR: (
        'the guard rules of an earlier release replaced for {n} user(s)',
        'the guard rules of an earlier release would be replaced for {n} '
        'user(s)',
    ),
    bulk_flow.ACTION_SESSIONS: (
        'the older tokens of {n} user(s) revoked (due from an earlier run)',
        'the older tokens of {n} user(s) would be revoked (due from an '
        'earlier run)',
    ),
}

#: At most this many failed users get a message of their own.
MAX_FAILED_MESSAGES = 20


def summary(outcome: Outcome) -> str:
    """One sentence: what the run did (or would do) and how many users
    needed nothing."""
    parts = [
        _DONE.get(action, ('{n} user(s): ' + action,) * 2)[
            outcome.dry_run
        ].format(n=count)
        for action, count in outcome.counts()
    ]
    failed = len(outcome.failed)
    if failed:
        parts.append(
            f'{failed} user(s) '
            + ('cannot be changed' if outcome.dry_run else 'not changed')
            + ' (below, each with the reason)'
        )
    parts.append(
        f'{outcome.unchanged} user(s) needed no change (MFA already '
        'enforced or guard rules on, or no verified device and no MFA '
        'policy that covers them: they sign in as before)'
    )
    if outcome.dry_run:
        head = f'Dry run for domain {outcome.domain}, nothing was changed: '
    else:
        head = f'Domain {outcome.domain}: '
    return head + '; '.join(parts) + '.'


def failed_sentences(outcome: Outcome) -> list[str]:
    """One sentence per user left as is or failed (the workflow's reason),
    the first :data:`MAX_FAILED_MESSAGES`, then how many more."""
    sentences = []
    for row in outcome.failed[:MAX_FAILED_MESSAGES]:
        text = f'{row.name or row.id} ({row.id}): {row.result}'
        if row.sessions.startswith(enforce_flow.SESSIONS_FAILED):
            text += f'; older tokens: {row.sessions}'
        sentences.append(text.rstrip('.') + '.')
    more = len(outcome.failed) - MAX_FAILED_MESSAGES
    if more > 0:
        sentences.append(
            f'And {more} more user(s) not changed: `openstack mfa enforce '
            f'--all --domain {outcome.domain} --dry-run` lists them all.'
        )
    return sentences


def truncated_sentence(outcome: Outcome) -> str | None:
    """What to say when Keystone may have cut a list short."""
    if not outcome.truncated:
        return None
    return (
        f'Keystone may have cut these lists short: '
        f'{", ".join(outcome.truncated)}; users or credentials past the cut '
        f'are missing: {lists.LIMIT_ADVICE}.'
    )
