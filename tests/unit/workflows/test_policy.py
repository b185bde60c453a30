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

"""A domain's MFA policy in the workflows: stored, guarding, audited."""

from __future__ import annotations

import datetime

from oslotest import base

from mfa_osc import rules as mfa_rules
from mfa_osc.workflows import bulk
from mfa_osc.workflows import errors
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow
from tests.unit.client.fakes import AUTH_URL
from tests.unit.client.fakes import ClientTestCase
from tests.unit.workflows import clouds
from tests.unit.workflows import fakes as fake

GUARD = mfa_rules.guard_rules(fake.METHODS)
TODAY = datetime.date(2027, 3, 1)


def cloud() -> fake.FakeKeystone:
    """The bulk tests' cloud (alice enforced, bob enrolled not enforced, carol
    code alone, dave in another domain), and erin: nothing, no rules."""
    ks = clouds.cloud()
    ks.users['u5'] = {'id': 'u5', 'name': 'erin', 'domain_id': 'default'}
    ks.calls = []
    return ks


class TestPolicyStored(base.BaseTestCase):
    def test_set_show_unset(self) -> None:
        ks = cloud()
        client = fake.as_keystone(ks)
        self.assertIsNone(policy_flow.show(client, 'Default'))
        policy, _ = policy_flow.set_policy(
            client, 'Default', deadline='2027-03-31', roles=['admin']
        )
        self.assertEqual(
            {'required': True, 'deadline': '2027-03-31', 'roles': ['admin']},
            ks.domains['default'][policy_flow.POLICY_KEY],
        )
        shown = policy_flow.show(client, 'Default')
        assert shown is not None
        self.assertEqual(
            (True, '2027-03-31', ['admin']),
            (shown.required, shown.deadline, shown.roles),
        )
        policy_flow.unset(client, 'Default')
        self.assertIsNone(policy_flow.show(client, 'Default'))
        self.assertIsNone(policy_flow.show(client, 'Other'))

    def test_bad_date_and_unknown_role_change_nothing(self) -> None:
        ks = cloud()
        client = fake.as_keystone(ks)
        for kwargs in ({'deadline': '31/03/2027'}, {'roles': ['nope']}):
            self.assertRaises(
                errors.WorkflowError,
                policy_flow.set_policy,
                client,
                'Default',
                **kwargs,
            )
        self.assertNotIn('set_domain_extra', ks.calls)
        self.assertNotIn('update_user_options', ks.calls)

    def test_only_administrators_set_it(self) -> None:
        ks = cloud()
        ks.admin = False
        self.assertRaises(
            fake.mfa_client.Forbidden,
            policy_flow.set_policy,
            fake.as_keystone(ks),
            'Default',
        )


class TestGuardRules(base.BaseTestCase):
    def test_guard_every_covered_user_without_rules(self) -> None:
        ks = cloud()
        _, rows = policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        # carol (code alone) and erin (nothing); alice and bob have rules,
        # dave is in another domain.
        self.assertEqual(
            [('carol', bulk.ACTION_GUARD), ('erin', bulk.ACTION_GUARD)],
            [(r.name, r.action) for r in rows],
        )
        for user_id in ('u3', 'u5'):
            self.assertEqual(
                GUARD, ks.options(user_id)[mfa_rules.RULES_OPTION]
            )
        self.assertNotIn('options', ks.users['u4'])
        # Only the code-alone user lost a way in: only her tokens end.
        self.assertEqual(['u3'], ks.revoked)
        # Again: nothing left to do.
        _, rows = policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        self.assertEqual([], rows)

    def test_dry_run(self) -> None:
        ks = cloud()
        _, rows = policy_flow.set_policy(
            fake.as_keystone(ks), 'Default', dry_run=True
        )
        self.assertEqual(2, len(rows))
        self.assertNotIn('set_domain_extra', ks.calls)
        self.assertNotIn('update_user_options', ks.calls)

    def test_roles_cover_only_their_holders(self) -> None:
        ks = cloud()
        # erin holds member on a project of another domain: not covered.
        ks.assignments.append(
            ('r-member', 'u5', {'project': {'domain': {'id': 'other'}}})
        )
        ks.assignments.append(
            ('r-member', 'u3', {'domain': {'id': 'default'}})
        )
        _, rows = policy_flow.set_policy(
            fake.as_keystone(ks), 'Default', roles=['member']
        )
        self.assertEqual(['carol'], [r.name for r in rows])
        self.assertNotIn('options', ks.users['u5'])

    def test_interrupted_everywhere_then_rerun(self) -> None:
        for fail_at in range(1, 14):
            ks = cloud()
            ks.fail_at = fail_at
            try:
                policy_flow.set_policy(fake.as_keystone(ks), 'Default')
            except fake.Boom:
                pass
            ks.check_invariant()
            ks.fail_at = None
            policy_flow.set_policy(fake.as_keystone(ks), 'Default')
            ks.check_invariant()
            for user_id in ('u3', 'u5'):
                self.assertEqual(
                    GUARD, ks.options(user_id)[mfa_rules.RULES_OPTION]
                )

    def test_enforce_all_covers_users_added_since(self) -> None:
        ks = cloud()
        policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        ks.users['u6'] = {'id': 'u6', 'name': 'frank', 'domain_id': 'default'}
        rows = bulk.enforce_all(
            fake.as_keystone(ks), more=policy_flow.guard_changes
        )
        self.assertIn(('frank', bulk.ACTION_GUARD), [
            (r.name, r.action) for r in rows
        ])  # fmt: skip
        self.assertEqual(GUARD, ks.options('u6')[mfa_rules.RULES_OPTION])
        self.assertNotIn('u6', ks.revoked)


