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

"""A domain's MFA policy: stored, covering, guarding, audited."""

from __future__ import annotations

import datetime
import io
import json
import logging
import pathlib
from unittest import mock

import fixtures
from keystoneauth1 import access
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from oslotest import base
import requests
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.auth import hooks
from mfa_osc.auth import policy as auth_policy
from mfa_osc.auth import policy_read
from mfa_osc.osc import policy as policy_cmd
from mfa_osc.workflows import bulk
from mfa_osc.workflows import errors
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow
from tests.unit.osc import fakes
from tests.unit.workflows import fakes as fake
from tests.unit.workflows import test_bulk

GUARD = mfa_rules.guard_rules(fake.METHODS)
TODAY = datetime.date(2027, 3, 1)


def cloud() -> fake.FakeKeystone:
    """test_bulk's cloud (alice enforced, bob enrolled not enforced, carol
    code alone, dave in another domain), and erin: nothing, no rules."""
    ks = test_bulk.cloud()
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


class TestPolicyCommands(fakes.CommandTestCase):
    def test_show_json_keys(self) -> None:
        cmd = policy_cmd.ShowPolicy(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'D'], [('domain', 'D')])
        policy = policy_flow.Policy('d1', True, '2027-03-31', ['admin'])
        with mock.patch.object(
            policy_flow, 'show', return_value=policy
        ) as flow:
            columns, data = cmd.take_action(parsed)
        flow.assert_called_once_with(self.mfa_client, 'D')
        self.assertEqual(('required', 'deadline', 'roles'), columns)
        required, deadline, roles = data
        self.assertEqual(
            (True, '2027-03-31', ['admin']),
            (required, deadline, roles.machine_readable()),
        )

    def test_show_without_policy(self) -> None:
        cmd = policy_cmd.ShowPolicy(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'D'], [])
        with mock.patch.object(policy_flow, 'show', return_value=None):
            _, data = cmd.take_action(parsed)
        self.assertEqual([False, None], list(data)[:2])

    def test_set_needs_required_and_domain(self) -> None:
        cmd = policy_cmd.SetPolicy(self.app, None)
        for argv in (['--domain', 'D'], ['--required']):
            self.assertRaises(
                fakes.base.ParserException, self.check_parser, cmd, argv, []
            )
        parsed = self.check_parser(
            cmd,
            ['--domain', 'D', '--required', '--deadline', '2027-03-31',
             '--role', 'admin', '--role', 'member'],
            [('roles', ['admin', 'member']), ('deadline', '2027-03-31')],
        )  # fmt: skip
        self.assertTrue(parsed.required)


