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

"""The passcode command: what it inherits, and that it ends with us."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import fixtures
from oslotest import base

from mfa_osc.auth import sources

#: Secret-bearing variables a shell may hold while signing in.
SECRETS = {
    'OS_PASSWORD': 'planted-password-q7',
    'OS_TOTP_SECRET': 'PLANTEDTOTPSECRETQ7',
    'OS_RECOVERY_CODE': 'PLNT-RCVY-Q7Q7-Q7Q7',
    'OS_PASSCODE': '123456',
    'OS_TOKEN': 'gAAAA-planted-token',
    'OS_AUTH_TOKEN': 'gAAAA-planted-auth-token',
    'OS_APPLICATION_CREDENTIAL_SECRET': 'planted-app-cred-secret',
    'OS_CLIENT_SECRET': 'planted-oidc-secret',
    'OS_NEW_PASSWORD': 'planted-new-password',
}
KEPT = {
    'OS_CLOUD': 'mycloud',
    'OS_USERNAME': 'alice',
    'OS_AUTH_URL': 'https://k.test/v3',
}


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().rpartition(')')[2].split()[0] != 'Z'
    except FileNotFoundError:
        return False


class TestEnvironment(base.BaseTestCase):
    def test_secrets_stripped_the_rest_kept(self) -> None:
        env = sources.command_environment(
            {**SECRETS, **KEPT, 'PATH': '/bin', 'HOME': '/h'}
        )
        self.assertEqual({**KEPT, 'PATH': '/bin', 'HOME': '/h'}, env)

    def test_the_command_does_not_inherit_them(self) -> None:
        for name, value in SECRETS.items():
            self.useFixture(fixtures.EnvironmentVariable(name, value))
        out = self.useFixture(fixtures.TempDir()).path + '/env'
        code = sources.run_command(
            f'sh -c "env > {out}; echo 654321"', 'OS_PASSCODE_COMMAND'
        )
        self.assertEqual('654321', code)
        with open(out) as handle:
            seen = handle.read()
        for name, value in SECRETS.items():
            self.assertNotIn(value, seen, name)
        self.assertIn('PATH=', seen)


class TestCtrlZ(base.BaseTestCase):
    def test_the_command_ignores_ctrl_z(self) -> None:
        # NOTE: stopped, it would hold the terminal while openstack and
        # the shell wait for it.
        out = self.useFixture(fixtures.TempDir()).path + '/status'
        sources.run_command(
            f'sh -c "cat /proc/self/status > {out}; echo 123456"',
            'OS_PASSCODE_COMMAND',
        )
        with open(out) as handle:
            (line,) = [x for x in handle if x.startswith('SigIgn:')]
        ignored = int(line.split()[1], 16)
        self.assertTrue(ignored & (1 << (signal.SIGTSTP - 1)))
        # ... and this process has its own handling back.
        self.assertEqual(signal.SIG_DFL, signal.getsignal(signal.SIGTSTP))


#: Runs a passcode command that starts a grandchild and waits.
RUNNER = """
import sys
from mfa_osc.auth import sources
sources.run_command(sys.argv[1], 'OS_PASSCODE_COMMAND')
"""


EARLY_SIGNAL = """
import os, signal, subprocess, sys
from mfa_osc.auth import sources
with sources._ended_with_this_process([], None) as started:
    os.kill(os.getpid(), signal.SIGTERM)
    proc = subprocess.Popen(['sleep', '300'], process_group=0)
    with open(sys.argv[1], 'w') as handle:
        handle.write(str(proc.pid))
    started(proc)
    proc.wait()
"""


class TestEndsWithThisProcess(base.BaseTestCase):
    def test_sigterm_ends_the_command_and_what_it_started(self) -> None:
        folder = self.useFixture(fixtures.TempDir()).path
        pids = os.path.join(folder, 'pids')
        command = f'sh -c "sleep 300 & echo $$ $! > {pids}; wait"'
        runner = subprocess.Popen(
            [sys.executable, '-c', RUNNER, command],
            stdin=subprocess.DEVNULL,
            # NOTE: no controlling terminal, even when the tests have one.
            start_new_session=True,
        )
        self.addCleanup(runner.kill)
        deadline = time.monotonic() + 60
        while not (os.path.exists(pids) and open(pids).read().strip()):
            self.assertIsNone(runner.poll())
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        with open(pids) as handle:
            shell, sleeper = (int(p) for p in handle.read().split())
        self.addCleanup(self._kill, sleeper)
        self.addCleanup(self._kill, shell)
        runner.send_signal(signal.SIGTERM)
        self.assertEqual(-signal.SIGTERM, runner.wait(timeout=60))
        deadline = time.monotonic() + 30
        while _alive(shell) or _alive(sleeper):
            self.assertLess(
                time.monotonic(), deadline, 'the passcode command lives on'
            )
            time.sleep(0.05)

    def test_sigterm_while_the_command_starts_ends_it(self) -> None:
        # NOTE: the signal comes before Popen has returned the command's
        # pid: it is carried out once the pid is known.
        folder = self.useFixture(fixtures.TempDir()).path
        pids = os.path.join(folder, 'pids')
        runner = subprocess.Popen(
            [sys.executable, '-c', EARLY_SIGNAL, pids],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.addCleanup(runner.kill)
        self.assertEqual(-signal.SIGTERM, runner.wait(timeout=60))
        with open(pids) as handle:
            sleeper = int(handle.read())
        self.addCleanup(self._kill, sleeper)
        deadline = time.monotonic() + 30
        while _alive(sleeper):
            self.assertLess(
                time.monotonic(), deadline, 'the passcode command lives on'
            )
            time.sleep(0.05)

    @staticmethod
    def _kill(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