class TestCompliance(base.BaseTestCase):
    def audit(self, ks: fake.FakeKeystone) -> dict[str, status_flow.AuditRow]:
        rows = status_flow.audit(fake.as_keystone(ks), today=TODAY)
        return {str(r.name): r for r in rows}

    def test_no_policy(self) -> None:
        rows = self.audit(cloud())
        self.assertEqual({False}, {r.policy for r in rows.values()})
        self.assertEqual({None}, {r.compliance for r in rows.values()})

    def test_each_state(self) -> None:
        ks = cloud()
        policy_flow.set_policy(
            fake.as_keystone(ks), 'Default', deadline='2027-03-11'
        )
        rows = self.audit(ks)
        self.assertEqual(policy_flow.COMPLIANT, rows['alice'].compliance)
        self.assertEqual(policy_flow.NOT_ENFORCED, rows['bob'].compliance)
        self.assertEqual('not enrolled, 10 days left', rows['erin'].compliance)
        self.assertEqual('2027-03-11', rows['erin'].deadline)
        self.assertTrue(rows['erin'].policy)
        self.assertFalse(rows['dave'].policy)
        self.assertIsNone(rows['dave'].compliance)
        later = status_flow.audit(
            fake.as_keystone(ks), today=datetime.date(2027, 3, 11)
        )
        erin = [r for r in later if r.name == 'erin'][0]
        self.assertEqual(policy_flow.OVERDUE, erin.compliance)

    def test_no_deadline_is_in_force_at_once(self) -> None:
        ks = cloud()
        policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        rows = self.audit(ks)
        self.assertIsNone(rows['erin'].deadline)
        self.assertEqual(policy_flow.OVERDUE, rows['erin'].compliance)

    def test_one_day_left(self) -> None:
        ks = cloud()
        policy_flow.set_policy(
            fake.as_keystone(ks), 'Default', deadline='2027-03-02'
        )
        self.assertEqual(
            'not enrolled, 1 day left', self.audit(ks)['erin'].compliance
        )

    def test_requests_grow_per_domain_not_per_user(self) -> None:
        ks = cloud()
        for n in range(40):
            ks.users[f'x{n}'] = {
                'id': f'x{n}',
                'name': f'x{n}',
                'domain_id': 'default',
            }
        policy_flow.set_policy(
            fake.as_keystone(ks), 'Default', roles=['member']
        )
        ks.calls = []
        status_flow.audit(fake.as_keystone(ks), today=TODAY)
        # Two domains read, one role looked up and its assignments.
        self.assertEqual(2, ks.calls.count('get_domain_extra'))
        self.assertEqual(1, ks.calls.count('role_assignments') - 1)


class TestOwnDomainFromTheToken(ClientTestCase):
    """Issue 20, item 12: a covered user reads their own domain's policy
    without ``GET /v3/domains?name=`` (``identity:list_domains``)."""

    def test_user_and_project_domain_by_name_or_id(self) -> None:
        self.session.get_token()
        sent = self.client.requests
        token = self.token
        for name_or_id, expected in (
            (token.user_domain_name, token.user_domain_id),
            (token.user_domain_id, token.user_domain_id),
            (token.project_domain_name, token.project_domain_id),
            ('elsewhere', None),
        ):
            self.assertEqual(expected, self.client.token_domain_id(name_or_id))
        self.assertEqual(sent, self.client.requests)

    def test_show_reads_the_domain_only(self) -> None:
        token = self.token
        url = AUTH_URL + f'/domains/{token.user_domain_id}'
        self.requests.get(
            url,
            json={
                'domain': {
                    'id': token.user_domain_id,
                    policy_flow.POLICY_KEY: {
                        'required': True,
                        'deadline': '2027-03-31',
                    },
                }
            },
        )
        listed = self.requests.get(AUTH_URL + '/domains', status_code=403)
        policy = policy_flow.show(self.client, token.user_domain_name)
        assert policy is not None
        self.assertEqual('2027-03-31', policy.deadline)
        self.assertFalse(listed.called)
