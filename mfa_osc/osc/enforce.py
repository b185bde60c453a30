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

"""``openstack mfa enforce``: require TOTP for one user, or all who can.

NOTE: one command class for ``mfa enforce --user U`` (one item) and
``mfa enforce --all`` (one row per change), because cliff picks a command
by its words alone: its command manager stops at the first word that
starts with ``-``, so no class of its own can answer ``enforce --all``
without new words on the command line. The class is a ``Lister``, so
``--all`` prints through cliff's own list output (``-f table``, ``csv``,
``json``, ``value``, ``yaml``, ``-c``, ``--sort-column``), and one user's
result, one item, goes through the same formatter's public ``emit_one``
(every list format but csv also shows one item).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from cliff.formatters import base as formatters
from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import account as mfa_account
from mfa_osc.osc import common
from mfa_osc.osc import listing
from mfa_osc.osc import progress
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow

BULK_COLUMNS = status_flow.columns(bulk_flow.BulkRow)


def _keep(args: argparse.Namespace) -> dict[str, bool]:
    # NOTE: passed only when given, so the workflow's default (revoke)
    # stays the one place that decides.
    return {'keep_sessions': True} if args.keep_sessions else {}


class EnforceMFA(command.Lister):
    """Require TOTP for a user who has a verified device, or with --all for
    every such user"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        common.add_application_credential_options(parser)
        common.add_keep_sessions_option(parser)
        common.add_user_options(parser, 'User to enforce MFA for')
        parser.add_argument(
            '--all',
            action='store_true',
            help='Every user who has a verified device (rules that require '
            'it), whose TOTP credential lets the code alone sign in, or '
            "whom a domain's MFA policy covers and who has no rules yet "
            '(guard rules); one row per change (administrators)',
        )
        parser.add_argument(
            '--domain',
            metavar='<domain>',
            help='With --all: only users of this domain (name or ID)',
        )
        parser.add_argument(
            '--dry-run',
            action='store_true',
            help='With --all: show what would change, change nothing',
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Any]:
        args = parsed_args
        if not args.all and not isinstance(
            self.formatter, formatters.SingleFormatter
        ):
            # NOTE: before any change, not after it.
            raise exceptions.CommandError(
                f'-f {args.formatter} prints the rows of --all; for one user '
                'use -f table, json, yaml or value.'
            )
        client = common.mfa(self.app)
        if not args.all and (args.domain or args.dry_run):
            raise exceptions.CommandError(
                '--domain and --dry-run go with --all.'
            )
        if args.all and args.user:
            raise exceptions.CommandError(
                '--all enforces every user who can take it; --user one '
                'user. Give one of them.'
            )
        if args.all:
            return self._all(args)
        with common.command_errors():
            user = mfa_account.resolve_user(
                client, args.user, args.user_domain
            )
            result = enforce_flow.enforce(
                client,
                user,
                application_credentials=args.application_credentials,
                **_keep(args),
            )
        self._sessions_failed = result.sessions_failed
        common.warn_sessions(self.app, result.sessions)
        if result.action == enforce_flow.ACTION_GUARDED:
            self.app.stderr.write(
                'No verified device yet, so MFA is not required; guard rules '
                'are on: the code alone no longer signs in, '
                f'{result.still_signs_in}.\n'
            )
        elif result.action == enforce_flow.ACTION_REPAIRED:
            self.app.stderr.write(
                'The guard rules of an earlier mfa-osc release, which also '
                'refused federated, external and oauth1 sign-ins, were '
                'replaced: only a code alone is refused.\n'
            )
        columns = ('user_id', 'enforced', 'rules', 'action')
        values = (
            result.user_id,
            result.enforced,
            common.RulesColumn(result.rules),
            result.action,
        )
        if result.sessions:
            # NOTE: only when the rules were tightened (older tokens).
            return (*columns, 'sessions'), (*values, result.sessions)
        return columns, values

    def _all(
        self, args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        client = common.mfa(self.app)
        self._interrupted = False
        try:
            with (
                common.command_errors(),
                progress.shown(self.app, client) as on_change,
            ):
                rows = bulk_flow.enforce_all(
                    client,
                    args.domain,
                    application_credentials=args.application_credentials,
                    dry_run=args.dry_run,
                    keep_sessions=args.keep_sessions,
                    progress=on_change,
                    more=policy_flow.guard_changes,
                )
        except bulk_flow.Interrupted as stop:
            # NOTE: the users done so far are shown, then exit 130.
            rows = stop.rows
            self._interrupted = True
        listing.warn_truncated(client)
        self._failed = [r for r in rows if r.failed]
        if not rows and not self._interrupted:
            self.app.stderr.write(
                'Nothing to do: every user with a verified device is '
                'enforced, no TOTP credential lets the code alone sign in, '
                "every user a domain's MFA policy covers has guard rules, "
                'and no revocation of older tokens is still due.\n'
            )
        return BULK_COLUMNS, bulk_rows(rows)

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Sequence[str],
        data: Any,
    ) -> int:
        if not parsed_args.all:
            _emit_one(self, parsed_args, column_names, data)
            if getattr(self, '_sessions_failed', False):
                raise exceptions.CommandError(
                    'MFA is enforced, but the older tokens of the user could '
                    'not be revoked (see the sessions column); they stay '
                    'valid until they expire.'
                )
            return 0
        super().produce_output(parsed_args, column_names, data)
        if getattr(self, '_interrupted', False):
            self.app.stderr.write(
                f'Interrupted: the {len(data)} user(s) above were done; '
                'run the same command again to do the rest.\n'
            )
            raise KeyboardInterrupt
        failed = getattr(self, '_failed', [])
        if failed and parsed_args.dry_run:
            raise exceptions.CommandError(
                f'{len(failed)} user(s) cannot be changed (see the result '
                'column); nothing was changed.'
            )
        if failed:
            raise exceptions.CommandError(
                f'{len(failed)} user(s) could not be changed, or their older '
                'tokens not revoked (see the result and sessions columns); '
                'the others were. Fix the cause and run the same command '
                'again: it changes only who still needs it, and revokes the '
                'tokens still due.'
            )
        return 0


def _emit_one(
    cmd: command.Lister,
    parsed_args: argparse.Namespace,
    column_names: Sequence[str],
    data: Sequence[Any],
) -> None:
    """Print one user's result as one item, with ``-c`` as cliff does."""
    formatter = cmd.formatter
    assert isinstance(formatter, formatters.SingleFormatter)  # take_action
    columns, rows = listing.select_columns(
        parsed_args.columns, column_names, [data]
    )
    formatter.emit_one(columns, rows[0], cmd.app.stdout, parsed_args)


def bulk_rows(rows: Sequence[bulk_flow.BulkRow]) -> list[list[Any]]:
    """The rows of a bulk change, for the formatter."""
    data = []
    for row in rows:
        values = status_flow.values(row)
        values[BULK_COLUMNS.index('rules')] = common.RulesColumn(row.rules)
        data.append(values)
    return data
