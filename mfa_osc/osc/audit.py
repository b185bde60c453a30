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

"""``openstack mfa audit``: every account's MFA state, one row per user."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from osc_lib.command import command

from mfa_osc.osc import common
from mfa_osc.osc import listing

COLUMNS = listing.AUDIT_COLUMNS


class AuditMFA(command.Lister):
    """List every user's MFA state (administrators)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        listing.add_domain_option(
            parser, 'Only users of this domain (name or ID)'
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        return listing.audit_rows(
            self.app, common.mfa(self.app), parsed_args.domain
        )
