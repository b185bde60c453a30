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

"""MFAClient's application-credential requests (the sessions of
``mfa exec --session``), on a real keystoneauth Session."""

from __future__ import annotations

import datetime
import json
import logging

import fixtures
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc import client as mfa_client
from mfa_osc import identity

AUTH_URL = 'https://keystone.example.com/identity/v3'
USER_ID = 'u-1'
SECRET = 'app-cred-secret-Zq7xW3kP9vLm2Nb'
CREDS = AUTH_URL + '/users/u-1/application_credentials'


class TestAppCredentials(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.logger = self.useFixture(
            fixtures.FakeLogger(level=logging.DEBUG, name='keystoneauth')
        )
        token = ks_fixture.V3Token(user_id=USER_ID, methods=['password'])
        token.set_project_scope()
        token.add_service('identity').add_standard_endpoints(public=AUTH_URL)
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            json=token,
            headers={'X-Subject-Token': 'tok'},
            status_code=201,
        )
        auth = v3.Password(
            auth_url=AUTH_URL, username='alice', password='pw',
            user_domain_id='default', project_id='p',
        )  # fmt: skip
        self.client = mfa_client.MFAClient(ks_session.Session(auth=auth))

    def test_create_body_and_secret_not_logged(self) -> None:
        self.requests.post(
            CREDS,
            status_code=201,
            json={
                'application_credential': {
                    'id': 'ac1',
                    'name': 'mfa-osc-session-h-1',
                    'secret': SECRET,
                    'project_id': 'p',
                    'expires_at': '2026-12-06T20:00:00.000000',
                    'unrestricted': False,
                    'roles': [{'id': 'r1', 'name': 'reader'}],
                }
            },
        )
        until = datetime.datetime(2026, 12, 6, 20, 0, tzinfo=datetime.UTC)
        cred = self.client.create_app_credential(
            USER_ID, name='n', description='d', expires_at=until,
            roles=['r1'],
        )  # fmt: skip
        self.assertEqual(
            {
                'application_credential': {
                    'name': 'n',
                    'description': 'd',
                    'expires_at': '2026-12-06T20:00:00.000000Z',
                    'unrestricted': False,
                    'roles': [{'id': 'r1'}],
                }
            },
            json.loads(self.requests.last_request.body),
        )
        self.assertEqual(SECRET, cred.secret)
        self.assertEqual(until, cred.expires_at)
        self.assertEqual(('reader',), cred.roles)
        self.assertFalse(cred.unrestricted)
        self.assertNotIn(SECRET, repr(cred))
        # NOTE: the whole exchange stays out of the debug log.
        self.assertNotIn('application_credentials', self.logger.output)
        self.assertNotIn(SECRET, self.logger.output)

    def test_no_roles_means_the_tokens(self) -> None:
        self.requests.post(
            CREDS, status_code=201,
            json={'application_credential': {'id': 'ac1', 'secret': 's'}},
        )  # fmt: skip
        self.client.create_app_credential(
            USER_ID, name='n', description='d',
            expires_at=datetime.datetime.now(datetime.UTC),
        )  # fmt: skip
        body = json.loads(self.requests.last_request.body)
        self.assertNotIn('roles', body['application_credential'])

    def test_forbidden_is_mapped(self) -> None:
        self.requests.post(
            CREDS, status_code=403,
            json={'error': {'message': 'nope', 'code': 403}},
        )  # fmt: skip
        exc = self.assertRaises(
            mfa_client.Forbidden,
            self.client.create_app_credential,
            USER_ID, name='n', description='d',
            expires_at=datetime.datetime.now(datetime.UTC),
        )  # fmt: skip
        self.assertIn('create an application credential', str(exc))

    def test_list_and_delete(self) -> None:
        self.requests.get(
            CREDS,
            json={
                'application_credentials': [
                    {'id': 'ac1', 'name': 'a', 'expires_at': None},
                ]
            },
        )
        (cred,) = self.client.list_app_credentials(USER_ID)
        self.assertIsNone(cred.expires_at)
        self.assertIsNone(cred.secret)
        self.requests.delete(CREDS + '/ac1', status_code=204)
        self.client.delete_app_credential(USER_ID, 'ac1')
        # Already gone is fine.
        self.requests.delete(CREDS + '/ac2', status_code=404)
        self.client.delete_app_credential(USER_ID, 'ac2')

    def test_ids_are_checked(self) -> None:
        self.assertRaises(
            identity.InvalidID,
            self.client.delete_app_credential,
            USER_ID,
            '../x',
        )
        self.assertFalse(self.requests.called)
