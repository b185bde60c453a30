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

"""What the ``openstack`` CLI signing in with ``v3multifactor`` shows and
does behind mfa-osc's guard: a lock, a used passcode, the domain's policy.

One Keystone for the module behind the guard (``LocalKeystone(guard=True)``:
two uWSGI processes, a real memcached), with ``[mfa_guard] max_failures =
3`` and a lock long enough that only its end by an administrator (the
user record's mark removed, as ``openstack mfa unlock`` does) ends it
within the test. The guard's own behaviour is tested in test_guard.
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
import sys
import time

import fixtures

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base

MAX_FAILURES = 3
#: Long: the lock here ends only when an administrator ends it.
LOCKOUT = 900
RULES = [['password', 'totp'], ['application_credential']]
#: The test Keystone's [auth] methods.
METHODS = local_keystone.AUTH_METHODS.split(',')

#: The module's Keystone behind the guard.
get_keystone = base.ModuleKeystone(
    guard=True,
    config={
        'mfa_guard': {
            'max_failures': str(MAX_FAILURES),
            'lockout_duration': str(LOCKOUT),
            # NOTE: a policy set by a test applies at once.
            'policy_cache_time': '0',
        }
    },
)


class GuardClientCase(mfa_base.MFATestCase):
    def setUp(self) -> None:
        # NOTE: this module's Keystone (behind the guard), not the suite's
        # shared one: FunctionalTestCase.setUp would start that too.
        keystone = get_keystone()
        super(base.FunctionalTestCase, self).setUp()
        self.keystone = keystone
        self.home = self.useFixture(fixtures.TempDir()).path

    def totp_user(
        self, rules: list[list[str]] | None = RULES
    ) -> tuple[local_keystone.KeystoneUser, str]:
        """A user of the Default domain with a device (and ``rules``)."""
        user = self.make_user()
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        if rules:
            self.keystone.set_mfa_rules(user.id, rules)
        return user, secret

    def code_sign_in(
        self, user: local_keystone.KeystoneUser, passcode: str
    ) -> int:
        """Keystone's status for password and ``passcode`` (by user id)."""
        return self.password_and_code_status(user, passcode)

    def passcode_command(self, *first: str, secret: str) -> str:
        """A passcode command that prints ``first`` codes, one per run,
        then the current code of ``secret``."""
        script = os.path.join(self.home, 'codes.py')
        runs = os.path.join(self.home, 'runs')
        with open(script, 'w') as out:
            out.write(
                'import os, sys\n'
                'from mfa_osc import totp\n'
                f'runs = {runs!r}\n'
                'n = int(open(runs).read()) if os.path.exists(runs) else 0\n'
                'open(runs, "w").write(str(n + 1))\n'
                f'first = {list(first)!r}\n'
                f'print(first[n] if n < len(first) else '
                f'totp.passcode({secret!r}))\n'
            )
        return f'{sys.executable} {script}'

    def command_runs(self) -> int:
        with open(os.path.join(self.home, 'runs')) as handle:
            return int(handle.read())

    def token_methods(self, token: str) -> list[str]:
        api = self.keystone.admin_adapter()
        body = api.get(
            '/auth/tokens', headers={'X-Subject-Token': token}
        ).json()
        return list(body['token']['methods'])


