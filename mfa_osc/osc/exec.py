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

"""``openstack mfa exec`` and ``openstack mfa export``: lend the token.

Tools that do not speak MFA (Terraform and OpenTofu, Ansible's
``openstack.cloud``, openstacksdk scripts, gophercloud programs, curl)
get the token of this command's MFA sign-in, scoped as this command is,
and nothing else: no password, passcode, TOTP secret, recovery code or
passcode command reaches them. ``exec`` hands it to one child process
(environment variables, and a temporary ``clouds.yaml`` when the cloud
came from one); ``export`` prints the variables for a shell to ``eval``.

With ``--session DURATION`` they lend a session instead
(:mod:`mfa_osc.workflows.sessions`): a restricted application credential
of the token's project that Keystone ends after DURATION, with which the
program signs in again by itself whenever a token expires. ``exec``
deletes it when the program ends; ``export`` leaves it to expire.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
import contextlib
import datetime
import logging
import os
import shlex
import shutil
import socket
import sys
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc.client import records as app_records
from mfa_osc.osc import child
from mfa_osc.osc import common
from mfa_osc.osc import exported
from mfa_osc.osc import lent
from mfa_osc.workflows import sessions

LOG = logging.getLogger(__name__)

#: A token with less than this left (seconds) gets a line on stderr.
SHORT_LIFE = 600
#: The entry of the temporary clouds.yaml.
CLOUD_ENTRY = 'mfa-exec'
#: Exit statuses of a program that could not be run, as shells have them.
NOT_FOUND = 127
NOT_EXECUTABLE = 126


def _locate(name: str) -> str | None:
    """The file ``name`` stands for (as the shell looks), executable or
    not."""
    if os.sep in name:
        return name if os.path.exists(name) else None
    for folder in os.environ.get('PATH', os.defpath).split(os.pathsep):
        path = os.path.join(folder or '.', name)
        if os.path.exists(path) and not os.path.isdir(path):
            return path
    return None


def _expires(access: Any) -> datetime.datetime | None:
    expires = getattr(access, 'expires', None)
    return expires if isinstance(expires, datetime.datetime) else None


def confirmed_access(app: Any) -> Any:
    """This command's sign-in, its token confirmed by Keystone just now.

    A token the cache served without asking Keystone (confirmed within
    the last few minutes) may have been revoked since: a password change,
    a disabled user, a key rotation. A command sees the 401 and signs in
    afresh; a child handed the token would only fail. So it is checked
    once (one ``GET /v3/auth/tokens``, through the plugin's
    ``invalidate()``, which forgets it if Keystone does), and a revoked
    one is replaced by a fresh sign-in, which asks as any sign-in does.
    """
    manager = app.client_manager
    access = manager.auth_ref
    auth = manager.auth
    # NOTE: sign_in_requests is 0 only when the v3multifactor plugin
    # served its cache without a request; a token fresh from Keystone (a
    # sign-in, a rescope, another plugin) needs no second look.
    if access is None or getattr(auth, 'sign_in_requests', None) != 0:
        return access
    auth.auth_ref = access
    if auth.invalidate():
        LOG.debug('The cached token was revoked; signing in afresh.')
        access = auth.get_auth_ref(manager.session)
        auth.auth_ref = access
    return access


def token_settings(app: Any, access: Any = None) -> dict[str, str]:
    """The token-only ``OS_*`` settings of this command's sign-in."""
    manager = app.client_manager
    if access is None:
        access = manager.auth_ref
    token = access.auth_token
    if not token:
        raise exceptions.CommandError(
            'The sign-in gave no token to hand over; run `openstack token '
            'issue` to see why.'
        )
    redact.register(token)
    auth_url = getattr(manager.auth, 'auth_url', None) or ''
    settings = {
        'OS_AUTH_TYPE': 'v3token',
        'OS_TOKEN': token,
        'OS_AUTH_URL': str(auth_url),
        'OS_IDENTITY_API_VERSION': '3',
    }
    optional = {
        'OS_PROJECT_ID': getattr(access, 'project_id', None),
        'OS_PROJECT_NAME': getattr(access, 'project_name', None),
        'OS_PROJECT_DOMAIN_ID': getattr(access, 'project_domain_id', None),
        'OS_DOMAIN_ID': getattr(access, 'domain_id', None)
        if not getattr(access, 'project_id', None)
        else None,
        'OS_REGION_NAME': manager.region_name,
        'OS_INTERFACE': manager.interface,
        'OS_CACERT': manager.cacert,
    }
    settings.update({k: str(v) for k, v in optional.items() if v})
    if manager.interface:
        # NOTE: the Terraform/OpenTofu provider reads the interface only
        # as OS_ENDPOINT_TYPE; openstacksdk takes it as the interface too.
        settings['OS_ENDPOINT_TYPE'] = str(manager.interface)
    if manager.verify is False:
        settings['OS_INSECURE'] = 'true'
    return settings


