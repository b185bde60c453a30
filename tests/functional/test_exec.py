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

"""``openstack mfa exec`` and ``export`` through the real CLI.

The child is the upstream ``openstack`` CLI (or a shell) with the token
only: one MFA sign-in, then no second prompt; none of the secrets in its
environment; the temporary clouds.yaml gone afterwards, also when the
child is killed; its exit status passed through.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

from tests.functional import base
from tests.functional import mfa_base

RULES = [['password', 'totp']]
PASSCODE_SCRIPT = (
    'import sys; from mfa_osc import totp; print(totp.passcode(sys.argv[1]))'
)
#: Planted in exec's own environment; none may reach the child. None is
#: used for the sign-in either (the cached MFA token serves): were one
#: used, the sign-in would fail.
PLANTED = {
    'OS_PASSCODE': '804613',
    'OS_TOTP_SECRET': 'PLANTEDTOTPSECRETXQ7ZKWN3LM5RV2HD',
    'OS_RECOVERY_CODE': 'PLNT-RCVY-C0DE-X7Q2',
    'OS_PASSCODE_COMMAND': 'echo planted-passcode-command-x7q2',
}
#: The child: counts the SIGINTs it gets, writes the count to argv[1] and
#: exits with 3. It counts the bytes the C-level handler writes to the
#: wakeup fd, one for each delivery (two SIGINTs that come before the
#: Python-level handler runs would call that only once). With
#: --stop-parent, it stops exec until its own SIGINT from the terminal has
#: come: a SIGINT that exec passes on while the terminal's is still
#: pending would merge with it, and one SIGINT would be seen either way.
SIGINT_COUNTER = """
import os, select, signal, sys, time
count_file, stop_parent = sys.argv[1], sys.argv[2:] == ['--stop-parent']
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)
signal.signal(signal.SIGINT, lambda signum, frame: None)
seen = b''
def read(until):
    global seen
    left = until - time.monotonic()
    if left > 0 and select.select([r], [], [], left)[0]:
        seen += os.read(r, 64)
parent = os.getppid()
def state():
    with open(f'/proc/{parent}/stat') as stat:
        return stat.read().rpartition(')')[2].split()[0]
if stop_parent:
    os.kill(parent, signal.SIGSTOP)
    while state() != 'T':
        time.sleep(0.01)
print('counting SIGINTs', flush=True)
try:
    deadline = time.monotonic() + 60
    while not seen and time.monotonic() < deadline:
        read(deadline)
finally:
    if stop_parent:
        os.kill(parent, signal.SIGCONT)
# A second SIGINT, passed on by exec, comes within this.
end = time.monotonic() + 1
while time.monotonic() < end:
    read(end)
with open(count_file, 'w') as out:
    out.write(str(seen.count(bytes([signal.SIGINT]))))
