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

"""The status workflow: one user's state, and the audit's rows."""

from __future__ import annotations

import datetime

import testtools

from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow
from tests.unit import test_bulk
from tests.unit import test_workflows as fakes_ks


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
