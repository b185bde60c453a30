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

"""``openstack mfa enforce``: require TOTP for a user with a device."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from osc_lib.command import command

from mfa_osc import account as mfa_account
from mfa_osc.osc import common
from mfa_osc.osc import enroll
from mfa_osc.workflows import enforce as enforce_flow


class EnforceMFA(command.ShowOne):
    """Require TOTP for a user who has a verified device"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        enroll.add_application_credential_options(parser)
        common.add_user_options(parser, 'User to enforce MFA for')
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        client = common.mfa(self.app)
        with common.command_errors():
            user = mfa_account.resolve_user(
                client, parsed_args.user, parsed_args.user_domain
            )
            result = enforce_flow.enforce(
                client,
                user,
                application_credentials=parsed_args.application_credentials,
            )
        if result.action == enforce_flow.ACTION_GUARDED:
            self.app.stderr.write(
                'No verified device yet, so MFA is not required; guard rules '
                'are on: the code alone no longer signs in, the password '
                'still does.\n'
            )
        return ('user_id', 'enforced', 'rules', 'action'), (
            result.user_id,
            result.enforced,
            common.RulesColumn(result.rules),
            result.action,
        )
