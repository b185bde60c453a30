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

"""``openstack mfa session list`` and ``openstack mfa session end``.

The sessions of ``mfa exec --session`` and ``mfa export --session``
(:mod:`mfa_osc.workflows.sessions`), one's own or, for an administrator,
another user's: listed, and ended before their expiry. Only the
application credentials mfa-osc made for sessions; never another.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import client as mfa_client
from mfa_osc.osc import common
from mfa_osc.osc import lent
from mfa_osc.workflows import sessions

COLUMNS = (
    'Name',
    'ID',
    'Project',
    'Expires At',
    'Host',
    'Made By',
    'State',
)


def _owner(
    client: mfa_client.MFAClient, parsed_args: argparse.Namespace
) -> tuple[str, str | None]:
    """The ID of the user whose sessions these are, and how refusals
    name them (None: the signed-in user)."""
    if not parsed_args.user:
        return client.current_user_id(), None
    try:
        user = common.resolve_user(
            client, parsed_args.user, parsed_args.user_domain
        )
    except exceptions.CommandError as exc:
        if not isinstance(exc.__cause__, mfa_client.Forbidden):
            raise
        raise exceptions.CommandError(
            f"Keystone's policy does not let you read user "
            f'{parsed_args.user!r} (HTTP 403), so their sessions cannot be '
            f'listed or ended: an administrator (the admin role; '
            f'{sessions.LIST_POLICY} and {sessions.DELETE_POLICY}) does, '
            'and you see and end your own without --user.'
        ) from None
    if user.id == client.current_user_id():
        return user.id, None
    return user.id, user.name or user.id


def _user_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        '--user',
        metavar='<user>',
        help=f'{what} (name or ID; administrators), default: your own',
    )
    parser.add_argument(
        '--user-domain',
        metavar='<domain>',
        help='Domain the user belongs to (name or ID)',
    )


class ListSessions(command.Lister):
    """List the sessions mfa-osc made (exec/export --session)"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _user_options(parser, "List this user's sessions")
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        client = common.mfa(self.app)
        user_id, label = _owner(client, parsed_args)
        # NOTE: whether a job still holds a session is known on this host
        # only, and of the signed-in user's own cache directory.
        held = lent.session_held if label is None else (lambda _: None)
        with common.command_errors():
            rows = sessions.listing(
                client, user_id, socket.gethostname(), held, label
            )
        return COLUMNS, [
            (
                r.credential.name,
                r.credential.id,
                r.credential.project_id or '',
                f'{r.credential.expires_at:%Y-%m-%dT%H:%M:%SZ}'
                if r.credential.expires_at
                else '',
                r.host,
                r.made_by,
                r.state,
            )
            for r in rows
        ]


def _restricted(access: Any) -> bool:
    """Whether the command signed in with a restricted application
    credential (a session's own, as ``export --session`` hands out)."""
    if not getattr(access, 'application_credential_id', None):
        return False
    data = getattr(access, 'application_credential', None)
    return not isinstance(data, dict) or data.get('restricted') is not False


class EndSessions(command.Command):
    """End (delete) sessions mfa-osc made, before their expiry"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _user_options(parser, "End this user's sessions")
        parser.add_argument(
            'sessions',
            metavar='<session>',
            nargs='*',
            help='Session to end (name or ID, as `openstack mfa session '
            'list` shows them); repeat for more',
        )
        parser.add_argument(
            '--all',
            action='store_true',
            help='End every session mfa-osc made for the user',
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        if bool(parsed_args.sessions) == bool(parsed_args.all):
            raise exceptions.CommandError(
                'Give the sessions to end by name or ID, or --all for '
                'every one (not both): `openstack mfa session list` lists '
                'them.'
            )
        if _restricted(self.app.client_manager.auth_ref):
            # NOTE: Keystone refuses any change to application credentials
            # made with a restricted one (its 403 says only that), and a
            # session is one: say so before any request.
            raise exceptions.CommandError(
                'This command signed in with an application credential '
                'that is restricted, as a session is, and Keystone lets no '
                'restricted one delete application credentials: sign in '
                'with MFA (unset OS_APPLICATION_CREDENTIAL_ID and '
                'OS_APPLICATION_CREDENTIAL_SECRET, or use your own cloud '
                'entry) and run the command again.'
            )
        client = common.mfa(self.app)
        user_id, label = _owner(client, parsed_args)
        with common.command_errors():
            gone = sessions.end(
                client,
                user_id,
                parsed_args.sessions,
                everything=parsed_args.all,
                user_label=label,
            )
        if label is None:
            for credential in gone:
                lent.release_session(credential.id, ended=True)
        whose = 'you' if label is None else f'user {label}'
        names = ', '.join(c.name for c in gone)
        count = f'{len(gone)} session{"" if len(gone) == 1 else "s"}'
        self.app.stderr.write(
            f'Ended {count} that mfa-osc made for {whose}'
            + (f': {names}.\n' if names else '.\n')
        )
        return 0
