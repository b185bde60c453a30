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

"""A domain's MFA policy at sign-in: the plugin's daily-cached check."""

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

from mfa_osc import totp
from mfa_osc.auth import hooks
from mfa_osc.auth import policy as auth_policy
from mfa_osc.auth import policy_read

TODAY = datetime.date(2027, 3, 1)


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
