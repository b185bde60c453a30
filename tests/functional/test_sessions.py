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

"""``openstack mfa exec --session`` and ``export --session`` on a real
Keystone whose tokens last :data:`TOKEN_LIFE` seconds.

A job under ``--session`` signs in again by itself after its first token
expired; under plain ``exec`` the same job fails then. The session is a
restricted application credential holding the roles asked, deleted when
the job ends (also on SIGINT and SIGTERM), bounded by its expiry and
swept by the next ``exec`` after a SIGKILL; an account whose rules keep
application credentials out is refused before anything is made; no
secret reaches an output.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any
from unittest import mock

from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base

#: Keystone's ``[token] expiration`` here: the job outlives it.
TOKEN_LIFE = 60
RULES = [['password', 'totp'], ['application_credential']]
PASSCODE_SCRIPT = """\
import fcntl, sys, time
from mfa_osc import totp
secret, earlier, used = sys.argv[1], int(sys.argv[2]), sys.argv[3]
now = time.time()
with open(used, 'a+') as book:
    fcntl.flock(book, fcntl.LOCK_EX)
    book.seek(0)
    spent = set(book.read().split())
    code = totp.passcode(secret, now)
    for back in range(earlier + 1):
        if back == earlier and back and totp.seconds_left(now) < 8:
            break  # the oldest window's code ends with this window
        candidate = totp.passcode(secret, now - totp.PERIOD * back)
        if candidate not in spent:
            code = candidate
            break
    book.write(code + '\\n')
print(code)
"""
"""The passcode command of these tests (a file; arguments: the secret, the
earlier windows whose codes Keystone accepts, a file of the codes it
printed).

NOTE: behind the guard a code signs in once, and a command that prints
only the current code makes each sign-in after the first in a window
wait for the next one (the plugin waits, as it should). This one prints
a code no sign-in used among those Keystone accepts (with 0 earlier
windows, the current code, as an authenticator app shows it).
"""
#: Planted in exec's environment; none may reach the child or an output.
PLANTED = {
    'OS_PASSCODE': '804613',
    'OS_TOTP_SECRET': 'PLANTEDTOTPSECRETXQ7ZKWN3LM5RV2H',  # base32
    'OS_RECOVERY_CODE': 'PLNT-RCVY-C0DE-X7Q2',
}
#: The job: calls Keystone through openstacksdk, waits past the first
#: token's expiry, calls again, then runs each command of argv[2] (a JSON
#: list of argv lists: the upstream CLI, a gophercloud program) and prints
#: what it saw as JSON.
JOB = """
import json, os, subprocess, sys, time
import openstack
wait, after = float(sys.argv[1]), json.loads(sys.argv[2])
conn = openstack.connect()
seen = {'env': dict(os.environ), 'commands': []}
def call():
    try:
        r = conn.identity.get('/auth/projects')
        return [r.status_code, conn.session.get_token()]
    except Exception as exc:
        return [type(exc).__name__, None]
seen['before'] = call()
time.sleep(wait)
seen['after'] = call()
for argv in after:
    done = subprocess.run(argv, capture_output=True, text=True)
    seen['commands'].append([done.returncode, done.stdout, done.stderr])
