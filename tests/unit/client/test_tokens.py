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

"""mfa_osc.client.tokens: the sign-in plugin's own Keystone requests."""

from __future__ import annotations

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from oslotest import base
import requests
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc import identity
from mfa_osc.client import errors
from mfa_osc.client import tokens

URL = 'http://keystone.test/v3'
TOKENS = URL + '/auth/tokens'
DATE = 'Sun, 06 Dec 2026 09:00:00 GMT'


class TestTokens(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.session = ks_session.Session()

    def test_revoke_with_itself(self) -> None:
        self.requests.delete(TOKENS, status_code=204)
        tokens.revoke(self.session, URL, 'tok-1')
        sent = self.requests.last_request
        self.assertEqual('DELETE', sent.method)
        self.assertEqual('tok-1', sent.headers['X-Auth-Token'])
        self.assertEqual('tok-1', sent.headers['X-Subject-Token'])
        self.assertEqual(1, self.requests.call_count)

    def test_revoke_of_a_token_gone_is_not_found(self) -> None:
        self.requests.delete(TOKENS, status_code=404, headers={'Date': DATE})
        exc = self.assertRaises(
            errors.NotFound, tokens.revoke, self.session, URL, 't'
        )
        self.assertIn('Keystone refused to revoke the token', str(exc))
        self.assertEqual(DATE, exc.response.headers['Date'])
        self.assertIsInstance(exc.original, ksa_exc.NotFound)

    def test_revoke_unreachable_keeps_what_keystoneauth_met(self) -> None:
        self.requests.delete(
            TOKENS, exc=requests.exceptions.SSLError('verify failed')
        )
        exc = self.assertRaises(
            errors.Unavailable, tokens.revoke, self.session, URL, 't'
        )
        self.assertIsNone(exc.status)
        self.assertIsNone(exc.response)
        self.assertIsInstance(exc.original, ksa_exc.SSLError)

    def test_validate_checks_the_token_with_itself(self) -> None:
        self.requests.get(TOKENS, json={'token': {}}, headers={'Date': DATE})
        response = tokens.validate(self.session, URL, 'tok-1')
        self.assertEqual({'token': {}}, response.json())
        sent = self.requests.last_request
        self.assertEqual('tok-1', sent.headers['X-Auth-Token'])
        self.assertEqual('tok-1', sent.headers['X-Subject-Token'])
        self.assertEqual('application/json', sent.headers['Accept'])

    def test_validate_of_a_revoked_token(self) -> None:
        self.requests.get(TOKENS, status_code=401, headers={'Date': DATE})
        exc = self.assertRaises(
            errors.Unauthorized,
            tokens.validate,
            self.session,
            URL,
            'gAAAA-secret',
        )
        self.assertEqual(DATE, exc.response.headers['Date'])
        self.assertIsInstance(exc.original, ksa_exc.Unauthorized)
        self.assertNotIn('gAAAA-secret', str(exc))

    def test_read_domain(self) -> None:
        self.requests.get(URL + '/domains/d1', json={'domain': {'id': 'd1'}})
        self.assertEqual(
            {'id': 'd1'}, tokens.read_domain(self.session, URL, 'tok-1', 'd1')
        )
        self.assertEqual(
            'tok-1', self.requests.last_request.headers['X-Auth-Token']
        )

    def test_read_domain_refused_or_not_a_domain(self) -> None:
        self.requests.get(URL + '/domains/d1', status_code=403)
        exc = self.assertRaises(
            errors.Forbidden, tokens.read_domain, self.session, URL, 't', 'd1'
        )
        self.assertEqual(403, exc.status)
        for answer, status in (
            ({'status_code': 204}, 204),
            ({'json': [1]}, None),
            ({'text': '<html>'}, None),
        ):
            self.requests.get(URL + '/domains/d1', **answer)
            exc = self.assertRaises(
                errors.Malformed,
                tokens.read_domain,
                self.session,
                URL,
                't',
                'd1',
            )
            self.assertEqual(status, exc.status)

    def test_read_domain_never_sends_a_crafted_path(self) -> None:
        self.assertRaises(
            identity.InvalidID,
            tokens.read_domain,
            self.session,
            URL,
            't',
            '../credentials',
        )
        self.assertEqual(0, self.requests.call_count)
