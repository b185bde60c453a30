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

"""The passcode command through the real CLI: no secret reaches it, it
still asks on the terminal, and it ends when ``openstack`` is ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.functional import base
from tests.functional import mfa_base

RULES = [['password', 'totp']]
#: Writes its environment to argv[1], asks for a PIN on the terminal when
#: argv[3] is "pin", and prints the code of the secret argv[2].
COMMAND = """
import json, os, sys
from mfa_osc import totp
with open(sys.argv[1], "w") as out:
    json.dump(dict(os.environ), out)
if sys.argv[3:] == ["pin"]:
    with open("/dev/tty", "w") as ask, open("/dev/tty") as answer:
        ask.write("PIN for the key: ")
        ask.flush()
        if answer.readline().strip() != "2468":
            sys.exit(9)
print(totp.passcode(sys.argv[2]))
"""
PLANTED = {
    'OS_APPLICATION_CREDENTIAL_SECRET': 'planted-app-cred-secret-q9',
    'OS_CLIENT_SECRET': 'planted-oidc-secret-q9',
}


class TestPasscodeCommand(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user, self.secret = self.make_totp_user(RULES)
        self.script = os.path.join(self.home, 'otp.py')
        with open(self.script, 'w') as out:
            out.write(COMMAND)
        self.seen = os.path.join(self.home, 'env.json')

    def env(self, *extra: str) -> dict[str, str]:
        env = self.keystone.os_env(self.user)
        env.update(
            OS_AUTH_TYPE='v3multifactor',
            OS_TOKEN_CACHE='off',
            OS_PASSCODE_COMMAND=' '.join(
                [sys.executable, self.script, self.seen, self.secret, *extra]
            ),
            **PLANTED,
        )
        return env

    def test_no_secret_reaches_the_command(self) -> None:
        token = self.openstack_json('token', 'issue', env=self.env())
        self.assertEqual(self.user.id, token['user_id'])
        with open(self.seen) as handle:
            seen = handle.read()
        self.assertNotIn(self.user.password, seen)
        self.assertNotIn('OS_PASSWORD', seen)
        for name, value in PLANTED.items():
            self.assertNotIn(value, seen, name)
        self.assertIn('OS_USERNAME', seen)

    def test_the_command_still_asks_on_the_terminal(self) -> None:
        code, output = self.openstack_on_pty(
            'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.env('pin'), inputs=[('PIN for the key: ', '2468')],
        )  # fmt: skip
        self.assertEqual(0, code, output)
        self.assertIn(self.user.id, output)

    def test_sigterm_ends_the_command(self) -> None:
        pids = os.path.join(self.home, 'pids')
        env = self.env()
        env['OS_PASSCODE_COMMAND'] = (
            f'sh -c "sleep 300 & echo $$ $! > {pids}; wait"'
        )
        proc = subprocess.Popen(
            [base.openstack_executable(), 'token', 'issue'],
            env=self.cli_env(env), cwd=self.home,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        self.addCleanup(proc.kill)
        deadline = time.monotonic() + base.CLI_TIMEOUT
        while not (os.path.exists(pids) and open(pids).read().strip()):
            if proc.poll() is not None:
                self.fail(f'ended early: {proc.communicate()}')
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        with open(pids) as handle:
            shell, sleeper = (int(p) for p in handle.read().split())
        for pid in (shell, sleeper):
            self.addCleanup(_kill, pid)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while _alive(shell) or _alive(sleeper):
            self.assertLess(
                time.monotonic(), deadline, 'the passcode command lives on'
            )
            time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rpartition(')')[2].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
