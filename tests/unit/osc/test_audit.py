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
import datetime
import io
import json
import logging
from unittest import mock

import fixtures
import testtools

from mfa_osc import rules as mfa_rules
from mfa_osc.osc import audit
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow
from tests.unit import test_bulk
from tests.unit import test_workflows as fakes_ks
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


class TestRowAgrees(testtools.TestCase):
    """The state and compliance columns of one row never disagree."""

    def test_hand_made_device_under_guard_rules(self) -> None:
        ks = test_bulk.cloud()
        ks.users['u5'] = {'id': 'u5', 'name': 'erin', 'domain_id': 'default'}
        # carol's hand-made credential, under guard rules: a device the
        # rules do not require yet.
        ks.users['u3']['options'] = {
            mfa_rules.RULES_OPTION: [['password'], ['application_credential']],
            mfa_rules.ENABLED_OPTION: True,
        }
        ks.domains['default'][policy_flow.POLICY_KEY] = {
            'required': True,
            'deadline': '2027-03-11',
            'roles': [],
        }
        rows = {
            str(r.name): r
            for r in status_flow.audit(
                fakes_ks.as_keystone(ks), today=datetime.date(2027, 3, 1)
            )
        }
        carol = rows['carol']
        self.assertEqual(mfa_rules.STATE_NOT_ENFORCED, carol.state)
        self.assertEqual(policy_flow.NOT_ENFORCED, carol.compliance)
        self.assertEqual(1, carol.devices)
        agree = {
            mfa_rules.STATE_ENFORCED: policy_flow.COMPLIANT,
            mfa_rules.STATE_NOT_ENFORCED: policy_flow.NOT_ENFORCED,
            mfa_rules.STATE_NOT_ENROLLED: 'not enrolled, 10 days left',
        }
        covered = [r for r in rows.values() if r.policy]
        self.assertEqual(
            ['alice', 'bob', 'carol', 'erin'], sorted(r.name for r in covered)
        )
        for row in covered:
            self.assertEqual(agree[row.state], row.compliance, row.name)
