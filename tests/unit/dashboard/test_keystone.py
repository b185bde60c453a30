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


"""mfa-osc's Keystone client built from Horizon's request and settings."""

from __future__ import annotations

import types
from unittest import mock

from oslotest import base
import requests
from requests_mock.contrib import fixture

from mfa_osc.dashboard import keystone


class TestKeystone(base.BaseTestCase):
    def test_url_from_the_sign_in_then_the_setting(self) -> None:
        settings = types.SimpleNamespace(
            OPENSTACK_KEYSTONE_URL='http://setting:5000'
        )
        request = mock.Mock()
        request.user.endpoint = 'http://signed-in:5000/v3/'
        self.assertEqual(
            'http://signed-in:5000/v3',
            keystone.keystone_url(request, settings),
        )
        request.user.endpoint = None
        self.assertEqual(
            'http://setting:5000/v3', keystone.keystone_url(request, settings)
        )
        self.assertRaises(
            keystone.mfa_client.Unavailable,
            keystone.keystone_url,
            request,
            types.SimpleNamespace(),
        )

    def test_tls_as_horizon_verifies(self) -> None:
        self.assertIs(True, keystone.verify(types.SimpleNamespace()))
        self.assertEqual(
            '/ca.pem',
            keystone.verify(
                types.SimpleNamespace(OPENSTACK_SSL_CACERT='/ca.pem')
            ),
        )
        self.assertIs(
            False,
            keystone.verify(
                types.SimpleNamespace(
                    OPENSTACK_SSL_NO_VERIFY=True,
                    OPENSTACK_SSL_CACERT='/ca.pem',
                )
            ),
        )

    def test_interface_from_horizon_endpoint_type(self) -> None:
        self.assertEqual('public', keystone.interface(types.SimpleNamespace()))
        self.assertEqual(
            'internal',
            keystone.interface(
                types.SimpleNamespace(OPENSTACK_ENDPOINT_TYPE='internalURL')
            ),
        )

    def test_client_signs_in_with_the_horizon_token(self) -> None:
        request = mock.Mock()
        request.user.endpoint = 'https://keystone.example.com/v3'
        request.user.token.id = 'horizon-token'
        request.user.project_id = 'p1'
        request.user.services_region = 'R1'
        settings = types.SimpleNamespace(OPENSTACK_SSL_CACERT='/ca.pem')
        client = keystone.client_for(request, settings)
        auth = client.session.auth
        self.assertEqual('https://keystone.example.com/v3', auth.auth_url)
        self.assertEqual('horizon-token', auth.auth_methods[0].token)
        self.assertEqual('p1', auth.project_id)
        self.assertEqual('/ca.pem', client.session.verify)
        self.assertEqual('public', client.interface)
        self.assertEqual('R1', client.region_name)


class TestOwnUser(base.BaseTestCase):
    URL = 'https://keystone.example.com/v3'

    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(fixture.Fixture())
        request = mock.Mock()
        request.user.endpoint = self.URL
        request.user.token.id = 'horizon-token'
        request.user.project_id = 'p1'
        request.user.services_region = None
        self.client = keystone.client_for(request, types.SimpleNamespace())

    def test_a_refused_session_says_sign_in_again(self) -> None:
        for status in (401, 404):
            self.requests.post(
                self.URL + '/auth/tokens',
                status_code=status,
                json={'error': {'code': status}},
            )
            error = self.assertRaises(
                keystone.mfa_client.Unauthorized,
                keystone.own_user,
                self.client,
            )
            self.assertEqual(keystone.SESSION_GONE, str(error))

    def test_keystone_unreachable_is_one_sentence(self) -> None:
        self.requests.post(
            self.URL + '/auth/tokens',
            exc=requests.exceptions.ConnectionError('refused'),
        )
        error = self.assertRaises(
            keystone.mfa_client.Unavailable, keystone.own_user, self.client
        )
        self.assertIn('Could not reach Keystone', str(error))

    def test_own_user_record_with_the_new_token(self) -> None:
        body = {
            'token': {
                'methods': ['token', 'password'],
                'user': {'id': 'u1', 'name': 'alice', 'domain': {'id': 'd'}},
                'project': {'id': 'p1', 'name': 'p', 'domain': {'id': 'd'}},
                'catalog': [],
                'expires_at': '2099-01-01T00:00:00Z',
            }
        }
        self.requests.post(
            self.URL + '/auth/tokens',
            status_code=201,
            json=body,
            headers={'X-Subject-Token': 'new-token'},
        )
        self.requests.get(
            self.URL + '/users/u1',
            json={
                'user': {
                    'id': 'u1',
                    'name': 'alice',
                    'domain_id': 'd',
                    'enabled': True,
                    'options': {},
                }
            },
        )
        user = keystone.own_user(self.client)
        self.assertEqual('u1', user.id)
        sent = self.requests.request_history[0].json()
        self.assertEqual(
            {'methods': ['token'], 'token': {'id': 'horizon-token'}},
            sent['auth']['identity'],
        )
        self.assertEqual(
            'new-token',
            self.requests.request_history[1].headers['X-Auth-Token'],
        )
