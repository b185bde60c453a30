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

"""``openstack mfa audit``: one row per user."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from unittest import mock

import fixtures

from mfa_osc.osc import audit
from mfa_osc.workflows import status as status_flow
from tests.unit.osc import fakes
from tests.unit.osc import test_status


class TestAudit(fakes.CommandTestCase):
    def test_rows_as_json(self) -> None:
        self.mfa_client.truncated = []
        cmd = audit.AuditMFA(self.app, None)
        parsed = self.check_parser(
            cmd, ['--domain', 'corp', '-f', 'json'], [('domain', 'corp')]
        )
        with mock.patch.object(
            status_flow, 'audit', return_value=[test_status.ROW]
        ) as flow:
            columns, data = cmd.take_action(parsed)
        flow.assert_called_once_with(self.mfa_client, 'corp')
        self.assertEqual(status_flow.columns(status_flow.AuditRow), columns)
        self.app.stdout = io.StringIO()
        cmd.formatter = cmd._formatter_plugins['json'].obj
        cmd.produce_output(parsed, columns, data)
        self.assertEqual(
            [dataclasses.asdict(test_status.ROW)],
            json.loads(self.app.stdout.getvalue()),
        )

    def test_truncated_lists_are_warned_of(self) -> None:
        logger = self.useFixture(
            fixtures.FakeLogger(name='mfa_osc.osc.audit', level=logging.INFO)
        )
        self.mfa_client.truncated = ['users', 'users']
        cmd = audit.AuditMFA(self.app, None)
        parsed = self.check_parser(cmd, [], [('domain', None)])
        with mock.patch.object(status_flow, 'audit', return_value=[]):
            cmd.take_action(parsed)
        self.assertIn('cut these lists short: users (', logger.output)
