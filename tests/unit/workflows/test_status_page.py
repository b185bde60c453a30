# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.


"""status.audit_page: the audit's rows of one page of users, from
requests that do not grow with the users of the cloud."""

from __future__ import annotations

from oslotest import base

from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import status as status_flow
from tests.unit.workflows import fakes


class TestAuditPage(base.BaseTestCase):
    def test_rows_of_the_page_only_from_fixed_requests(self) -> None:
        ks = fakes.crowded()
        client = fakes.as_keystone(ks)
        page = [client.get_user('u1'), client.get_user('x3')]
        ks.calls = []
        rows = status_flow.audit_page(client, page, admins={'u1'})
        self.assertEqual(
            [
                'list_credentials',
                'list_credentials',
                'enabled_methods',
                'get_domain_extra',
            ],
            ks.calls,
        )
        self.assertEqual(['u1', 'x3'], [r.id for r in rows])
        self.assertEqual(mfa_rules.STATE_ENFORCED, rows[0].state)
        self.assertTrue(rows[0].admin)
        self.assertEqual(1, rows[0].devices)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, rows[1].state)
        self.assertFalse(rows[1].admin)

    def test_an_empty_page_reads_nothing(self) -> None:
        ks = fakes.FakeKeystone()
        ks.calls = []
        self.assertEqual(
            [],
            status_flow.audit_page(fakes.as_keystone(ks), [], admins=set()),
        )
        self.assertEqual([], ks.calls)
