#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""``openstack mfa exec``: the lifetime line and the signals."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
import contextlib
import datetime
import errno
import io
import json
import logging
import os
import signal
from typing import Any
from typing import cast
from unittest import mock

import fixtures
from keystoneauth1 import access
from keystoneauth1 import fixture as ks_fixture
from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc.client import records as app_records
from mfa_osc.osc import child
from mfa_osc.osc import exec as exec_
from mfa_osc.osc import lent
from mfa_osc.osc import lent_session
from tests.unit.osc import fakes

MINUTE = datetime.timedelta(minutes=1)
#: What exec handles: Ctrl-C, SIGTERM, a hang-up and Ctrl-\.
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _access(expires: datetime.datetime) -> access.AccessInfo:
    token = ks_fixture.V3Token(expires=expires)
    return access.create(body=token, auth_token='a-token')


class TestLifetime(base.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(
            fixtures.FakeLogger(name=exec_.__name__, level=logging.DEBUG)
        )
        self.app = mock.Mock(stderr=io.StringIO())

    def lifetime(self, left: datetime.timedelta) -> tuple[str, str]:
        """What goes on stderr, and the expiry as the line shows it."""
        # NOTE: 30 s more than whole minutes: the test may take up to 30 s
        # and still see the same number of minutes left.
        expires = datetime.datetime.now(datetime.UTC) + left + MINUTE / 2
        self.app.client_manager.auth_ref = _access(expires)
        exec_._lifetime(self.app, self.app.client_manager.auth_ref)
        return self.app.stderr.getvalue(), f'{expires:%H:%M:%S}'

    def test_under_ten_minutes_one_line(self) -> None:
        err, expires = self.lifetime(7 * MINUTE)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertTrue(err.endswith('\n'))
        self.assertIn(f'the token expires in 7 minutes ({expires} UTC)', err)
        self.assertIn('openstack mfa logout', err)
        self.assertIn('The token handed over expires at', self.logs.output)

    def test_over_ten_minutes_nothing(self) -> None:
        err, _ = self.lifetime(10 * MINUTE)
        self.assertEqual('', err)
        # Only with --debug.
        self.assertIn('The token handed over expires at', self.logs.output)

    def test_expired_is_zero_minutes(self) -> None:
        err, _ = self.lifetime(-3 * MINUTE)
        self.assertIn('the token expires in 0 minutes', err)

    def test_no_expiry_nothing(self) -> None:
        self.app.client_manager.auth_ref = mock.Mock(expires=None)
        exec_._lifetime(self.app, self.app.client_manager.auth_ref)
        self.assertEqual('', self.app.stderr.getvalue())
        self.assertEqual('', self.logs.output)


class TestConfirmedAccess(base.TestCase):
    """A token served from the cache is checked before it is handed on."""

    def setUp(self) -> None:
        super().setUp()
        self.app = mock.Mock()
        self.manager = self.app.client_manager
        self.cached = _access(
            datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        )
        self.fresh = _access(
            datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        )
        self.manager.auth_ref = self.cached
        self.manager.auth.sign_in_requests = 0
        self.manager.auth.get_auth_ref.return_value = self.fresh

    def test_revoked_means_a_fresh_sign_in(self) -> None:
        self.manager.auth.invalidate.return_value = True
        self.assertIs(self.fresh, exec_.confirmed_access(self.app))
        self.manager.auth.get_auth_ref.assert_called_once_with(
            self.manager.session
        )

    def test_still_valid_is_handed_on(self) -> None:
        self.manager.auth.invalidate.return_value = False
        self.assertIs(self.cached, exec_.confirmed_access(self.app))
        # NOTE: invalidate() checks the token it holds: this one.
        self.assertIs(self.cached, self.manager.auth.auth_ref)
        self.manager.auth.get_auth_ref.assert_not_called()

    def test_a_token_fresh_from_keystone_is_not_checked_again(self) -> None:
        self.manager.auth.sign_in_requests = 1
        self.assertIs(self.cached, exec_.confirmed_access(self.app))
        self.manager.auth.invalidate.assert_not_called()


class TestShouldForward(base.TestCase):
    """Ctrl-C and Ctrl-\\ at the terminal reached the child already."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(
            fixtures.MockPatch('os.getpgrp', return_value=100)
        )  # fmt: skip
        self.getpgid = self.useFixture(
            fixtures.MockPatch('os.getpgid', return_value=100)
        ).mock
        self.terminal = self.useFixture(
            fixtures.MockPatchObject(
                child, '_terminal_group', return_value=100
            )
        ).mock

    def test_terminal_signals_not_sent_twice(self) -> None:
        for signum in (signal.SIGINT, signal.SIGQUIT):
            self.assertFalse(child.should_forward(signum, 4242))
        self.getpgid.assert_called_with(4242)

    def test_sigterm_and_sighup_always(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGHUP):
            self.assertTrue(child.should_forward(signum, 4242))

    def test_sigint_without_a_terminal(self) -> None:
        # `kill -INT <exec pid>` from a script: the child saw nothing.
        self.terminal.return_value = None
        self.assertTrue(child.should_forward(signal.SIGINT, 4242))

    def test_sigint_in_the_background(self) -> None:
        self.terminal.return_value = 200
        self.assertTrue(child.should_forward(signal.SIGINT, 4242))

    def test_sigint_child_in_a_group_of_its_own(self) -> None:
        self.getpgid.return_value = 4242
        self.assertTrue(child.should_forward(signal.SIGINT, 4242))

    def test_sigint_child_gone(self) -> None:
        self.getpgid.side_effect = ProcessLookupError()
        self.assertTrue(child.should_forward(signal.SIGINT, 4242))


class TestTerminalGroup(base.TestCase):
    def test_no_controlling_terminal(self) -> None:
        error = OSError(errno.ENXIO, 'No such device or address')
        with mock.patch('os.open', side_effect=error):
            self.assertIsNone(child._terminal_group())

    def test_foreground_group(self) -> None:
        with (
            mock.patch('os.open', return_value=9) as opened,
            mock.patch('os.tcgetpgrp', return_value=321) as tcgetpgrp,
            mock.patch('os.close') as closed,
        ):
            self.assertEqual(321, child._terminal_group())
        opened.assert_called_once_with('/dev/tty', mock.ANY)
        tcgetpgrp.assert_called_once_with(9)
        closed.assert_called_once_with(9)


class ExecCase(fakes.CommandTestCase):
    """exec with a cloud of clouds.yaml, its child and files watched."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(redact, '_known', set()))
        self.useFixture(fixtures.EnvironmentVariable('OS_CLOUD', 'mine'))
        self.cache_dir = self.useFixture(fixtures.TempDir()).path + '/c'
        self.useFixture(
            fixtures.EnvironmentVariable('MFA_OSC_CACHE_DIR', self.cache_dir)
        )
        # NOTE: Any: osc-lib's fakes declare few of the app's attributes.
        self.app_: Any = cast(Any, self.app)
        manager = self.app_.client_manager
        manager.auth_ref = _access(
            datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        )
        manager.auth = mock.Mock(auth_url='https://keystone.test/v3')
        manager.region_name = 'RegionOne'
        manager.interface = 'public'
        manager.cacert = None
        manager.verify = True
        self.app_.options = mock.Mock(cloud='mine')
        self.app_.stderr = io.StringIO()
        self.popen = self.useFixture(
            fixtures.MockPatch('subprocess.Popen')
        ).mock
        self.popen.return_value.wait.return_value = 0
        self.popen.return_value.returncode = None
        self.seen: dict[str, Any] = {}
        #: What happens while the temporary clouds.yaml exists.
        self.inside: Callable[[], None] = lambda: None
        real = exec_.temporary_clouds_yaml

        @contextlib.contextmanager
        def watched(settings: Mapping[str, str]) -> Iterator[str]:
            self.seen['before'] = self.handlers()
            with real(settings) as path:
                self.seen['path'] = path
                self.seen['inside'] = self.handlers()
                self.inside()
                yield path
            self.seen['after'] = self.handlers()

        self.useFixture(
            fixtures.MockPatchObject(exec_, 'temporary_clouds_yaml', watched)
        )

    @staticmethod
    def handlers() -> dict[int, Any]:
        return {sig: signal.getsignal(sig) for sig in SIGNALS}

    def run_exec(self) -> int:
        cmd = exec_.ExecMFA(self.app_, None)
        parsed = self.check_parser(
            cmd, ['--', 'true'], [('command', ['--', 'true'])]
        )
        result: int = cmd.take_action(parsed)
        return result


class TestSignalsAroundTheFiles(ExecCase):
    """The handlers are in while the temporary clouds.yaml exists."""

    def test_handlers_before_the_file_and_after_it_is_gone(self) -> None:
        original = self.handlers()
        self.assertEqual(0, self.run_exec())
        for when in ('before', 'inside', 'after'):
            for sig, handler in self.seen[when].items():
                self.assertIsInstance(
                    handler, child.Forwarder, f'{when}: {sig!r}'
                )
        self.assertEqual(original, self.handlers())
        self.assertFalse(os.path.exists(self.seen['path']))
        # NOTE: below the cache directory, where a later command finds it
        # should exec be killed; the child holds its lock too.
        self.assertTrue(self.seen['path'].startswith(self.cache_dir + '/'))
        (held,) = self.popen.call_args.kwargs['pass_fds']
        self.assertIsInstance(held, int)
        env = self.popen.call_args.kwargs['env']
        self.assertEqual(self.seen['path'], env['OS_CLIENT_CONFIG_FILE'])
        self.assertEqual('mfa-exec', env['OS_CLOUD'])

    def test_sigterm_while_writing_the_file(self) -> None:
        def inside() -> None:
            handler = signal.getsignal(signal.SIGTERM)
            assert callable(handler)
            handler(signal.SIGTERM, None)

        self.inside = inside
        self.assertEqual(128 + signal.SIGTERM, self.run_exec())
        # Not started, and the file gone.
        self.popen.assert_not_called()
        self.assertFalse(os.path.exists(self.seen['path']))
        self.assertFalse(os.path.exists(os.path.dirname(self.seen['path'])))


class TestForwarder(base.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.should = self.useFixture(
            fixtures.MockPatchObject(child, 'should_forward')
        ).mock
        self.forwarder = child.Forwarder()
        self.child = mock.Mock(pid=4242, returncode=None)

    def test_pending_before_the_child(self) -> None:
        self.forwarder(signal.SIGHUP, None)
        self.assertEqual([signal.SIGHUP], self.forwarder.pending)
        self.should.assert_not_called()

    def test_sent_when_it_should(self) -> None:
        self.forwarder.child = self.child
        self.should.return_value = True
        self.forwarder(signal.SIGINT, None)
        self.child.send_signal.assert_called_once_with(signal.SIGINT)
        self.should.assert_called_once_with(signal.SIGINT, 4242)

    def test_not_sent_twice_from_the_terminal(self) -> None:
        self.forwarder.child = self.child
        self.should.return_value = False
        self.forwarder(signal.SIGINT, None)
        self.child.send_signal.assert_not_called()

    def test_child_gone(self) -> None:
        self.forwarder.child = self.child
        self.should.return_value = True
        self.child.send_signal.side_effect = ProcessLookupError()
        self.forwarder(signal.SIGTERM, None)


SESSION_SECRET = 'sess-secret-Qw8rT5yU2iO9pA3s'


class SessionCase(ExecCase):
    """A project-scoped sign-in whose rules admit sessions."""

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(
            fixtures.FakeLogger(name='mfa_osc', level=logging.DEBUG)
        )
        client = self.mfa_client
        client.clock_skew = 0.0
        client.current_user_id.return_value = 'u1'
        client.enabled_methods.return_value = frozenset(
            {'password', 'totp', 'application_credential'}
        )
        client.get_user.return_value = mfa_client.User.from_json(
            {
                'id': 'u1',
                'options': {
                    'multi_factor_auth_rules': [
                        ['password', 'totp'],
                        ['application_credential'],
                    ]
                },
            }
        )
        client.list_app_credentials.return_value = []

        def create(user_id: str, **kw: Any) -> app_records.AppCredential:
            return app_records.AppCredential(
                id='ac1', name=kw['name'], description=kw['description'],
                project_id='p', expires_at=kw['expires_at'],
                unrestricted=False, roles=(), secret=SESSION_SECRET,
            )  # fmt: skip

        client.create_app_credential.side_effect = create
        self.app_.client_manager.auth.sources = mock.Mock(prompt=True)
        token = ks_fixture.V3Token(
            expires=datetime.datetime.now(datetime.UTC)
            + datetime.timedelta(hours=1)
        )
        token.set_project_scope(id='p', name='proj')
        token.add_role(id='r-m', name='member')
        token.add_role(id='r-r', name='reader')
        self.app_.client_manager.auth_ref = access.create(
            body=token, auth_token='a-token'
        )


class TestSession(SessionCase):
    """``exec --session``: the child gets the application credential,
    which is deleted however the child ends."""

    def run_exec(self, *extra: str) -> int:
        cmd = exec_.ExecMFA(self.app_, None)
        argv = ['--session', '2h', *extra, '--', 'true']
        parsed = self.check_parser(cmd, argv, [])
        result: int = cmd.take_action(parsed)
        return result

    def assert_deleted(self) -> None:
        self.mfa_client.delete_app_credential.assert_called_once_with(
            'u1', 'ac1'
        )
        self.assertEqual([], lent.sessions_here())

    def test_child_gets_the_session_and_it_is_deleted(self) -> None:
        self.assertEqual(0, self.run_exec())
        env = self.popen.call_args.kwargs['env']
        self.assertEqual('v3applicationcredential', env['OS_AUTH_TYPE'])
        self.assertEqual('ac1', env['OS_APPLICATION_CREDENTIAL_ID'])
        self.assertEqual(
            SESSION_SECRET, env['OS_APPLICATION_CREDENTIAL_SECRET']
        )
        for name in ('OS_TOKEN', 'OS_PROJECT_ID', 'OS_PROJECT_NAME'):
            self.assertNotIn(name, env)
        self.assertEqual('https://keystone.test/v3', env['OS_AUTH_URL'])
        # The clouds.yaml lock and the session's: the child holds both.
        self.assertEqual(2, len(self.popen.call_args.kwargs['pass_fds']))
        kwargs = self.mfa_client.create_app_credential.call_args.kwargs
        self.assertEqual([], kwargs['roles'])
        self.assertTrue(kwargs['name'].startswith('mfa-osc-session-'))
        self.assert_deleted()
        # The delete never prompts (no one may be at the terminal).
        self.assertFalse(self.app_.client_manager.auth.sources.prompt)
        self.assertNotIn(SESSION_SECRET, self.logs.output)
        self.assertNotIn(SESSION_SECRET, self.app_.stderr.getvalue())
        # Known to the log filter from now on.
        self.assertNotIn(SESSION_SECRET, redact.scrub(f'x {SESSION_SECRET}'))

    def test_the_clouds_yaml_holds_the_session(self) -> None:
        def inside() -> None:
            with open(self.seen['path']) as f:
                self.seen['file'] = f.read()

        self.inside = inside
        self.assertEqual(0, self.run_exec())
        entry = json.loads(self.seen['file'])['clouds']['mfa-exec']
        self.assertEqual('v3applicationcredential', entry['auth_type'])
        self.assertEqual(
            {
                'auth_url': 'https://keystone.test/v3',
                'application_credential_id': 'ac1',
                'application_credential_secret': SESSION_SECRET,
            },
            entry['auth'],
        )

    def test_sigterm_while_writing_the_file(self) -> None:
        def inside() -> None:
            handler = signal.getsignal(signal.SIGTERM)
            assert callable(handler)
            handler(signal.SIGTERM, None)

        self.inside = inside
        self.assertEqual(128 + signal.SIGTERM, self.run_exec())
        self.popen.assert_not_called()
        self.assertFalse(os.path.exists(self.seen['path']))
        self.assert_deleted()

    def test_child_not_started(self) -> None:
        self.popen.side_effect = OSError(errno.EACCES, 'Permission denied')
        self.assertEqual(exec_.NOT_EXECUTABLE, self.run_exec())
        self.assert_deleted()

    def test_child_status_passed_on(self) -> None:
        self.popen.return_value.wait.return_value = 7
        self.assertEqual(7, self.run_exec())
        self.assert_deleted()

    def test_delete_fails_left_to_expiry_and_the_next_sweep(self) -> None:
        self.mfa_client.delete_app_credential.side_effect = (
            mfa_client.Unavailable('Keystone could not be reached.')
        )
        self.assertEqual(0, self.run_exec())
        err = self.app_.stderr.getvalue()
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('could not be ended now', err)
        self.assertIn('it ends by itself at', err)
        self.assertIn('openstack mfa session end ac1', err)
        # Its lock file stays, unlocked: the next exec deletes it.
        self.assertEqual(['ac1'], lent.sessions_here())
        self.assertIs(False, lent.session_held('ac1'))

    def test_roles(self) -> None:
        self.assertEqual(0, self.run_exec('--role', 'member'))
        kwargs = self.mfa_client.create_app_credential.call_args.kwargs
        self.assertEqual(['r-m'], kwargs['roles'])

    def test_refused_nothing_made_nothing_run(self) -> None:
        self.mfa_client.get_user.return_value = mfa_client.User.from_json(
            {
                'id': 'u1',
                'options': {'multi_factor_auth_rules': [['password', 'totp']]},
            }
        )
        exc = self.assertRaises(exceptions.CommandError, self.run_exec)
        self.assertIn('--application-credentials', str(exc))
        self.mfa_client.create_app_credential.assert_not_called()
        self.popen.assert_not_called()


class TestDurationsBeforeTheSignIn(base.TestCase):
    def test_refused(self) -> None:
        for argv in (
            ['mfa', 'exec', '--session', '8x', '--', 'true'],
            ['mfa', 'exec', '--session=25h', '--', 'true'],
            ['mfa', 'export', '--session', '30s'],
            ['mfa', 'exec', '--session', '25h', '--max-session', '24h'],
            ['mfa', 'exec', '--max-session', '48h', '--', 'true'],
        ):
            self.assertTrue(lent_session.durations_refused(argv), argv)

    def test_accepted(self) -> None:
        for argv in (
            ['mfa', 'exec', '--', 'true'],
            ['mfa', 'exec', '--session', '8h', '--', 'x', '--session', 'y'],
            ['mfa', 'exec', '--max-session', '48h', '--session', '48h'],
            None,
        ):
            self.assertFalse(lent_session.durations_refused(argv), argv)

    def test_no_sign_in_for_a_refused_one(self) -> None:
        app = mock.Mock(command_options=['mfa', 'exec', '--session', 'x'])
        self.assertFalse(exec_.ExecMFA(app, None).auth_required)
        app.command_options = ['mfa', 'exec', '--session', '1h']
        self.assertTrue(exec_.ExecMFA(app, None).auth_required)

    def test_parser_says_why(self) -> None:
        parser = exec_.ExecMFA(mock.Mock(), None).get_parser('mfa exec')
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertRaises(
                SystemExit, parser.parse_args, ['--session', '8x', '--', 'x']
            )
        self.assertIn("'8x' is not a duration", err.getvalue())

    def test_ceiling_in_either_order(self) -> None:
        cmd = exec_.ExecMFA(mock.Mock(), None)
        parser = cmd.get_parser('mfa exec')
        for argv in (
            ['--session', '25h', '--max-session', '1d2h', '--', 'true'],
            ['--max-session', '1d2h', '--session', '25h', '--', 'true'],
        ):
            args = parser.parse_args(argv)
            lent_session.check_durations(args)
            self.assertEqual(datetime.timedelta(hours=25), args.session)
        args = parser.parse_args(['--session', '25h', '--', 'true'])
        # Refused before anything else (the app is a Mock: any use of it
        # would not raise this).
        exc = self.assertRaises(exceptions.CommandError, cmd.take_action, args)
        self.assertEqual(
            'A session of 25h is longer than the ceiling of 24h: give a '
            'shorter one, or raise the ceiling with --max-session 25h.',
            str(exc),
        )


class TestExportSession(SessionCase):
    """``export --session``: the lines of a session for a shell."""

    def export(self, *argv: str) -> tuple[int, str]:
        cmd = exec_.ExportMFA(self.app_, None)
        parsed = self.check_parser(cmd, list(argv), [])
        self.app_.stdout = io.StringIO()
        code: int = cmd.take_action(parsed)
        return code, self.app_.stdout.getvalue()

    def test_lines_of_the_session_left_to_expire(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('OS_TOKEN', 'old'))
        code, out = self.export('--session', '4h')
        self.assertEqual(0, code)
        lines = out.splitlines()
        self.assertIn('export OS_AUTH_TYPE=v3applicationcredential', lines)
        self.assertIn('export OS_APPLICATION_CREDENTIAL_ID=ac1', lines)
        self.assertIn(
            f'export OS_APPLICATION_CREDENTIAL_SECRET={SESSION_SECRET}', lines
        )
        self.assertIn('unset OS_TOKEN', lines)
        self.assertIn('unset MFA_OSC_EXPORTED', lines)
        self.assertNotIn('OS_PROJECT_ID', out)
        self.mfa_client.delete_app_credential.assert_not_called()
        err = self.app_.stderr.getvalue()
        self.assertIn('left to expire', err)
        self.assertIn('openstack mfa session end mfa-osc-session-', err)
        self.assertNotIn(SESSION_SECRET, err)
        kwargs = self.mfa_client.create_app_credential.call_args.kwargs
        self.assertIn('mfa export --session 4h', kwargs['description'])

    def test_end_sessions_is_gone(self) -> None:
        # `openstack mfa session end --all` replaced it.
        cmd = exec_.ExportMFA(self.app_, None)
        self.assertRaises(
            base.ParserException,
            self.check_parser,
            cmd,
            ['--end-sessions'],
            [],
        )

    def test_options_that_do_not_go_together(self) -> None:
        for argv, words in (
            (['--role', 'member'], 'give --session DURATION too'),
            (['--max-session', '2d'], 'give --session DURATION too'),
        ):
            exc = self.assertRaises(
                exceptions.CommandError, self.export, *argv
            )
            self.assertIn(words, str(exc))
        self.mfa_client.create_app_credential.assert_not_called()
