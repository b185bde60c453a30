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

"""``openstack mfa passcode show``."""

from __future__ import annotations

import io
import os
from unittest import mock

import fixtures
from osc_lib import exceptions
from osc_lib.tests import utils as tests_utils

from mfa_osc import totp
from mfa_osc.osc import passcode
from tests.unit.osc import fakes

SECRET = fakes.SECRET


class TestPasscodeShow(fakes.CommandTestCase):
    def test_show(self) -> None:
        cmd = passcode.ShowPasscode(self.app, None)
        self.assertFalse(cmd.auth_required)
        parsed = self.check_parser(
            cmd, ['--secret', SECRET.lower()], [('secret', SECRET.lower())]
        )
        columns, data = cmd.take_action(parsed)
        self.assertEqual(('passcode', 'seconds_left'), columns)
        self.assertIn(totp.window_offset(SECRET, data[0]), (0, -1))

    def test_from_environment(self) -> None:
        with mock.patch.dict(os.environ, {'OS_TOTP_SECRET': SECRET}):
            cmd = passcode.ShowPasscode(self.app, None)
            parsed = self.check_parser(cmd, [], [('secret', SECRET)])
        self.assertEqual(6, len(cmd.take_action(parsed)[1][0]))

    def test_no_secret(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            cmd = passcode.ShowPasscode(self.app, None)
            parsed = self.check_parser(cmd, [], [])
        self.assertRaises(exceptions.CommandError, cmd.take_action, parsed)

    def test_secret_file_and_stdin(self) -> None:
        path = self.useFixture(fixtures.TempDir()).join('secret')
        with open(path, 'w') as handle:
            handle.write(SECRET + '\n')
        with mock.patch.dict(os.environ, {}, clear=True):
            cmd = passcode.ShowPasscode(self.app, None)
            self.check_parser(
                cmd, ['--secret-file', path], [('secret', SECRET)]
            )
            with mock.patch('sys.stdin', io.StringIO(SECRET)):
                parsed = self.check_parser(
                    cmd, ['--secret-file', '-'], [('secret', SECRET)]
                )
        self.assertEqual(6, len(cmd.take_action(parsed)[1][0]))

    def test_secret_and_secret_file_exclusive(self) -> None:
        cmd = passcode.ShowPasscode(self.app, None)
        self.assertRaises(
            tests_utils.ParserException,
            self.check_parser,
            cmd,
            ['--secret', SECRET, '--secret-file', '-'],
            [],
        )

    def test_prompt_on_a_terminal(self) -> None:
        self.terminal.return_value = True
        with mock.patch.dict(os.environ, {}, clear=True):
            cmd = passcode.ShowPasscode(self.app, None)
            parsed = self.check_parser(cmd, [], [])
        with mock.patch(
            'mfa_osc.auth.sources.prompt', return_value=SECRET
        ) as prompt:
            self.assertEqual(6, len(cmd.take_action(parsed)[1][0]))
        prompt.assert_called_once_with('TOTP secret: ')

    def test_help_prefers_the_file(self) -> None:
        cmd = passcode.ShowPasscode(self.app, None)
        text = cmd.get_parser('show').format_help()
        self.assertIn('--secret-file', text)
        self.assertIn('process list', text)