class TestSignInCheck(base.BaseTestCase):
    """mfa_osc.auth.policy: the daily-cached check after a sign-in."""

    URL = 'https://keystone.example.com/v3'

    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.dir = pathlib.Path(self.useFixture(fixtures.TempDir()).path)
        self.session = ks_session.Session()
        self.addCleanup(hooks.register, None)
        # NOTE: the reminder is a warning of this logger.
        self.logger = self.useFixture(
            fixtures.FakeLogger(
                name='mfa_osc.auth.policy',
                level=logging.WARNING,
                format='%(message)s',
            )
        )
        self.policy: dict[str, object] | None = None
        self.requests.get(self.URL + '/domains/d1', json=self.domain)
        self.creds: list[dict[str, object]] = []
        self.requests.get(
            self.URL + '/credentials',
            json=lambda request, context: {
                'credentials': self.creds,
                'links': {'next': None},
            },
        )

    def domain(self, request: object, context: object) -> dict[str, object]:
        body: dict[str, object] = {'id': 'd1', 'name': 'corp'}
        if self.policy is not None:
            body['mfa_policy'] = self.policy
        return {'domain': body}

    def ref(
        self, methods: list[str], roles: tuple[str, ...] = ('member',)
    ) -> access.AccessInfoV3:
        token = ks_fixture.V3Token(
            user_id='u1', user_domain_id='d1', methods=methods
        )
        token.set_project_scope()
        for role in roles:
            token.add_role(name=role)
        return access.AccessInfoV3(auth_token='tok-1', body=token)

    def check(
        self,
        ref: access.AccessInfoV3,
        today: datetime.date = TODAY,
        stdin: object = None,
    ) -> str:
        err = io.StringIO()
        logged = len(self.logger.output)
        self.code = auth_policy.check(
            self.session,
            ref,
            self.URL,
            today=today,
            directory=self.dir,
            stderr=err,
            stdin=stdin or io.StringIO(),  # type: ignore[arg-type]
        )
        return err.getvalue() + self.logger.output[logged:]

    def test_outside_a_policy_one_request_a_day(self) -> None:
        for _ in range(3):
            self.assertEqual('', self.check(self.ref(['password'])))
        self.assertEqual(1, self.requests.call_count)
        self.assertEqual(
            'tok-1', self.requests.last_request.headers['X-Auth-Token']
        )
        self.check(self.ref(['password']), today=TODAY.replace(day=2))
        self.assertEqual(2, self.requests.call_count)
        # The state file holds no token and no secret, and is 0600.
        path = self.dir / policy_read.STATE_FILE
        self.assertNotIn('tok-1', path.read_text())
        self.assertEqual(0o600, path.stat().st_mode & 0o777)

    def test_token_with_totp_costs_nothing(self) -> None:
        self.policy = {'required': True, 'deadline': None, 'roles': []}
        self.assertEqual('', self.check(self.ref(['password', 'totp'])))
        self.assertEqual(0, self.requests.call_count)

    def test_before_the_deadline_one_line(self) -> None:
        self.policy = {'required': True, 'deadline': '2027-03-31'}
        err = self.check(self.ref(['password']))
        self.assertEqual(1, err.count('\n'))
        self.assertIn('2027-03-31', err)
        self.assertIn('openstack mfa enroll', err)

    def test_covered_without_a_device_reads_the_policy_each_time(
        self,
    ) -> None:
        self.policy = {'required': True, 'deadline': '2027-03-31'}
        self.assertIn('2027-03-31', self.check(self.ref(['password'])))
        # The administrator brings the deadline forward: it applies at
        # the next sign-in, not tomorrow.
        self.policy = {'required': True, 'deadline': '2027-01-02'}
        self.assertRaises(
            auth_policy.PolicyRequired, self.check, self.ref(['password'])
        )
        self.assertEqual(
            ['/v3/domains/d1', '/v3/credentials']
            + ['/v3/credentials', '/v3/domains/d1'],
            [r.path for r in self.requests.request_history],
        )
        # And lifted: nothing at all.
        self.policy = None
        self.assertEqual('', self.check(self.ref(['password'])))

    def test_after_the_deadline_without_terminal_an_error(self) -> None:
        self.policy = {'required': True, 'deadline': '2027-02-01'}
        exc = self.assertRaises(
            auth_policy.PolicyRequired, self.check, self.ref(['password'])
        )
        self.assertIn('openstack mfa enroll', str(exc))
        self.assertIn('2027-02-01', str(exc))

    def test_after_the_deadline_on_a_terminal_enrollment_offered(
        self,
    ) -> None:
        self.policy = {'required': True}
        seen: list[str] = []

        def enroll(
            session: object, ref: access.AccessInfoV3, url: str
        ) -> str | None:
            seen.append(str(ref.user_id))
            return '123456'

        hooks.register(enroll)
        tty = mock.Mock()
        tty.isatty.return_value = True
        err = self.check(self.ref(['password']), stdin=tty)
        self.assertEqual(['u1'], seen)
        self.assertIn('set up a device now', err)
        # The passcode goes back to the plugin, which signs in again.
        self.assertEqual('123456', self.code)
        # The device is remembered for the day: no nag, no request.
        before = self.requests.call_count
        self.assertEqual('', self.check(self.ref(['password']), stdin=tty))
        self.assertEqual(before, self.requests.call_count)
        self.assertEqual(['u1'], seen)

    def test_without_a_terminal_no_prompt(self) -> None:
        self.policy = {'required': True}
        seen: list[str] = []
        hooks.register(lambda *args: seen.append('x') or '123456')
        self.assertRaises(
            auth_policy.PolicyRequired, self.check, self.ref(['password'])
        )
        self.assertEqual([], seen)

    def test_a_covered_user_with_a_device_is_left_alone(self) -> None:
        self.policy = {'required': True, 'deadline': '2027-03-31'}
        # A hand-made device (created with `openstack credential create`).
        self.creds = [
            {
                'id': 'c1',
                'user_id': 'u1',
                'type': 'totp',
                'blob': totp.generate_secret(),
            }
        ]
        self.assertEqual('', self.check(self.ref(['password'])))
        self.assertEqual('', self.check(self.ref(['password'])))
        self.assertEqual(
            ['/v3/domains/d1', '/v3/credentials'],
            [r.path for r in self.requests.request_history],
        )
        self.assertIsNone(self.code)

    def test_a_recovery_code_alone_is_no_device(self) -> None:
        self.policy = {'required': True, 'deadline': '2027-03-31'}
        self.creds = [
            {
                'id': 'r1',
                'user_id': 'u1',
                'type': 'totp',
                'blob': totp.generate_secret(),
            },
            {
                'id': 'b1',
                'user_id': 'u1',
                'type': 'mfa-osc',
                'blob': json.dumps(
                    {'version': 1, 'devices': {}, 'recovery_codes': ['r1']}
                ),
            },
        ]
        self.assertIn('2027-03-31', self.check(self.ref(['password'])))

    def test_exempt_commands_and_roles(self) -> None:
        self.policy = {'required': True, 'roles': ['admin']}
        # A member is not covered by a policy for admins.
        self.assertEqual('', self.check(self.ref(['password'])))
        self.assertRaises(
            auth_policy.PolicyRequired,
            self.check,
            self.ref(['password'], roles=('admin',)),
        )
        hooks.register(None, exempt=True)
        self.assertEqual(
            '', self.check(self.ref(['password'], roles=('admin',)))
        )

    def unscoped_ref(self) -> access.AccessInfoV3:
        token = ks_fixture.V3Token(
            user_id='u1',
            user_domain_id='d1',
            user_domain_name='corp',
            methods=['password'],
        )
        return access.AccessInfoV3(auth_token='tok-1', body=token)

    def other_domain_ref(self) -> access.AccessInfoV3:
        token = ks_fixture.V3Token(
            user_id='u1',
            user_domain_id='d1',
            user_domain_name='corp',
            methods=['password'],
        )
        token.set_project_scope(id='p9', domain_id='d9')
        token.add_role(name='member')
        return access.AccessInfoV3(auth_token='tok-1', body=token)

    def a_device(self) -> None:
        self.creds = [
            {
                'id': 'c1',
                'user_id': 'u1',
                'type': 'totp',
                'blob': totp.generate_secret(),
            }
        ]

    def test_a_refused_read_is_no_policy_never(self) -> None:
        # A token scoped to a project of another domain may not read the
        # user's own domain (403): that is not "no policy".
        self.requests.get(self.URL + '/domains/d1', status_code=403)
        exc = self.assertRaises(
            auth_policy.PolicyUnreadable, self.check, self.other_domain_ref()
        )
        self.assertIsInstance(exc, auth_policy.PolicyRequired)
        message = str(exc)
        self.assertIn(
            'could not read the MFA policy of your domain corp (d1)', message
        )
        self.assertIn('Keystone answered 403', message)
        self.assertIn('project p9 of domain d9', message)
        self.assertIn('`openstack mfa enroll`', message)
        self.assertIn('a project of your own domain', message)
        self.assertNotIn('tok-1', message)
        # Nothing was cached: the next sign-in asks again.
        self.assertRaises(
            auth_policy.PolicyUnreadable, self.check, self.other_domain_ref()
        )
        self.assertEqual(
            ['/v3/domains/d1', '/v3/credentials'] * 2,
            [r.path for r in self.requests.request_history],
        )

    def test_an_unscoped_sign_in_is_judged_the_same(self) -> None:
        self.requests.get(self.URL + '/domains/d1', status_code=403)
        exc = self.assertRaises(
            auth_policy.PolicyUnreadable, self.check, self.unscoped_ref()
        )
        self.assertIn('the token is unscoped', str(exc))

    def test_an_unscoped_sign_in_opens_no_later_one(self) -> None:
        # The fail-open of issue 20: one unscoped command cached "no
        # policy" for the day, and every scoped sign-in passed.
        self.policy = {'required': True, 'deadline': '2027-02-01'}
        self.requests.get(
            self.URL + '/domains/d1',
            [{'status_code': 403}, {'json': self.domain}],
        )
        self.assertRaises(
            auth_policy.PolicyUnreadable, self.check, self.unscoped_ref()
        )
        exc = self.assertRaises(
            auth_policy.PolicyRequired, self.check, self.ref(['password'])
        )
        self.assertNotIsInstance(exc, auth_policy.PolicyUnreadable)
        self.assertIn('2027-02-01', str(exc))

    def test_unreadable_with_a_device_the_sign_in_stands(self) -> None:
        self.requests.get(self.URL + '/domains/d1', status_code=403)
        self.a_device()
        self.assertEqual('', self.check(self.other_domain_ref()))
        self.assertIsNone(self.code)
        # The device is remembered for the day; the domain is asked again.
        self.assertEqual('', self.check(self.other_domain_ref()))
        self.assertEqual(
            ['/v3/domains/d1', '/v3/credentials', '/v3/domains/d1'],
            [r.path for r in self.requests.request_history],
        )

    def test_unreadable_and_credentials_unreadable_refused(self) -> None:
        self.requests.get(self.URL + '/domains/d1', status_code=403)
        self.requests.get(self.URL + '/credentials', status_code=503)
        self.assertRaises(
            auth_policy.PolicyUnreadable, self.check, self.other_domain_ref()
        )

    def test_server_errors_and_garbage_are_no_policy_never(self) -> None:
        for answer, why in (
            ({'status_code': 503}, 'Keystone answered HTTP 503'),
            ({'status_code': 404}, 'Keystone answered HTTP 404'),
            ({'status_code': 204}, 'Keystone answered HTTP 204'),
            ({'text': '<html>nginx</html>'}, 'the answer was not a domain'),
            ({'json': [1, 2]}, 'the answer was not a domain'),
            ({'json': {'domain': 'd1'}}, 'the answer was not a domain'),
            (
                {'exc': ConnectionError('refused')},
                'the request failed (ConnectionError)',
            ),
            (
                {'exc': requests.exceptions.ConnectionError('refused')},
                'the request failed (ConnectFailure)',
            ),
        ):
            self.requests.get(self.URL + '/domains/d1', **answer)
            exc = self.assertRaises(
                auth_policy.PolicyUnreadable,
                self.check,
                self.ref(['password']),
            )
            self.assertIn('`openstack mfa enroll`', str(exc))
            self.assertIn(f'with this token ({why}), so', str(exc))
        self.assertFalse((self.dir / policy_read.STATE_FILE).exists())
        # A 200 answer (no policy) is what is kept for the day.
        self.requests.get(self.URL + '/domains/d1', json=self.domain)
        self.assertEqual('', self.check(self.ref(['password'])))
        before = self.requests.call_count
        self.assertEqual('', self.check(self.ref(['password'])))
        self.assertEqual(before, self.requests.call_count)

    def test_unreadable_on_a_terminal_the_set_up_is_offered(self) -> None:
        self.requests.get(self.URL + '/domains/d1', status_code=403)
        hooks.register(lambda *args: '654321')
        tty = mock.Mock()
        tty.isatty.return_value = True
        err = self.check(self.unscoped_ref(), stdin=tty)
        self.assertIn('could not be read with this token', err)
        self.assertIn('set up a device now', err)
        self.assertEqual('654321', self.code)

    def test_unreadable_but_exempt(self) -> None:
        self.requests.get(self.URL + '/domains/d1', status_code=403)
        hooks.register(None, exempt=True)
        self.assertEqual('', self.check(self.unscoped_ref()))
        self.assertEqual(0, self.requests.call_count)
