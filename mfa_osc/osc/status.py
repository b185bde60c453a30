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

"""``openstack mfa status``: where an account stands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import client as mfa_client
from mfa_osc.osc import common
from mfa_osc.osc import listing
from mfa_osc.workflows import sessions as sessions_flow
from mfa_osc.workflows import status as status_flow

LOG = logging.getLogger(__name__)

#: The record's columns, then the sessions of ``mfa exec --session`` (of
#: the signed-in user only: another user's application credentials are
#: theirs to list).
COLUMNS = (*status_flow.columns(status_flow.Status), 'sessions')


def _sessions(client: mfa_client.MFAClient, user_id: str) -> list[str]:
    """The live sessions mfa-osc made for the user: name and end."""
    try:
        found = sessions_flow.sweep(
            client, user_id, '', lambda _: None, remove=False
        )
    except mfa_client.ClientError as exc:
        LOG.warning('The sessions could not be read: %s', exc)
        return []
    return [
        f'{c.name} until '
        + (f'{c.expires_at:%Y-%m-%d %H:%M} UTC' if c.expires_at else 'never')
        for c in found.live
    ]


class ShowMFAStatus(command.ShowOne):
    """Show where an account stands with MFA"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        common.add_user_options(parser, 'User to show')
        # NOTE: a list from a show command, against OSC's human interface
        # guide (show is one item, list many); kept working, deprecated.
        parser.add_argument(
            '--all',
            action='store_true',
            help='Deprecated: use `openstack mfa audit`, which prints the '
            'same rows in every list format',
        )
        listing.add_domain_option(
            parser,
            'With --all (deprecated): only users of this domain (name or ID)',
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Any]:
        client = common.mfa(self.app)
        if parsed_args.domain and not parsed_args.all:
            raise exceptions.CommandError(
                '--domain lists the users of a domain: use `openstack mfa '
                'audit --domain DOMAIN`.'
            )
        if parsed_args.all:
            LOG.warning(listing.STATUS_ALL_DEPRECATED)
            return listing.audit_rows(self.app, client, parsed_args.domain)
        user = common.resolve_user(
            client, parsed_args.user, parsed_args.user_domain
        )
        with common.command_errors():
            is_self = user.id == client.current_user_id()
            data = status_flow.status(client, user, is_self=is_self)
        for warning in data.warnings:
            LOG.warning(warning)
        live = _sessions(client, user.id) if is_self else []
        row = dict(
            zip(COLUMNS, [*status_flow.values(data), None], strict=True)
        )
        row['sessions'] = common.LinesColumn(live)
        row['rules'] = common.RulesColumn(data.rules)
        row['devices'] = common.DevicesColumn(data.devices)
        row['warnings'] = common.LinesColumn(data.warnings)
        row['unverified_credentials'] = common.LinesColumn(
            data.unverified_credentials
        )
        return COLUMNS, [row[c] for c in COLUMNS]

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Sequence[str],
        data: Any,
    ) -> int:
        if not parsed_args.all:
            return super().produce_output(parsed_args, column_names, data)
        return listing.emit_list(self, parsed_args, column_names, data)