class TestLocked(GuardClientCase):
    def test_lock_is_one_sentence_until_an_administrator_ends_it(
        self,
    ) -> None:
        user, secret = self.totp_user()
        # NOTE: a different wrong code each time, as a guesser sends them:
        # the guard does not count one code twice in its window.
        near = {
            totp.passcode(secret, time.time() + 30 * k) for k in range(-3, 4)
        }
        codes = (f'{n:06d}' for n in range(1000000))
        *wrong, bad = [c for c in codes if c not in near][: MAX_FAILURES + 1]
        for code in wrong:
            self.assertEqual(401, self.code_sign_in(user, code))
        env = self.mfa_env(user, OS_PASSCODE=bad)

        # The next wrong code locks; the right one is refused then too.
        for env['OS_PASSCODE'] in (bad, self.good_code(secret)):
            result = self.openstack(
                *base.TOKEN_USER_ID, env=env, expect_fail=True
            )
            self.assertNotEqual(0, result.returncode)
            self.assertEqual('', result.stdout)
            self.assertNotIn('Traceback', result.stderr)
            lines = [line for line in result.stderr.splitlines() if line]
            self.assertEqual(1, len(lines), result.stderr)
            self.assertRegex(
                lines[0],
                r'^TOTP sign-in of this account is locked after too many '
                r'wrong passcodes until [0-9:]+ \S+ local time \(in 15 '
                r'minutes\): it ends by itself then, or an administrator '
                r'can end it early with `openstack mfa unlock --user '
                + user.id
                + r'`\.$',
            )
            self.assertNotIn(env['OS_PASSCODE'], result.stderr)

        # The passcode prompt is not offered while locked.
        returncode, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID,
            env=self.mfa_env(user),
            inputs=[('Passcode: ', self.good_code(secret))],
        )
        self.assertNotEqual(0, returncode)
        self.assertIn('is locked after too many wrong passcodes', output)
        self.assertEqual(1, output.count('Passcode'), output)

        # An administrator ends it (what `openstack mfa unlock` does).
        self.keystone.admin_adapter().patch(
            f'/users/{user.id}', json={'user': {'mfa_osc_lock': None}}
        )
        env['OS_PASSCODE'] = self.good_code(secret)
        result = self.openstack(*base.TOKEN_USER_ID, env=env)
        self.assertEqual(user.id, result.stdout.strip())


class TestReplayed(GuardClientCase):
    def test_used_code_at_the_prompt_is_asked_again(self) -> None:
        user, secret = self.totp_user()
        used = self.good_code(secret)
        self.assertEqual(201, self.code_sign_in(user, used))

        def unused(output: str) -> str:
            # NOTE: the previous window's code, which Keystone still takes
            # (unless a window began since, making the used code that).
            earlier = totp.passcode(secret, time.time() - 30)
            return earlier if earlier != used else totp.passcode(secret)

        returncode, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID,
            env=self.mfa_env(user),
            inputs=[
                ('Passcode: ', used),
                ('Passcode \\(try again\\): ', unused),
            ],
        )
        self.assertEqual(0, returncode, output)
        self.assertIn(
            'That passcode was used already: wait for the next one.', output
        )
        self.assertEqual(user.id, output.strip().splitlines()[-1].strip())

    def test_passcode_command_waits_for_the_next_window(self) -> None:
        user, secret = self.totp_user()
        used = self.good_code(secret)
        self.assertEqual(201, self.code_sign_in(user, used))
        command = self.passcode_command(used, secret=secret)
        env = self.mfa_env(user, OS_PASSCODE_COMMAND=command)

        result = self.openstack(
            'token', 'issue', '-f', 'value', '-c', 'id', env=env
        )

        self.assertIn('That passcode was used already: waiting', result.stderr)
        self.assertIn("for the next one (by Keystone's clock).", result.stderr)
        self.assertEqual(2, self.command_runs())
        self.assertIn('totp', self.token_methods(result.stdout.strip()))


