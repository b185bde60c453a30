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

"""Progress bars: drawn on a terminal's stderr, never elsewhere."""

from __future__ import annotations

import io
from types import SimpleNamespace
from unittest import mock

from osc_lib.test import base

from mfa_osc.osc import progress
from tests.unit.osc import fakes


class TestShown(base.TestCase):
    def test_nothing_drawn_off_a_terminal(self) -> None:
        client = mock.Mock(on_page=None)
        err = io.StringIO()
        with progress.shown(SimpleNamespace(stderr=err), client) as change:
            self.assertIsNone(change)
            self.assertIsNone(client.on_page)
        self.assertEqual('', err.getvalue())

    def test_drawn_on_a_terminal_and_unhooked_after(self) -> None:
        client = mock.Mock(on_page=None)
        err = fakes.FakeTerminal()
        app = SimpleNamespace(stderr=err)
        with progress.shown(app, client) as change:
            self.assertIsNotNone(change)
            client.on_page('users', 1000)
            assert change is not None
            change(1, 2)
        self.assertIsNone(client.on_page)
        self.assertIn('Reading users', err.getvalue())
