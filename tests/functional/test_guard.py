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

"""Keystone behind mfa-osc's guard: two uWSGI processes, a real memcached.

One Keystone for the module (``LocalKeystone(guard=True)``), with
``[mfa_guard] max_failures = 3`` and ``lockout_duration = 5`` so that a
lock starts after three wrong passcodes and ends within seconds. Requests
go straight to Keystone with ``requests``, each on a new connection, so
that uWSGI hands them to either process: the Keystone log's request IDs
show which process served each. The client side (what ``openstack``
shows for these answers) is tested where it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
import json
import re
import secrets
import time
from typing import Any

from oslotest import base
import requests

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.testing.memcached import LocalMemcached
from tests.functional import base as functional_base

MAX_FAILURES = 3
LOCKOUT = 5
GUARD_HEADER = 'OpenStack-MFA-Guard'
RULES = [['password', 'totp'], ['application_credential']]


#: The module's Keystone behind the guard.
get_keystone = functional_base.ModuleKeystone(
    guard=True,
    config={
        'mfa_guard': {
            'max_failures': str(MAX_FAILURES),
            'lockout_duration': str(LOCKOUT),
            # NOTE: a policy change applies at the next sign-in.
            'policy_cache_time': '0',
        }
    },
)


class GuardTestCase(base.BaseTestCase):
    keystone: local_keystone.LocalKeystone
    #: The module Keystone the tests run against (test_guard_redis gives
    #: one whose guard keeps its state in Redis).
    served_by: Callable[[], local_keystone.LocalKeystone] = get_keystone

    def setUp(self) -> None:
        # NOTE: before oslotest's temporary directories: it outlives tests.
        self.keystone = self.served_by()
        super().setUp()

    # -- helpers

    @property
    def url(self) -> str:
        return self.keystone.auth_url + '/auth/tokens'

    def post(self, auth: dict[str, Any]) -> requests.Response:
        # NOTE: a new connection each time (no session): uWSGI gives each
        # to whichever process takes it.
        response = requests.post(self.url, json={'auth': auth}, timeout=60)
        self.assertEqual('1', response.headers.get(GUARD_HEADER))
        return response

    def totp_user(
        self, rules: list[list[str]] | None = None
    ) -> tuple[local_keystone.KeystoneUser, str]:
        user = self.keystone.create_user()
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        self.keystone.set_mfa_rules(user.id, rules or RULES)
        return user, secret

    def with_code(
        self, user: local_keystone.KeystoneUser, passcode: str
    ) -> requests.Response:
        return self.post(
            {
                'identity': {
                    'methods': ['password', 'totp'],
                    'password': {
                        'user': {'id': user.id, 'password': user.password}
                    },
                    'totp': {'user': {'id': user.id, 'passcode': passcode}},
                }
            }
        )

    def code_alone(
        self, user: local_keystone.KeystoneUser, passcode: str
    ) -> requests.Response:
        return self.post(
            {
                'identity': {
                    'methods': ['totp'],
                    'totp': {'user': {'id': user.id, 'passcode': passcode}},
                }
            }
        )

    def password_alone(
        self,
        user: local_keystone.KeystoneUser,
        scope: dict[str, Any] | str | None = None,
    ) -> requests.Response:
        auth: dict[str, Any] = {
            'identity': {
                'methods': ['password'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
            }
        }
        if scope is not None:
            auth['scope'] = scope
        return self.post(auth)

    def app_cred(self, user: local_keystone.KeystoneUser) -> dict[str, str]:
        """An application credential of a user who has no rules yet."""
        token = self.password_alone(user).headers['X-Subject-Token']
        response = requests.post(
            f'{self.keystone.auth_url}/users/{user.id}/application_credentials',
            json={'application_credential': {'name': secrets.token_hex(4)}},
            headers={'X-Auth-Token': token},
            timeout=60,
        )
        self.assertEqual(201, response.status_code, response.text)
        body = response.json()['application_credential']
        return {'id': body['id'], 'secret': body['secret']}

    def app_cred_sign_in(self, app: dict[str, str]) -> requests.Response:
        return self.post(
            {
                'identity': {
                    'methods': ['application_credential'],
                    'application_credential': app,
                }
            }
        )

    def users_in_a_new_domain(
        self, count: int
    ) -> tuple[
        dict[str, Any], dict[str, Any], list[local_keystone.KeystoneUser]
    ]:
        """A new domain, a project in it, and ``count`` users of the domain
        with the member role on the project (their default project)."""
        api = self.keystone.admin_adapter()
        domain = api.post(
            '/domains', json={'domain': {'name': secrets.token_hex(6)}}
        ).json()['domain']
        project = api.post(
            '/projects',
            json={'project': {'name': 'p', 'domain_id': domain['id']}},
        ).json()['project']
        role = api.get('/roles?name=member').json()['roles'][0]['id']
        users = []
        for _ in range(count):
            password = secrets.token_urlsafe(12)
            body = {
                'name': secrets.token_hex(6),
                'password': password,
                'domain_id': domain['id'],
                'default_project_id': project['id'],
            }
            user_id = api.post('/users', json={'user': body}).json()['user'][
                'id'
            ]
            api.put(f'/projects/{project["id"]}/users/{user_id}/roles/{role}')
            users.append(
                local_keystone.KeystoneUser(
                    user_id, body['name'], password, project['id'], 'p'
                )
            )
        return domain, project, users

    @staticmethod
    def wrong_codes(secret: str, count: int) -> list[str]:
        """Codes of no window near now."""
        near = {
            totp.passcode(secret, time.time() + 30 * k) for k in range(-3, 4)
        }
        codes = (f'{n:06d}' for n in range(1000000))
        return [code for code in codes if code not in near][:count]

    def serving_pids(self, responses: list[requests.Response]) -> set[str]:
        """The uWSGI processes that served these answers (from the log)."""
        ids = {r.headers['x-openstack-request-id'] for r in responses}
        assert self.keystone.log_path is not None
        with open(self.keystone.log_path) as f:
            log = f.read()
        pids = set()
        for request_id in ids:
            found = re.search(
                rf'^\S+ \S+ (\d+) \S+ \S+ \[\S+ {request_id} ', log, re.M
            )
            self.assertIsNotNone(found, request_id)
            assert found is not None
            pids.add(found.group(1))
        return pids

    def lock(
        self,
        user: local_keystone.KeystoneUser,
        secret: str,
        at_once: bool = False,
    ) -> list[requests.Response]:
        """Three wrong passcodes (each 401 from Keystone; ``at_once``:
        sent together), then the fourth try is refused: the 401s."""
        # NOTE: a different code each: the same code sent again while it
        # is being checked is refused as a replay.
        *wrong, last = self.wrong_codes(secret, MAX_FAILURES + 1)
        if at_once:
            # NOTE: Keystone writes the user's last_active_at at the first
            # sign-in of the day; two such writes at once on sqlite fail
            # ("database is locked", without the guard too): one first.
            self.password_alone(user)
            with futures.ThreadPoolExecutor(MAX_FAILURES) as pool:
                tries = list(
                    pool.map(lambda code: self.with_code(user, code), wrong)
                )
        else:
            tries = [self.with_code(user, code) for code in wrong]
        for response in tries:
            self.assertEqual(401, response.status_code, response.text)
            self.assertNotIn('mfa_guard', response.json()['error'])
        self.assert_locked(self.with_code(user, last), user)
        return tries

    def wait_until_both_processes_check_totp(self) -> None:
        """After the store came back: until both uWSGI processes answer
        TOTP sign-ins with something other than 503.

        Probes go a few at once (which process takes a connection is the
        kernel's choice), each for a user of its own (never locked).
        """

        def probe(_: int) -> requests.Response:
            user = {'id': secrets.token_hex(8), 'passcode': '000000'}
            return self.post(
                {'identity': {'methods': ['totp'], 'totp': {'user': user}}}
            )

        back: list[requests.Response] = []
        deadline = time.monotonic() + 30
        with futures.ThreadPoolExecutor(4) as pool:
            while len(self.serving_pids(back)) < 2:
                self.assertLess(time.monotonic(), deadline)
                answers = list(pool.map(probe, range(4)))
                back += [r for r in answers if r.status_code != 503]
                time.sleep(0.1)

    def assert_locked(
        self, response: requests.Response, user: local_keystone.KeystoneUser
    ) -> None:
        self.assertEqual(429, response.status_code, response.text)
        error = response.json()['error']
        guard = error['mfa_guard']
        self.assertEqual('locked', guard['reason'])
        self.assertEqual(str(guard['retry_after']),
                         response.headers['Retry-After'])  # fmt: skip
        self.assertLessEqual(guard['retry_after'], LOCKOUT)
        self.assertIn(f'`openstack mfa unlock --user {user.id}`',
                      error['message'])  # fmt: skip
        self.assertNotIn('X-Subject-Token', response.headers)


class TestLockout(GuardTestCase):
    def test_the_count_is_shared_and_the_right_code_is_refused(self) -> None:
        # NOTE: three wrong tries served by both processes, and the next
        # refused: each process alone saw fewer than max_failures. Which
        # process takes a connection is the kernel's choice: sent together,
        # each lock is tried until one spans both (each one must hold).
        for _attempt in range(8):
            user, secret = self.totp_user()
            tries = self.lock(user, secret, at_once=True)
            if len(self.serving_pids(tries)) == 2:
                break
        self.assertEqual(2, len(self.serving_pids(tries)))
        for _ in range(4):
            self.assert_locked(
                self.with_code(user, totp.passcode(secret)), user
            )
            self.assert_locked(
                self.code_alone(user, totp.passcode(secret)), user
            )

    def test_the_lock_ends_after_lockout_duration(self) -> None:
        user, secret = self.totp_user()
        self.lock(user, secret)
        refused = self.with_code(user, totp.passcode(secret))
        self.assert_locked(refused, user)
        time.sleep(int(refused.headers['Retry-After']) + 0.5)
        response = self.with_code(user, totp.passcode(secret))
        self.assertEqual(201, response.status_code, response.text)

    def test_an_administrator_ends_the_lock_on_the_user_record(self) -> None:
        user, secret = self.totp_user()
        self.lock(user, secret)
        api = self.keystone.admin_adapter()
        record = api.get(f'/users/{user.id}').json()['user']
        mark = record['mfa_osc_lock']
        self.assertEqual({'since', 'until'}, set(mark))
        self.assertRegex(mark['until'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        # NOTE: the mark changed nothing else of the account.
        self.assertEqual(
            {'multi_factor_auth_enabled': True,
             'multi_factor_auth_rules': RULES},
            record['options'],
        )  # fmt: skip
        self.assertEqual(401, self.password_alone(user).status_code)
        api.patch(f'/users/{user.id}', json={'user': {'mfa_osc_lock': None}})
        # NOTE: at once, on either process.
        response = self.with_code(user, totp.passcode(secret))
        self.assertEqual(201, response.status_code, response.text)

    def test_a_name_and_an_id_count_together(self) -> None:
        user, secret = self.totp_user()
        wrong = self.wrong_codes(secret, MAX_FAILURES)
        by_name = {'name': user.name, 'domain': {'name': 'Default'}}
        whom = (by_name, {'id': user.id}, by_name)
        for code, who in zip(wrong, whom, strict=True):
            response = self.post(
                {
                    'identity': {
                        'methods': ['totp'],
                        'totp': {'user': {**who, 'passcode': code}},
                    }
                }
            )
            self.assertEqual(401, response.status_code, response.text)
        self.assert_locked(self.with_code(user, totp.passcode(secret)), user)

    def test_a_good_code_tested_alone_is_a_try(self) -> None:
        user, secret = self.totp_user()
        response = self.code_alone(user, totp.passcode(secret))
        # NOTE: a receipt: the code is good, the password missing.
        self.assertEqual(401, response.status_code, response.text)
        self.assertIn('Openstack-Auth-Receipt', response.headers)
        *wrong, last = self.wrong_codes(secret, MAX_FAILURES)
        for code in wrong:
            self.assertEqual(401, self.code_alone(user, code).status_code)
        # The good code's test was one of the MAX_FAILURES tries.
        self.assert_locked(self.code_alone(user, last), user)

    def test_the_same_code_again_in_its_window_is_one_try(self) -> None:
        # NOTE: v3multifactor sends a refused code once more, unscoped, to
        # tell a wrong code from a missing role: one wrong code, one try.
        user, secret = self.totp_user()
        *wrong, last = self.wrong_codes(secret, MAX_FAILURES + 1)
        # NOTE: the repeats within one window (a few requests of ~20 ms):
        # started away from a window's end.
        into = time.time() % 30
        if into > 20:
            time.sleep(30.5 - into)
        for _ in range(MAX_FAILURES + 2):
            response = self.with_code(user, wrong[0])
            self.assertEqual(401, response.status_code, response.text)
        for code in wrong[1:]:
            self.assertEqual(401, self.with_code(user, code).status_code)
        self.assert_locked(self.with_code(user, last), user)

    def test_what_still_signs_in_during_a_lock(self) -> None:
        user = self.keystone.create_user()
        app = self.app_cred(user)
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        self.keystone.set_mfa_rules(user.id, RULES)
        plain = self.keystone.create_user()
        self.lock(user, secret)
        self.assertEqual(201, self.app_cred_sign_in(app).status_code)
        self.assertEqual(201, self.password_alone(plain).status_code)
        # NOTE: the password still earns its receipt (only TOTP is locked).
        receipt = self.password_alone(user)
        self.assertEqual(401, receipt.status_code)
        self.assertIn('Openstack-Auth-Receipt', receipt.headers)
        self.assert_locked(self.with_code(user, totp.passcode(secret)), user)


class TestReplay(GuardTestCase):
    def test_a_code_signs_in_once(self) -> None:
        user, secret = self.totp_user()
        # NOTE: the previous window's code must still be good at the end.
        if totp.seconds_left() < 10:
            time.sleep(totp.seconds_left() + 0.5)
        now = time.time()
        code = totp.passcode(secret, now)
        previous = totp.passcode(secret, now - 30)
        self.assertEqual(201, self.with_code(user, code).status_code)
        for _ in range(3):
            again = self.with_code(user, code)
            self.assertEqual(401, again.status_code)
            self.assertEqual(
                {
                    'code': 401,
                    'title': 'Unauthorized',
                    'message': 'That passcode was used already: wait for '
                    'the next one.',
                    'mfa_guard': {'reason': 'replayed'},
                },
                again.json()['error'],
            )
        # NOTE: the previous window's code is another code, still good;
        # and the three replays were not counted (no lock).
        self.assertNotEqual(code, previous)
        self.assertEqual(201, self.with_code(user, previous).status_code)

    def test_a_proof_by_receipt_leaves_the_code_usable(self) -> None:
        user, secret = self.totp_user()
        code = totp.passcode(secret)
        proof = self.code_alone(user, code)  # as `openstack mfa enroll`
        self.assertEqual(401, proof.status_code)
        self.assertIn('Openstack-Auth-Receipt', proof.headers)
        self.assertEqual(201, self.with_code(user, code).status_code)


class TestPolicy(GuardTestCase):
    def test_a_covered_user_gets_no_scoped_token_without_mfa(self) -> None:
        api = self.keystone.admin_adapter()
        domain, project, (plain, mfa) = self.users_in_a_new_domain(2)
        app = self.app_cred(plain)
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(mfa.id, secret)
        self.keystone.set_mfa_rules(mfa.id, RULES)
        scope = {'project': {'id': project['id']}}
        self.assertEqual(201, self.password_alone(plain, scope).status_code)
        # NOTE: as `openstack mfa policy set --required --deadline` keeps it.
        policy = {'required': True, 'deadline': '2020-01-01', 'roles': []}
        api.patch(
            f'/domains/{domain["id"]}', json={'domain': {'mfa_policy': policy}}
        )
        refused = self.password_alone(plain, scope)
        self.assertEqual(403, refused.status_code)
        self.assertNotIn('X-Subject-Token', refused.headers)
        self.assertEqual(
            {
                'code': 403,
                'title': 'Forbidden',
                'message': "Your domain's policy requires MFA since "
                '2020-01-01: sign in with your passcode, or set up a device '
                'with `openstack mfa enroll` (an unscoped sign-in is '
                'allowed for it).',
                'mfa_guard': {'reason': 'policy', 'deadline': '2020-01-01'},
            },
            refused.json()['error'],
        )
        # NOTE: the default project is a scope too.
        self.assertEqual(403, self.password_alone(plain).status_code)
        unscoped = self.password_alone(plain, 'unscoped')
        self.assertEqual(201, unscoped.status_code)
        rescoped = self.post(
            {
                'identity': {
                    'methods': ['token'],
                    'token': {'id': unscoped.headers['X-Subject-Token']},
                },
                'scope': scope,
            }
        )
        self.assertEqual(403, rescoped.status_code, rescoped.text)
        self.assertEqual(201, self.app_cred_sign_in(app).status_code)
        signed_in = self.with_code(mfa, totp.passcode(secret))
        self.assertEqual(201, signed_in.status_code)
        self.assertEqual(project['id'], signed_in.json()['token']['project'][
            'id'])  # fmt: skip
        # NOTE: a token rescoped from an MFA sign-in keeps totp.
        mfa_rescoped = self.post(
            {
                'identity': {
                    'methods': ['token'],
                    'token': {'id': signed_in.headers['X-Subject-Token']},
                },
                'scope': scope,
            }
        )
        self.assertEqual(201, mfa_rescoped.status_code)
        api.patch(
            f'/domains/{domain["id"]}', json={'domain': {'mfa_policy': None}}
        )
        self.assertEqual(201, self.password_alone(plain, scope).status_code)


class TestDelegation(GuardTestCase):
    def ec2(
        self, user: local_keystone.KeystoneUser, token: str, path: str
    ) -> requests.Response:
        """Make an EC2 credential of ``user`` on their project."""
        body: dict[str, Any] = {'tenant_id': user.project_id}
        if path == 'credentials':
            blob = {'access': secrets.token_hex(8), 'secret': 'x'}
            body = {
                'credential': {
                    'type': 'ec2',
                    'user_id': user.id,
                    'project_id': user.project_id,
                    'blob': json.dumps(blob),
                }
            }
        return requests.post(
            f'{self.keystone.auth_url}/{path}',
            json=body,
            headers={'X-Auth-Token': token},
            timeout=60,
        )

    def test_a_token_without_mfa_makes_no_ec2_credential(self) -> None:
        api = self.keystone.admin_adapter()
        domain, _, (plain, mfa) = self.users_in_a_new_domain(2)
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(mfa.id, secret)
        self.keystone.set_mfa_rules(mfa.id, RULES)
        # NOTE: Keystone makes one from an unscoped token by
        # /v3/credentials, and from a project-scoped one (a token issued
        # before the deadline stays valid) by both paths.
        unscoped = self.password_alone(plain, 'unscoped')
        scoped = self.password_alone(plain)
        tries = [
            (unscoped.headers['X-Subject-Token'], 'credentials'),
            (scoped.headers['X-Subject-Token'], 'credentials'),
            (
                scoped.headers['X-Subject-Token'],
                f'users/{plain.id}/credentials/OS-EC2',
            ),
        ]
        for token, path in tries:
            made = self.ec2(plain, token, path)
            self.assertEqual(201, made.status_code, made.text)
        policy = {'required': True, 'deadline': '2020-01-01', 'roles': []}
        api.patch(
            f'/domains/{domain["id"]}', json={'domain': {'mfa_policy': policy}}
        )
        for token, path in tries:
            refused = self.ec2(plain, token, path)
            self.assertEqual(403, refused.status_code, refused.text)
            error = refused.json()['error']
            self.assertEqual('policy', error['mfa_guard']['reason'])
            self.assertIn(
                'making an EC2 credential needs a token from a sign-in with '
                'your passcode',
                error['message'],
            )
        listed = api.get(f'/credentials?user_id={plain.id}&type=ec2')
        self.assertEqual(3, len(listed.json()['credentials']))
        token = unscoped.headers['X-Subject-Token']
        # NOTE: the device set-up the unscoped token is for still works.
        totp_credential = requests.post(
            f'{self.keystone.auth_url}/credentials',
            json={
                'credential': {
                    'type': 'totp',
                    'user_id': plain.id,
                    'blob': totp.generate_secret(),
                }
            },
            headers={'X-Auth-Token': token},
            timeout=60,
        )
        self.assertEqual(201, totp_credential.status_code)
        signed_in = self.with_code(mfa, totp.passcode(secret))
        self.assertEqual(201, signed_in.status_code, signed_in.text)
        mfa_token = signed_in.headers['X-Subject-Token']
        made = self.ec2(mfa, mfa_token, f'users/{mfa.id}/credentials/OS-EC2')
        self.assertEqual(201, made.status_code, made.text)


class TestRequests(GuardTestCase):
    def test_a_malformed_body_gets_keystones_400(self) -> None:
        for data in (b'{"auth": ', b'[]', b'\xff'):
            response = requests.post(
                self.url,
                data=data,
                headers={'Content-Type': 'application/json'},
                timeout=60,
            )
            self.assertEqual(400, response.status_code, response.text)
            self.assertEqual('1', response.headers.get(GUARD_HEADER))
            self.assertNotIn('mfa_guard', response.json()['error'])
        # NOTE: the workers live on.
        alive = requests.get(self.keystone.auth_url, timeout=60)
        self.assertEqual(200, alive.status_code)

    def test_other_requests_have_no_guard_header(self) -> None:
        response = requests.get(self.keystone.auth_url, timeout=60)
        self.assertEqual(200, response.status_code)
        self.assertNotIn(GUARD_HEADER, response.headers)


class TestMemcachedDown(GuardTestCase):
    def test_totp_is_refused_and_the_rest_signs_in(self) -> None:
        user = self.keystone.create_user()
        app = self.app_cred(user)
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        self.keystone.set_mfa_rules(user.id, RULES)
        plain = self.keystone.create_user()
        memcached = self.keystone.memcached
        assert memcached is not None
        port = memcached.port
        memcached.stop()
        self.addCleanup(self._restart_memcached, port)
        for _ in range(4):
            refused = self.with_code(user, totp.passcode(secret))
            self.assertEqual(503, refused.status_code, refused.text)
            self.assertEqual(
                'unavailable', refused.json()['error']['mfa_guard']['reason']
            )
            self.assertNotIn('X-Subject-Token', refused.headers)
            self.assertEqual(201, self.password_alone(plain).status_code)
            self.assertEqual(201, self.app_cred_sign_in(app).status_code)

    def _restart_memcached(self, port: int | None) -> None:
        memcached = LocalMemcached(port=port).start()
        self.keystone.memcached = memcached
        # NOTE: each uWSGI process sets the dead server aside on its own
        # (for memcache_dead_retry): one process answering is not enough.
        self.wait_until_both_processes_check_totp()


class TestStart(base.BaseTestCase):
    def test_without_memcached_it_does_not_start(self) -> None:
        # NOTE: guard=False: the guard served without the memcached
        # LocalKeystone gives it (tox -e functional-guard would).
        keystone = local_keystone.LocalKeystone(
            application=local_keystone.GUARD_APPLICATION, guard=False
        )
        self.addCleanup(keystone.stop)
        error = self.assertRaises(
            local_keystone.KeystoneStartError, keystone.start
        )
        self.assertIn(
            'The MFA guard keeps its counts in memcached or Redis and none '
            'is configured: set [cache] enabled = true',
            str(error),
        )

    def test_local_state_starts_with_a_warning(self) -> None:
        keystone = local_keystone.LocalKeystone(
            application=local_keystone.GUARD_APPLICATION,
            config={'mfa_guard': {'local_state': 'true'}},
            guard=False,
        )
        self.addCleanup(keystone.stop)
        keystone.start()
        response = requests.post(
            keystone.auth_url + '/auth/tokens', json={}, timeout=60
        )
        self.assertEqual('1', response.headers.get(GUARD_HEADER))
        assert keystone.log_path is not None
        with open(keystone.log_path) as f:
            self.assertIn('WARNING mfa_osc.guard.config', f.read())
