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

"""``openstack mfa remove``: the parser and confirmation."""

from __future__ import annotations

from types import SimpleNamespace

from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc.osc import common
from mfa_osc.osc import remove
from tests.unit.osc import fakes


class TestRemove(fakes.CommandTestCase):
    def test_device_or_all_required(self) -> None:
        cmd = remove.RemoveMFA(self.app, None)
        self.assertRaises(base.ParserException, self.check_parser, cmd, [], [])
        self.assertRaises(
            base.ParserException,
            self.check_parser,
            cmd,
            ['--all', '--device', 'x'],
            [],
        )

    def test_no_terminal_needs_yes(self) -> None:
        self.assertRaises(
            exceptions.CommandError,
            common.confirm,
            self.app,
            'Remove?',
            False,
        )
        common.confirm(self.app, 'Remove?', True)

    def test_fresh_second_factor_only_from_the_plugin_saying_so(self) -> None:
        def app(auth: object) -> object:
            return SimpleNamespace(client_manager=SimpleNamespace(auth=auth))

        fresh = SimpleNamespace(fresh_second_factor=True)
        cached = SimpleNamespace(fresh_second_factor=False)
        self.assertTrue(common.fresh_second_factor(app(fresh)))
        self.assertFalse(common.fresh_second_factor(app(cached)))
        # NOTE: another auth type (v3password), or no sign-in yet.
        self.assertFalse(common.fresh_second_factor(app(object())))
        self.assertFalse(common.fresh_second_factor(app(None)))
