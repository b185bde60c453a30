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
import logging
import os
import signal
from typing import Any
from typing import cast
from unittest import mock

import fixtures
from keystoneauth1 import access
from keystoneauth1 import fixture as ks_fixture
from osc_lib.test import base

from mfa_osc import redact
from mfa_osc.osc import child
from mfa_osc.osc import exec as exec_
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


class TestSignalsAroundTheFiles(fakes.CommandTestCase):
    """The handlers are in while the temporary clouds.yaml exists."""

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
