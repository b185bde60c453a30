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

"""The administrator's commands on a Keystone far bigger than one page.

A Keystone of its own with ``[DEFAULT] max_db_limit = 40`` (so every list
is several pages) and a few hundred users: some enrolled and enforced,
some enrolled but not enforced, some with a hand-made credential that
lets the code alone sign in. The audit must list every one of them with
the right state, from requests that grow per page, never per user; and
``enforce --all`` must leave no user weaker and lock none out (checked
with real sign-ins), and change nothing the second time.
"""

from __future__ import annotations

import json
import math
from typing import Any

import requests

from mfa_osc import client as mfa_client
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import enroll as enroll_flow
from tests.functional import base
from tests.functional import mfa_base

PAGE = 40
PLAIN = 150  # users without MFA
ENFORCED = 4
NOT_ENFORCED = 5
CODE_ALONE = 4


class TestScale(mfa_base.MFATestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.big = local_keystone.LocalKeystone(
            config={'DEFAULT': {'max_db_limit': str(PAGE)}}
        )
        cls.big.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.big.stop()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        self.proxy = mfa_base.Proxy(self.big.port or 0)
        self.addCleanup(self.proxy.close)
        self.api = self.big.admin_adapter()

    # -- set-up

    def bare_users(self, first: int, last: int) -> None:
        # NOTE: no passwords: hashing one is what makes users slow to make.
        for n in range(first, last):
            self.api.post(
                '/users',
                json={
                    'user': {'name': f'plain-{n:04d}', 'domain_id': 'default'}
                },
            )

    def enrolled(
        self, enforce: bool
    ) -> tuple[local_keystone.KeystoneUser, str]:
        user = self.big.create_user()
        secret = totp.generate_secret()
        client = mfa_client.MFAClient(self.big.admin_session())
        plan = enroll_flow.prepare(client, client.get_user(user.id), name='p')
        enroll_flow.enroll(
            client,
            plan,
            secret=secret,
            passcodes=lambda attempt, hint: (
                totp.passcode(secret) if attempt == 0 else None
            ),
            recovery_codes=1,
        )
        if not enforce:
            self.big.set_mfa_rules(
                user.id, [['password'], ['application_credential']]
            )
        return user, secret

    def code_alone(self) -> tuple[local_keystone.KeystoneUser, str]:
        user = self.big.create_user()
        secret = totp.generate_secret()
        self.big.create_totp_credential(user.id, secret)
        return user, secret

    # -- the real sign-ins

    def post(self, body: dict[str, Any]) -> int:
        return requests.post(
            self.big.auth_url + '/auth/tokens',
            json={'auth': {'identity': body}},
            timeout=30,
        ).status_code

    def password(self, user: local_keystone.KeystoneUser) -> int:
        return self.post(
            {
                'methods': ['password'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
            }
        )

    def code(self, user: local_keystone.KeystoneUser, secret: str) -> int:
        return self.post(
            {
                'methods': ['totp'],
                'totp': {
                    'user': {'id': user.id, 'passcode': totp.passcode(secret)}
                },
            }
        )

    def both(self, user: local_keystone.KeystoneUser, secret: str) -> int:
        return self.post(
            {
                'methods': ['password', 'totp'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
                'totp': {
                    'user': {'id': user.id, 'passcode': totp.passcode(secret)}
                },
            }
        )

    # -- the CLI through the counting proxy

    def admin_env(self) -> dict[str, str]:
        env = self.big.os_env()
        env.update(OS_AUTH_URL=self.proxy.auth_url, OS_TOKEN_CACHE='off')
        return env

    def cli_json(self, *args: str) -> Any:
        self.proxy.reset()
        return self.openstack_json(*args, env=self.admin_env())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for method, path in self.proxy.requests:
            key = f'{method} {path.split("?")[0]}'
            if key.startswith('GET /v3/credentials'):
                kind = 'mfa-osc' if 'type=mfa-osc' in path else 'totp'
                key = f'GET /v3/credentials ({kind})'
            out[key] = out.get(key, 0) + 1
        return out

    def test_audit_is_complete_and_enforce_all_is_safe(self) -> None:
        self.bare_users(0, PLAIN)
        enforced = [self.enrolled(True) for _ in range(ENFORCED)]
        waiting = [self.enrolled(False) for _ in range(NOT_ENFORCED)]
        alone = [self.code_alone() for _ in range(CODE_ALONE)]
        everyone = {u['id'] for u in self._all_users()}
        self.assertGreater(len(everyone), 3 * PAGE)

        rows = self.cli_json('mfa', 'audit')
        by_id = {row['id']: row for row in rows}
        self.assertEqual(everyone, set(by_id))
        for user, _ in enforced:
            self.assertEqual('enforced', by_id[user.id]['state'])
        for user, _ in waiting:
            self.assertEqual('enrolled, not enforced', by_id[user.id]['state'])
        for user, _ in alone:
            self.assertEqual('code alone signs in', by_id[user.id]['state'])
            self.assertEqual(1, by_id[user.id]['devices'])

        # Requests grow per page: users, then totp credentials.
        counts = self.counts()
        user_pages = counts['GET /v3/users']
        self.assertLessEqual(math.ceil(len(everyone) / PAGE), user_pages)
        self.assertLessEqual(user_pages, len(everyone) // PAGE + 1)
        totp_creds = (ENFORCED + NOT_ENFORCED) * 2 + CODE_ALONE
        self.assertLessEqual(
            counts['GET /v3/credentials (totp)'], totp_creds // PAGE + 1
        )
        self.bare_users(PLAIN, PLAIN + PAGE)
        rows = self.cli_json('mfa', 'status', '--all')
        self.assertEqual(len(everyone) + PAGE, len(rows))
        more = self.counts()
        self.assertEqual(user_pages + 1, more['GET /v3/users'], more)
        self.assertEqual(
            sum(counts.values()) + 1, sum(more.values()), (counts, more)
        )

        # A dry run plans, and changes nothing.
        before = {u['id']: u.get('options') for u in self._all_users()}
        plan = self.cli_json('mfa', 'enforce', '--all', '--dry-run')
        self.assertEqual(
            before, {u['id']: u.get('options') for u in self._all_users()}
        )
        planned = {row['id']: row for row in plan}
        self.assertEqual(
            {u.id for u, _ in waiting} | {u.id for u, _ in alone},
            set(planned),
        )
        for row in plan:
            self.assertEqual('planned (dry run)', row['result'])

        done = self.cli_json('mfa', 'enforce', '--all')
        self.assertEqual(set(planned), {row['id'] for row in done})
        self.assertEqual({'done'}, {row['result'] for row in done})
        # Enforced now: the password alone no longer signs in, with the
        # device it does; nobody's code alone signs in.
        for user, secret in enforced + waiting:
            self.assertEqual(401, self.password(user))
            self.assertEqual(201, self.both(user, secret))
            self.assertNotEqual(201, self.code(user, secret))
        # Guarded: the code alone is refused, the password still works.
        for user, secret in alone:
            self.assertNotEqual(201, self.code(user, secret))
            self.assertEqual(201, self.password(user))

        # A second run changes nothing.
        self.proxy.reset()
        result = self.openstack(
            'mfa', 'enforce', '--all', '-f', 'json', env=self.admin_env()
        )
        self.assertEqual([], json.loads(result.stdout))
        self.assertIn('Nothing to do', result.stderr)
        self.assertNotIn('PATCH', {m for m, _ in self.proxy.requests})

    def _all_users(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url = f'/users?limit={PAGE}'
        while url:
            body = self.api.get(url).json()
            out.extend(body['users'])
            link = body['links'].get('next')
            url = link.split('/v3', 1)[1] if link else ''
        return out

    def test_progress_only_on_a_terminal(self) -> None:
        env = self.admin_env()
        plain = self.run_command(
            [base.openstack_executable(), 'mfa', 'audit', '-f', 'json'],
            env=env,
        )
        self.assertEqual('', plain.stderr)
        returncode, output = self.openstack_on_pty(
            'mfa', 'audit', '-f', 'csv', env=env
        )
        self.assertEqual(0, returncode, output)
        self.assertIn('"id","name"', output)
        self.assertIn('Reading users', output)
