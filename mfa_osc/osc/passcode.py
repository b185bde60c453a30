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

"""``openstack mfa passcode show``: the current code of a secret."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import os
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.auth import sources
from mfa_osc.osc import common
from mfa_osc.osc import files


class ShowPasscode(command.ShowOne):
    """Show the current passcode of a TOTP secret"""

    auth_required = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        given = parser.add_mutually_exclusive_group()
        # NOTE: --secret comes first: its default (the environment) is the
        # one argparse keeps for the shared dest.
        given.add_argument(
            '--secret',
            metavar='<secret>',
            default=os.environ.get('OS_TOTP_SECRET'),
            help='Base32 TOTP secret (Env: OS_TOTP_SECRET)'
            + files.VISIBLE
            + ': prefer --secret-file, the environment or the prompt',
        )
        given.add_argument(
            '--secret-file',
            dest='secret',
            metavar='<path>',
            type=files.read_secret,
            help='Read the base32 TOTP secret from this file, or from '
            'standard input for "-"',
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        if not parsed_args.secret and common.is_terminal():
            parsed_args.secret = sources.prompt('TOTP secret: ')
            if not parsed_args.secret:
                raise exceptions.CommandError(
                    'No secret entered: run the command again and type the '
                    'TOTP secret (the key shown at enrollment), or give '
                    '--secret-file PATH (- for standard input).'
                )
        if not parsed_args.secret:
            raise exceptions.CommandError(
                'No secret: give --secret-file PATH (- for standard input) '
                'or set OS_TOTP_SECRET, or run the command on a terminal to '
                'be prompted.'
            )
        redact.register(parsed_args.secret)
        with common.command_errors():
            secret = totp.normalize_secret(parsed_args.secret)
        redact.register(secret)
        code = totp.passcode(secret)
        return ('passcode', 'seconds_left'), (code, totp.seconds_left())
