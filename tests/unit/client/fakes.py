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

"""MFAClient's test case: a real keystoneauth Session signed in on
requests-mock, as user ``USER_ID`` with token ``TOKEN_ID``."""

from __future__ import annotations

import json
import logging

import fixtures
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc import client as mfa_client

AUTH_URL = 'https://keystone.example.com/identity/v3'
USER_ID = 'u-1'
TOKEN_ID = 'tok-abc'


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
        self.token = token
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