print(json.dumps(seen))
"""

_keystone: local_keystone.LocalKeystone | None = None
_keystone_lock = threading.Lock()
_policy_file: str | None = None


def short_token_keystone() -> local_keystone.LocalKeystone:
    """The module's Keystone with short tokens (started on first use,
    stopped at exit as LocalKeystone registers)."""
    global _keystone, _policy_file
    with _keystone_lock:
        if _keystone is None:
            # NOTE: a policy file of its own, empty (Keystone's defaults;
            # JSON is YAML): one test forbids creating application
            # credentials in it for a while (oslo.policy reads the file
            # again when it changes).
            folder = tempfile.mkdtemp(prefix='mfa-osc-sessions-policy-')
            _policy_file = os.path.join(folder, 'policy.yaml')
            with open(_policy_file, 'w') as out:
                out.write('{}')
            config: dict[str, dict[str, str]] = {
                'token': {'expiration': str(TOKEN_LIFE)},
                'oslo_policy': {'policy_file': _policy_file},
            }
            if os.environ.get(local_keystone.GUARD_ENV, '') == '1':
                # NOTE: behind the guard a code signs in once: the codes
                # of 10 earlier windows (Keystone's most) give these
                # tests, which sign one user in a dozen times, 11 codes
                # at once (PASSCODE_SCRIPT).
                config['totp'] = {
                    'included_previous_windows': str(EARLIER_WINDOWS)
                }
            keystone = local_keystone.LocalKeystone(config=config)
            keystone.start()
            _keystone = keystone
        return _keystone


def set_policy(rules: dict[str, str]) -> None:
    """Write the module Keystone's policy file (a later mtime than the
    last, so that oslo.policy reads it again)."""
    assert _policy_file is not None
    before = os.stat(_policy_file).st_mtime
    with open(_policy_file, 'w') as out:
        json.dump(rules, out)
    os.utime(_policy_file, (before + 2, before + 2))


#: ``[totp] included_previous_windows`` of this module's Keystone behind
#: the guard.
EARLIER_WINDOWS = 10


def passcode_command(
    keystone: local_keystone.LocalKeystone, home: str, secret: str
) -> str:
    """:data:`PASSCODE_SCRIPT` as a passcode command for ``secret``."""
    script = os.path.join(home, 'passcode.py')
    with open(script, 'w') as out:
        out.write(PASSCODE_SCRIPT)
    earlier = 0
    if keystone.guard:
        earlier = (
            EARLIER_WINDOWS
            if keystone is _keystone
            else base.GUARDED_PREVIOUS_WINDOWS
        )
    used = os.path.join(home, 'passcodes-used')
    return f'{sys.executable} {script} {secret} {earlier} {used}'


class SessionTestCase(mfa_base.MFATestCase):
    def setUp(self) -> None:
        # NOTE: this module's Keystone stands in for the shared one.
        keystone = short_token_keystone()
        with mock.patch.object(base, 'get_keystone', return_value=keystone):
            super().setUp()
        self.user, self.secret = self.make_totp_user(RULES)
        self.command = passcode_command(self.keystone, self.home, self.secret)

    def exec_env(self, **extra: str) -> dict[str, str]:
        """v3multifactor with the passcode command (exec signs in again
        with it to end a session that outlived its token)."""
        env = self.keystone.os_env(self.user)
        env.update(
            OS_AUTH_TYPE='v3multifactor',
            OS_PASSCODE_COMMAND=self.command,
            **extra,
        )
        return env

    def app_creds(self) -> list[dict[str, Any]]:
        """The user's application credentials, read as the admin."""
        api = self.keystone.admin_adapter()
        rows = api.get(f'/users/{self.user.id}/application_credentials')
        return list(rows.json()['application_credentials'])

    def start_exec(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [base.openstack_executable(), 'mfa', 'exec', *args],
            env=self.cli_env(self.exec_env()),
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_for(self, path: str, proc: subprocess.Popen[str]) -> str:
        deadline = time.monotonic() + base.CLI_TIMEOUT
        while not os.path.exists(path) or not open(path).read().strip():
            if proc.poll() is not None:
                self.fail(f'ended early: {proc.communicate()}')
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        with open(path) as f:
            return f.read().strip()


class TestLongJob(SessionTestCase):
    def go_program(self) -> list[list[str]]:
        """The gophercloud client of test_gophercloud, when go is here."""
        go = shutil.which('go')
        if go is None:
            return []
        from tests.functional import test_gophercloud

        out = tempfile.mkdtemp(prefix='mfa-osc-go-')
        self.addCleanup(shutil.rmtree, out, True)
        return [[test_gophercloud.build(go, out)]]

    def test_session_outlives_the_token_and_plain_exec_does_not(self) -> None:
        cli = [
            base.openstack_executable(), 'token', 'issue', '-f', 'value',
            '-c', 'project_id',
        ]  # fmt: skip
        go = self.go_program()
        # NOTE: Keystone writes a user's last_active_at at its first
        # password sign-in of the day (shadow_users_api.set_last_active_at:
        # a transaction that reads, then writes). On the test Keystone's
        # SQLite, two of them at once from its two uWSGI processes
        # deadlock ("database is locked"), which Keystone leaves unhandled:
        # a dropped connection, or the guard's 503 (measured: 12 of 30
        # pairs of a new user's first sign-ins behind the guard). The two
        # jobs below start at once, so the user signs in once first (the
        # password alone: Keystone answers 401 with a receipt, after the
        # write).
        self.assertEqual(401, self.password_status(self.user))
        # Both jobs run at once: the wait past the expiry is paid once.
        wait = str(TOKEN_LIFE + 10)
        job = ['--', sys.executable, '-c', JOB, wait]
        session = self.start_exec(
            '--session', '10m', *job, json.dumps([cli, *go])
        )
        plain = self.start_exec(*job, '[]')
        session_out, session_err = session.communicate(timeout=300)
        plain_out, plain_err = plain.communicate(timeout=300)
        self.assertEqual(0, session.returncode, session_err)
        self.assertEqual(0, plain.returncode, plain_err)
        seen = json.loads(session_out)
        # The session signed in again by itself: a second token.
        self.assertEqual(200, seen['before'][0])
        self.assertEqual(200, seen['after'][0])
        self.assertNotEqual(seen['before'][1], seen['after'][1])
        # ... and so did the upstream CLI, after the expiry,
        code, out, err = seen['commands'][0]
        self.assertEqual([0, self.user.project_id], [code, out.strip()], err)
        # ... and gophercloud (Terraform's library), when go is here.
        for code, out, err in seen['commands'][1:]:
            self.assertEqual(0, code, err)
            report = json.loads(out)
            self.assertEqual(self.user.id, report['user_id'])
            self.assertEqual(self.user.project_id, report['project_id'])
            self.assertEqual(['application_credential'], report['methods'])
        env = seen['env']
        self.assertEqual('v3applicationcredential', env['OS_AUTH_TYPE'])
        for name in ('OS_PASSWORD', 'OS_PASSCODE_COMMAND', 'OS_TOKEN',
                     'OS_USERNAME', 'OS_PROJECT_NAME'):  # fmt: skip
            self.assertNotIn(name, env)
        # The plain exec's token expired under the job.
        before = json.loads(plain_out)
        self.assertEqual(200, before['before'][0])
        self.assertNotEqual(200, before['after'][0])
        # The session is gone with the job.
        self.assertEqual([], self.app_creds())
        # Its secret was on no output of exec.
        secret = env['OS_APPLICATION_CREDENTIAL_SECRET']
        self.assertNotIn(secret, session_err)
        self.assertNotIn(secret, plain_out + plain_err)


class TestSessions(SessionTestCase):
    def test_child_config_is_the_session_and_nothing_else(self) -> None:
        path = self.write_clouds_yaml(
            {
                'clouds': {
                    'mine': self.multifactor_cloud(
                        self.user, passcode_command=self.command
                    )
                }
            }
        )
        script = (
            'import json, os, stat; '
            'p = os.environ["OS_CLIENT_CONFIG_FILE"]; '
            'print(json.dumps({"env": dict(os.environ),'
            ' "file": open(p).read(),'
            ' "mode": stat.S_IMODE(os.stat(p).st_mode)}))'
        )
        env = {'OS_CLIENT_CONFIG_FILE': path, 'OS_CLOUD': 'mine'}
        result = self.openstack(
            '--debug', 'mfa', 'exec', '--session', '1h', '--',
            sys.executable, '-c', script, env=env,
        )  # fmt: skip
        seen = json.loads(result.stdout)
        child = seen['env']
        entry = json.loads(seen['file'])['clouds']['mfa-exec']
        self.assertEqual('v3applicationcredential', entry['auth_type'])
        secret = child['OS_APPLICATION_CREDENTIAL_SECRET']
        self.assertEqual(
            secret, entry['auth']['application_credential_secret']
        )
        self.assertEqual(
            child['OS_APPLICATION_CREDENTIAL_ID'],
            entry['auth']['application_credential_id'],
        )
        self.assertEqual(0o600, seen['mode'])
        self.assertEqual('mfa-exec', child['OS_CLOUD'])
        self.assertFalse(os.path.exists(child['OS_CLIENT_CONFIG_FILE']))
        text = json.dumps(seen)
        for value in (self.user.password, self.secret, self.command):
            self.assertNotIn(value, text)
        # --debug logs every request; the secret is in none of them.
        self.assertIn('application_credentials', result.stderr)
        self.assertNotIn(secret, result.stderr)
        self.assertEqual([], self.app_creds())

    def test_restricted_with_the_roles_asked(self) -> None:
        # The user is a member (which implies reader); asked for reader,
        # the session holds reader alone.
        # The job tries to make an application credential with the
        # session's, and reports the session's record.
        script = (
            'import json, openstack; c = openstack.connect(); '
            'uid = c.session.get_user_id(); '
            'r = c.identity.post(f"/users/{uid}/application_credentials", '
            'json={"application_credential": {"name": "more"}}); '
            'print(r.status_code)'
        )
        result = self.openstack(
            'mfa', 'exec', '--session', '30m', '--role', 'reader', '--',
            sys.executable, '-c', script, env=self.exec_env(),
        )  # fmt: skip
        self.assertEqual('403', result.stdout.strip())
        self.assertEqual([], self.app_creds())
        # The record of a session: left by export, read as the admin.
        self.openstack(
            'mfa', 'export', '--session', '30m', '--role', 'reader',
            env=self.exec_env(),
        )  # fmt: skip
        (cred,) = self.app_creds()
        self.assertFalse(cred['unrestricted'])
        self.assertEqual(['reader'], [r['name'] for r in cred['roles']])
        self.assertEqual(self.user.project_id, cred['project_id'])
        self.assertTrue(cred['name'].startswith('mfa-osc-session-'))
        expires = datetime.datetime.fromisoformat(cred['expires_at'])
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=datetime.UTC)
        left = expires - datetime.datetime.now(datetime.UTC)
        self.assertLess(left, datetime.timedelta(minutes=30, seconds=5))
        self.assertGreater(left, datetime.timedelta(minutes=28))

    def test_ended_on_sigint_and_sigterm(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            marker = os.path.join(self.home, f'started-{signum}')
            proc = self.start_exec(
                '--session', '1h', '--', 'sh', '-c',
                'sleep 60 >/dev/null 2>&1 & pid=$!; '
                'trap "kill $pid; exit 5" INT TERM; '
                f'echo "$OS_APPLICATION_CREDENTIAL_ID" > {marker}; wait',
            )  # fmt: skip
            session_id = self.wait_for(marker, proc)
            self.assertEqual([session_id], [c['id'] for c in self.app_creds()])
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=90)
            self.assertEqual(5, proc.returncode, f'{out}\n{err}')
            self.assertEqual([], self.app_creds(), str(signum))

    def test_sigkill_leaves_it_bounded_and_the_next_exec_ends_it(
        self,
    ) -> None:
        # The job kills exec (its parent) as `kill -9` would, then ends.
        result = self.openstack(
            'mfa', 'exec', '--session', '2h', '--', 'sh', '-c',
            'echo "$OS_APPLICATION_CREDENTIAL_ID"; kill -9 $PPID',
            env=self.exec_env(), expect_fail=True,
        )  # fmt: skip
        self.assertEqual(-signal.SIGKILL, result.returncode)
        (cred,) = self.app_creds()
        self.assertEqual(result.stdout.strip(), cred['id'])
        self.assertIsNotNone(cred['expires_at'])
        status = self.openstack_json('mfa', 'status', env=self.exec_env())
        self.assertIn(cred['name'], json.dumps(status))
        # The next exec (no session of its own) deletes it.
        self.openstack('mfa', 'exec', '--', 'true', env=self.exec_env())
        self.assertEqual([], self.app_creds())

    def test_rules_without_application_credentials_are_refused(
        self,
    ) -> None:
        self.keystone.set_mfa_rules(self.user.id, [['password', 'totp']])
        marker = os.path.join(self.home, 'ran')
        result = self.openstack(
            'mfa', 'exec', '--session', '1h', '--', 'touch', marker,
            env=self.exec_env(), expect_fail=True,
        )  # fmt: skip
        self.assertFalse(os.path.exists(marker))
        self.assertEqual([], self.app_creds())
        self.assertIn('password+totp', result.stderr)
        self.assertIn(
            f'openstack mfa enforce --user {self.user.id} '
            '--application-credentials',
            result.stderr,
        )
        self.assertNotIn('Traceback', result.stderr)
        # NOTE: behind the guard, a sign-in after this module's 60-second
        # token ran out may find the passcode command's code used and say
        # that it waits for the next one, before the refusal.
        lines = [
            line
            for line in result.stderr.strip().splitlines()
            if not (
                self.guarded
                and line.startswith('That passcode was used already: waiting')
            )
        ]
        self.assertEqual(1, len(lines), result.stderr)

    def test_a_policy_that_forbids_is_refused(self) -> None:
        set_policy({'identity:create_application_credential': '!'})
        self.addCleanup(set_policy, {})
        marker = os.path.join(self.home, 'ran')
        result = self.openstack(
            'mfa', 'exec', '--session', '1h', '--', 'touch', marker,
            env=self.exec_env(), expect_fail=True,
        )  # fmt: skip
        self.assertFalse(os.path.exists(marker))
        self.assertEqual([], self.app_creds())
        self.assertIn(
            "This cloud's policy does not let you create application "
            'credentials',
            result.stderr,
        )
        self.assertIn('HTTP 403', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        # NOTE: behind the guard, a sign-in after this module's 60-second
        # token ran out may find the passcode command's code used and say
        # that it waits for the next one, before the refusal.
        lines = [
            line
            for line in result.stderr.strip().splitlines()
            if not (
                self.guarded
                and line.startswith('That passcode was used already: waiting')
            )
        ]
        self.assertEqual(1, len(lines), result.stderr)

    def test_bad_durations_are_refused_before_the_sign_in(self) -> None:
        # No passcode source: a sign-in would fail on that instead.
        env = self.keystone.os_env(self.user)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        for args, words in (
            (['--session', '8x'], "'8x' is not a duration"),
            (['--session', '48h'], 'longer than the ceiling of 24h'),
            (['--session', '30s'], 'too short'),
        ):
            result = self.openstack(
                'mfa', 'exec', *args, '--', 'true', env=env,
                expect_fail=True,
            )  # fmt: skip
            self.assertIn(words, result.stderr)
            self.assertNotIn('passcode', result.stderr)
            self.assertNotIn('Traceback', result.stderr)
        self.assertEqual([], self.app_creds())
        # --max-session raises the ceiling (in either order).
        result = self.openstack(
            'mfa', 'exec', '--max-session', '48h', '--session', '48h', '--',
            'true', env=self.exec_env(),
        )  # fmt: skip
        self.assertEqual(0, result.returncode)

    def test_export_session_left_to_expire(self) -> None:
        result = self.openstack(
            'mfa', 'export', '--session', '1h', env=self.exec_env()
        )
        self.assertIn(
            'export OS_AUTH_TYPE=v3applicationcredential', result.stdout
        )
        self.assertIn('left to expire', result.stderr)
        self.assertIn(
            'openstack mfa session end mfa-osc-session-', result.stderr
        )
        (cred,) = self.app_creds()
        self.assertIn('mfa export --session 1h', cred['description'])
        # A shell evaluates it and the upstream CLI signs in with it.
        script = f'eval "$1"; exec {base.openstack_executable()} token issue'
        shell = self.run_command(
            ['sh', '-c', script + ' -f value -c user_id', 'sh', result.stdout],
            env=self.exec_env(),
        )
        self.assertEqual(self.user.id, shell.stdout.strip())
        secret = [
            line.split('=', 1)[1]
            for line in result.stdout.splitlines()
            if line.startswith('export OS_APPLICATION_CREDENTIAL_SECRET=')
        ][0]
        self.assertNotIn(secret, result.stderr)
        # Another exec leaves it alone (export's is left to expire).
        self.openstack('mfa', 'exec', '--session', '5m', '--', 'true',
                       env=self.exec_env())  # fmt: skip
        self.assertEqual([cred['id']], [c['id'] for c in self.app_creds()])
        # --end-sessions is gone: `openstack mfa session end` ends it.
        gone = self.openstack(
            'mfa', 'export', '--end-sessions', env=self.exec_env(),
            expect_fail=True,
        )  # fmt: skip
        self.assertIn('unrecognized arguments: --end-sessions', gone.stderr)
        self.assertEqual([cred['id']], [c['id'] for c in self.app_creds()])


class TestSessionCommands(SessionTestCase):
    """``openstack mfa session list`` and ``end``: mfa-osc's sessions
    only, one's own or, for an administrator, another user's."""

    def export_session(self, duration: str = '1h') -> str:
        """A session left to expire, as `export --session` makes it: its
        name."""
        self.openstack(
            'mfa', 'export', '--session', duration, env=self.exec_env()
        )
        names = [
            str(c['name'])
            for c in self.app_creds()
            if c['name'].startswith('mfa-osc-session-')
        ]
        return sorted(names)[-1]

    def standing(self, name: str) -> str:
        """An application credential the user made by hand (through
        `mfa exec` and the upstream CLI): its ID."""
        result = self.openstack(
            'mfa', 'exec', '--', base.openstack_executable(),
            'application', 'credential', 'create', name, '-f', 'value',
            '-c', 'id', env=self.exec_env(),
        )  # fmt: skip
        return result.stdout.strip()

    def session_list(self, *args: str, env: dict[str, str]) -> Any:
        return self.openstack_json('mfa', 'session', 'list', *args, env=env)

    def assert_refused(self, result: base.CLIResult, words: str) -> None:
        self.assertNotEqual(0, result.returncode)
        self.assertIn(words, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        # NOTE: behind the guard, a sign-in after this module's 60-second
        # token ran out may find the passcode command's code used and say
        # that it waits for the next one, before the refusal.
        lines = [
            line
            for line in result.stderr.strip().splitlines()
            if not (
                self.guarded
                and line.startswith('That passcode was used already: waiting')
            )
        ]
        self.assertEqual(1, len(lines), result.stderr)

    def test_user_lists_and_ends_their_own(self) -> None:
        name = self.export_session()
        ci = self.standing('ci')
        # A name like a session's, but not made by mfa-osc.
        lookalike = self.standing('mfa-osc-session-byhand')
        (row,) = self.openstack_json(
            'mfa', 'session', 'list', env=self.exec_env()
        )
        self.assertEqual(name, row['Name'])
        self.assertEqual(self.user.project_id, row['Project'])
        self.assertEqual('export', row['Made By'])
        self.assertEqual('live', row['State'])
        self.assertTrue(row['Expires At'].endswith('Z'))
        for word in ('ci', ci, 'mfa-osc-session-byhand'):
            refused = self.openstack(
                'mfa', 'session', 'end', word, env=self.exec_env(),
                expect_fail=True,
            )  # fmt: skip
            self.assert_refused(refused, 'is not a session that mfa-osc made')
        missing = self.openstack(
            'mfa', 'session', 'end', 'nope', env=self.exec_env(),
            expect_fail=True,
        )  # fmt: skip
        self.assert_refused(missing, "There is no session 'nope'")
        self.assertEqual(3, len(self.app_creds()))
        ended = self.openstack(
            'mfa', 'session', 'end', name, env=self.exec_env()
        )
        self.assertIn(f'Ended 1 session that mfa-osc made for you: {name}.',
                      ended.stderr)  # fmt: skip
        self.assertEqual(
            sorted([ci, lookalike]), sorted(c['id'] for c in self.app_creds())
        )
        self.assertEqual([], self.session_list(env=self.exec_env()))

    def test_a_session_cannot_end_sessions(self) -> None:
        exported = self.openstack(
            'mfa', 'export', '--session', '1h', env=self.exec_env()
        ).stdout
        # The shell that evaluated export's lines signs in with the session.
        script = (
            f'eval "$1"; exec {base.openstack_executable()} mfa session end '
            '--all'
        )
        result = self.run_command(
            ['sh', '-c', script, 'sh', exported], env=self.exec_env(),
            expect_fail=True,
        )  # fmt: skip
        self.assert_refused(result, 'restricted, as a session is')
        self.assertEqual(1, len(self.app_creds()))

    def test_all_ends_every_session_and_nothing_else(self) -> None:
        self.export_session('1h')
        self.export_session('2h')
        ci = self.standing('ci')
        self.assertEqual(2, len(self.session_list(env=self.exec_env())))
        ended = self.openstack(
            'mfa', 'session', 'end', '--all', env=self.exec_env()
        )
        self.assertIn(
            'Ended 2 sessions that mfa-osc made for you', ended.stderr
        )
        self.assertEqual([ci], [c['id'] for c in self.app_creds()])

    def test_administrator_lists_and_ends_another_users(self) -> None:
        name = self.export_session()
        ci = self.standing('ci')
        admin = self.keystone.os_env()
        (row,) = self.session_list('--user', self.user.id, env=admin)
        self.assertEqual(name, row['Name'])
        refused = self.openstack(
            'mfa', 'session', 'end', '--user', self.user.id, 'ci', env=admin,
            expect_fail=True,
        )  # fmt: skip
        self.assert_refused(refused, "'ci' is not a session that mfa-osc")
        self.openstack(
            'mfa', 'session', 'end', '--user', self.user.id, '--all', env=admin
        )
        self.assertEqual([ci], [c['id'] for c in self.app_creds()])

    def test_member_cannot_end_anothers(self) -> None:
        self.export_session()
        other = self.make_user()
        env = self.keystone.os_env(other)
        for verb in (['list'], ['end', '--all']):
            result = self.openstack(
                'mfa', 'session', *verb, '--user', self.user.id, env=env,
                expect_fail=True,
            )  # fmt: skip
            self.assert_refused(
                result, 'identity:delete_application_credential'
            )
        self.assertEqual(1, len(self.app_creds()))


class TestPlanted(mfa_base.MFATestCase):
    """On the shared Keystone (hour-long tokens): the cached sign-in
    serves a second command there."""

    def test_planted_secrets_reach_no_one(self) -> None:
        # As exec's own test: the cached sign-in serves, and the planted
        # passcode sources, used, would fail it.
        self.user, self.secret = self.make_totp_user(RULES)
        self.command = passcode_command(self.keystone, self.home, self.secret)
        env = self.keystone.os_env(self.user)
        env.update(OS_AUTH_TYPE='v3multifactor')
        self.openstack(
            'token', 'issue', env={**env, 'OS_PASSCODE_COMMAND': self.command}
        )
        env.update(PLANTED)
        result = self.openstack(
            '--debug', 'mfa', 'exec', '--session', '1h', '--',
            sys.executable, '-c',
            'import json, os; print(json.dumps(dict(os.environ)))', env=env,
        )  # fmt: skip
        child = json.loads(result.stdout)
        text = json.dumps(child)
        for value in (self.user.password, self.secret, *PLANTED.values()):
            self.assertNotIn(value, text)
        for name in ('OS_PASSWORD', 'OS_PASSCODE', 'OS_TOTP_SECRET',
                     'OS_RECOVERY_CODE', 'OS_PASSCODE_COMMAND', 'OS_TOKEN',
                     'OS_USERNAME'):  # fmt: skip
            self.assertNotIn(name, child)
        secret = child['OS_APPLICATION_CREDENTIAL_SECRET']
        self.assertNotIn(secret, result.stderr)
        api = self.keystone.admin_adapter()
        rows = api.get(f'/users/{self.user.id}/application_credentials')
        self.assertEqual([], rows.json()['application_credentials'])
