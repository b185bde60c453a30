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

"""A machine clock minutes fast (issue 20, item 9).

The real ``openstack`` command runs under libfaketime (Debian's
``faketime``: ``faketime -f '+6m' openstack ...``), against the real
Keystone, through the tests' proxy, whose ``Date`` header is the real
time (uwsgi alone sends none; a web server in front of Keystone does).
Keystone's clock is the one that counts: a receipt of 5 minutes is
answered though this machine's clock says it expired, a code computed
from a TOTP secret is computed for Keystone's time, and a token is
served from the cache though this machine's clock says it expired.
Passcodes "typed" here (a passcode command, OS_PASSCODE) are computed by
the test at the real time, as a phone with a right clock shows them.
"""

from __future__ import annotations

import shutil
import unittest

import requests

from tests.functional import base
from tests.functional import test_cache

SECRET = test_cache.SECRET


@unittest.skipUnless(
    shutil.which('faketime'),
    'libfaketime is not installed: apt-get install faketime (.ci/run does)',
)
class TestFastClock(test_cache.CacheTestCase):
    def faketime(
        self,
        offset: str,
        *args: str,
        env: dict[str, str],
        expect_fail: bool = False,
    ) -> base.CLIResult:
        """``openstack ARGS`` with this machine's clock ``offset`` off."""
        return self.run_command(
            ['faketime', '-f', offset, self.openstack_path, *args],
            env=env,
            expect_fail=expect_fail,
        )

    def passcode_command(self) -> str:
        # NOTE: the code of Keystone's (the real) time, as a phone shows it
        # (one no sign-in used: behind the guard a code works once).
        return f'echo {self.good_code(SECRET)}'

    def test_password_then_passcode_six_minutes_fast(self) -> None:
        env = self.env(OS_PASSCODE_COMMAND=self.passcode_command())
        self.proxy.reset()
        result = self.faketime(
            '+6m', 'token', 'issue', '-f', 'value', '-c', 'user_id', env=env
        )
        self.assertEqual(self.user.id, result.stdout.strip())
        self.assertNotIn('too late', result.stderr)
        # The password, then the receipt with the code: two sign-ins.
        self.assertEqual(2, self.sign_ins())
        # The next command: from the cache, no request at all.
        self.proxy.reset()
        result = self.faketime(
            '+6m', 'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.later_env(),
        )  # fmt: skip
        self.assertEqual(self.user.id, result.stdout.strip())
        self.assertEqual([], self.keystone_requests())

    def test_without_the_cache_every_command_signs_in(self) -> None:
        for _ in range(2):
            env = self.env(
                OS_PASSCODE_COMMAND=self.passcode_command(),
                OS_TOKEN_CACHE='off',
            )
            self.proxy.reset()
            self.faketime('+6m', 'token', 'issue', env=env)
            self.assertEqual(2, self.sign_ins())

    def test_totp_secret_six_minutes_fast(self) -> None:
        # The code of this machine's clock is of a window still to come:
        # refused; the refusal's Date tells the clock, and the code of
        # Keystone's time answers the receipt.
        env = self.env(OS_TOTP_SECRET=SECRET, OS_TOKEN_CACHE='off')
        self.proxy.reset()
        result = self.faketime(
            '+6m', 'token', 'issue', '-f', 'value', '-c', 'user_id', env=env
        )
        self.assertEqual(self.user.id, result.stdout.strip())
        self.assertEqual(3, self.sign_ins())

    def test_the_cache_serves_an_hour_fast(self) -> None:
        # A token of an hour has expired by this machine's clock.
        env = self.env(OS_PASSCODE=self.good_code(SECRET))
        self.proxy.reset()
        self.faketime('+70m', 'token', 'issue', env=env)
        self.assertEqual(1, self.sign_ins())
        self.proxy.reset()
        result = self.faketime(
            '+70m', 'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.later_env(),
        )  # fmt: skip
        self.assertEqual(self.user.id, result.stdout.strip())
        self.assertEqual([], self.keystone_requests())

    def test_without_a_date_header(self) -> None:
        # uwsgi alone sends no Date: the receipt's and the token's time of
        # issue tell Keystone's clock.
        direct = {'OS_AUTH_URL': self.keystone.auth_url}
        response = requests.post(
            self.keystone.auth_url + '/auth/tokens', json={}, timeout=30
        )
        self.assertNotIn('Date', response.headers)
        env = self.env(OS_PASSCODE_COMMAND=self.passcode_command(), **direct)
        result = self.faketime(
            '+6m', 'token', 'issue', '-f', 'value', '-c', 'user_id', env=env
        )
        self.assertEqual(self.user.id, result.stdout.strip())
        env = self.env(OS_PASSCODE=self.good_code(SECRET), **direct)
        self.faketime('+70m', 'token', 'issue', env=env)
        # No password, no code: only the cache can sign this one in.
        result = self.faketime(
            '+70m', 'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.later_env(**direct),
        )  # fmt: skip
        self.assertEqual(self.user.id, result.stdout.strip())
