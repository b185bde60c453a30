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

"""An administrator's ``mfa enroll --user`` remembers the revocation it
owes (issue 20, item 3): when Keystone fails the ``DELETE
/v3/users/{id}/tokens`` (a 503 from the tests' proxy), the user record
keeps the mark, and the next ``mfa enforce --all`` ends the session the
password alone opened."""

from __future__ import annotations

from mfa_osc import totp
from tests.functional import mfa_base


class TestEnrollRevocationDue(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()
        self.domain, self.domain_id = self.make_domain('enroll-revoke')

    def test_failed_revocation_is_done_by_the_next_enforce(self) -> None:
        user = self.domain_user(self.domain, self.domain_id)
        user_id, password = user.id, user.password
        signed = self.password_sign_in(user_id, password)
        self.assertEqual(201, signed.status_code, signed.text)
        token = str(signed.headers['X-Subject-Token'])

        secret = totp.generate_secret()
        self.proxy.fail_match = ('DELETE', '/tokens')
        enrolled = self.openstack(
            'mfa', 'enroll', '--user', user_id, '--secret', secret,
            '--passcode', self.good_code(secret), '-f', 'json',
            env=self.env(auth_url=self.proxy.auth_url), check=False,
        )  # fmt: skip
        self.assertNotIn('Traceback', enrolled.stderr)
        self.assertIn('not ended', enrolled.stdout, enrolled.describe())
        # MFA is enforced; the session the password alone opened is not
        # ended yet, and the user record says it is due.
        self.assertEqual(
            401, self.password_sign_in(user_id, password).status_code
        )
        self.assertEqual(200, self.token_status(token))
        self.assertIsNotNone(self.revocation_due(user_id))

        self.proxy.fail_match = None
        rows = self.openstack_json(
            'mfa', 'enforce', '--all', '--domain', self.domain, env=self.env()
        )
        self.assertEqual(
            [(user_id, 'ended')], [(r['id'], r['sessions']) for r in rows]
        )
        self.assertEqual(404, self.token_status(token))
        self.assertIsNone(self.revocation_due(user_id))
