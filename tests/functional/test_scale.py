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

import csv
import io
import json
import math
import secrets
from typing import Any

import requests

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
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
        self.proxy = self.start_proxy(self.big)
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
        self.enroll_in_process(
            user.id, secret, recovery_codes=1, keystone=self.big
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
                    'user': {'id': user.id, 'passcode': self.good_code(secret)}
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
                    'user': {'id': user.id, 'passcode': self.good_code(secret)}
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
        rows = self.cli_json('mfa', 'audit')
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

        # More TOTP credentials than a page: Keystone 30 answers the next
        # page of credentials with the first again (it ignores the
        # marker), so they are read in parts by user ID prefix, each one
        # page; the requests still grow with the pages, not the users.
        plain = sorted(
            (u for u in self._all_users() if u['name'].startswith('plain-')),
            key=lambda u: u['name'],
        )[: PAGE // 2]
        for user in plain:
            for _ in range(2):
                self.big.create_totp_credential(
                    user['id'], totp.generate_secret()
                )
        rows = self.cli_json('mfa', 'audit')
        by_id = {row['id']: row for row in rows}
        self.assertEqual(len(everyone) + PAGE, len(rows))
        for user in plain:
            self.assertEqual(2, by_id[user['id']]['devices'], user)
            self.assertEqual('code alone signs in', by_id[user['id']]['state'])
        pages = self.counts()['GET /v3/credentials (totp)']
        total = totp_creds + PAGE
        self.assertGreater(total, PAGE)
        self.assertLessEqual(pages, 2 + 16 * math.ceil(total / PAGE))
        self.assertLess(pages, len(rows) // 4)

    def _all_users(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url = f'/users?limit={PAGE}'
        while url:
            body = self.api.get(url).json()
            out.extend(body['users'])
            link = body['links'].get('next')
            url = link.split('/v3', 1)[1] if link else ''
        return out

    def test_one_users_credentials_do_not_stop_the_bulk_commands(
        self,
    ) -> None:
        """Issue 20, item 7: one ordinary user with more TOTP credentials
        than Keystone lists in one answer (``max_db_limit`` + 1: Keystone's
        default policy lets anyone create them) stops only their own row
        of ``enforce --all`` and ``policy set``; the audit refuses."""
        domain = f'flood-{secrets.token_hex(4)}'
        domain_id = self.api.post(
            '/domains', json={'domain': {'name': domain}}
        ).json()['domain']['id']

        def user(name: str) -> local_keystone.KeystoneUser:
            password = secrets.token_urlsafe(12)
            body = {'name': name, 'password': password, 'domain_id': domain_id}
            user_id = self.api.post('/users', json={'user': body}).json()[
                'user'
            ]['id']
            self.addCleanup(self.api.delete, f'/users/{user_id}')
            return local_keystone.KeystoneUser(
                user_id, name, password, None, None, domain
            )

        carol = user('carol')
        carol_secret = totp.generate_secret()
        self.big.create_totp_credential(carol.id, carol_secret)
        flood = user('flood')
        self.big.set_mfa_rules(flood.id, [['password', 'totp']])
        made = [
            self.big.create_totp_credential(flood.id, totp.generate_secret())
            for _ in range(PAGE + 1)
        ]
        for cred_id in made:
            self.addCleanup(self.api.delete, f'/credentials/{cred_id}')
        erin = user('erin')

        env = self.admin_env()
        result = self.openstack(
            'mfa', 'enforce', '--all', '--domain', domain, '-f', 'json',
            env=env, expect_fail=True,
        )  # fmt: skip
        self.assertNotIn('Traceback', result.stderr)
        rows = {r['name']: r for r in json.loads(result.stdout)}
        self.assertEqual({'carol', 'flood'}, set(rows))
        self.assertEqual('done', rows['carol']['result'])
        self.assertIn(
            'more credentials than Keystone lists', rows['flood']['result']
        )
        self.assertNotEqual(201, self.code(carol, carol_secret))
        self.assertEqual(201, self.password(carol))

        result = self.openstack(
            'mfa', 'policy', 'set', '--domain', domain, '--required',
            env=env, expect_fail=True,
        )  # fmt: skip
        self.assertIn('flood', result.stderr)
        self.assertIn('erin', result.stderr)
        rules = self.api.get(f'/users/{erin.id}').json()['user']['options']
        self.assertIn('multi_factor_auth_rules', rules)

        result = self.openstack(
            'mfa', 'audit', '--domain', domain, env=env, expect_fail=True
        )
        self.assertIn('max_db_limit', result.stderr)

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


class TestEnforceAllFaults(mfa_base.MFATestCase):
    """``enforce --all`` with each of its requests failing in turn, on a
    domain of its own in the shared Keystone (other tests' users are
    never touched: ``--domain``)."""

    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()
        self.api = self.keystone.admin_adapter()
        self.domain, self.domain_id = self.make_domain('faults')

    def user(self, name: str) -> local_keystone.KeystoneUser:
        return self.domain_user(self.domain, self.domain_id, name)

    def set_up(self) -> dict[str, tuple[local_keystone.KeystoneUser, str]]:
        bob, carol, dave = self.user('bob'), self.user('carol'), self.user('d')
        secret = totp.generate_secret()
        self.enroll_in_process(bob.id, secret)
        carol_secret = totp.generate_secret()
        self.keystone.create_totp_credential(carol.id, carol_secret)
        return {
            'bob': (bob, secret),
            'carol': (carol, carol_secret),
            'dave': (dave, ''),
        }

    def reset(self, users: dict[str, Any]) -> None:
        """bob back to guard rules, carol back to no rules."""
        self.keystone.set_mfa_rules(
            users['bob'][0].id, [['password'], ['application_credential']]
        )
        self.api.patch(
            f'/users/{users["carol"][0].id}',
            json={
                'user': {
                    'options': {
                        'multi_factor_auth_rules': None,
                        'multi_factor_auth_enabled': None,
                    }
                }
            },
        )

    def assert_safe(self, users: dict[str, Any]) -> None:
        bob, secret = users['bob']
        carol, carol_secret = users['carol']
        dave, _ = users['dave']
        # Never locked out.
        self.assertTrue(
            self.password_status(bob) == 201
            or self.sign_in(
                {
                    'methods': ['password', 'totp'],
                    'password': {
                        'user': {'id': bob.id, 'password': bob.password}
                    },
                    'totp': {
                        'user': {
                            'id': bob.id,
                            'passcode': self.good_code(secret),
                        }
                    },
                }
            ).status_code
            == 201
        )
        self.assertEqual(201, self.password_status(carol))
        self.assertEqual(201, self.password_status(dave))
        # Never weaker: bob's code alone never signs in.
        self.assertNotEqual(201, self.totp_alone_status(bob.id, secret))

    def test_each_request_fails_in_turn(self) -> None:
        users = self.set_up()
        env = self.keystone.os_env()
        env.update(OS_AUTH_URL=self.proxy.auth_url, OS_TOKEN_CACHE='off')
        for n in range(1, 30):
            if n > 1:
                # NOTE: each later turn on new users (with new secrets) in
                # a domain of their own, set as reset() sets them: behind
                # the guard a passcode signs in once (a secret gives 5
                # codes, then one each 30 s) and counted code-alone probes
                # lock a user's TOTP sign-ins, so turns on the same users
                # waited for codes, window after window.
                self.domain, self.domain_id = self.make_domain('faults')
                users = self.set_up()
                self.reset(users)
            argv = [base.openstack_executable(), 'mfa', 'enforce', '--all',
                    '--domain', self.domain, '-f', 'json']  # fmt: skip
            mode = mfa_base.FAIL_MODES[n % len(mfa_base.FAIL_MODES)]
            self.proxy.reset(fail_at=n, mode=mode)
            result = self.run_unchecked(argv, env)
            injected = n <= len(self.proxy.requests)
            self.assertNotIn('Traceback', result.stderr)
            self.assert_safe(users)
            if not injected:
                self.assertEqual(0, result.returncode, result.describe())
                break
            # A re-run finishes what the failure left.
            self.proxy.reset()
            again = self.run_command(argv, env=env)
            self.assert_safe(users)
            rows = json.loads(again.stdout)
            self.assertEqual({'done'}, {r['result'] for r in rows} or {'done'})
            self.assertEqual(
                [], json.loads(self.run_command(argv, env=env).stdout)
            )
            self.assertEqual(401, self.password_status(users['bob'][0]))
            self.assertNotEqual(
                201,
                self.totp_alone_status(
                    users['carol'][0].id, users['carol'][1]
                ),
            )
        else:
            self.fail('enforce --all never ran without a failure')
        self.assertGreater(n, 6)
        # The run without a failure revoked both changed users' older
        # tokens (after their new rules), and earlier runs had each of
        # those requests fail in turn.
        revocations = [
            number
            for number, (method, path) in enumerate(self.proxy.requests, 1)
            if method == 'DELETE' and path.endswith('/tokens')
        ]
        self.assertEqual(2, len(revocations), self.proxy.requests)
        self.assertTrue(all(r < n for r in revocations))

    def test_every_list_format(self) -> None:
        """Issue 21: ``enforce --all`` prints its rows from a Lister, so
        ``-f csv`` (promised by a release note, refused by the ShowOne it
        was) and ``-f json`` print the same rows; one user's result stays
        one item."""
        users = self.set_up()
        self.reset(users)  # bob to enforce, carol to guard
        env = self.keystone.os_env()
        argv = ('mfa', 'enforce', '--all', '--domain', self.domain)
        plan = self.openstack_json(*argv, '--dry-run', env=env)
        self.assertEqual(
            {users['bob'][0].id, users['carol'][0].id},
            {row['id'] for row in plan},
        )
        result = self.openstack(*argv, '-f', 'csv', env=env)
        table = list(csv.reader(io.StringIO(result.stdout)))
        self.assertEqual([str(c) for c in plan[0]], table[0])
        done = {
            row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]
        }
        self.assertEqual({row['id'] for row in plan}, set(done))
        self.assertEqual({'done'}, {row['result'] for row in done.values()})
        self.assertEqual(401, self.password_status(users['bob'][0]))
        self.assertEqual(201, self.password_status(users['carol'][0]))

        # A second run: the header alone, and Nothing to do on stderr.
        again = self.openstack(*argv, '-f', 'csv', env=env)
        self.assertEqual(
            [table[0]], list(csv.reader(io.StringIO(again.stdout)))
        )
        self.assertIn('Nothing to do', again.stderr)

        one = self.openstack_json(
            'mfa', 'enforce', '--user', users['bob'][0].id, env=env
        )
        self.assertEqual(users['bob'][0].id, one['user_id'])
        self.assertTrue(one['enforced'])