class TestPolicyOnTheServer(GuardClientCase):
    """A covered user past the deadline, on a domain of the test's own."""

    def setUp(self) -> None:
        super().setUp()
        self.domain, self.domain_id = self.make_domain('guarded')
        self.today = datetime.datetime.now(datetime.UTC).date().isoformat()
        self.keystone.admin_adapter().patch(
            f'/domains/{self.domain_id}',
            json={
                'domain': {
                    'mfa_policy': {'required': True, 'deadline': self.today}
                }
            },
        )

    def worker(self) -> local_keystone.KeystoneUser:
        """A member of the domain with the guard rules that `openstack mfa
        policy set` gives the users it covers (the password alone signs
        in at Keystone; a code alone does not)."""
        user = self.domain_user(
            self.domain,
            self.domain_id,
            f'w-{secrets.token_hex(3)}',
            role='member',
        )
        self.keystone.set_mfa_rules(user.id, mfa_rules.guard_rules(METHODS))
        return user

    def test_without_a_device_refused_with_the_sentence(self) -> None:
        worker = self.worker()
        result = self.openstack(
            'project', 'list', env=self.mfa_env(worker), expect_fail=True
        )
        self.assertNotEqual(0, result.returncode)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn(
            f"Your domain's policy requires MFA since {self.today}, so "
            'Keystone refused this sign-in without a passcode',
            result.stderr,
        )
        self.assertIn('`openstack mfa enroll` on a terminal', result.stderr)

    def test_enroll_on_a_terminal_signs_in_unscoped(self) -> None:
        worker = self.worker()
        secret = totp.generate_secret()
        returncode, output = self.openstack_on_pty(
            'mfa', 'enroll', '--name', 'phone', '--secret', secret,
            '--passcode', self.good_code(secret),
            env=self.mfa_env(worker),
        )  # fmt: skip
        self.assertEqual(0, returncode, output)
        self.assertNotIn('Traceback', output)
        found = re.search(r'\| device_id +\| (\w+)', output)
        assert found is not None, output
        # NOTE: the device's, beside the recovery codes' credentials.
        self.assertIn(
            found.group(1), {c['id'] for c in self.credentials(worker.id)}
        )
        self.assertIn(f'| user_id        | {worker.id}', output)

    def test_with_a_device_the_passcode_gets_the_scoped_token(self) -> None:
        worker = self.worker()
        secret = totp.generate_secret()
        # NOTE: a device (made by hand) under the guard rules: the
        # password alone signs in at Keystone, and the guard refuses that
        # token.
        self.keystone.create_totp_credential(worker.id, secret)
        env = self.mfa_env(
            worker, OS_PASSCODE_COMMAND=self.passcode_command(secret=secret)
        )

        token = self.openstack_json('token', 'issue', env=env)

        self.assertEqual(worker.project_id, token['project_id'])
        self.assertIn('totp', self.token_methods(token['id']))


class TestPluginCheckTrustsTheGuard(GuardClientCase):
    """Where the plugin cannot read the user's domain (a token scoped to a
    project of another domain answers 403), the guard judged the token
    already: the sign-in stands (without the guard it is refused,
    test_policy_sign_in.TestPolicyUnreadable)."""

    def test_another_domains_project_signs_in(self) -> None:
        api = self.keystone.admin_adapter()
        home, home_id = self.make_domain('home')
        _, other_id = self.make_domain('work')
        elsewhere = self.domain_project(other_id, 'p')
        member = api.get('/roles?name=member').json()['roles'][0]['id']
        user = self.domain_user(home, home_id, f'r-{secrets.token_hex(3)}')
        api.put(f'/projects/{elsewhere}/users/{user.id}/roles/{member}')
        self.keystone.set_mfa_rules(user.id, mfa_rules.guard_rules(METHODS))
        env = self.mfa_env(user, OS_PROJECT_ID=elsewhere)

        token = self.openstack_json('token', 'issue', env=env)

        self.assertEqual(elsewhere, token['project_id'])
        self.assertEqual(['password'], self.token_methods(token['id']))


class TestProofOfThisSignIn(GuardClientCase):
    def test_the_sign_in_code_given_as_proof_too(self) -> None:
        # NOTE: `--os-passcode C` signs in, and `--passcode C` proves the
        # device: the guard takes C once, and the sign-in that took it is
        # the proof (before: "Keystone refused the passcode").
        user, secret = self.totp_user()
        spare = self.keystone.create_totp_credential(
            user.id, totp.generate_secret()
        )
        code = self.good_code(secret)
        result = self.openstack(
            'mfa', 'remove', '--device', spare, '--yes', '--passcode', code,
            env=self.mfa_env(user, OS_PASSCODE=code),
        )  # fmt: skip
        self.assertNotIn('refused', result.stderr)
        left = (
            self.keystone.admin_adapter()
            .get('/credentials', params={'user_id': user.id, 'type': 'totp'})
            .json()['credentials']
        )
        self.assertEqual([False], [c['id'] == spare for c in left])
