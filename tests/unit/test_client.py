"""MFAClient on a real keystoneauth Session, Keystone mocked."""

from __future__ import annotations

import json
import logging

import fixtures
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base
import requests
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc import client as mfa_client
from mfa_osc import enrollment
from mfa_osc import totp

AUTH_URL = 'https://keystone.example.com/identity/v3'
USER_ID = 'u-1'
TOKEN_ID = 'tok-abc'
SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'


class ClientTestCase(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.logger = self.useFixture(
            fixtures.FakeLogger(level=logging.DEBUG, name='keystoneauth')
        )
        token = ks_fixture.V3Token(
            user_id=USER_ID, methods=['password', 'totp']
        )
        token.set_project_scope()
        service = token.add_service('identity')
        service.add_standard_endpoints(public=AUTH_URL)
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            json=token,
            headers={'X-Subject-Token': TOKEN_ID},
            status_code=201,
        )
        auth = v3.Password(
            auth_url=AUTH_URL,
            username='alice',
            password='pw',
            user_domain_id='default',
            project_id='p',
        )
        self.session = ks_session.Session(auth=auth)
        self.client = mfa_client.MFAClient(self.session)

    def last_body(self) -> object:
        return json.loads(self.requests.last_request.body)


class TestClient(ClientTestCase):
    def test_who(self) -> None:
        self.assertEqual(USER_ID, self.client.current_user_id())
        self.assertEqual(['password', 'totp'], self.client.current_methods())
        self.assertEqual(AUTH_URL, self.client.endpoint)

    def test_create_credential_body_not_logged(self) -> None:
        self.requests.post(
            AUTH_URL + '/credentials',
            json={'credential': {'id': 'c1', 'blob': SECRET}},
            status_code=201,
        )
        cred = self.client.create_credential(USER_ID, 'totp', SECRET)
        self.assertEqual('c1', cred['id'])
        self.assertEqual(
            {
                'credential': {
                    'user_id': USER_ID,
                    'type': 'totp',
                    'blob': SECRET,
                }
            },
            self.last_body(),
        )
        self.assertNotIn(SECRET, self.logger.output)

    def test_list_credentials_query_and_not_logged(self) -> None:
        self.requests.get(
            AUTH_URL + '/credentials',
            json={
                'credentials': [
                    {'id': 'c1', 'type': 'totp', 'blob': SECRET},
                ]
            },
        )
        creds = self.client.list_credentials(user_id=USER_ID, type='totp')
        self.assertEqual('c1', creds[0]['id'])
        self.assertEqual(
            {'user_id': [USER_ID], 'type': ['totp']},
            self.requests.last_request.qs,
        )
        self.assertNotIn(SECRET, self.logger.output)

    def test_update_options_body(self) -> None:
        self.requests.patch(
            AUTH_URL + f'/users/{USER_ID}', json={'user': {'id': USER_ID}}
        )
        self.client.update_user_options(
            USER_ID,
            {
                'multi_factor_auth_rules': enrollment.GUARD_RULES,
                'multi_factor_auth_enabled': True,
            },
        )
        self.assertEqual(
            {
                'user': {
                    'options': {
                        'multi_factor_auth_rules': [
                            ['password'],
                            ['application_credential'],
                        ],
                        'multi_factor_auth_enabled': True,
                    }
                }
            },
            self.last_body(),
        )

    def test_can_update_user_sends_a_no_op(self) -> None:
        self.requests.patch(AUTH_URL + f'/users/{USER_ID}', status_code=403)
        user = {
            'id': USER_ID,
            'options': {'multi_factor_auth_enabled': False},
        }
        self.assertFalse(self.client.can_update_user(user))
        self.assertEqual(
            {'user': {'options': {'multi_factor_auth_enabled': False}}},
            self.last_body(),
        )
        self.requests.patch(
            AUTH_URL + f'/users/{USER_ID}', json={'user': user}
        )
        self.assertTrue(self.client.can_update_user(user))

    def test_delete_missing_credential_is_fine(self) -> None:
        self.requests.delete(AUTH_URL + '/credentials/c1', status_code=404)
        self.client.delete_credential('c1')

    def test_errors_mapped_once(self) -> None:
        for status, kind in [
            (403, mfa_client.Forbidden),
            (404, mfa_client.NotFound),
            (409, mfa_client.Conflict),
            (503, mfa_client.Unavailable),
        ]:
            self.requests.get(AUTH_URL + '/users/x', status_code=status)
            exc = self.assertRaises(kind, self.client.get_user, 'x')
            self.assertIn('read the user', str(exc))
        self.requests.get(
            AUTH_URL + '/users/x',
            exc=requests.exceptions.ConnectionError,
        )
        exc = self.assertRaises(
            mfa_client.Unavailable, self.client.get_user, 'x'
        )
        self.assertIn('Could not reach Keystone', str(exc))

    def test_check_totp_alone(self) -> None:
        self.session.get_token()  # sign in first
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            status_code=401,
            headers={'Openstack-Auth-Receipt': 'r'},
            json={'receipt': {}},
        )
        self.assertTrue(self.client.check_totp_alone('u-2', '123456'))
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['totp'],
                        'totp': {'user': {'id': 'u-2', 'passcode': '123456'}},
                    }
                }
            },
            self.last_body(),
        )
        self.assertNotIn('X-Auth-Token', self.requests.last_request.headers)
        self.assertNotIn('123456', self.logger.output)
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=401)
        self.assertFalse(self.client.check_totp_alone('u-2', '123456'))

    def test_check_totp_with_token(self) -> None:
        self.session.get_token()  # sign in first
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=201)
        self.assertTrue(self.client.check_totp_with_token(USER_ID, '654321'))
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['token', 'totp'],
                        'token': {'id': TOKEN_ID},
                        'totp': {
                            'user': {'id': USER_ID, 'passcode': '654321'}
                        },
                    }
                }
            },
            self.last_body(),
        )
        self.assertNotIn('654321', self.logger.output)
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=401)
        self.assertFalse(self.client.check_totp_with_token(USER_ID, '654321'))

    def test_consume_recovery_code(self) -> None:
        code = 'ABCDEFGHIJKLMNOP'
        book = {
            'version': 1,
            'devices': {'d1': {'name': 'phone'}},
            'recovery_codes': ['r1', 'r2'],
        }
        self.requests.get(
            AUTH_URL + f'/users/{USER_ID}', json={'user': {'id': USER_ID}}
        )
        self.requests.get(
            AUTH_URL + '/credentials',
            json={
                'credentials': [
                    {'id': 'd1', 'type': 'totp', 'blob': SECRET},
                    {'id': 'r1', 'type': 'totp', 'blob': 'QQQQQQQQQQQQQQQQ'},
                    {
                        'id': 'r2',
                        'type': 'totp',
                        'blob': totp.recovery_secret(code),
                    },
                    {'id': 'b', 'type': 'mfa-osc', 'blob': json.dumps(book)},
                ]
            },
        )
        delete = self.requests.delete(
            AUTH_URL + '/credentials/r2', status_code=204
        )
        patch = self.requests.patch(AUTH_URL + '/credentials/b', json={})
        left = enrollment.consume_recovery_code(
            self.session, USER_ID, 'abcd-efgh-ijkl-mnop'
        )
        self.assertEqual(1, left)
        self.assertTrue(delete.called)
        blob = json.loads(patch.last_request.json()['credential']['blob'])
        self.assertEqual(['r1'], blob['recovery_codes'])
        self.assertNotIn(code, self.logger.output)


