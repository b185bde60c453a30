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

"""``openstack mfa recovery code create``: a new set of recovery codes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from osc_lib.command import command

from mfa_osc import account as mfa_account
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc.osc import common
from mfa_osc.osc import files
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import recovery as recovery_flow


class CreateRecoveryCodes(command.ShowOne):
    """Create new recovery codes; the old ones stop working"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--count',
            metavar='<count>',
            type=int,
            default=recovery.DEFAULT_COUNT,
            help='How many codes (default: %(default)s)',
        )
        parser.add_argument(
            '--recovery-file',
            metavar='<path>',
            help='Also write the codes to a new file (mode 0600)',
        )
        common.add_proof_options(
            parser, ', when this session did not sign in with TOTP'
        )
        common.add_user_options(parser, 'User to create codes for')
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        args = parsed_args
        redact.register(args.passcode, args.recovery_code)
        files.check_new_path(args.recovery_file, 'the recovery file')
        client = common.mfa(self.app)
        user = common.resolve_user(client, args.user, args.user_domain)
        kept = files.RecoveryFile(args.recovery_file, str(user.name))
        with kept.explained(), common.command_errors():
            is_self = user.id == client.current_user_id()
            account = mfa_account.load_account(client, user)
            # NOTE: a command that cannot work is refused before anyone is
            # asked for a code.
            recovery_flow.check(client, account, args.count)
            used = proof_flow.when_due(
                client,
                account,
                is_self=is_self,
                has_device=account.has_second_factor,
                fresh=common.fresh_second_factor(self.app),
                given=args.passcode or args.recovery_code,
                ask=common.ask_proof('creating recovery codes'),
            )
            codes = recovery_flow.regenerate(
                client,
                account,
                count=args.count,
                used_recovery=used,
                keep=kept,
            )
        self.app.stderr.write(
            'New recovery codes, shown once; the old ones no longer work.\n'
        )
        return ('user_id', 'recovery_codes'), (
            user.id,
            common.LinesColumn(codes),
        )