def child_environment(
    environ: Mapping[str, str], settings: Mapping[str, str]
) -> dict[str, str]:
    """``environ`` without any ``OS_*`` variable, then ``settings``.

    Every ``OS_*`` variable goes: the password, passcode, TOTP secret,
    recovery code, passcode command, application credential, and
    ``OS_CLOUD`` / ``OS_CLIENT_CONFIG_FILE`` pointing back at the user's
    own cloud entry, whose secrets the child must not read.
    """
    env = {k: v for k, v in environ.items() if not k.startswith('OS_')}
    env.update(settings)
    return env


def clouds_yaml(settings: Mapping[str, str]) -> str:
    """A clouds.yaml with one entry, token-only or a session's
    application credential (JSON is valid YAML)."""
    import json

    if settings.get('OS_APPLICATION_CREDENTIAL_ID'):
        auth = {
            'auth_url': settings['OS_AUTH_URL'],
            'application_credential_id': settings[
                'OS_APPLICATION_CREDENTIAL_ID'
            ],
            'application_credential_secret': settings[
                'OS_APPLICATION_CREDENTIAL_SECRET'
            ],
        }
    else:
        auth = {
            'auth_url': settings['OS_AUTH_URL'],
            'token': settings['OS_TOKEN'],
        }
    for key, name in (
        ('OS_PROJECT_ID', 'project_id'),
        ('OS_PROJECT_NAME', 'project_name'),
        ('OS_PROJECT_DOMAIN_ID', 'project_domain_id'),
        ('OS_DOMAIN_ID', 'domain_id'),
    ):
        if settings.get(key):
            auth[name] = settings[key]
    cloud: dict[str, Any] = {
        'auth_type': settings['OS_AUTH_TYPE'],
        'auth': auth,
        'identity_api_version': '3',
    }
    if settings.get('OS_REGION_NAME'):
        cloud['region_name'] = settings['OS_REGION_NAME']
    if settings.get('OS_INTERFACE'):
        cloud['interface'] = settings['OS_INTERFACE']
    if settings.get('OS_CACERT'):
        cloud['cacert'] = settings['OS_CACERT']
    if settings.get('OS_INSECURE'):
        cloud['verify'] = False
    return json.dumps({'clouds': {CLOUD_ENTRY: cloud}}, indent=2) + '\n'


@contextlib.contextmanager
def temporary_clouds_yaml(settings: Mapping[str, str]) -> Iterator[str]:
    """A 0600 clouds.yaml in a 0700 directory, removed on the way out.

    NOTE: below the token cache directory (:mod:`mfa_osc.osc.lent`), so
    that a ``kill -9`` of exec leaves nothing that a later exec, export or
    logout does not clean up.
    """
    from mfa_osc.osc import lent

    with lent.lend(clouds_yaml(settings)) as path:
        yield path


def collect_leftovers() -> None:
    """Remove the clouds.yaml files of an exec that was killed."""
    from mfa_osc.osc import lent

    count = lent.collect()
    if count:
        LOG.debug('Removed %d clouds.yaml files of a killed exec.', count)


def _lifetime(app: Any, access: Any) -> None:
    expires = _expires(access)
    if expires is None:
        return
    left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
    LOG.debug('The token handed over expires at %s', expires.isoformat())
    if left < SHORT_LIFE:
        app.stderr.write(
            f'Note: the token expires in {max(0, int(left // 60))} minutes '
            f'({expires:%H:%M:%S} UTC); a job that runs longer fails then. '
            'Run `openstack mfa logout` and then this command again for a '
            'fresh one, or give a long job a session: `openstack mfa exec '
            '--session 8h -- COMMAND`.\n'
        )


