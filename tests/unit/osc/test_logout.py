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

"""``openstack mfa logout``: what a revocation's answer means."""

from __future__ import annotations

from oslotest import base
import requests
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.osc import logout

URL = 'http://keystone.test/v3'
TOKENS = URL + '/auth/tokens'


class TestRevoke(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())

    def test_waits_a_few_seconds_at_most(self) -> None:
        # NOTE: 404 (or 401: the token cannot vouch for itself) is a
        # token already invalid: revoked.
        for status in (204, 404, 401):
            self.requests.delete(TOKENS, status_code=status)
            self.assertIsNone(logout._revoke(URL, 'gAAAA-t'))
        self.assertEqual(
            'gAAAA-t', self.requests.last_request.headers['X-Subject-Token']
        )
        self.assertEqual(
            logout.REVOKE_TIMEOUT, self.requests.last_request.timeout
        )
        self.assertLessEqual(logout.REVOKE_TIMEOUT, 10)

    def test_no_answer(self) -> None:
        self.requests.delete(TOKENS, exc=requests.exceptions.ReadTimeout)
        self.assertEqual(
            'it did not answer within 5 seconds', logout._revoke(URL, 't')
        )

    def test_server_error(self) -> None:
        self.requests.delete(TOKENS, status_code=503)
        self.assertEqual('it answered 503', logout._revoke(URL, 't'))

    def test_each_failure_in_words(self) -> None:
        for answer, why in (
            (
                {'exc': requests.exceptions.SSLError('verify failed')},
                'its TLS certificate was not verified',
            ),
            (
                {'exc': requests.exceptions.ConnectionError('refused')},
                'the connection failed',
            ),
            ({'status_code': 403}, 'it answered 403'),
            ({'status_code': 409}, 'it answered 409'),
        ):
            self.requests.delete(TOKENS, **answer)
            self.assertEqual(why, logout._revoke(URL, 't'))

    def test_one_sentence_naming_the_next_command(self) -> None:
        tls = logout._failure(
            URL, 'its TLS certificate was not verified', 'openstack mfa logout'
        )
        self.assertIn('`openstack --os-cacert CA-FILE mfa logout`', tls)
        other = logout._failure(
            URL, 'it answered 503', 'openstack mfa logout --all'
        )
        self.assertIn('run `openstack mfa logout --all` again', other)
        for text in (tls, other):
            self.assertEqual(1, text.count('. ') + text.endswith('.'))
            self.assertIn(URL, text)
