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

import secrets
from typing import Any

from mfa_osc import totp
from mfa_osc.client import records
from tests.functional import mfa_base


class TestEnrollRevocationDue(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.proxy = mfa_base.Proxy(self.keystone.port or 0)
        self.addCleanup(self.proxy.close)
        self.api = self.keystone.admin_adapter()
        self.domain = f'enroll-revoke-{secrets.token_hex(4)}'
        self.domain_id = self.api.post(
            '/domains', json={'domain': {'name': self.domain}}
        ).json()['domain']['id']

    def validate(self, token: str) -> int:
        return int(
            self.api.get(
                '/auth/tokens',
                headers={'X-Subject-Token': token},
                raise_exc=False,
            ).status_code
        )

    def due(self, user_id: str) -> Any:
        record = self.api.get(f'/users/{user_id}').json()['user']
        return record.get(records.REVOKE_KEY)

    def test_failed_revocation_is_done_by_the_next_enforce(self) -> None:
        password = secrets.token_urlsafe(12)
        user_id = self.api.post(
            '/users',
            json={
                'user': {
                    'name': f'u-{secrets.token_hex(3)}',
                    'password': password,
                    'domain_id': self.domain_id,
                }
            },
        ).json()['user']['id']
        signed = self.sign_in(
            {
                'methods': ['password'],
                'password': {'user': {'id': user_id, 'password': password}},
            }
        )
        self.assertEqual(201, signed.status_code, signed.text)
        token = str(signed.headers['X-Subject-Token'])

        secret = totp.generate_secret()
        self.proxy.fail_match = ('DELETE', '/tokens')
        enrolled = self.openstack(
            'mfa', 'enroll', '--user', user_id, '--secret', secret,
            '--passcode', totp.passcode(secret), '-f', 'json',
            env=self.env(auth_url=self.proxy.auth_url), check=False,
        )  # fmt: skip
        self.assertNotIn('Traceback', enrolled.stderr)
        self.assertIn('not ended', enrolled.stdout, enrolled.describe())
        # MFA is enforced; the session the password alone opened is not
        # ended yet, and the user record says it is due.
        self.assertEqual(401, self.sign_in(
            {
                'methods': ['password'],
                'password': {'user': {'id': user_id, 'password': password}},
            }
        ).status_code)  # fmt: skip
        self.assertEqual(200, self.validate(token))
        self.assertIsNotNone(self.due(user_id))

        self.proxy.fail_match = None
        rows = self.openstack_json(
            'mfa', 'enforce', '--all', '--domain', self.domain, env=self.env()
        )
        self.assertEqual(
            [(user_id, 'ended')], [(r['id'], r['sessions']) for r in rows]
        )
        self.assertEqual(404, self.validate(token))
        self.assertIsNone(self.due(user_id))
