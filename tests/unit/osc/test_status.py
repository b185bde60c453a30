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

"""``openstack mfa status``, and ``--all`` as a list."""

from __future__ import annotations

import dataclasses
import io
import json
from unittest import mock

from osc_lib import exceptions

from mfa_osc.osc import audit
from mfa_osc.osc import status
from mfa_osc.workflows import status as status_flow
from tests.unit.osc import fakes

ROW = status_flow.AuditRow(
    id='u1',
    name='alice',
    domain_id='default',
    devices=1,
    recovery_codes_left=8,
    unverified=0,
    state='enforced',
    admin=True,
)


class TestStatusAll(fakes.CommandTestCase):
    def test_all_is_a_list(self) -> None:
        self.mfa_client.truncated = []
        cmd = status.ShowMFAStatus(self.app, None)
        parsed = self.check_parser(cmd, ['--all', '-f', 'json'], [])
        with mock.patch.object(status_flow, 'audit', return_value=[ROW]):
            columns, data = cmd.take_action(parsed)
            self.assertEqual(audit.COLUMNS, columns)
            self.app.stdout = io.StringIO()
            cmd.formatter = cmd._formatter_plugins['json'].obj
            cmd.produce_output(parsed, columns, data)

        self.assertEqual(
            [dataclasses.asdict(ROW)], json.loads(self.app.stdout.getvalue())
        )

    def test_domain_needs_all(self) -> None:
        cmd = status.ShowMFAStatus(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'd'], [])
        self.assertRaises(exceptions.CommandError, cmd.take_action, parsed)
        self.assertEqual([], self.mfa_client.mock_calls)
