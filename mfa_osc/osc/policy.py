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
            help='Date by which covered users must have enrolled (default: '
            'in force at once)',
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
        self._failed = [r for r in rows if r.failed]
        verb = 'would get' if args.dry_run else 'got'
        done = [r for r in rows if not r.failed]
        self.app.stderr.write(
            f'{len(done)} covered user(s) without MFA rules {verb} guard '
            'rules (a password still signs in, a code alone never will).\n'
        )
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
            raise exceptions.CommandError(
                f'The policy is set, but {len(failed)} user(s) could not get '
                f'guard rules ({names}). Fix the cause and run the same '
                'command again: it changes only who still needs it.'
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
    """Remove a domain's MFA policy; users' rules stay as they are
    (administrators)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_domain(parser)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        client = common.mfa(self.app)
        with common.command_errors():
            policy_flow.unset(client, parsed_args.domain)