sys.exit(3)
"""


class TestExec(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user, self.secret = self.make_totp_user(RULES)
        self.command = f'{sys.executable} -c "{PASSCODE_SCRIPT}" {self.secret}'

    def exec_env(self, **extra: str) -> dict[str, str]:
        """v3multifactor with the token cache on, no passcode up front."""
        env = self.keystone.os_env(self.user)
        env.update(OS_AUTH_TYPE='v3multifactor', **extra)
        return env

    def sign_in_once(self) -> None:
        self.openstack(
            'token',
            'issue',
            env=self.exec_env(OS_PASSCODE_COMMAND=self.command),
        )

    def child_env(self, env: dict[str, str], *args: str) -> dict[str, str]:
        result = self.openstack(
            *args,
            'mfa',
            'exec',
            '--',
            sys.executable,
            '-c',
            'import json, os; print(json.dumps(dict(os.environ)))',
            env=env,
        )
        data = json.loads(result.stdout)
        assert isinstance(data, dict)
        return data

    def assert_no_secrets(self, child: dict[str, str]) -> None:
        text = json.dumps(child)
        for value in (self.user.password, self.secret, self.command):
            self.assertNotIn(value, text)
        for name in (
            'OS_PASSWORD',
            'OS_PASSCODE',
            'OS_TOTP_SECRET',
            'OS_RECOVERY_CODE',
            'OS_PASSCODE_COMMAND',
            'OS_USERNAME',
        ):
            self.assertNotIn(name, child)

    def test_child_is_upstream_cli_with_the_token_only(self) -> None:
        self.sign_in_once()
        # No passcode source now: the cached MFA sign-in serves, no prompt;
        # the planted ones would fail it if they were used.
        env = self.exec_env(**PLANTED)
        result = self.openstack(
            'mfa', 'exec', '--', base.openstack_executable(), 'token', 'issue',
            '-f', 'json', env=env,
        )  # fmt: skip
        token = json.loads(result.stdout)
        self.assertEqual(self.user.id, token['user_id'])
        self.assertEqual(self.user.project_id, token['project_id'])
        child = self.child_env(env)
        self.assertEqual('v3token', child['OS_AUTH_TYPE'])
        self.assertEqual(self.keystone.auth_url, child['OS_AUTH_URL'])
        self.assertEqual(self.user.project_id, child['OS_PROJECT_ID'])
        self.assertEqual(self.keystone.region_name, child['OS_REGION_NAME'])
        self.assertEqual('3', child['OS_IDENTITY_API_VERSION'])
        self.assertNotIn('OS_CLOUD', child)
        self.assert_no_secrets(child)
        text = json.dumps(child)
        for name, value in PLANTED.items():
            self.assertNotIn(value, text, name)

    def test_another_project(self) -> None:
        api = self.keystone.admin_adapter()
        other = api.post(
            '/projects',
            json={'project': {'name': f'{self.user.name}-other',
                              'domain_id': 'default'}},
        ).json()['project']  # fmt: skip
        member = api.get('/roles?name=member').json()['roles'][0]['id']
        api.put(f'/projects/{other["id"]}/users/{self.user.id}/roles/{member}')
        self.sign_in_once()
        result = self.openstack(
            '--os-project-name', other['name'], 'mfa', 'exec', '--',
            base.openstack_executable(), 'token', 'issue', '-f', 'value',
            '-c', 'project_id', env=self.exec_env(),
        )  # fmt: skip
        self.assertEqual(other['id'], result.stdout.strip())

    def test_exit_statuses(self) -> None:
        self.sign_in_once()
        env = self.exec_env()
        for code in (0, 1, 7):
            result = self.openstack(
                'mfa', 'exec', '--', 'sh', '-c', f'exit {code}', env=env,
                expect_fail=code != 0,
            )  # fmt: skip
            self.assertEqual(code, result.returncode)

    def test_clear_errors(self) -> None:
        self.sign_in_once()
        env = self.exec_env()
        missing = self.openstack('mfa', 'exec', env=env, expect_fail=True)
        self.assertIn('Give the command to run after "--"', missing.stderr)
        unknown = self.openstack(
            'mfa', 'exec', '--', 'no-such-program-x', env=env,
            expect_fail=True,
        )  # fmt: skip
        self.assertIn("'no-such-program-x' was not found", unknown.stderr)
        # As a shell says it: 127 not found, 126 not executable.
        self.assertEqual(127, unknown.returncode)
        script = os.path.join(self.home, 'job.sh')
        with open(script, 'w') as out:
            out.write('#!/bin/sh\necho ran\n')
        os.chmod(script, 0o644)
        not_executable = self.openstack(
            'mfa', 'exec', '--', script, env=env, expect_fail=True
        )
        self.assertEqual(126, not_executable.returncode)
        self.assertIn('is not executable', not_executable.stderr)
        self.assertEqual('', not_executable.stdout)
        for result in (missing, unknown, not_executable):
            self.assertNotIn('Traceback', result.stderr)
            self.assertEqual(1, len(result.stderr.strip().splitlines()))

    def clouds_yaml(self) -> str:
        cloud = self.multifactor_cloud(
            self.user, passcode_command=self.command
        )
        path = self.write_clouds_yaml({'clouds': {'mine': cloud}})
        return path

    def test_clouds_yaml_for_the_child(self) -> None:
        path = self.clouds_yaml()
        env = {'OS_CLIENT_CONFIG_FILE': path, 'OS_CLOUD': 'mine'}
        script = (
            'import json, os, stat; '
            'p = os.environ["OS_CLIENT_CONFIG_FILE"]; '
            'print(json.dumps({"env": dict(os.environ),'
            ' "file": open(p).read(),'
            ' "mode": stat.S_IMODE(os.stat(p).st_mode),'
            ' "dir": stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode)}))'
        )
        result = self.openstack(
            'mfa', 'exec', '--', sys.executable, '-c', script, env=env
        )
        seen = json.loads(result.stdout)
        child = seen['env']
        self.assertEqual('mfa-exec', child['OS_CLOUD'])
        self.assertNotEqual(path, child['OS_CLIENT_CONFIG_FILE'])
        self.assertEqual(0o600, seen['mode'])
        self.assertEqual(0o700, seen['dir'])
        entry = json.loads(seen['file'])['clouds']['mfa-exec']
        self.assertEqual('v3token', entry['auth_type'])
        self.assertEqual(child['OS_TOKEN'], entry['auth']['token'])
        self.assertNotIn(self.user.password, seen['file'])
        self.assertNotIn(self.secret, seen['file'])
        self.assert_no_secrets(child)
        self.assertFalse(os.path.exists(child['OS_CLIENT_CONFIG_FILE']))
        # The upstream CLI reads that entry with nothing else.
        result = self.openstack(
            'mfa', 'exec', '--', base.openstack_executable(), 'token',
            'issue', '-f', 'value', '-c', 'user_id', env=env,
        )  # fmt: skip
        self.assertEqual(self.user.id, result.stdout.strip())

    def test_files_gone_when_the_child_is_killed(self) -> None:
        env = {'OS_CLIENT_CONFIG_FILE': self.clouds_yaml(), 'OS_CLOUD': 'mine'}
        result = self.openstack(
            'mfa', 'exec', '--', 'sh', '-c',
            'echo "$OS_CLIENT_CONFIG_FILE"; kill -9 $$', env=env,
            expect_fail=True,
        )  # fmt: skip
        self.assertEqual(128 + signal.SIGKILL, result.returncode)
        self.assertFalse(os.path.exists(result.stdout.strip()))

    def test_kill_9_of_exec_leaves_nothing_for_long(self) -> None:
        env = {'OS_CLIENT_CONFIG_FILE': self.clouds_yaml(), 'OS_CLOUD': 'mine'}
        # The child kills exec (its parent) as `kill -9` would, then ends.
        result = self.openstack(
            'mfa', 'exec', '--', 'sh', '-c',
            'echo "$OS_CLIENT_CONFIG_FILE"; echo "$OS_TOKEN"; kill -9 $PPID',
            env=env, expect_fail=True,
        )  # fmt: skip
        self.assertEqual(-signal.SIGKILL, result.returncode)
        path, token = result.stdout.split()
        self.assertTrue(os.path.exists(path))
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        self.assertEqual(
            0o700, stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        )
        # The next exec (or export, or logout) removes it.
        self.openstack('mfa', 'exec', '--', 'true', env=env)
        self.assertFalse(os.path.exists(os.path.dirname(path)))
        # ... and `mfa logout` revokes the token it held.
        self.assertEqual(200, self.token_status(token))
        self.openstack('mfa', 'logout', env=env)
        self.assertEqual(404, self.token_status(token))

    def test_sigterm_reaches_the_child(self) -> None:
        env = self.cli_env(
            {'OS_CLIENT_CONFIG_FILE': self.clouds_yaml(), 'OS_CLOUD': 'mine'}
        )
        marker = os.path.join(self.home, 'started')
        proc = subprocess.Popen(
            [
                base.openstack_executable(), 'mfa', 'exec', '--', 'sh', '-c',
                'sleep 60 >/dev/null 2>&1 & pid=$!; '
                'trap "kill $pid; exit 5" TERM; '
                f'echo "$OS_CLIENT_CONFIG_FILE" > {marker}; wait',
            ],
            env=env, cwd=self.home, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + base.CLI_TIMEOUT
        while not os.path.exists(marker) or not open(marker).read():
            if proc.poll() is not None:
                self.fail(f'ended early: {proc.communicate()}')
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)
        self.assertEqual(5, proc.returncode, f'{out}\n{err}')
        with open(marker) as f:
            self.assertFalse(os.path.exists(f.read().strip()))

    def test_export(self) -> None:
        self.sign_in_once()
        result = self.openstack(
            'mfa', 'export', env=self.exec_env(OS_TOTP_SECRET=self.secret)
        )
        self.assertIn('export OS_TOKEN=', result.stdout)
        self.assertIn('unset OS_PASSWORD', result.stdout)
        self.assertIn('unset OS_TOTP_SECRET', result.stdout)
        self.assertNotIn(self.user.password, result.stdout)
        self.assertNotIn(self.secret, result.stdout)
        # A shell evaluates it and the upstream CLI signs in with it.
        script = f'eval "$1"; exec {base.openstack_executable()} token issue'
        shell = self.run_command(
            ['sh', '-c', script + ' -f value -c user_id', 'sh', result.stdout],
            env=self.exec_env(),
        )
        self.assertEqual(self.user.id, shell.stdout.strip())

    def revoke_users_tokens(self) -> None:
        """As an administrator would (or a password change does)."""
        self.keystone.admin_adapter().delete(f'/users/{self.user.id}/tokens')

    def test_revoked_cached_token_is_not_handed_out(self) -> None:
        # The cache trusts a token confirmed within 300 s; exec and
        # export check it with Keystone before a child or a shell gets it.
        self.sign_in_once()
        self.revoke_users_tokens()
        env = self.exec_env(OS_PASSCODE_COMMAND=self.command)
        child = self.openstack(
            'mfa', 'exec', '--', sys.executable, '-c',
            'import os; print(os.environ["OS_TOKEN"])', env=env,
        )  # fmt: skip
        self.assertEqual(200, self.token_status(child.stdout.strip()))
        self.revoke_users_tokens()
        export = self.openstack('mfa', 'export', env=env)
        (line,) = [
            line
            for line in export.stdout.splitlines()
            if line.startswith('export OS_TOKEN=')
        ]
        self.assertEqual(200, self.token_status(line.split('=', 1)[1]))

    def test_revoked_and_no_way_to_sign_in_fails_clearly(self) -> None:
        self.sign_in_once()
        self.revoke_users_tokens()
        marker = os.path.join(self.home, 'ran')
        result = self.openstack(
            'mfa', 'exec', '--', 'touch', marker, env=self.exec_env(),
            expect_fail=True,
        )  # fmt: skip
        self.assertFalse(os.path.exists(marker))
        self.assertIn('needs a TOTP passcode', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def in_exported_shell(
        self, exported: str, *args: str, expect_fail: bool = False
    ) -> base.CLIResult:
        """``openstack ARGS`` in a shell that evaluated ``exported``."""
        script = f'eval "$1"; shift; exec {base.openstack_executable()} "$@"'
        return self.run_command(
            ['sh', '-c', script, 'sh', exported, *args],
            env=self.exec_env(),
            expect_fail=expect_fail,
        )

    def exported_token(self, exported: str) -> str:
        (line,) = [
            line
            for line in exported.splitlines()
            if line.startswith('export OS_TOKEN=')
        ]
        return line.split('=', 1)[1]

    def test_logout_in_the_exported_shell_revokes_its_token(self) -> None:
        self.sign_in_once()
        exported = self.openstack('mfa', 'export', env=self.exec_env()).stdout
        token = self.exported_token(exported)
        # A token in OS_TOKEN that export did not put there is left alone.
        foreign = exported.replace('MFA_OSC_EXPORTED=', 'MFA_OSC_EXPORTED=0')
        self.in_exported_shell(foreign, 'mfa', 'logout')
        self.assertEqual(200, self.token_status(token))
        result = self.in_exported_shell(exported, 'mfa', 'logout')
        self.assertIn(
            'Revoked the token that `openstack mfa export` put in this shell',
            result.stdout,
        )
        self.assertIn('unset OS_TOKEN', result.stdout)
        self.assertNotIn(token, result.stdout + result.stderr)
        self.assertEqual(404, self.token_status(token))
        # The cached sign-in it came from is signed out too.
        after = self.openstack(
            'token', 'issue', env=self.exec_env(), expect_fail=True
        )
        self.assertIn('needs a TOTP passcode', after.stderr)

    def test_project_flag_in_the_exported_shell(self) -> None:
        api = self.keystone.admin_adapter()
        other = api.post(
            '/projects',
            json={'project': {'name': f'{self.user.name}-x',
                              'domain_id': 'default'}},
        ).json()['project']  # fmt: skip
        member = api.get('/roles?name=member').json()['roles'][0]['id']
        api.put(f'/projects/{other["id"]}/users/{self.user.id}/roles/{member}')
        self.sign_in_once()
        exported = self.openstack('mfa', 'export', env=self.exec_env()).stdout
        result = self.in_exported_shell(
            exported, '--os-project-name', other['name'], 'token', 'issue',
            '-f', 'value', '-c', 'project_id',
        )  # fmt: skip
        self.assertEqual(other['id'], result.stdout.strip())
        plain = self.in_exported_shell(
            exported, 'token', 'issue', '-f', 'value', '-c', 'project_id'
        )
        self.assertEqual(self.user.project_id, plain.stdout.strip())

    def sigint_counter(self, *args: str) -> tuple[list[str], str]:
        """``openstack mfa exec -- SIGINT_COUNTER``, and where it counts."""
        count = os.path.join(self.home, 'sigints')
        argv = [
            base.openstack_executable(), 'mfa', 'exec', '--',
            sys.executable, '-c', SIGINT_COUNTER, count, *args,
        ]  # fmt: skip
        return argv, count

    def test_ctrl_c_reaches_the_child_once(self) -> None:
        # Ctrl-C at the terminal reaches the child directly (the same
        # foreground process group): exec must not send a second SIGINT,
        # which Terraform takes as "exit immediately".
        self.sign_in_once()
        argv, count = self.sigint_counter('--stop-parent')
        code, output = self.run_on_pty(
            argv, env=self.exec_env(), inputs=[('counting SIGINTs', '\x03')]
        )
        self.assertEqual(3, code, output)
        with open(count) as f:
            self.assertEqual('1', f.read(), output)

    def test_sigint_without_a_terminal_is_passed_on(self) -> None:
        # `kill -INT <exec pid>` from a script: only exec gets it.
        self.sign_in_once()
        argv, count = self.sigint_counter()
        proc = subprocess.Popen(
            argv, env=self.cli_env(self.exec_env()), cwd=self.home,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            # NOTE: no controlling terminal, even when the tests run on one.
            start_new_session=True,
        )  # fmt: skip
        self.addCleanup(proc.kill)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line != 'counting SIGINTs\n':
            self.fail(f'{line}{proc.communicate(timeout=90)}')
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=90)
        self.assertEqual(3, proc.returncode, f'{out}\n{err}')
        with open(count) as f:
            self.assertEqual('1', f.read())
