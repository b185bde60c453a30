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

"""``openstack mfa policy set|show|unset``: a domain's MFA policy."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc.osc import common
from mfa_osc.osc import progress
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import policy as policy_flow

COLUMNS = ('required', 'deadline', 'roles')


def _values(policy: policy_flow.Policy | None) -> list[Any]:
    if policy is None:
        return [False, None, common.LinesColumn([])]
    return [
        policy.required,
        policy.deadline,
        common.LinesColumn(policy.roles),
    ]


def _add_domain(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--domain',
        metavar='<domain>',
        required=True,
        help='Domain of the policy (name or ID)',
    )


class SetPolicy(command.ShowOne):
    """Require MFA for a domain's users, and put guard rules on those who
    have no rules yet (administrators)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_domain(parser)
        parser.add_argument(
            '--required',
            action='store_true',
            required=True,
            help='MFA is required for the users the policy covers',
        )
        parser.add_argument(
            '--deadline',
            metavar='<YYYY-MM-DD>',
            help='Date by which covered users must have enrolled, today or '
            'later; "now", or no --deadline: in force at once',
        )
        parser.add_argument(
            '--role',
            metavar='<role>',
            action='append',
            default=[],
            dest='roles',
            help='Cover only users holding this role on the domain or one '
            'of its projects (repeat for more roles; default: every user '
            'of the domain)',
        )
        parser.add_argument(
            '--dry-run',
            action='store_true',
            help='Show the policy and whom guard rules would go on, change '
            'nothing',
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Any]:
        args = parsed_args
        client = common.mfa(self.app)
        self._interrupted: list[bulk_flow.BulkRow] | None = None
        try:
            with (
                common.command_errors(),
                progress.shown(self.app, client) as on_change,
            ):
                policy, rows = policy_flow.set_policy(
                    client,
                    args.domain,
                    deadline=args.deadline,
                    roles=args.roles,
                    dry_run=args.dry_run,
                    progress=on_change,
                )
        except bulk_flow.Interrupted as stop:
            self._interrupted = stop.rows
            self.app.stderr.write(_report(stop.rows, args.dry_run))
            raise KeyboardInterrupt from None
        self._failed = [r for r in rows if r.failed]
        self.app.stderr.write(_report(rows, args.dry_run))
        with common.command_errors():
            own = policy_flow.covers_signed_in_user(client, policy)
        if own:
            self.app.stderr.write(
                'Warning: the policy covers you (the user running this '
                'command): past the deadline you sign in with a TOTP code '
                'too; enroll a device first (`openstack mfa enroll`).\n'
            )
        done = [
            r
            for r in rows
            if not r.failed and r.action == bulk_flow.ACTION_GUARD
        ]
        return (*COLUMNS, 'users_guarded'), [*_values(policy), len(done)]

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Sequence[str],
        data: Any,
    ) -> int:
        super().produce_output(parsed_args, column_names, data)
        failed = getattr(self, '_failed', [])
        if failed:
            names = ', '.join(str(r.name or r.id) for r in failed[:10])
            if parsed_args.dry_run:
                raise exceptions.CommandError(
                    f'{len(failed)} user(s) cannot be changed ({names}; the '
                    'reasons are above); nothing was changed.'
                )
            raise exceptions.CommandError(
                f'The policy is set, but {len(failed)} user(s) could not be '
                f'changed ({names}). Fix the cause and run the same command '
                'again: it changes only who still needs it, and revokes the '
                'tokens still due.'
            )
        return 0


class ShowPolicy(command.ShowOne):
    """Show a domain's MFA policy"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_domain(parser)
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Any]:
        client = common.mfa(self.app)
        with common.command_errors():
            policy = policy_flow.show(client, parsed_args.domain)
        return COLUMNS, _values(policy)


class UnsetPolicy(command.Command):
    """Remove a domain's MFA policy, and lift guard rules from its users
    who have no TOTP credential (administrators)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_domain(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        client = common.mfa(self.app)
        try:
            with (
                common.command_errors(),
                progress.shown(self.app, client) as on_change,
            ):
                _, rows = policy_flow.unset(
                    client, parsed_args.domain, progress=on_change
                )
        except bulk_flow.Interrupted as stop:
            self.app.stderr.write(_report(stop.rows, False))
            raise KeyboardInterrupt from None
        self.app.stderr.write(_report(rows, False))
        failed = [r for r in rows if r.failed]
        if failed:
            names = ', '.join(str(r.name or r.id) for r in failed[:10])
            raise exceptions.CommandError(
                f'The policy is removed, but {len(failed)} user(s) could not '
                f'be changed ({names}). Fix the cause and run `openstack mfa '
                'enforce --all --domain DOMAIN` (guard rules of an earlier '
                'release, revocations still due), or lift their guard rules '
                'with `openstack user set --multi-factor-auth-rule` by hand.'
            )


def _report(rows: Sequence[bulk_flow.BulkRow], dry_run: bool) -> str:
    """One sentence per kind of change, naming the users changed."""
    verb = 'would get' if dry_run else 'got'
    out = []
    kinds = (
        (
            bulk_flow.ACTION_GUARD,
            f'covered user(s) whose MFA rules let a code alone in {verb} '
            'guard rules (a code alone never signs in; password, '
            'application credentials, federated and external sign-ins as '
            'before)',
        ),
        (
            bulk_flow.ACTION_REPAIR,
            f'user(s) with the guard rules of an earlier release, which '
            f"refused federated sign-ins, {verb} today's",
        ),
        (
            bulk_flow.ACTION_LIFT,
            'user(s) with no TOTP credential '
            f'{"would have" if dry_run else "had"} their guard rules lifted',
        ),
        (
            bulk_flow.ACTION_SESSIONS,
            f'user(s) {"would have" if dry_run else "had"} older tokens '
            'revoked that an earlier run could not revoke',
        ),
    )
    for action, text in kinds:
        done = [r for r in rows if r.action == action and not r.failed]
        if not done and action != bulk_flow.ACTION_GUARD:
            continue
        names = ', '.join(str(r.name or r.id) for r in done[:10])
        more = f' and {len(done) - 10} more' if len(done) > 10 else ''
        listed = f': {names}{more}' if names else ''
        out.append(f'{len(done)} {text}{listed}.')
    for row in [r for r in rows if r.failed][:10]:
        changed = row.result in (
            bulk_flow.RESULT_DONE,
            bulk_flow.RESULT_PLANNED,
        )
        why = row.sessions if changed else row.result
        out.append(f'{row.name or row.id}: {why}')
    return '\n'.join(out) + '\n'
