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

"""``openstack mfa unlock``: end a lock of a user's TOTP sign-in."""

from __future__ import annotations

import argparse

from osc_lib.command import command

from mfa_osc.osc import common
from mfa_osc.workflows import status as status_flow
from mfa_osc.workflows import unlock as unlock_flow


class UnlockMFA(command.Command):
    """End a user's TOTP lock after wrong passcodes (administrators)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        # NOTE: --user is required: one's own lock is another
        # administrator's to end (a locked person cannot sign in with a
        # code, and the lock is what stops someone guessing theirs).
        parser.add_argument(
            '--user',
            metavar='<user>',
            required=True,
            help='User whose TOTP lock to end (name or ID)',
        )
        parser.add_argument(
            '--user-domain',
            metavar='<domain>',
            help='Domain the user belongs to (name or ID)',
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        client = common.mfa(self.app)
        with common.command_errors():
            user = unlock_flow.find_user(
                client, parsed_args.user, parsed_args.user_domain
            )
            result = unlock_flow.unlock(client, user)
        who = user.name or user.id
        if not result.ended:
            self.app.stderr.write(
                f"{who}'s TOTP sign-in is not locked; nothing was changed.\n"
            )
            return
        until = (
            f' (it would have lasted until '
            f'{status_flow.shown_time(result.until)})'
            if result.until is not None
            else ''
        )
        self.app.stderr.write(f'Ended the TOTP lock of {who}{until}.\n')
