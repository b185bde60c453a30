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

"""``openstack mfa audit`` (also ``mfa status --all``): every account."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import client as mfa_client
from mfa_osc.osc import common
from mfa_osc.osc import progress
from mfa_osc.workflows import status as status_flow

LOG = logging.getLogger(__name__)

COLUMNS = status_flow.columns(status_flow.AuditRow)


def add_domain_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--domain',
        metavar='<domain>',
        help='Only users of this domain (name or ID)',
    )


def audit_rows(
    app: Any, client: mfa_client.MFAClient, domain: str | None
) -> tuple[Sequence[str], list[list[Any]]]:
    with common.command_errors(), progress.shown(app, client):
        rows = status_flow.audit(client, domain)
    if client.truncated:
        LOG.warning(
            'Keystone may have cut these lists short: %s (it answers at '
            'most [DEFAULT] max_db_limit rows, 1000 by default); users or '
            'credentials past that are missing. Use --domain, or raise '
            'max_db_limit in keystone.conf.',
            ', '.join(sorted(set(client.truncated))),
        )
    return COLUMNS, [status_flow.values(row) for row in rows]


class AuditMFA(command.Lister):
    """List every user's MFA state (administrators)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_domain_option(parser)
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], list[list[Any]]]:
        return audit_rows(self.app, common.mfa(self.app), parsed_args.domain)


def emit_list(
    cmd: command.ShowOne,
    parsed_args: argparse.Namespace,
    column_names: Sequence[str],
    rows: Any,
) -> int:
    """Print a list through a ShowOne's formatter (``status --all``)."""
    import itertools

    columns, selector = cmd._generate_columns_and_selector(
        parsed_args, column_names
    )
    if selector:
        rows = [list(itertools.compress(r, selector)) for r in rows]
    emit = getattr(cmd.formatter, 'emit_list', None)
    if emit is None:
        raise exceptions.CommandError(
            'This output format cannot show a list; use -f table, json, '
            'yaml or value with --all, or `openstack mfa audit`.'
        )
    emit(columns, rows, cmd.app.stdout, parsed_args)
    return 0
