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

"""Sign in once: the token cache, sign-out and recovery-code sign-in."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time

import requests

from mfa_osc import totp
from tests.functional import base
from tests.functional import mfa_base

MFA_RULES = [['password', 'totp'], ['application_credential']]
SECRET = 'KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF'
AUTH_TOKENS = '/v3/auth/tokens'


class CacheTestCase(base.FunctionalTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user, _ = self.make_totp_user(MFA_RULES, SECRET)
        self.proxy = mfa_base.start_proxy(self)

    def env(self, **extra: str) -> dict[str, str]:
        env = self.keystone.os_env(self.user)
        env['OS_AUTH_URL'] = self.proxy.auth_url
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        env.update(extra)
        return env

    def later_env(self, **extra: str) -> dict[str, str]:
        """A later command: no password, no passcode, no terminal."""
        env = self.env(**extra)
        env.pop('OS_PASSWORD')
        return env

    def sign_ins(self) -> int:
        return sum(
            1
            for method, path in self.proxy.requests
            if method == 'POST' and path.startswith(AUTH_TOKENS)
        )

    def token(self, env: dict[str, str]) -> dict[str, str]:
        self.proxy.reset()
        result: dict[str, str] = self.openstack_json('token', 'issue', env=env)
        return result

    def first_sign_in(self) -> dict[str, str]:
        token = self.token(self.env(OS_PASSCODE=self.good_code(SECRET)))
        self.assertEqual(1, self.sign_ins())
        return token

    def cache_files(self) -> list[str]:
        directory = os.path.join(self.home, '.cache', 'mfa-osc')
        return [
            os.path.join(directory, name)
            for name in os.listdir(directory)
            if name.endswith('.json')
        ]

    def age(self, seconds: float = 3600) -> None:
        """Make the cache's confirmations older than the window."""
        for path in self.cache_files():
            with open(path) as handle:
                entry = json.load(handle)
            entry['confirmed'] -= seconds
            for scoped in entry.get('scopes', {}).values():
                scoped['confirmed'] -= seconds
            with open(path, 'w') as handle:
                json.dump(entry, handle)

    def keystone_requests(self) -> list[tuple[str, str]]:
        return list(self.proxy.requests)

    def revoke(self, token_id: str) -> None:
        """Revoke the token, and return once Keystone refuses it.

        NOTE: behind the guard Keystone runs two uWSGI processes with its
        cache in memcached; in one run of the whole suite the other
        process still took the token right after the revocation (never
        reproduced alone). The tests are about the client once Keystone
        refuses the token, so they wait for that, on new connections
        (either process), four times in a row.
        """
        admin = self.keystone.admin_session()
        url = self.keystone.auth_url + '/auth/tokens'
        admin.delete(url, headers={'X-Subject-Token': token_id})
        admin_token = admin.get_token()
        refused, deadline = 0, time.monotonic() + 10
        while refused < 4:
            self.assertLess(time.monotonic(), deadline, 'token not revoked')
            answer = requests.get(
                url,
                headers={
                    'X-Auth-Token': str(admin_token),
                    'X-Subject-Token': token_id,
                },
                timeout=30,
            )
            refused = refused + 1 if answer.status_code == 404 else 0


