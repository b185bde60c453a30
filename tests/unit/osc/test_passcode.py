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

import os
from unittest import mock

from osc_lib import exceptions

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
