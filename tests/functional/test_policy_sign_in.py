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

"""A domain's MFA policy at sign-in: the notice, and the set-up.

On the real Keystone, through the real ``openstack`` command signing in
with ``v3multifactor``, on a domain of each test's own: a covered user
without a device is reminded before the deadline, is walked through the
set-up on a terminal after it (and the command completes with a token
that carries ``totp``), gets a clear error without a terminal; ``mfa
status`` and ``mfa enroll`` always work; users outside the policy see
nothing and pay one request a day.
"""

from __future__ import annotations

import datetime
import re

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base
from tests.functional import test_policy


class TestSetUpAtSignIn(test_policy.DomainCase):
    def mfa_env(
        self, user: local_keystone.KeystoneUser, auth_url: str | None = None
    ) -> dict[str, str]:
        env = self.env(user, auth_url=auth_url)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        env['OS_PROJECT_ID'] = str(user.project_id)
        return env

    def set_policy(self, *extra: str) -> None:
        self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            *extra, env=self.env(),
        )  # fmt: skip

    @staticmethod
    def days(n: int) -> str:
        today = datetime.datetime.now(datetime.UTC).date()
        return (today + datetime.timedelta(days=n)).isoformat()

    def token_methods(self, token: str) -> list[str]:
        api = self.keystone.admin_adapter()
        body = api.get(
            '/auth/tokens', headers={'X-Subject-Token': token}
        ).json()
        return list(body['token']['methods'])

    def test_notice_before_the_deadline(self) -> None:
        worker = self.user('worker')
        deadline = self.days(14)
        self.set_policy('--deadline', deadline)
        result = self.openstack(
            'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.mfa_env(worker),
        )  # fmt: skip
        self.assertEqual(worker.id, result.stdout.strip())
        notice = [
            line for line in result.stderr.splitlines() if 'MFA' in line
        ]  # fmt: skip
        self.assertEqual(1, len(notice), result.stderr)
        self.assertIn(deadline, notice[0])
        self.assertIn('openstack mfa enroll', notice[0])
        self.assert_invariant(worker)

    def test_after_the_deadline_without_a_terminal(self) -> None:
        worker = self.user('worker')
        self.set_policy('--deadline', self.days(-1))
        result = self.openstack(
            'token', 'issue', env=self.mfa_env(worker), expect_fail=True
        )
        self.assertEqual(1, result.returncode)
        self.assertIn('openstack mfa enroll', result.stderr)
        self.assertIn(self.days(-1), result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual('', result.stdout)
        # No one is stuck: `mfa status` works, and `mfa enroll` enrolls.
        status = self.openstack_json('mfa', 'status', env=self.mfa_env(worker))
        self.assertEqual([], status['devices'])
        secret = totp.generate_secret()
        self.openstack(
            'mfa', 'enroll', '--name', 'phone', '--secret', secret,
            '--passcode', self.good_code(secret), env=self.mfa_env(worker),
        )  # fmt: skip
        # With a device, the policy no longer stands in the way.
        env = self.mfa_env(worker)
        env['OS_TOTP_SECRET'] = secret
        self.openstack('token', 'issue', env=env)
        self.assert_invariant(worker)

    def test_set_up_on_a_terminal_then_the_command_carries_on(self) -> None:
        worker = self.user('worker')
        self.set_policy()
        seen: dict[str, str] = {}

        def code(output: str) -> str:
            match = re.search(r'Secret: ([A-Z2-7 ]+)\n', output)
            assert match is not None, output
            seen['secret'] = match.group(1).replace(' ', '')
            return totp.passcode(seen['secret'])

        env = self.mfa_env(worker)
        del env['OS_TOKEN_CACHE']  # the token cache, as users have it
        returncode, output = self.openstack_on_pty(
            'token', 'issue', '-f', 'value', '-c', 'id',
            env=env,
            inputs=[
                (r'set up a device now', None),
                (r'Scan this QR code', None),
                ('Code shown by the app: ', code),
            ],
        )  # fmt: skip
        self.assertEqual(0, returncode, output)
        self.assertIn('Recovery codes, shown once', output)
        token = output.strip().splitlines()[-1].strip()
        self.assertIn('totp', self.token_methods(token))
        # The device is verified and listed; the account is no weaker.
        book = self.book(worker.id) or {}
        self.assertEqual(1, len(book.get('devices', {})))
        self.assertEqual(
            401, self.totp_alone_status(worker.id, seen['secret'])
        )
        self.assert_invariant(worker)
        # The next command, without a terminal, reuses the MFA token.
        result = self.openstack('token', 'issue', env=env)
        self.assertNotIn('MFA', result.stderr)
        self.assertNotIn('Scan', result.stderr)

    def test_outside_the_policy_one_request_a_day(self) -> None:
        proxy = mfa_base.Proxy(self.keystone.port or 0)
        self.addCleanup(proxy.close)
        worker = self.user('worker')
        env = self.mfa_env(worker, auth_url=proxy.auth_url)
        runs = []
        for _ in range(3):
            proxy.reset()
            result = self.openstack('token', 'issue', env=env)
            self.assertNotIn('MFA', result.stderr)
            runs.append(list(proxy.requests))
        # The first command of the day reads the domain once; the others
        # send only the sign-in, as v3password does.
        self.assertEqual(
            [
                ('POST', '/v3/auth/tokens'),
                ('GET', '/v3/domains/' + self.domain_id),
            ],
            runs[0],
        )
        self.assertEqual([('POST', '/v3/auth/tokens')], runs[1])
        self.assertEqual([('POST', '/v3/auth/tokens')], runs[2])

    def test_a_policy_for_a_role_the_user_does_not_hold(self) -> None:
        boss = self.user('boss', role='admin')
        worker = self.user('worker')
        self.set_policy('--role', 'admin')
        result = self.openstack('token', 'issue', env=self.mfa_env(worker))
        self.assertNotIn('MFA', result.stderr)
        result = self.openstack(
            'token', 'issue', env=self.mfa_env(boss), expect_fail=True
        )
        self.assertIn('openstack mfa enroll', result.stderr)
        self.assert_invariant(boss)
