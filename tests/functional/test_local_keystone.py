#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The local Keystone and the functional test helpers themselves."""

import os
import queue
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base as oslotest_base
import pyotp

from mfa_osc.testing import keystone as local_keystone
from mfa_osc.testing.keystone import LocalKeystone
from mfa_osc.testing.keystone import process_group_members
from tests.functional import base

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


def _wait_for_group_exit(pgid: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (members := process_group_members(pgid)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
    return members


class TestLocalKeystone(base.FunctionalTestCase):
    def test_server_answers(self) -> None:
        sess = ks_session.Session()
        response = sess.get(self.keystone.auth_url)
        self.assertEqual(200, response.status_code)
        self.assertTrue(response.json()['version']['id'].startswith('v3.'))
        # Kept-alive connections keep working (uwsgi --http-keepalive).
        for _ in range(3):
            self.assertEqual(200, sess.get(self.keystone.auth_url).status_code)

    def test_os_env(self) -> None:
        env = self.keystone.os_env()
        self.assertEqual(self.keystone.auth_url, env['OS_AUTH_URL'])
        self.assertTrue(env['OS_AUTH_URL'].startswith('http://127.0.0.1:'))
        self.assertEqual('3', env['OS_IDENTITY_API_VERSION'])
        self.assertEqual('password', env['OS_AUTH_TYPE'])
        self.assertEqual('admin', env['OS_USERNAME'])
        self.assertEqual(self.keystone.admin_password, env['OS_PASSWORD'])
        self.assertEqual('admin', env['OS_PROJECT_NAME'])
        self.assertEqual('Default', env['OS_USER_DOMAIN_NAME'])
        self.assertEqual('Default', env['OS_PROJECT_DOMAIN_NAME'])
        self.assertEqual('RegionOne', env['OS_REGION_NAME'])

    def test_token_issue_as_admin(self) -> None:
        token = self.openstack_json(
            'token', 'issue', env=self.keystone.os_env()
        )
        self.assertTrue(token['id'])
        self.assertTrue(token['project_id'])
        self.assertTrue(token['user_id'])

    def test_admin_sees_catalog(self) -> None:
        endpoints = self.openstack_json(
            'endpoint',
            'list',
            '--service',
            'identity',
            env=self.keystone.os_env(),
        )
        self.assertEqual(
            {'public', 'internal', 'admin'},
            {e['Interface'] for e in endpoints},
        )
        for endpoint in endpoints:
            self.assertEqual(self.keystone.auth_url, endpoint['URL'])
            self.assertEqual('RegionOne', endpoint['Region'])

    def test_cli_env_is_clean(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('OS_PASSWORD', 'leaked'))
        env = self.cli_env()
        self.assertNotIn('OS_PASSWORD', env)
        self.assertEqual('/dev/null', env['OS_CLIENT_CONFIG_FILE'])
        self.assertEqual(self.home, env['HOME'])
        result = self.openstack('token', 'issue', expect_fail=True)
        self.assertNotEqual(0, result.returncode)

    def test_user_signs_in_with_v3password(self) -> None:
        user = self.make_user()
        token = self.openstack_json(
            '--os-auth-type',
            'v3password',
            'token',
            'issue',
            env=self.keystone.os_env(user),
        )
        self.assertEqual(user.id, token['user_id'])
        self.assertEqual(user.project_id, token['project_id'])

    def test_make_user_is_unique(self) -> None:
        first, second = self.make_user(), self.make_user()
        self.assertNotEqual(first.name, second.name)
        self.assertNotEqual(first.project_id, second.project_id)
        self.assertEqual('Default', first.domain)

    def test_mfa_rules_refuse_password_only(self) -> None:
        user = self.make_user()
        self.keystone.set_mfa_rules(user.id, [['password', 'totp']])
        shown = self.keystone.admin_adapter().get(f'/users/{user.id}').json()
        options = shown['user']['options']
        self.assertEqual(
            [['password', 'totp']], options['multi_factor_auth_rules']
        )
        self.assertIs(True, options['multi_factor_auth_enabled'])

        result = self.openstack(
            '--os-auth-type',
            'v3password',
            'token',
            'issue',
            env=self.keystone.os_env(user),
            expect_fail=True,
        )
        self.assertIn(
            'Not all required auth rules were satisfied', result.stderr
        )

    def test_totp_credential_signs_in(self) -> None:
        secret = pyotp.random_base32()
        user = self.make_user(rules=[['password', 'totp']])
        credential_id = self.keystone.create_totp_credential(user.id, secret)
        self.assertTrue(credential_id)

        def session(*methods: v3.AuthMethod) -> ks_session.Session:
            auth = v3.Auth(
                self.keystone.auth_url,
                list(methods),
                project_id=user.project_id,
            )
            return ks_session.Session(auth=auth)

        password = v3.PasswordMethod(
            username=user.name,
            password=user.password,
            user_domain_name=user.domain,
        )
        self.assertRaises(
            ks_exceptions.MissingAuthMethods,
            session(password).get_token,
        )
        totp = v3.TOTPMethod(
            username=user.name,
            passcode=pyotp.TOTP(secret).now(),
            user_domain_name=user.domain,
        )
        self.assertTrue(session(password, totp).get_token())

    def test_database_is_in_wal_mode(self) -> None:
        # NOTE: readers never block the writer: Keystone 25 and 27 on
        # sqlite answered "database is locked" without it.
        assert self.keystone.work_dir is not None
        db = sqlite3.connect(
            os.path.join(self.keystone.work_dir, 'keystone.db')
        )
        self.addCleanup(db.close)
        self.assertEqual(
            ('wal',), db.execute('PRAGMA journal_mode').fetchone()
        )

    def test_run_on_pty(self) -> None:
        script = textwrap.dedent("""\
            import getpass, sys
            code = input('Code: ')
            secret = getpass.getpass('Secret: ')
            print('tty', sys.stdin.isatty(), sys.stdout.isatty())
            print('got', code, len(secret))
            sys.exit(3)
        """)
        returncode, output = self.run_on_pty(
            [sys.executable, '-c', script],
            inputs=[('Code: ', '123456'), ('Secret: ', 's3cr3t-value')],
            timeout=60,
        )
        self.assertEqual(3, returncode, output)
        self.assertIn('Code: 123456\n', output)  # input() echoes
        self.assertNotIn('s3cr3t-value', output)  # getpass does not
        self.assertIn('tty True True\n', output)
        self.assertIn('got 123456 12\n', output)

    def test_run_on_pty_times_out(self) -> None:
        started = time.monotonic()
        error = self.assertRaises(
            base.PtyTimeoutError,
            self.run_on_pty,
            [sys.executable, '-c', 'print("hello"); input("Name: ")'],
            inputs=[('Passcode: ', '000000')],
            timeout=5,
        )
        self.assertLess(time.monotonic() - started, 30)
        self.assertIn('hello', error.output)

    def test_run_on_pty_program_ends_early(self) -> None:
        error = self.assertRaises(
            base.PtyTimeoutError,
            self.run_on_pty,
            [sys.executable, '-c', 'print("bye")'],
            inputs=[('Passcode: ', '000000')],
            timeout=60,
        )
        self.assertIn('exited with status 0', str(error))
        self.assertIn('bye', error.output)


class TestWithoutServer(oslotest_base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.useFixture(
            fixtures.EnvironmentVariable(local_keystone.KEYSTONE_BIN_ENV)
        )

    def test_missing_keystone_is_explained(self) -> None:
        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.testing.keystone.find_executable', return_value=None
            )
        )
        keystone = LocalKeystone()
        error = self.assertRaises(
            local_keystone.KeystoneNotInstalledError, keystone.start
        )
        self.assertIn('keystone-requirements.txt', str(error))
        self.assertIn('tox -e keystone', str(error))
        self.assertIsNone(keystone.work_dir)

    def test_missing_keystone_in_bin_dir_is_explained(self) -> None:
        # NOTE: a Keystone bin directory is the only place looked at: the
        # Keystone next to this Python is not the release asked for.
        bin_dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(
            fixtures.EnvironmentVariable(
                local_keystone.KEYSTONE_BIN_ENV, bin_dir
            )
        )
        keystone = LocalKeystone()
        error = self.assertRaises(
            local_keystone.KeystoneNotInstalledError, keystone.start
        )
        self.assertEqual(
            f'keystone-manage was not found in {bin_dir} (the Keystone bin '
            'directory given, for example by MFA_OSC_KEYSTONE_BIN): install '
            'Keystone and uWSGI into that virtualenv, or unset '
            'MFA_OSC_KEYSTONE_BIN to use the ones next to '
            f'{sys.executable}.',
            str(error),
        )
        self.assertIsNone(keystone.work_dir)


class TestLocalKeystoneLifeCycle(base.FunctionalTestCase):
    def test_module_runs_until_sigterm(self) -> None:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'mfa_osc.testing.keystone'],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        )
        self.addCleanup(_end, proc)
        reader = _LineReader(proc)
        lines = reader.until('Ctrl-C', 120)
        self.assertIn('export OS_AUTH_URL=http://127.0.0.1:', ''.join(lines))
        env: dict[str, str] = {}
        for line in lines:
            if line.startswith('export '):
                words = shlex.split(line[len('export ') :])
                key, _, value = words[0].partition('=')
                env[key] = value
        self.assertEqual(
            {
                'OS_AUTH_URL',
                'OS_IDENTITY_API_VERSION',
                'OS_USERNAME',
                'OS_PASSWORD',
                'OS_PROJECT_NAME',
                'OS_USER_DOMAIN_NAME',
                'OS_PROJECT_DOMAIN_NAME',
                'OS_AUTH_TYPE',
                'OS_REGION_NAME',
            },
            set(env),
        )
        match = re.search(r'\(pid (\d+), .* log (\S+)\)', lines[-2])
        assert match is not None, lines
        pid, work_dir = int(match.group(1)), os.path.dirname(match.group(2))
        self.assertTrue(os.path.isdir(work_dir))
        self.addCleanup(_kill_group_quietly, pid)
        token = self.openstack_json('token', 'issue', env=env)
        self.assertTrue(token['id'])

        proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, proc.wait(timeout=30))
        self.assertEqual([], _wait_for_group_exit(pid, 5))
        self.assertIn('Stopping', reader.rest(5))
        self.assertFalse(os.path.exists(work_dir))

    def test_stop_leaves_no_process(self) -> None:
        keystone = LocalKeystone()
        self.addCleanup(keystone.stop)
        keystone.start()
        self.assertTrue(keystone.running)
        pid = keystone.pid
        assert pid is not None
        work_dir = keystone.work_dir
        assert work_dir is not None
        members = process_group_members(pid)
        self.assertIn(pid, members)
        self.assertGreaterEqual(len(members), 2)  # master, worker, router
        self.assertLess(keystone.startup_seconds or 0, 60)

        keystone.stop()
        self.assertEqual([], process_group_members(pid))
        for member in members:
            self.assertFalse(os.path.exists(f'/proc/{member}'))
        self.assertFalse(os.path.exists(work_dir))
        self.assertFalse(keystone.running)
        keystone.stop()  # twice is fine

    def test_server_runs_from_bin_dir(self) -> None:
        # The Keystone bin directory of the run (the 2024.1 job's server
        # virtualenv), else this Python's own, given explicitly.
        bin_dir = os.environ.get(local_keystone.KEYSTONE_BIN_ENV) or (
            os.path.dirname(sys.executable)
        )
        keystone = LocalKeystone(bin_dir=bin_dir)
        self.addCleanup(keystone.stop)
        keystone.start()
        pid, argv = keystone.pid, keystone.server_argv
        assert pid is not None and argv is not None
        uwsgi = os.path.join(bin_dir, 'uwsgi')
        self.assertEqual(uwsgi, argv[0])
        self.assertEqual(
            os.path.realpath(uwsgi), os.readlink(f'/proc/{pid}/exe')
        )
        # uWSGI runs that virtualenv's Python, whatever runs the tests.
        home = argv[argv.index('--home') + 1]
        self.assertEqual(os.path.dirname(bin_dir), home)
        release = subprocess.run(
            [
                os.path.join(bin_dir, 'python'),
                '-c',
                'import importlib.metadata as m; print(m.version("keystone"))',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertEqual(
            tuple(int(p) for p in release.split('.')[:3]), keystone.release
        )
        major = int(release.split('.')[0])
        # Every release is served as keystone.wsgi.api:application (or
        # behind the guard, which wraps it); 26 and older are given that
        # module first.
        self.assertEqual(
            local_keystone.GUARD_APPLICATION
            if keystone.guard
            else local_keystone.KEYSTONE_APPLICATION,
            argv[argv.index('--module') + 1],
        )
        self.assertEqual(major < 27, keystone.wsgi_compat)
        self.assertEqual(major < 27, '--import' in argv)
        # The release served is that one: DELETE /v3/users/{id}/tokens is
        # new in Keystone 30.
        token = self.openstack_json('token', 'issue', env=keystone.os_env())
        response = keystone.admin_adapter().delete(
            f'/users/{token["user_id"]}/tokens', raise_exc=False
        )
        self.assertEqual(204 if major >= 30 else 404, response.status_code)

    def test_sigkill_of_parent_kills_server(self) -> None:
        if not sys.platform.startswith('linux'):
            self.skipTest('PR_SET_PDEATHSIG is Linux only')
        script = textwrap.dedent("""\
            import time
            from mfa_osc.testing.keystone import LocalKeystone
            keystone = LocalKeystone()
            keystone.start()
            print(keystone.pid, keystone.work_dir, flush=True)
            time.sleep(600)
        """)
        env = dict(os.environ, PYTHONPATH=REPO_ROOT)
        parent = subprocess.Popen(
            [sys.executable, '-c', script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=env,
            text=True,
        )
        self.addCleanup(_end, parent)
        assert parent.stdout is not None and parent.stderr is not None
        line = _LineReader(parent).until('', 120)[-1]
        pid_text, work_dir = line.split()
        pid = int(pid_text)
        self.addCleanup(shutil.rmtree, work_dir, ignore_errors=True)
        self.addCleanup(_kill_group_quietly, pid)
        self.assertIn(pid, process_group_members(pid))

        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        self.assertEqual([], _wait_for_group_exit(pid, 10))
        # Nobody could remove the directory; the next start() does.
        self.assertTrue(os.path.isdir(work_dir))
        local_keystone._remove_stale_work_dirs(os.path.dirname(work_dir))
        self.assertFalse(os.path.exists(work_dir))


class _LineReader:
    """Reads a process's stdout lines in a thread, with time-outs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        stdout = proc.stdout

        def reader() -> None:
            for line in iter(stdout.readline, ''):
                self._queue.put(line)
            self._queue.put('')

        threading.Thread(target=reader, daemon=True).start()

    def until(self, text: str, timeout: float) -> list[str]:
        """Lines up to the first one holding ``text``.

        Fails (killing the process) if it ends or ``timeout`` passes first.
        """
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(
                    timeout=max(deadline - time.monotonic(), 0)
                )
            except queue.Empty:
                line = ''
            if not line:
                _end(self.proc)
                assert self.proc.stderr is not None
                raise AssertionError(
                    f'no line holding {text!r} in {seen}; stderr: '
                    f'{self.proc.stderr.read()!r}'
                )
            seen.append(line)
            self.lines.append(line)
            if text in line:
                return seen

    def rest(self, timeout: float) -> str:
        """All further output, once the process has closed stdout."""
        lines = []
        while line := self._queue.get(timeout=timeout):
            lines.append(line)
        return ''.join(lines)


def _end(proc: subprocess.Popen[str]) -> None:
    """Stop a process politely (so it can clean up), then not."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def _kill_group_quietly(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
