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

"""Lists of accounts that more than one command prints.

The audit's rows (``openstack mfa audit`` and its deprecated alias
``mfa status --all``), and the printing of a list by a ``ShowOne``
command, which only those aliases need, through cliff's public interface.
Not a command: commands import it, never each other.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from collections.abc import Sequence
import logging
from typing import Any

from cliff import display
from cliff.formatters import base as formatters
from osc_lib import exceptions

from mfa_osc import client as mfa_client
from mfa_osc.client import lists
from mfa_osc.osc import common
from mfa_osc.osc import progress
from mfa_osc.workflows import status as status_flow

LOG = logging.getLogger(__name__)

#: The audit's columns, one row per user.
AUDIT_COLUMNS = status_flow.columns(status_flow.AuditRow)

#: The one sentence ``openstack mfa status --all`` says on stderr.
STATUS_ALL_DEPRECATED = (
    '`openstack mfa status --all` is deprecated and will be removed in a '
    'later release: use `openstack mfa audit`, which prints the same rows '
    'in every list format (-f csv too).'
)


def add_domain_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument('--domain', metavar='<domain>', help=help)


def audit_rows(
    app: Any, client: mfa_client.MFAClient, domain: str | None
) -> tuple[Sequence[str], list[list[Any]]]:
    """The audit's columns and rows, reading with a progress bar."""
    with common.command_errors(), progress.shown(app, client):
        rows = status_flow.audit(client, domain)
    warn_truncated(client)
    return AUDIT_COLUMNS, [status_flow.values(row) for row in rows]


def warn_truncated(client: mfa_client.MFAClient) -> None:
    """Say which lists Keystone may have cut short, and what to raise."""
    if client.truncated:
        LOG.warning(
            'Keystone may have cut these lists short: %s; users or '
            'credentials past the cut are missing. Use --domain, or %s.',
            ', '.join(sorted(set(client.truncated))),
            lists.LIMIT_ADVICE,
        )


def _normal(name: str) -> str:
    # NOTE: as cliff matches -c, so '-c Recovery Codes Left' and
    # '-c recovery_codes_left' pick the same column.
    return name.lower().strip().replace(' ', '_')


def select_columns(
    wanted: Sequence[str] | None,
    column_names: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> tuple[list[str], list[list[Any]]]:
    """The columns of ``-c`` (all without it), in the list's order."""
    data = [list(row) for row in rows]
    if not wanted:
        return list(column_names), data
    asked = {_normal(name) for name in wanted}
    keep = [i for i, name in enumerate(column_names) if _normal(name) in asked]
    if not keep:
        raise exceptions.CommandError(
            f'No column named {", ".join(wanted)}: the columns are '
            f'{", ".join(column_names)}.'
        )
    return [column_names[i] for i in keep], [
        [row[i] for i in keep] for row in data
    ]


def emit_list(
    cmd: display.DisplayCommandBase[Any],
    parsed_args: argparse.Namespace,
    column_names: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """Print a list from a ``ShowOne`` command (``-c`` and ``-f`` as given).

    For ``mfa status --all`` (deprecated): a
    ``ShowOne`` gets the formats of one item, and those that also print
    lists (table, json, yaml, value) do so here; the others (shell) say
    which to use. NOTE: cliff's own column selection is private; ``-c``
    is applied here by :func:`select_columns`, as cliff applies it.
    """
    formatter = cmd.formatter
    if not isinstance(formatter, formatters.ListFormatter):
        raise exceptions.CommandError(
            f'-f {parsed_args.formatter} cannot show a list: use -f table, '
            'json, yaml or value.'
        )
    columns, data = select_columns(parsed_args.columns, column_names, rows)
    formatter.emit_list(columns, data, cmd.app.stdout, parsed_args)
    return 0