class TestUnscoped(base.BaseTestCase):
    def test_endpoint_from_auth_url_without_catalog(self) -> None:
        requests = self.useFixture(rm_fixture.Fixture())
        token = ks_fixture.V3Token(user_id=USER_ID)
        requests.post(
            AUTH_URL + '/auth/tokens',
            json=token,
            headers={'X-Subject-Token': TOKEN_ID},
            status_code=201,
        )
        auth = v3.Password(
            auth_url=AUTH_URL,
            username='alice',
            password='pw',
            user_domain_id='default',
        )
        client = mfa_client.MFAClient(ks_session.Session(auth=auth))
        self.assertEqual(AUTH_URL, client.endpoint)


class TestTruncated(ClientTestCase):
    def test_full_page_flagged(self) -> None:
        users = [{'id': str(n)} for n in range(mfa_client.KEYSTONE_MAX_ROWS)]
        self.requests.get(AUTH_URL + '/users', json={'users': users})
        self.assertEqual(1000, len(self.client.list_users()))
        self.assertEqual(['users'], self.client.truncated)

    def test_truncated_flag(self) -> None:
        self.requests.get(
            AUTH_URL + '/credentials',
            json={'credentials': [], 'truncated': True},
        )
        self.client.list_credentials(type='totp')
        self.assertEqual(['credentials'], self.client.truncated)
