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

    def test_client_acts_with_the_horizon_token(self) -> None:
        request = mock.Mock()
        request.user.endpoint = 'https://keystone.example.com/v3'
        request.user.token.id = 'horizon-token'
        request.user.id = 'u1'
        settings = types.SimpleNamespace(OPENSTACK_SSL_CACERT='/ca.pem')
        client = keystone.client_for(request, settings)
        self.assertEqual('horizon-token', client.current_token())
        self.assertEqual('u1', client.current_user_id())
        self.assertEqual('https://keystone.example.com/v3', client.endpoint)
        self.assertEqual('/ca.pem', client.session.verify)


class TestOwnUser(base.BaseTestCase):
    URL = 'https://keystone.example.com/v3'

    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(fixture.Fixture())
        request = mock.Mock()
        request.user.endpoint = self.URL
        request.user.token.id = 'horizon-token'
        request.user.id = 'u1'
        self.client = keystone.client_for(request, types.SimpleNamespace())

    def test_own_record_with_the_horizon_token_no_new_sign_in(self) -> None:
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
        # One request, with Horizon's token: no token made from it (a
        # rescope Keystone refuses once the rules want a code).
        self.assertEqual(1, len(self.requests.request_history))
        self.assertEqual(
            'horizon-token',
            self.requests.request_history[0].headers['X-Auth-Token'],
        )

    def test_a_refused_session_says_sign_in_again(self) -> None:
        self.requests.get(
            self.URL + '/users/u1',
            status_code=401,
            json={'error': {'code': 401}},
        )
        error = self.assertRaises(
            keystone.mfa_client.Unauthorized, keystone.own_user, self.client
        )
        self.assertIn('sign in again', str(error))

    def test_keystone_unreachable_is_one_sentence(self) -> None:
        self.requests.get(
            self.URL + '/users/u1',
            exc=requests.exceptions.ConnectionError('refused'),
        )
        error = self.assertRaises(
            keystone.mfa_client.Unavailable, keystone.own_user, self.client
        )
        self.assertIn('Could not reach Keystone', str(error))
