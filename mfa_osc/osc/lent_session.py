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

"""The session that ``mfa exec --session`` and ``mfa export --session``
lend: their options, the checks of a duration before the sign-in, the
session started, its settings, its end, and the sweep of those an
``exec`` killed left behind.

Not a command: both commands use it (command modules do not import each
other). What a session is, and Keystone's side of it, is the workflow's
(:mod:`mfa_osc.workflows.sessions`); the lock files that say whether a
job still holds one are :mod:`mfa_osc.osc.lent`'s.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from collections.abc import Sequence
import logging
import os
import socket
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc.client import records as app_records
from mfa_osc.osc import common
from mfa_osc.osc import lent
from mfa_osc.workflows import sessions

LOG = logging.getLogger(__name__)


#: The variables of a session that a token's settings have, and the
#: token's own: a session hands over none of them.
_TOKEN_ONLY = (
    'OS_TOKEN',
    'OS_PROJECT_ID',
    'OS_PROJECT_NAME',
    'OS_PROJECT_DOMAIN_ID',
    'OS_DOMAIN_ID',
)


def session_settings(
    token: Mapping[str, str], credential: app_records.AppCredential
) -> dict[str, str]:
    """The ``OS_*`` settings of a session's application credential, from
    those of the token (``token``) it stands in for.

    NOTE: no project: an application credential signs in to its own, and
    keystoneauth's v3applicationcredential refuses a project beside it.
    """
    secret = credential.secret
    if not secret:
        raise exceptions.CommandError(
            "Keystone gave no secret for the session's application "
            'credential; run the command again.'
        )
    redact.register(secret)
    settings = {k: v for k, v in token.items() if k not in _TOKEN_ONLY}
    settings['OS_AUTH_TYPE'] = 'v3applicationcredential'
    settings['OS_APPLICATION_CREDENTIAL_ID'] = credential.id
    settings['OS_APPLICATION_CREDENTIAL_SECRET'] = secret
    return settings


def duration(text: str) -> Any:
    """``--session`` and ``--max-session``: a duration."""
    try:
        return sessions.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_durations(parsed_args: argparse.Namespace) -> None:
    """Refuse a session shorter than the floor or over the ceiling.

    NOTE: here, not in the parser, so that the two options may come in
    either order; the command's first step, and before any sign-in
    (:attr:`SessionCommand.auth_required`).
    """
    if parsed_args.session is None:
        if parsed_args.max_session is not None:
            raise exceptions.CommandError(
                '--max-session raises the ceiling of --session: give '
                '--session DURATION too, or leave --max-session out.'
            )
        return
    why = sessions.check_duration(
        parsed_args.session,
        parsed_args.max_session or sessions.DEFAULT_CEILING,
    )
    if why:
        raise exceptions.CommandError(why)


def durations_refused(argv: Sequence[str] | None) -> bool:
    """Whether the command line's --session or --max-session will be
    refused (the part before ``--``: the program's own are not ours)."""
    given: dict[str, str] = {}
    words = list(argv or [])
    for i, word in enumerate(words):
        if word == '--':
            break
        name, _, value = word.partition('=')
        if name in ('--session', '--max-session'):
            if not value and i + 1 < len(words):
                value = words[i + 1]
            given[name] = value
    try:
        parsed = {k: sessions.parse_duration(v) for k, v in given.items()}
    except ValueError:
        return True
    session = parsed.get('--session')
    ceiling = parsed.get('--max-session')
    if session is None:
        return ceiling is not None  # --max-session alone
    return bool(
        sessions.check_duration(session, ceiling or sessions.DEFAULT_CEILING)
    )


class SessionCommand(command.Command):
    """A command with --session, whose bad duration is refused before
    the sign-in."""

    @property
    def auth_required(self) -> bool:
        # NOTE: OSC signs in before it parses the command's arguments; a
        # duration that the parser or check_durations will refuse needs
        # no sign-in (and no passcode typed for nothing). osc-lib keeps
        # the command line.
        return not durations_refused(
            getattr(self.app, 'command_options', None)
        )


def add_session_options(parser: argparse.ArgumentParser, ending: str) -> None:
    parser.add_argument(
        '--session',
        metavar='<duration>',
        type=duration,
        help='Hand over a session instead of the token: a restricted '
        "application credential of the token's project that signs in "
        'again by itself and ends after <duration> (8h, 90m, 2h30m; at '
        f'most {sessions.shown(sessions.DEFAULT_CEILING)} unless '
        f'--max-session says more); {ending}',
    )
    parser.add_argument(
        '--max-session',
        metavar='<duration>',
        type=duration,
        help='Raise the ceiling of --session (default '
        f'{sessions.shown(sessions.DEFAULT_CEILING)})',
    )
    parser.add_argument(
        '--role',
        metavar='<role>',
        action='append',
        default=[],
        dest='roles',
        help='With --session: a role (name or ID) of the token the '
        "session holds; repeat for more (default: all of the token's "
        'roles)',
    )


def request_of(
    parsed_args: argparse.Namespace, access: Any, verb: str
) -> sessions.Request:
    ids = list(getattr(access, 'role_ids', None) or [])
    names = list(getattr(access, 'role_names', None) or [])
    return sessions.Request(
        duration=parsed_args.session,
        verb=verb,
        host=socket.gethostname(),
        pid=os.getpid(),
        project_id=getattr(access, 'project_id', None),
        token_roles=list(zip(ids, names, strict=False)),
        roles=list(parsed_args.roles),
    )


def sweep(client: mfa_client.MFAClient, user_id: str) -> None:
    """Delete the sessions an earlier exec left behind (expired, or no
    process holds them); forget the lock files of sessions gone."""
    found = sessions.sweep(
        client, user_id, socket.gethostname(), lent.session_held
    )
    live = {c.id for c in found.live}
    for session_id in lent.sessions_here():
        # NOTE: one another command deleted (or another user's, in a
        # shared cache directory: a session held is never touched).
        if session_id not in live and lent.session_held(session_id) is False:
            lent.release_session(session_id, ended=True)
    if found.removed:
        LOG.debug('Deleted %d ended sessions.', len(found.removed))


def sweep_left_sessions(app: Any) -> None:
    """Plain ``exec``: end the sessions a killed ``exec --session`` left
    on this machine (a lock file no process holds), if there are any.

    NOTE: no request at all unless such a file is here. Never fails the
    command: the session ends at its expiry anyway.
    """
    if not any(lent.session_held(s) is False for s in lent.sessions_here()):
        return
    client = common.mfa(app)
    try:
        sweep(client, client.current_user_id())
    except mfa_client.ClientError as exc:
        LOG.debug('The sessions left here were not swept: %s', exc)


def start_session(
    app: Any, parsed_args: argparse.Namespace, access: Any, verb: str
) -> app_records.AppCredential:
    """Sweep, check and create a session's application credential."""
    client = common.mfa(app)
    with common.command_errors():
        request = request_of(parsed_args, access, verb)
        sessions.role_ids(request)  # a wrong --role: before any request
        user_id = client.current_user_id()
        sweep(client, user_id)
        credential = sessions.start(client, request)
    LOG.debug(
        'Session %s (application credential %s) until %s.',
        credential.name,
        credential.id,
        credential.expires_at,
    )
    return credential


def end_session(app: Any, credential: app_records.AppCredential) -> bool:
    """Delete the session's application credential; whether it is gone.

    NOTE: after a long job the MFA token has expired, and the delete
    signs in again: with the cached sign-in, the passcode command or the
    TOTP secret, never at a prompt (no one may be at the terminal after
    an 8-hour job, and a prompt would hold the job's exit status). When
    it cannot, the session is left to its expiry and the next ``exec``
    deletes it.
    """
    auth = app.client_manager.auth
    source = getattr(auth, 'sources', None)
    if source is not None and hasattr(source, 'prompt'):
        source.prompt = False
    client = common.mfa(app)
    try:
        client.delete_app_credential(client.current_user_id(), credential.id)
    except Exception as exc:  # noqa: BLE001 - the job's status comes first
        until = credential.expires_at
        when = f'{until:%Y-%m-%d %H:%M} UTC' if until else 'its expiry'
        app.stderr.write(
            f'The session {credential.name} could not be ended now '
            f'({redact.scrub(str(exc))}); it ends by itself at {when}, the '
            'next `openstack mfa exec --session` deletes it, or run '
            f'`openstack mfa session end {credential.id}`.\n'
        )
        return False
    return True