def _from_cloud(app: Any) -> bool:
    return bool(
        getattr(app.options, 'cloud', None) or os.environ.get('OS_CLOUD')
    )


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
    app: Any, access: Any, credential: app_records.AppCredential
) -> dict[str, str]:
    """The ``OS_*`` settings of a session's application credential.

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
    settings = {
        k: v
        for k, v in token_settings(app, access).items()
        if k not in _TOKEN_ONLY
    }
    settings['OS_AUTH_TYPE'] = 'v3applicationcredential'
    settings['OS_APPLICATION_CREDENTIAL_ID'] = credential.id
    settings['OS_APPLICATION_CREDENTIAL_SECRET'] = secret
    return settings


def _duration(text: str) -> Any:
    """``--session`` and ``--max-session``: a duration."""
    try:
        return sessions.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_durations(parsed_args: argparse.Namespace) -> None:
    """Refuse a session shorter than the floor or over the ceiling.

    NOTE: here, not in the parser, so that the two options may come in
    either order; the command's first step, and before any sign-in
    (:attr:`_SessionCommand.auth_required`).
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


class _SessionCommand(command.Command):
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
        type=_duration,
        help='Hand over a session instead of the token: a restricted '
        "application credential of the token's project that signs in "
        'again by itself and ends after <duration> (8h, 90m, 2h30m; at '
        f'most {sessions.shown(sessions.DEFAULT_CEILING)} unless '
        f'--max-session says more); {ending}',
    )
    parser.add_argument(
        '--max-session',
        metavar='<duration>',
        type=_duration,
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


def _request(
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


def _sweep(client: mfa_client.MFAClient, user_id: str) -> None:
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
        _sweep(client, client.current_user_id())
    except mfa_client.ClientError as exc:
        LOG.debug('The sessions left here were not swept: %s', exc)


def start_session(
    app: Any, parsed_args: argparse.Namespace, access: Any, verb: str
) -> app_records.AppCredential:
    """Sweep, check and create a session's application credential."""
    client = common.mfa(app)
    with common.command_errors():
        request = _request(parsed_args, access, verb)
        sessions.role_ids(request)  # a wrong --role: before any request
        user_id = client.current_user_id()
        _sweep(client, user_id)
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
            f'`openstack application credential delete {credential.id}`.\n'
        )
        return False
    return True


class ExecMFA(_SessionCommand):
    """Run a command with this sign-in's token or session, nothing else"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_session_options(
            parser, 'deleted when the command ends (also on Ctrl-C)'
        )
        parser.add_argument(
            'command',
            metavar='<command>',
            nargs=argparse.REMAINDER,
            help='The command and its arguments, after "--"',
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        check_durations(parsed_args)
        argv = list(parsed_args.command)
        if argv and argv[0] == '--':
            argv = argv[1:]
        if not argv:
            raise exceptions.CommandError(
                'Give the command to run after "--", for example `openstack '
                'mfa exec -- openstack server list`.'
            )
        if parsed_args.roles and parsed_args.session is None:
            raise exceptions.CommandError(
                '--role chooses the roles of a session: give --session '
                'DURATION too, or leave --role out.'
            )
        program = shutil.which(argv[0])
        if program is None:
            return self._cannot_run(argv[0])
        collect_leftovers()
        access = confirmed_access(self.app)
        if parsed_args.session is None:
            settings = token_settings(self.app, access)
            _lifetime(self.app, access)
            sweep_left_sessions(self.app)
        # NOTE: the handlers go in before the session or the temporary
        # clouds.yaml is made and come out only after they are gone: a
        # SIGTERM or SIGHUP in between would otherwise end this process at
        # once and leave a live credential behind. A signal that comes
        # before the child starts means it is not started (child.run).
        with child.forwarding() as forwarder:
            if parsed_args.session is None:
                return self._run(program, argv, settings, forwarder)
            credential = start_session(self.app, parsed_args, access, 'exec')
            ended = False
            try:
                lent.hold_session(credential.id)
                settings = session_settings(self.app, access, credential)
                return self._run(program, argv, settings, forwarder)
            finally:
                ended = end_session(self.app, credential)
                lent.release_session(credential.id, ended=ended)

    def _run(
        self,
        program: str,
        argv: list[str],
        settings: dict[str, str],
        forwarder: child.Forwarder,
    ) -> int:
        with contextlib.ExitStack() as stack:
            if _from_cloud(self.app):
                path = stack.enter_context(temporary_clouds_yaml(settings))
                settings = {
                    **settings,
                    'OS_CLIENT_CONFIG_FILE': path,
                    'OS_CLOUD': CLOUD_ENTRY,
                }
            env = child_environment(os.environ, settings)
            try:
                return child.run(program, argv, env, forwarder)
            except child.NotStarted as exc:
                self.app.stderr.write(
                    f'{argv[0]!r} could not be run: {exc}.\n'
                )
                return NOT_EXECUTABLE

    def _cannot_run(self, name: str) -> int:
        """A program not found (127) or not executable (126), as shells
        say it: one sentence on stderr and their exit status."""
        path = _locate(name)
        if path is None:
            where = '' if os.sep in name else ' on PATH'
            self.app.stderr.write(
                f'{name!r} was not found{where}; check its name.\n'
            )
            return NOT_FOUND
        what = 'a directory' if os.path.isdir(path) else 'not executable'
        self.app.stderr.write(
            f'{path!r} is {what}; give the program to run (`chmod +x '
            f'{path}` makes a script executable).\n'
        )
        return NOT_EXECUTABLE


class ExportMFA(_SessionCommand):
    """Print this sign-in's token or session settings for a shell to eval"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        add_session_options(
            parser,
            'left to expire (`openstack mfa export --end-sessions` ends it '
            'early)',
        )
        parser.add_argument(
            '--end-sessions',
            action='store_true',
            help='End (delete) every session that mfa-osc made for you, '
            'with or without a job still running on it',
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        check_durations(parsed_args)
        if parsed_args.end_sessions and parsed_args.session is not None:
            raise exceptions.CommandError(
                '--end-sessions ends sessions and --session makes one: '
                'give one of them.'
            )
        if parsed_args.roles and parsed_args.session is None:
            raise exceptions.CommandError(
                '--role chooses the roles of a session: give --session '
                'DURATION too, or leave --role out.'
            )
        collect_leftovers()
        if parsed_args.end_sessions:
            return self._end_sessions()
        access = confirmed_access(self.app)
        if parsed_args.session is not None:
            return self._session(parsed_args, access)
        settings = token_settings(self.app, access)
        if settings.get('OS_PROJECT_NAME') and settings.get(
            'OS_PROJECT_DOMAIN_ID'
        ):
            # NOTE: the project by name and domain only: keystoneauth
            # prefers a project ID to a name, so an exported OS_PROJECT_ID
            # would silently win over a later --os-project-name in this
            # shell. (A program under exec gets the ID as well.)
            settings.pop('OS_PROJECT_ID', None)
        _lifetime(self.app, access)
        self._write(settings)
        mark = exported.mark(settings['OS_TOKEN'])
        self.app.stdout.write(f'export {exported.VARIABLE}={mark}\n')
        if sys.stdout.isatty():
            self.app.stderr.write(
                'Note: this prints a token; `eval "$(openstack mfa export)"` '
                'puts it in your shell instead.\n'
            )
        return 0

    def _write(self, settings: Mapping[str, str]) -> None:
        out = self.app.stdout
        # NOTE: every other OS_* variable of the shell goes, the secrets
        # and a clouds.yaml entry that would take precedence included.
        stale = {k for k in os.environ if k.startswith('OS_')} | {
            'OS_CLOUD', 'OS_CLIENT_CONFIG_FILE', 'OS_PASSWORD', 'OS_PASSCODE',
            'OS_TOTP_SECRET', 'OS_RECOVERY_CODE', 'OS_PASSCODE_COMMAND',
        }  # fmt: skip
        for name in sorted(stale - set(settings)):
            out.write(f'unset {name}\n')
        for key, value in settings.items():
            out.write(f'export {key}={shlex.quote(value)}\n')

    def _session(self, parsed_args: argparse.Namespace, access: Any) -> int:
        credential = start_session(self.app, parsed_args, access, 'export')
        try:
            settings = session_settings(self.app, access, credential)
        except exceptions.CommandError:
            end_session(self.app, credential)
            raise
        self._write({**settings})
        self.app.stdout.write(f'unset {exported.VARIABLE}\n')
        until = credential.expires_at
        when = f'{until:%Y-%m-%d %H:%M} UTC' if until else 'its expiry'
        self.app.stderr.write(
            f'Note: the session {credential.name} signs in by itself until '
            f'{when} and is then left to expire; end it early with '
            '`openstack mfa export --end-sessions`, signed in with MFA as '
            'for this command (a session may not end sessions).\n'
        )
        return 0

    def _end_sessions(self) -> int:
        client = common.mfa(self.app)
        with common.command_errors():
            gone = sessions.end_all(client, client.current_user_id())
        for session_id in gone:
            lent.release_session(session_id, ended=True)
        self.app.stderr.write(
            f'Ended {len(gone)} session{"" if len(gone) == 1 else "s"} '
            'that mfa-osc made for you.\n'
        )
        return 0
