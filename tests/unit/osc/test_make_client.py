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

"""The commands' Keystone client honours the cloud's interface and region."""

from __future__ import annotations

import types

from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.osc import plugin

AUTH_URL = 'https://keystone.example.com/v3'
PUBLIC_TWO = 'https://public.two.example.com/v3'
INTERNAL_TWO = 'https://internal.two.example.com/v3'
INTERNAL_ONE = 'https://internal.one.example.com/v3'


class TestMakeClient(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        token = ks_fixture.V3Token(user_id='u1', methods=['password'])
        token.set_project_scope()
        service = token.add_service('identity')
        service.add_standard_endpoints(
            public=AUTH_URL, internal=INTERNAL_ONE, region='RegionOne'
        )
        service.add_standard_endpoints(
            public=PUBLIC_TWO, internal=INTERNAL_TWO, region='RegionTwo'
        )
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            json=token,
            headers={'X-Subject-Token': 'tok'},
            status_code=201,
        )
        self.session = ks_session.Session(
            auth=v3.Password(
                auth_url=AUTH_URL,
                username='alice',
                password='pw',
                user_domain_id='default',
                project_id='p',
            )
        )

    def client_for(self, interface: str | None, region: str | None) -> str:
        instance = types.SimpleNamespace(
            session=self.session, interface=interface, region_name=region
        )
        client = plugin.make_client(instance)
        endpoint = str(client.endpoint)
        self.requests.get(endpoint + '/users/u1', json={'user': {'id': 'u1'}})
        client.get_user('u1')
        self.assertTrue(
            self.requests.last_request.url.startswith(endpoint + '/users/')
        )
        return endpoint

    def test_interface_and_region_pick_the_endpoint(self) -> None:
        self.assertEqual(
            INTERNAL_TWO, self.client_for('internal', 'RegionTwo')
        )
        self.assertEqual(PUBLIC_TWO, self.client_for('public', 'RegionTwo'))
        self.assertEqual(
            INTERNAL_ONE, self.client_for('internal', 'RegionOne')
        )

    def test_default_interface_is_public(self) -> None:
        self.assertEqual(PUBLIC_TWO, self.client_for(None, 'RegionTwo'))
