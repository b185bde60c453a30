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

"""A revocation that has not happened is remembered until it has (issue 20,
item 3).

A hand-made TOTP credential without rules lets the code alone sign in; a
session opened that way must end when guard rules go on. When Keystone
fails the revocation (a 503 from the tests' proxy), or the command is
killed between the rules and the revocation, the next run of `enforce
--all`, `enforce --user` or `policy set` revokes, and the session opened
with the code alone is refused (404 on validation).
"""

from __future__ import annotations

import os
import signal
import subprocess

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base


class TestRevocationDue(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()
        self.domain, self.domain_id = self.make_domain('revoke')

    def code_alone_session(self) -> tuple[local_keystone.KeystoneUser, str]:
        """A user of the domain whose code alone signs in, and a token
        opened with the code alone."""
        user = self.domain_user(self.domain, self.domain_id)
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        response = self.totp_alone_sign_in(user.id, secret)
        self.assertEqual(201, response.status_code, response.text)
        token = str(response.headers['X-Subject-Token'])
        self.assertEqual(200, self.token_status(token))
        return user, token

    def via_proxy(self, *args: str) -> base.CLIResult:
        env = self.env(auth_url=self.proxy.auth_url)
        return self.openstack(*args, env=env, check=False)

    def test_failed_revocation_is_retried_by_the_next_run(self) -> None:
        user, token = self.code_alone_session()
        self.proxy.fail_match = ('DELETE', '/tokens')
        failed = self.via_proxy(
            'mfa', 'enforce', '--all', '--domain', self.domain, '-f', 'json'
        )
        self.assertNotEqual(0, failed.returncode, failed.describe())
        self.assertNotIn('Traceback', failed.stderr)
        self.assertIn('not ended', failed.stdout)
        # The rules are on; the session opened with the code alone is not
        # ended yet, and the user record says so.
        self.assertEqual(200, self.token_status(token))
        self.assertIsNotNone(self.revocation_due(user.id))

        # The next run (another command that guards, as it happens) does
        # the revocation, and says so.
        self.proxy.fail_match = None
        result = self.openstack_json(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            env=self.env(),
        )  # fmt: skip
        self.assertEqual(0, result['users_guarded'])
        self.assertEqual(404, self.token_status(token))
        self.assertIsNone(self.revocation_due(user.id))
        again = self.openstack(
            'mfa', 'enforce', '--all', '--domain', self.domain, env=self.env()
        )
        self.assertIn('Nothing to do', again.stderr)

    def test_enforce_user_retries(self) -> None:
        user, token = self.code_alone_session()
        self.proxy.fail_match = ('DELETE', '/tokens')
        failed = self.via_proxy('mfa', 'enforce', '--user', user.id)
        self.assertNotEqual(0, failed.returncode, failed.describe())
        self.assertEqual(200, self.token_status(token))
        self.proxy.fail_match = None
        # Nothing else to change for this user (no verified device): the
        # command says so, and revokes what was due all the same.
        rerun = self.openstack(
            'mfa', 'enforce', '--user', user.id, env=self.env(), check=False
        )
        self.assertIn('were: ended', rerun.stderr, rerun.describe())
        self.assertEqual(404, self.token_status(token))
        self.assertIsNone(self.revocation_due(user.id))

    def test_killed_between_the_rules_and_the_revocation(self) -> None:
        user, token = self.code_alone_session()
        argv = [
            base.openstack_executable(),
            'mfa', 'enforce', '--all', '--domain', self.domain,
        ]  # fmt: skip
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.cli_env(self.env(auth_url=self.proxy.auth_url)),
            cwd=self.home,
        )

        def kill(method: str, path: str) -> None:
            if method == 'DELETE' and path.endswith('/tokens'):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)

        self.proxy.before = kill
        self.proxy.fail_match = ('DELETE', '/tokens')
        proc.wait(timeout=base.CLI_TIMEOUT)
        self.proxy.before = None
        self.proxy.fail_match = None
        self.assertEqual(-signal.SIGKILL, proc.returncode)
        self.assertEqual(200, self.token_status(token))
        self.assertIsNotNone(self.revocation_due(user.id))
        rows = self.openstack_json(
            'mfa', 'enforce', '--all', '--domain', self.domain, env=self.env()
        )
        self.assertEqual(
            [('end sessions (due)', 'ended')],
            [(r['action'], r['sessions']) for r in rows],
        )
        self.assertEqual(404, self.token_status(token))
        self.assertIsNone(self.revocation_due(user.id))
