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

"""``openstack mfa remove``: remove devices; the last one turns MFA off."""

from __future__ import annotations

import argparse

from osc_lib.command import command

from mfa_osc import account as mfa_account
from mfa_osc import redact
from mfa_osc import rules as mfa_rules
from mfa_osc.osc import common
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import remove as remove_flow


class RemoveMFA(command.Command):
    """Remove TOTP devices; removing the last one turns MFA off"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            '--device',
            metavar='<name-or-id>',
            help='Device to remove (a name, or a credential ID as `mfa '
            'status` lists them)',
        )
        which.add_argument(
            '--all',
            action='store_true',
            help='Remove every device and recovery code (turns MFA off)',
        )
        common.add_proof_options(parser, ' (self-service)', ', used up')
        parser.add_argument(
            '--yes',
            action='store_true',
            help='Do not ask for confirmation',
        )
        common.add_user_options(parser, 'User whose devices to remove')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        args = parsed_args
        redact.register(args.passcode, args.recovery_code)
        client = common.mfa(self.app)
        with common.command_errors():
            user = mfa_account.resolve_user(
                client, args.user, args.user_domain
            )
            is_self = user.id == client.current_user_id()
            removal = remove_flow.plan(
                client, user, device=args.device, all_devices=args.all
            )
            question = 'Remove {} of user {}{}?'.format(
                ', '.join(removal.labels) or 'the MFA set-up',
                user.name,
                ' and turn MFA off' if removal.last else '',
            )
            common.confirm(self.app, question, args.yes)
            used = proof_flow.when_due(
                client,
                removal.account,
                is_self=is_self,
                has_device=removal.account.has_second_factor,
                fresh=common.fresh_second_factor(self.app),
                given=args.passcode or args.recovery_code,
                ask=common.ask_proof('removing a device'),
            )
            result = remove_flow.remove(client, removal, used_recovery=used)
        err = self.app.stderr
        if not result.last:
            codes = len(removal.account.recovery_ids)
            err.write(
                f'Removed {", ".join(result.removed)}; still enrolled: '
                f'{", ".join(result.left) or "no other device"} ({codes} '
                f'recovery code{"s" if codes != 1 else ""} left).\n'
            )
            return
        if is_self:
            common.devices_gone(self.app)
        what = (
            f'Removed {", ".join(result.removed)}'
            if result.removed
            else 'Reset'
        )
        left = (
            mfa_rules.text(result.rules)
            if result.rules and result.flag is not False
            else 'none'
        )
        err.write(
            f'{what}: no TOTP device is left and MFA is off (rules: {left}).\n'
        )
        if result.note:
            err.write(f'Note: {result.note}.\n')