class TestCache(CacheTestCase):
    def test_second_command_sends_no_request(self) -> None:
        first = self.first_sign_in()
        second = self.token(self.later_env())
        self.assertEqual(first['id'], second['id'])
        self.assertEqual([], self.keystone_requests())

    def test_past_the_window_one_request(self) -> None:
        first = self.first_sign_in()
        self.age()
        second = self.token(self.later_env())
        self.assertEqual(first['project_id'], second['project_id'])
        # NOTE: one token-method POST confirms the token and today's names.
        self.assertEqual([('POST', AUTH_TOKENS)], self.keystone_requests())
        # Confirmed again: nothing the next time.
        self.token(self.later_env())
        self.assertEqual([], self.keystone_requests())

    def test_project_switch_rescopes_without_prompt(self) -> None:
        admin = self.keystone.admin_adapter()
        other = admin.post(
            '/projects',
            json={
                'project': {
                    'name': f'{self.user.name}-b',
                    'domain_id': 'default',
                }
            },
        ).json()['project']
        role = admin.get('/roles', params={'name': 'member'}).json()
        admin.put(
            f'/projects/{other["id"]}/users/{self.user.id}/roles/'
            f'{role["roles"][0]["id"]}'
        )
        self.first_sign_in()
        token = self.token(self.later_env(OS_PROJECT_NAME=other['name']))
        self.assertEqual(other['id'], token['project_id'])
        # NOTE: one POST, the token-method rescope; no password, no code.
        self.assertEqual(1, self.sign_ins())
        # One token per scope: back and forth costs nothing more.
        for name in (self.user.project_name, other['name']):
            self.token(self.later_env(OS_PROJECT_NAME=str(name)))
            self.assertEqual([], self.keystone_requests())

    def test_revoked_token_means_a_fresh_sign_in(self) -> None:
        first = self.first_sign_in()
        self.revoke(first['id'])
        # NOTE: with the password but no passcode source: the first 401
        # from a service reveals the revocation (invalidate() asks
        # Keystone), so Keystone asks for the code again.
        result = self.openstack(
            'user', 'show', self.user.id, env=self.env(), expect_fail=True
        )
        self.assertIn('needs a TOTP passcode', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        again = self.token(self.env(OS_PASSCODE=self.good_code(SECRET)))
        self.assertNotEqual(first['id'], again['id'])
        self.assertEqual(again['id'], self.token(self.later_env())['id'])

    def test_corrupt_cache_file(self) -> None:
        self.first_sign_in()
        for path in self.cache_files():
            with open(path, 'w') as handle:
                handle.write('{"auth_token": "x", "bo')
        token = self.token(self.env(OS_PASSCODE=self.good_code(SECRET)))
        self.assertEqual(1, self.sign_ins())
        self.assertEqual(self.user.id, token['user_id'])

    def test_file_modes(self) -> None:
        token = self.first_sign_in()
        (path,) = self.cache_files()
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        directory = os.path.dirname(path)
        self.assertEqual(0o700, stat.S_IMODE(os.stat(directory).st_mode))
        content = open(path).read()
        self.assertIn(token['id'], content)
        self.assertNotIn(self.user.password, content)

    def test_two_commands_at_once(self) -> None:
        code = self.good_code(SECRET)
        # NOTE: straight to Keystone: this is about the cache files.
        direct = self.env(OS_PASSCODE=code, OS_AUTH_URL=self.keystone.auth_url)
        procs = [
            subprocess.Popen(
                [self.openstack_path, 'token', 'issue', '-f', 'json'],
                env=self.cli_env(direct),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        signed_in = 0
        for proc in procs:
            out, err = proc.communicate(timeout=base.CLI_TIMEOUT)
            if self.guarded and proc.returncode != 0:
                # NOTE: both sign in at once with one code, which the
                # guard takes once: the other is told so in one sentence.
                self.assertIn('signed in already', err)
                self.assertNotIn('Traceback', err)
                continue
            self.assertEqual(0, proc.returncode, err)
            self.assertEqual(self.user.id, json.loads(out)['user_id'])
            signed_in += 1
        self.assertGreaterEqual(signed_in, 1)
        (path,) = self.cache_files()
        with open(path) as handle:
            self.assertIn('auth_token', json.load(handle))
        # The entry both wrote serves a command with no password or code.
        later = self.later_env(OS_AUTH_URL=self.keystone.auth_url)
        result = self.openstack_json('token', 'issue', env=later)
        self.assertEqual(self.user.id, result['user_id'])

    def test_cache_can_be_turned_off(self) -> None:
        self.token(
            self.env(OS_PASSCODE=self.good_code(SECRET), OS_TOKEN_CACHE='off')
        )
        self.assertFalse(
            os.path.exists(os.path.join(self.home, '.cache', 'mfa-osc'))
            and self.cache_files()
        )

    def test_logout_revokes_and_next_command_prompts(self) -> None:
        first = self.first_sign_in()
        result = self.openstack('mfa', 'logout', env=self.later_env())
        self.assertIn('Signed out', result.stdout)
        self.assertEqual([], self.cache_files())
        check = requests.get(
            self.keystone.auth_url + '/auth/tokens',
            headers={
                'X-Auth-Token': self.keystone.admin_session().get_token()
                or '',
                'X-Subject-Token': first['id'],
            },
            timeout=30,
        )
        self.assertEqual(404, check.status_code)
        code, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID,
            env=self.env(),
            inputs=[('Passcode: ', self.good_code(SECRET))],
        )
        self.assertEqual(0, code, output)
        self.assertIn(self.user.id, output)


class TestCacheDirectory(CacheTestCase):
    """Where the cache may live, and what the user is told when not."""

    def sign_in_with(self, **extra: str) -> base.CLIResult:
        return self.openstack(
            'token', 'issue',
            env=self.env(OS_PASSCODE=self.good_code(SECRET), **extra),
        )  # fmt: skip

    def test_a_folder_of_the_users_own_is_used_as_it_is(self) -> None:
        # MFA_OSC_CACHE_DIR=$HOME: never chmodded to 0700.
        os.chmod(self.home, 0o755)  # noqa: S103 - a home folder's mode
        first = self.sign_in_with(MFA_OSC_CACHE_DIR=self.home)
        self.assertEqual('', first.stderr)
        self.assertEqual(0o755, stat.S_IMODE(os.stat(self.home).st_mode))
        later = self.later_env(MFA_OSC_CACHE_DIR=self.home)
        self.token(later)
        self.assertEqual([], self.keystone_requests())

    def test_a_folder_others_may_write_is_refused(self) -> None:
        shared = os.path.join(self.home, 'shared')
        os.mkdir(shared)
        os.chmod(shared, 0o775)  # noqa: S103 - the folder refused
        result = self.sign_in_with(MFA_OSC_CACHE_DIR=shared)
        self.assertEqual(0o775, stat.S_IMODE(os.stat(shared).st_mode))
        self.assertEqual([], os.listdir(shared))
        (line,) = result.stderr.splitlines()
        self.assertIn('The token cache is not used', line)
        self.assertIn('may be written by other users', line)
        self.assertIn('MFA_OSC_CACHE_DIR', line)

    def test_a_cache_that_cannot_be_written_is_said_once(self) -> None:
        # NOTE: as with a read-only home: the folder cannot be made.
        blocker = os.path.join(self.home, 'not-a-folder')
        with open(blocker, 'w') as out:
            out.write('')
        result = self.sign_in_with(XDG_CACHE_HOME=blocker)
        (line,) = result.stderr.splitlines()
        self.assertIn('The token cache is not used', line)
        self.assertIn('cannot be written', line)
        self.assertIn('MFA_OSC_CACHE_DIR', line)


class TestCacheNeverWrong(CacheTestCase):
    """The cache never hands out a wrong token, nor drops a good one."""

    def member_role(self) -> str:
        admin = self.keystone.admin_adapter()
        roles = admin.get('/roles', params={'name': 'member'}).json()
        return str(roles['roles'][0]['id'])

    def test_renamed_project_is_noticed(self) -> None:
        first = self.first_sign_in()
        admin = self.keystone.admin_adapter()
        name = str(self.user.project_name)
        admin.patch(
            f'/projects/{self.user.project_id}',
            json={'project': {'name': name + '-old'}},
        )
        new = admin.post(
            '/projects',
            json={'project': {'name': name, 'domain_id': 'default'}},
        ).json()['project']
        admin.put(
            f'/projects/{new["id"]}/users/{self.user.id}/roles/'
            f'{self.member_role()}'
        )
        self.age()
        token = self.token(self.later_env())
        self.assertEqual(new['id'], token['project_id'])
        self.assertNotEqual(first['project_id'], token['project_id'])
        # NOTE: a rescope from the cached token: no password, no code.
        self.assertEqual(1, self.sign_ins())

    def test_renamed_user_is_never_handed_to_the_new_one(self) -> None:
        first = self.first_sign_in()
        admin = self.keystone.admin_adapter()
        admin.patch(
            f'/users/{self.user.id}',
            json={'user': {'name': self.user.name + '-old'}},
        )
        newcomer = self.keystone.create_user(
            name=self.user.name, project=False
        )
        admin.put(
            f'/projects/{self.user.project_id}/users/{newcomer.id}/roles/'
            f'{self.member_role()}'
        )
        self.age()
        token = self.token(
            self.env(OS_PASSWORD=newcomer.password, OS_TOKEN_CACHE='on')
        )
        self.assertEqual(newcomer.id, token['user_id'])
        self.assertNotEqual(first['id'], token['id'])

    def test_another_user_never_gets_this_token(self) -> None:
        first = self.first_sign_in()
        other = self.make_user(rules=MFA_RULES)
        env = self.keystone.os_env(other)
        env.update(OS_AUTH_URL=self.proxy.auth_url)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        result = self.openstack('token', 'issue', env=env, expect_fail=True)
        self.assertIn('needs a TOTP passcode', result.stderr)
        self.assertNotIn(first['id'], result.stdout + result.stderr)

    def test_service_401_for_another_reason_keeps_the_token(self) -> None:
        first = self.first_sign_in()
        result = self.openstack(
            'user',
            'password',
            'set',
            '--original-password',
            'not-the-password',
            '--password',
            'a-new-password-1',
            env=self.later_env(),
            expect_fail=True,
        )
        self.assertNotIn('TOTP passcode', result.stderr)
        self.assertNotIn('Passcode', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        # The good sign-in is kept: no password, no code, same token.
        again = self.token(self.later_env())
        self.assertEqual(first['id'], again['id'])
        self.assertEqual(0, self.sign_ins())

    def test_mistyped_project_keeps_the_cache(self) -> None:
        first = self.first_sign_in()
        result = self.openstack(
            'token',
            'issue',
            env=self.later_env(OS_PROJECT_NAME='no-such-project'),
            expect_fail=True,
        )
        self.assertIn('has no role on project no-such-project', result.stderr)
        self.assertIn('--os-project-name', result.stderr)
        self.assertNotIn('was not accepted', result.stderr)
        self.assertNotIn('refused', result.stderr)
        again = self.token(self.later_env())
        self.assertEqual(first['id'], again['id'])

    def test_project_without_role_after_a_receipt(self) -> None:
        admin = self.keystone.admin_adapter()
        bare = admin.post(
            '/projects',
            json={
                'project': {
                    'name': f'{self.user.name}-bare',
                    'domain_id': 'default',
                }
            },
        ).json()['project']
        code = self.good_code(SECRET)
        result = self.openstack(
            'token',
            'issue',
            env=self.env(
                OS_PROJECT_NAME=bare['name'],
                OS_PASSCODE_COMMAND=f'echo {code}',
            ),
            expect_fail=True,
        )
        self.assertIn(f'has no role on project {bare["name"]}', result.stderr)
        self.assertNotIn('was not accepted', result.stderr)
        self.assertNotIn('refused', result.stderr)
        self.assertNotIn(code, result.stderr)
        # The sign-in was kept: the user's own project, no code.
        token = self.token(self.later_env())
        self.assertEqual(self.user.project_id, token['project_id'])
        self.assertEqual(1, self.sign_ins())

    def test_auth_url_without_v3_is_the_same_entry(self) -> None:
        first = self.first_sign_in()
        url = self.proxy.auth_url.removesuffix('/v3')
        again = self.token(self.later_env(OS_AUTH_URL=url))
        self.assertEqual(first['id'], again['id'])
        self.assertEqual(0, self.sign_ins())
        self.assertEqual(1, len(self.cache_files()))


class TestClockSkew(CacheTestCase):
    def test_wrong_code_from_a_machine_whose_clock_is_off(self) -> None:
        # NOTE: the proxy plays a Keystone whose clock is 2 minutes behind
        # this machine's (uwsgi alone sends no Date header).
        self.proxy.clock_offset = -120
        good = totp.passcode(SECRET)
        wrong = f'{(int(good) + 500000) % 1000000:06d}'
        result = self.openstack(
            'token',
            'issue',
            env=self.env(OS_PASSCODE=wrong),
            expect_fail=True,
        )
        self.assertRegex(
            result.stderr, r"clock is 1[12]\d seconds ahead of Keystone's"
        )
        self.assertNotIn('Traceback', result.stderr)


class TestRecoveryCodeSignIn(CacheTestCase):
    def test_a_recovery_code_signs_in_once(self) -> None:
        admin_env = self.keystone.os_env()
        path = os.path.join(self.home, 'codes.txt')
        self.openstack(
            'mfa',
            'enroll',
            '--user',
            self.user.id,
            '--name',
            'phone',
            '--secret',
            SECRET,
            '--passcode',
            self.good_code(SECRET),
            '--no-qr',
            '--recovery-file',
            path,
            env=admin_env,
        )
        with open(path) as handle:
            codes = re.findall(
                r'\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}\b', handle.read()
            )
        self.assertEqual(8, len(codes))
        env = self.env(OS_TOKEN_CACHE='off')
        result = self.openstack(
            '--os-recovery-code',
            codes[0].lower(),
            'token',
            'issue',
            '-f',
            'json',
            env=env,
        )
        self.assertEqual(self.user.id, json.loads(result.stdout)['user_id'])
        self.assertIn('7 recovery codes left', result.stderr)
        self.assertIn('openstack mfa enroll', result.stderr)
        again = self.openstack(
            '--os-recovery-code',
            codes[0],
            'token',
            'issue',
            env=env,
            expect_fail=True,
        )
        if self.guarded:
            # The guard refuses a code that signed in, before Keystone.
            self.assertIn(
                'The recovery code from --os-recovery-code signed in '
                'already and works once: use another recovery code',
                again.stderr,
            )
        else:
            self.assertIn('Keystone refused the sign-in', again.stderr)
        self.assertNotIn(codes[0], again.stderr + again.stdout)
        # Another code still works.
        self.openstack(
            'token', 'issue', env=dict(env, OS_RECOVERY_CODE=codes[1])
        )
