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
(:mod:`mfa_osc.osc.lent_session`): a restricted application credential
of the token's project that Keystone ends after DURATION, with which the
program signs in again by itself whenever a token expires. ``exec``
deletes it when the program ends; ``export`` leaves it to expire
(``openstack mfa session end`` ends it early).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from collections.abc import Mapping
import contextlib
import datetime
import logging
import os
import shlex
import shutil
import sys
from typing import Any

from osc_lib import exceptions

from mfa_osc import redact
from mfa_osc.osc import child
from mfa_osc.osc import exported
from mfa_osc.osc import lent
from mfa_osc.osc import lent_session

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
    with lent.lend(clouds_yaml(settings)) as path:
        yield path


def collect_leftovers() -> None:
    """Remove the clouds.yaml files of an exec that was killed."""
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


class ExecMFA(lent_session.SessionCommand):
    """Run a command with this sign-in's token or session, nothing else"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        lent_session.add_session_options(
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
        lent_session.check_durations(parsed_args)
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
            lent_session.sweep_left_sessions(self.app)
        # NOTE: the handlers go in before the session or the temporary
        # clouds.yaml is made and come out only after they are gone: a
        # SIGTERM or SIGHUP in between would otherwise end this process at
        # once and leave a live credential behind. A signal that comes
        # before the child starts means it is not started (child.run).
        with child.forwarding() as forwarder:
            if parsed_args.session is None:
                return self._run(program, argv, settings, forwarder)
            credential = lent_session.start_session(
                self.app, parsed_args, access, 'exec'
            )
            ended = False
            try:
                lent.hold_session(credential.id)
                settings = lent_session.session_settings(
                    token_settings(self.app, access), credential
                )
                return self._run(program, argv, settings, forwarder)
            finally:
                ended = lent_session.end_session(self.app, credential)
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


class ExportMFA(lent_session.SessionCommand):
    """Print this sign-in's token or session settings for a shell to eval"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        lent_session.add_session_options(
            parser,
            'left to expire (`openstack mfa session end` ends it early)',
        )
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        lent_session.check_durations(parsed_args)
        if parsed_args.roles and parsed_args.session is None:
            raise exceptions.CommandError(
                '--role chooses the roles of a session: give --session '
                'DURATION too, or leave --role out.'
            )
        collect_leftovers()
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
        credential = lent_session.start_session(
            self.app, parsed_args, access, 'export'
        )
        try:
            settings = lent_session.session_settings(
                token_settings(self.app, access), credential
            )
        except exceptions.CommandError:
            lent_session.end_session(self.app, credential)
            raise
        self._write({**settings})
        self.app.stdout.write(f'unset {exported.VARIABLE}\n')
        until = credential.expires_at
        when = f'{until:%Y-%m-%d %H:%M} UTC' if until else 'its expiry'
        self.app.stderr.write(
            f'Note: the session {credential.name} signs in by itself until '
            f'{when} and is then left to expire; end it early with '
            f'`openstack mfa session end {credential.name}`, signed in with '
            'MFA as for this command (a session may not end sessions).\n'
        )
        return 0
