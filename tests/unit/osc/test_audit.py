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

"""``openstack mfa audit``: one row per user, in every list format."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import logging

import fixtures
import testtools
import yaml

from mfa_osc import rules as mfa_rules
from mfa_osc.osc import audit
from mfa_osc.osc import listing
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow
from tests.unit import test_bulk
from tests.unit import test_workflows as fakes_ks
from tests.unit.osc import fakes

ROW = dataclasses.asdict(fakes.ROW)


class TestAudit(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.truncated = []
        self.flow = self.useFixture(
            fixtures.MockPatchObject(
                status_flow, 'audit', return_value=[fakes.ROW]
            )
        ).mock

    def audit(self, *argv: str) -> str:
        return self.run_command(audit.AuditMFA(self.app, None), list(argv))

    def test_domain(self) -> None:
        cmd = audit.AuditMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'corp'], [])
        columns, data = cmd.take_action(parsed)
        self.flow.assert_called_once_with(self.mfa_client, 'corp')
        self.assertEqual(status_flow.columns(status_flow.AuditRow), columns)
        self.assertEqual([status_flow.values(fakes.ROW)], data)

    def test_json(self) -> None:
        self.assertEqual([ROW], json.loads(self.audit('-f', 'json')))

    def test_yaml(self) -> None:
        self.assertEqual([ROW], yaml.safe_load(self.audit('-f', 'yaml')))

    def test_csv(self) -> None:
        rows = list(csv.reader(io.StringIO(self.audit('-f', 'csv'))))
        self.assertEqual(
            [list(ROW), ['' if v is None else str(v) for v in ROW.values()]],
            rows,
        )

    def test_value(self) -> None:
        self.assertEqual(
            'u1 alice default 1 8 0 enforced True False None None\n',
            self.audit('-f', 'value'),
        )

    def test_table(self) -> None:
        out = self.audit('-f', 'table', '-c', 'name', '-c', 'state')
        self.assertIn('| name  | state    |', out)
        self.assertIn('| alice | enforced |', out)
        self.assertNotIn('u1', out)

    def test_sorted_by_cliff(self) -> None:
        bob = dataclasses.replace(fakes.ROW, id='u2', name='bob')
        self.flow.return_value = [bob, fakes.ROW]
        out = self.audit('-f', 'value', '-c', 'name', '--sort-column', 'name')
        self.assertEqual('alice\nbob\n', out)

    def test_truncated_lists_are_warned_of(self) -> None:
        logger = self.useFixture(
            fixtures.FakeLogger(name=listing.__name__, level=logging.INFO)
        )
        self.mfa_client.truncated = ['users', 'users']
        self.audit()
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
