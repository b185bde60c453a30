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

"""Secrets in every output path, and what an attacker could try.

Each test plants known values (password, passcode, TOTP secret, recovery
code, application credential secret, token) and searches the whole
output of the real ``openstack`` command for them: stdout, stderr, log
files and the files the commands write. Then the attacks of
``doc/source/security.rst``: the token cache, the files enroll writes, a
crafted bookkeeping credential, two enrollments at once, and Keystone
answering garbage.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time

import requests

from mfa_osc import recovery
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base

ENFORCED = [['password', 'totp'], ['application_credential']]
CODE_RE = r'\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}\b'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def codes_around(secret: str) -> list[str]:
    """The passcodes of a secret for the windows near now."""
    import time

    now = time.time()
    return [totp.passcode(secret, now + 30 * d) for d in (-2, -1, 0, 1)]


def _window(moment: float) -> int:
    return int(moment // totp.PERIOD)


class SignInSecrets:
    """The TOTP secrets of one user's devices, for commands that sign in
    with ``OS_TOTP_SECRET`` (the current window's code).

    NOTE: behind the guard that code signs in once: a second command with
    the same secret in the same window waits for the next one (up to 30
    s). A test that runs many such commands gives each a secret that no
    command used in this window (:meth:`signing_in`), of a new device
    when every one was used: it never waits. Without the guard a code
    signs in again, and the first secret always does.
    """

    def __init__(
        self, guarded: bool, first: str, grow: Callable[[str], object]
    ) -> None:
        self.guarded = guarded
        #: The user's devices' secrets: the test's own first, then those
        #: ``grow`` gave the user a device of.
        self.secrets = [first]
        self._grow = grow
        #: The last window in which a command may have signed in with
        #: each one's code (see base.Passcodes.used_from).
        self._used: dict[str, int] = {}

    def take(self) -> str:
        """A secret whose current code no command used yet."""
        now = _window(time.time())
        for secret in self.secrets:
            if not self.guarded or self._used.get(secret, -1) < now:
                return secret
        secret = totp.generate_secret()
        self._grow(secret)
        self.secrets.append(secret)
        return secret

    @contextlib.contextmanager
    def signing_in(self, env: dict[str, str]) -> Iterator[dict[str, str]]:
        """``env`` with ``OS_TOTP_SECRET`` of :meth:`take`, for one
        command run inside the block."""
        secret = self.take()
        started = time.time()
        try:
            yield {**env, 'OS_TOTP_SECRET': secret}
        finally:
            ended = min(time.time(), started + base.SIGN_IN_WITHIN)
            self._used[secret] = _window(ended)


class SecretsCase(mfa_base.MFATestCase):
    def assert_hidden(self, text: str, *secrets: str) -> None:
        """None of ``secrets`` (nor a 12-character piece of a long one)."""
        for secret in secrets:
            self.assertNotIn(secret, text, f'{secret!r} shown')
            if len(secret) >= 24:
                for i in range(0, len(secret) - 12, 6):
                    piece = secret[i : i + 12]
                    self.assertNotIn(piece, text, f'piece {piece!r} shown')

    def enrolled(self) -> tuple[local_keystone.KeystoneUser, str, list[str]]:
        """An admin user (may set own rules), enrolled; its recovery codes.

        NOTE: the proof is an earlier window's code, so that the first
        command signing in with the secret (its current code) need not
        wait for the next window behind the guard.
        """
        user = self.admin_user()
        secret = totp.generate_secret()
        result = self.openstack_json(
            'mfa',
            'enroll',
            '--name',
            'phone',
            '--secret-file',
            '-',
            '--passcode',
            self.proof_code(secret),
            env=self.env(user),
            stdin=secret,
        )
        return user, secret, list(result['recovery_codes'])

    def sign_in_secrets(
        self,
        user: local_keystone.KeystoneUser,
        secret: str,
        grow: Callable[[str], object] | None = None,
    ) -> SignInSecrets:
        """:class:`SignInSecrets` of ``user``, enrolled with ``secret``;
        new devices enrolled (or made by ``grow``) as needed."""
        count = iter(range(1, 1000))
        return SignInSecrets(
            self.guarded,
            secret,
            grow
            or (
                lambda new: self.enroll_in_process(
                    user.id,
                    new,
                    name=f'sign-in-{next(count)}',
                    earlier_code=True,
                )
            ),
        )

    def mfa_user(self) -> tuple[local_keystone.KeystoneUser, str]:
        """A user whose rules need TOTP, with a hand-made credential."""
        user, secret = self.make_totp_user([['password', 'totp']])
        return user, secret


class TestConfigurationShow(SecretsCase):
    def test_masked_by_default_shown_with_unmask(self) -> None:
        secret = totp.generate_secret()
        planted = {
            'password': 'planted-password-1',
            'passcode': '135792',
            'totp_secret': secret,
            'recovery_code': 'ABCD-EFGH-IJKL-MNOP',
        }
        env = {
            'OS_AUTH_TYPE': 'v3multifactor',
            'OS_AUTH_URL': self.keystone.auth_url,
            'OS_USERNAME': 'alice',
            'OS_PASSWORD': planted['password'],
            'OS_TOTP_SECRET': secret,
            'OS_RECOVERY_CODE': planted['recovery_code'],
        }
        args = ('--os-passcode', planted['passcode'], 'configuration', 'show')
        for form in ((), ('-f', 'json'), ('-f', 'yaml'), ('-f', 'value')):
            out = self.openstack(*args, *form, env=env)
            self.assert_hidden(out.stdout + out.stderr, *planted.values())
        shown = json.loads(self.openstack(*args, '-f', 'json', env=env).stdout)
        for key in ('password', 'totp_secret', 'recovery_code'):
            self.assertEqual('<redacted>', shown[key])
        self.assertEqual('<redacted>', shown['auth.passcode'])
        self.assertEqual('alice', shown['username'])
        # --unmask shows them, as it shows the password.
        clear = self.openstack_json(*args, '--unmask', env=env)
        self.assertEqual(secret, clear['totp_secret'])
        self.assertEqual(planted['password'], clear['password'])

    def test_other_auth_type_masks_mfa_values_too(self) -> None:
        secret = totp.generate_secret()
        # NOTE: a passcode command often holds the TOTP secret itself.
        command_secret = totp.generate_secret()
        env = {
            'OS_AUTH_TYPE': 'password',
            'OS_AUTH_URL': self.keystone.auth_url,
            'OS_TOTP_SECRET': secret,
            'OS_APPLICATION_CREDENTIAL_SECRET': 'planted-app-cred-secret',
            'OS_PASSCODE_COMMAND': f'oathtool --totp -b {command_secret}',
        }
        out = self.openstack('configuration', 'show', env=env)
        self.assert_hidden(
            out.stdout + out.stderr,
            secret,
            'planted-app-cred-secret',
            command_secret,
        )
        self.assertRegex(out.stdout, r'passcode_command\s+\|\s+<redacted>')


class TestLogging(SecretsCase):
    def test_debug_sign_in_with_flags_and_environment(self) -> None:
        user, secret = self.mfa_user()
        env = self.mfa_env(user)
        password = env.pop('OS_PASSWORD')
        out = self.openstack(
            '--debug',
            '--os-password',
            password,
            '--os-totp-secret',
            secret,
            'token',
            'issue',
            '-f',
            'json',
            env=env,
        )
        token = json.loads(out.stdout)['id']
        self.assert_hidden(
            out.stderr, password, secret, token, *codes_around(secret)
        )
        self.assertIn('POST', out.stderr)  # it did log the sign-in
        code = self.good_code(secret)
        out = self.openstack(
            '--debug',
            '--os-passcode',
            code,
            'token',
            'issue',
            '-f',
            'json',
            env={**env, 'OS_PASSWORD': password},
        )
        token = json.loads(out.stdout)['id']
        self.assert_hidden(out.stderr, password, code, token)

    def test_debug_enroll_and_recovery(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        code = self.good_code(secret)
        out = self.openstack(
            '--debug',
            'mfa',
            'enroll',
            '--secret',
            secret,
            '--passcode',
            code,
            '-f',
            'json',
            env=self.env(user),
        )
        codes = json.loads(out.stdout)['recovery_codes']
        self.assertEqual(8, len(codes))
        derived = [recovery.secret(c.replace('-', '')) for c in codes]
        self.assert_hidden(
            out.stderr, user.password, secret, code, *codes, *derived
        )
        # Removing a device with a recovery code, under --debug.
        out = self.openstack(
            '--debug',
            'mfa',
            'remove',
            '--all',
            '--recovery-code',
            codes[0],
            '--yes',
            env=self.env(user, secret),
        )
        self.assert_hidden(out.stdout + out.stderr, codes[0], secret)

    def test_a_password_that_is_also_a_word(self) -> None:
        # NOTE: issue 20: with the password "recovery", --debug printed
        # "--***-file", which both mangled the command line and told
        # anyone reading it what the password was.
        user = self.keystone.create_user(password='recovery')
        env = self.env(user)
        env.pop('OS_PASSWORD')
        path = os.path.join(self.home, 'codes.txt')
        out = self.openstack(
            '--debug',
            '--os-password',
            'recovery',
            'mfa',
            'recovery',
            'code',
            'create',
            '--recovery-file',
            path,
            env=env,
            expect_fail=True,
        )
        self.assertIn('no verified TOTP device', out.stderr)
        self.assertIn(f'--recovery-file {path}', out.stderr)
        self.assertNotIn('--***-file', out.stderr)
        self.assertIn('--os-password ***', out.stderr)
        # The password itself is nowhere, only parts of longer words.
        self.assertNotRegex(
            out.stderr, r'(?<![A-Za-z0-9_-])recovery(?![A-Za-z0-9_-])'
        )
        self.assertIn('POST', out.stderr)  # it did log the sign-in

    def test_verbose_log_file(self) -> None:
        user, secret = self.mfa_user()
        env = self.mfa_env(user)
        env['OS_TOTP_SECRET'] = secret
        log = os.path.join(self.home, 'osc.log')
        out = self.openstack(
            '-vv', '--log-file', log, 'token', 'issue', '-f', 'json', env=env
        )
        token = json.loads(out.stdout)['id']
        with open(log) as handle:
            text = handle.read()
        self.assertIn('auth', text)
        self.assert_hidden(
            text + out.stderr,
            user.password,
            secret,
            token,
            *codes_around(secret),
        )

    def test_traceback_of_an_unexpected_error(self) -> None:
        # NOTE: a command that fails with an exception holding a secret
        # (as a library bug might): --debug prints the traceback.
        user = self.admin_user()
        secret = totp.generate_secret()
        script = (
            'import sys\n'
            'from mfa_osc.osc import status\n'
            'def boom(self, args):\n'
            '    raise RuntimeError("unexpected: " + sys.argv[-1])\n'
            'status.ShowMFAStatus.take_action = boom\n'
            'from openstackclient import shell\n'
            'sys.exit(shell.main(sys.argv[1:-1]))\n'
        )
        for flag in ('--debug', '-v'):
            argv = [
                sys.executable,
                '-c',
                script,
                flag,
                '--os-totp-secret',
                secret,
                'mfa',
                'status',
                secret,
            ]
            env = self.env(user)
            env['OS_AUTH_TYPE'] = 'password'
            out = self.run_command(argv, env=env, expect_fail=True)
            self.assertIn('unexpected: ***', out.stderr)
            if flag == '--debug':
                self.assertIn('Traceback', out.stderr)
            self.assert_hidden(out.stdout + out.stderr, secret, user.password)


class TestErrorMessages(SecretsCase):
    def test_failed_commands_say_no_secret(self) -> None:
        user, secret = self.mfa_user()
        env = self.mfa_env(user)
        wrong = self.bad_code(secret)
        bad_secret = 'NOT-BASE32-1890-SECRET'
        runs = [
            (('--os-passcode', wrong, 'token', 'issue'), env, [wrong]),
            (
                ('--os-totp-secret', bad_secret, 'token', 'issue'),
                env,
                [bad_secret],
            ),
            (
                (
                    '--os-recovery-code',
                    'ZZZZ-1111-ZZZZ-0000',
                    'token',
                    'issue',
                ),
                env,
                ['ZZZZ-1111-ZZZZ-0000'],
            ),
            (
                ('--os-password', 'wrong-password-x', 'token', 'issue'),
                {**env, 'OS_PASSCODE': self.good_code(secret)},
                ['wrong-password-x'],
            ),
            (
                ('mfa', 'passcode', 'show', '--secret', bad_secret),
                env,
                [bad_secret],
            ),
            (
                ('mfa', 'enroll', '--secret', bad_secret, '--passcode', '1'),
                {**env, 'OS_TOTP_SECRET': secret},
                [bad_secret, secret],
            ),
            (
                (
                    'mfa',
                    'remove',
                    '--all',
                    '--recovery-code',
                    'ABCD-EFGH-IJKL-MNOP',
                    '--yes',
                ),
                {**env, 'OS_TOTP_SECRET': secret},
                ['ABCD-EFGH-IJKL-MNOP', secret],
            ),
        ]
        for args, run_env, planted in runs:
            out = self.openstack(*args, env=run_env, expect_fail=True)
            self.assertTrue(out.stderr.strip(), out.describe())
            self.assertNotIn('Traceback', out.stderr, out.describe())
            self.assert_hidden(
                out.stdout + out.stderr, user.password, *planted
            )
        # The account is as it was: nothing was removed.
        self.assertEqual(1, len(self.credentials(user.id)))


class TestFiles(SecretsCase):
    def test_files_enroll_writes(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        qr_png = os.path.join(self.home, 'qr.png')
        codes_file = os.path.join(self.home, 'codes.txt')
        env = self.mfa_env(user)
        env['OS_TOKEN_CACHE'] = 'on'
        result = self.openstack_json(
            *self.enroll_args(
                secret, '--qr-file', qr_png, '--recovery-file', codes_file
            ),
            env=env,
        )
        codes = result['recovery_codes']
        for path in (qr_png, codes_file):
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(codes_file) as handle:
            text = handle.read()
        self.assertEqual(codes, re.findall(CODE_RE, text))
        self.assert_hidden(text, secret, user.password)
        with open(qr_png, 'rb') as handle:
            png = handle.read().decode('latin-1')
        self.assert_hidden(png, user.password, *codes)

        # A sign-in fills the token cache: only the token, 0600 in 0700.
        signed = self.openstack_json(
            'token', 'issue', env={**env, 'OS_TOTP_SECRET': secret}
        )
        cache_dir = os.path.join(self.home, '.cache', 'mfa-osc')
        self.assertEqual(0o700, stat.S_IMODE(os.stat(cache_dir).st_mode))
        (name,) = os.listdir(cache_dir)
        path = os.path.join(cache_dir, name)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(path) as handle:
            cached = handle.read()
        self.assertIn(signed['id'], cached)
        self.assert_hidden(
            cached, user.password, secret, *codes, *codes_around(secret)
        )

        # An SVG, and files that exist or are links are never written.
        second = totp.generate_secret()
        target = os.path.join(self.home, 'victim.txt')
        with open(target, 'w') as handle:
            handle.write('untouched')
        link = os.path.join(self.home, 'link.svg')
        os.symlink(target, link)
        dangling = os.path.join(self.home, 'dangling.svg')
        os.symlink(os.path.join(self.home, 'nowhere.svg'), dangling)
        for path in (link, dangling, codes_file):
            out = self.openstack(
                'mfa',
                'enroll',
                '--secret',
                second,
                '--passcode',
                self.good_code(second),
                '--qr-file' if path != codes_file else '--recovery-file',
                path,
                env={**env, 'OS_TOTP_SECRET': secret},
                expect_fail=True,
            )
            self.assertIn('already exists', out.stderr)
            self.assertNotIn('Traceback', out.stderr)
        with open(target) as handle:
            self.assertEqual('untouched', handle.read())
        self.assertFalse(
            os.path.exists(os.path.join(self.home, 'nowhere.svg'))
        )

    def test_qr_file_removed_when_enrollment_fails(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        qr_svg = os.path.join(self.home, 'qr.svg')
        out = self.openstack(
            'mfa',
            'enroll',
            '--secret',
            secret,
            '--passcode',
            self.bad_code(secret),
            '--qr-file',
            qr_svg,
            env=self.env(user),
            expect_fail=True,
        )
        self.assertNotIn('Traceback', out.stderr)
        self.assertFalse(os.path.exists(qr_svg))
        self.assertEqual([], self.credentials(user.id))


class TestSecretInput(SecretsCase):
    def test_passcode_show_from_file_stdin_and_environment(self) -> None:
        secret = totp.generate_secret()
        path = os.path.join(self.home, 'secret')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(secret.lower() + '\n')
        env = {'OS_AUTH_TYPE': 'none'}
        shown = self.openstack_json(
            'mfa', 'passcode', 'show', '--secret-file', path, env=env
        )
        self.assertIn(shown['passcode'], codes_around(secret))
        shown = self.openstack_json(
            'mfa',
            'passcode',
            'show',
            '--secret-file',
            '-',
            env=env,
            stdin=secret,
        )
        self.assertIn(shown['passcode'], codes_around(secret))
        shown = self.openstack_json(
            'mfa', 'passcode', 'show', env={**env, 'OS_TOTP_SECRET': secret}
        )
        self.assertIn(shown['passcode'], codes_around(secret))

    def test_unreadable_empty_and_conflicting(self) -> None:
        env = {'OS_AUTH_TYPE': 'none'}
        missing = os.path.join(self.home, 'missing')
        out = self.openstack(
            'mfa', 'passcode', 'show', '--secret-file', missing, env=env,
            expect_fail=True,
        )  # fmt: skip
        self.assertIn(f'cannot read {missing}', out.stderr)
        out = self.openstack(
            'mfa', 'passcode', 'show', '--secret-file', '-', env=env,
            stdin='', expect_fail=True,
        )  # fmt: skip
        self.assertIn('standard input is empty', out.stderr)
        out = self.openstack(
            'mfa', 'passcode', 'show', '--secret-file', self.home, env=env,
            expect_fail=True,
        )  # fmt: skip
        self.assertIn('cannot read', out.stderr)
        out = self.openstack(
            'mfa', 'passcode', 'show', '--secret', 'A' * 32,
            '--secret-file', '-', env=env, stdin='x', expect_fail=True,
        )  # fmt: skip
        self.assertIn('not allowed with', out.stderr)
        for result in (out,):
            self.assertNotIn('Traceback', result.stderr)
        out = self.openstack(
            'mfa', 'passcode', 'show', env=env, expect_fail=True
        )
        self.assertIn('--secret-file', out.stderr)

    def test_world_readable_secret_file_warns(self) -> None:
        secret = totp.generate_secret()
        path = os.path.join(self.home, 'secret')
        with open(path, 'w') as handle:
            handle.write(secret)
        os.chmod(path, 0o644)
        out = self.openstack(
            'mfa', 'passcode', 'show', '--secret-file', path,
            env={'OS_AUTH_TYPE': 'none'},
        )  # fmt: skip
        self.assertIn('may be read by other users', out.stderr)
        self.assert_hidden(out.stderr, secret)

    def test_recovery_code_from_stdin(self) -> None:
        user, secret, codes = self.enrolled()
        out = self.openstack(
            'mfa',
            'recovery',
            'code',
            'create',
            '--recovery-code-file',
            '-',
            '-f',
            'json',
            env=self.env(user, secret),
            stdin=codes[0] + '\n',
        )
        fresh = json.loads(out.stdout)['recovery_codes']
        self.assertEqual(len(codes), len(fresh))
        self.assertFalse(set(codes) & set(fresh))


class TestTokenCacheAttacks(SecretsCase):
    """Someone else on the machine tampers with the token cache."""

    def setUp(self) -> None:
        super().setUp()
        self.user, self.secret = self.mfa_user()
        self.env_ = self.mfa_env(self.user)
        self.env_.update(OS_TOKEN_CACHE='on', OS_TOTP_SECRET=self.secret)
        self.dir = os.path.join(self.home, '.cache', 'mfa-osc')

    def issue(self) -> base.CLIResult:
        return self.openstack('token', 'issue', '-f', 'json', env=self.env_)

    def cached_file(self) -> str:
        self.issue()
        (name,) = os.listdir(self.dir)
        return os.path.join(self.dir, name)

    def assert_fresh_sign_in(self, previous: str) -> base.CLIResult:
        out = self.issue()
        token = json.loads(out.stdout)
        self.assertEqual(self.user.id, token['user_id'])
        self.assertNotEqual(previous, token['id'])
        self.assertNotIn('Traceback', out.stderr)
        return out

    def token_in(self, path: str) -> str:
        with open(path) as handle:
            return str(json.load(handle)['auth_token'])

    def test_entry_without_expiry_or_with_a_bad_date(self) -> None:
        path = self.cached_file()
        for entry in (
            {'body': {'token': {}}, 'auth_token': 'x'},
            {'body': {'token': {'expires_at': 'bad'}}, 'auth_token': 'x'},
            {'body': {'token': {'expires_at': 5}}, 'auth_token': 'x'},
        ):
            with open(path, 'w') as handle:
                json.dump(entry, handle)
            out = self.assert_fresh_sign_in('x')
            self.assertNotIn('expires_at', out.stderr)
            self.assertNotIn('Unable to parse', out.stderr)
            # ... and the next command works from the cache again.
            self.assertNotEqual('x', self.token_in(path))

    def test_file_others_may_write_is_ignored(self) -> None:
        path = self.cached_file()
        token = self.token_in(path)
        os.chmod(path, 0o666)  # noqa: S103 - the attack
        out = self.assert_fresh_sign_in(token)
        self.assertIn('may be read or written by other users', out.stderr)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))

    def test_symlink_in_place_of_the_file(self) -> None:
        path = self.cached_file()
        token = self.token_in(path)
        planted = os.path.join(self.home, 'planted.json')
        shutil.copy(path, planted)
        os.chmod(planted, 0o600)
        os.unlink(path)
        os.symlink(planted, path)
        self.assert_fresh_sign_in(token)
        # The link was replaced by a file; its target left alone.
        self.assertFalse(os.path.islink(path))
        self.assertEqual(token, self.token_in(planted))

    def test_symlink_in_place_of_the_directory(self) -> None:
        path = self.cached_file()
        token = self.token_in(path)
        elsewhere = os.path.join(self.home, 'elsewhere')
        os.rename(self.dir, elsewhere)
        os.symlink(elsewhere, self.dir)
        out = self.assert_fresh_sign_in(token)
        self.assertIn('is not a directory', out.stderr)
        self.assertEqual([os.path.basename(path)], os.listdir(elsewhere))
        self.assertEqual(
            token,
            self.token_in(os.path.join(elsewhere, os.path.basename(path))),
        )

    def test_directory_of_another_user(self) -> None:
        if os.geteuid() != 0:
            self.skipTest('needs root to give a directory to another user')
        # Another user made the directory and put their own token in it,
        # under this user's cache name: a command would act as them.
        other, other_secret = self.mfa_user()
        path = self.cached_file()
        other_env = self.mfa_env(other)
        other_env.update(OS_TOKEN_CACHE='on', OS_TOTP_SECRET=other_secret)
        other_home = os.path.join(self.home, 'other')
        os.makedirs(other_home)
        self.run_command(
            [base.openstack_executable(), 'token', 'issue'],
            env={**other_env, 'XDG_CACHE_HOME': other_home},
        )
        (other_file,) = os.listdir(os.path.join(other_home, 'mfa-osc'))
        shutil.copy(os.path.join(other_home, 'mfa-osc', other_file), path)
        for name in (path, self.dir):
            os.chown(name, 65534, 65534)
        out = self.issue()
        self.assertEqual(self.user.id, json.loads(out.stdout)['user_id'])
        self.assertIn('belongs to another user', out.stderr)
        self.assertNotIn('Traceback', out.stderr)


class TestBookkeepingCrafted(SecretsCase):
    """A user edits their own ``mfa-osc`` credential."""

    def book_credential(self, user_id: str) -> dict[str, object]:
        (cred,) = self.credentials(user_id, 'mfa-osc')
        return cred

    def write_book(
        self, user: local_keystone.KeystoneUser, secret: str, blob: str
    ) -> None:
        # NOTE: as the user, through the credentials API.
        signed = self.sign_in(
            {
                'methods': ['password', 'totp'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
                # NOTE: an earlier window's code: the current one stays
                # for the next command signing in with the secret.
                'totp': {
                    'user': {
                        'id': user.id,
                        'passcode': self.proof_code(secret),
                    }
                },
            }
        )
        self.assertEqual(201, signed.status_code, signed.text)
        cred = self.book_credential(user.id)
        response = requests.patch(
            f'{self.keystone.auth_url}/credentials/{cred["id"]}',
            json={'credential': {'blob': blob}},
            headers={'X-Auth-Token': signed.headers['X-Subject-Token']},
            timeout=30,
        )
        self.assertEqual(200, response.status_code, response.text)

    def test_crafted_book_cannot_lie_or_misdirect(self) -> None:
        user, secret, codes = self.enrolled()
        (device_id,) = [
            c['id'] for c in self.credentials(user.id)
            if c['blob'] == secret
        ]  # fmt: skip
        admin, admin_secret, _ = self.enrolled()
        (admin_device,) = [
            c['id'] for c in self.credentials(admin.id)
            if c['blob'] == admin_secret
        ]  # fmt: skip
        before = json.loads(str(self.book_credential(user.id)['blob']))
        # The device listed as a recovery code, the admin's device as
        # the user's, and made-up recovery codes.
        crafted = dict(before)
        crafted['recovery_codes'] = [
            device_id,
            admin_device,
            'made-up',
            *before['recovery_codes'],
        ]
        crafted['devices'] = dict(before['devices'])
        crafted['devices'][admin_device] = {'name': 'stolen'}
        self.write_book(user, secret, json.dumps(crafted))
        status = self.openstack_json(
            'mfa',
            'status',
            '--user',
            user.id,
            env=self.env(admin, admin_secret),
        )
        self.assertEqual(len(codes), status['recovery_codes_left'])
        self.assertEqual(['phone'], [d['name'] for d in status['devices']])
        # The administrator removes all of the user's devices: the
        # administrator's own device is not touched.
        self.openstack(
            'mfa', 'remove', '--user', user.id, '--all', '--yes',
            env=self.env(admin, admin_secret),
        )  # fmt: skip
        self.assertEqual([], self.credentials(user.id))
        self.assertIn(
            admin_device, [c['id'] for c in self.credentials(admin.id)]
        )

    def test_corrupt_book_crashes_nothing(self) -> None:
        user, secret, codes = self.enrolled()
        env = self.env(user, secret)
        # NOTE: each command signs in with a secret whose code no command
        # used in this window (behind the guard a code signs in once: see
        # SignInSecrets); the devices added are made by hand, as enrolling
        # reads the bookkeeping this test breaks.
        secrets = self.sign_in_secrets(
            user,
            secret,
            lambda new: self.keystone.create_totp_credential(user.id, new),
        )
        for blob in (
            'not json', '[1, 2]', '{"devices": [1], "recovery_codes": 7}',
            '{"devices": {"x": 5}, "pending": {"a": 1}, '
            '"rules_before": "bad"}',
            json.dumps({'devices': {str(i): {} for i in range(5000)}}),
        ):  # fmt: skip
            self.write_book(user, secrets.take(), blob)
            for args in (('mfa', 'status'), ('mfa', 'status', '-f', 'json')):
                with secrets.signing_in(env) as run_env:
                    out = self.openstack(*args, env=run_env)
                self.assertNotIn('Traceback', out.stderr)
        # With the bookkeeping gone, nothing is claimed: the devices and
        # the recovery codes' credentials show as hand-made devices (which
        # are kept), no recovery code is counted, MFA stays enforced.
        with secrets.signing_in(env) as run_env:
            status = self.openstack_json('mfa', 'status', env=run_env)
        devices = len(secrets.secrets)
        self.assertEqual(devices + len(codes), len(status['devices']))
        self.assertEqual(0, status['recovery_codes_left'])
        self.assertTrue(status['enforced'])


class TestConcurrentEnroll(SecretsCase):
    def test_two_enrollments_at_once(self) -> None:
        user = self.admin_user()
        secrets = [totp.generate_secret() for _ in range(2)]
        results: list[base.CLIResult | None] = [None, None]

        def run(index: int) -> None:
            # NOTE: an earlier window's code: behind the guard the current
            # one, used here, would make the status below, which signs in
            # with the secret, wait for the next window.
            argv = [
                base.openstack_executable(), 'mfa', 'enroll',
                '--name', f'dev{index}', '--secret-file', '-',
                '--passcode', self.proof_code(secrets[index]),
            ]  # fmt: skip
            proc = subprocess.run(
                argv,
                input=secrets[index],
                capture_output=True,
                text=True,
                env=self.cli_env(self.env(user)),
                timeout=base.CLI_TIMEOUT,
                check=False,
            )
            results[index] = base.CLIResult(
                argv, proc.returncode, proc.stdout, proc.stderr
            )

        threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ok = [r for r in results if r is not None and r.returncode == 0]
        self.assertTrue(ok, [r.describe() for r in results if r])
        for result in results:
            assert result is not None
            self.assertNotIn('Traceback', result.stderr)
        # Never weaker, never locked out; every device that signs in is
        # shown, and the command after repairs the rest.
        self.assert_invariant(user)
        # Every run that said it enrolled a device left one that signs
        # in, listed as verified (neither run deleted the other's).
        succeeded = [
            s for s, r in zip(secrets, results, strict=True)
            if r is not None and r.returncode == 0
        ]  # fmt: skip
        for secret in succeeded:
            status = self.openstack_json(
                'mfa', 'status', env=self.env(user, secret)
            )
            shown = {d['id'] for d in status['devices']}
            usable = {c['id'] for c in self.credentials(user.id)}
            book = self.book(user.id) or {}
            listed = set(book.get('recovery_codes', []))
            # NOTE: a run cut off half-way (the other run's enforcement
            # revoked its token: seen behind the guard, whose answers
            # are slower) leaves its credentials as an interrupted run's:
            # unverified, said in a warning, deleted by the next enroll.
            left = set(status['unverified_credentials'])
            if left:
                self.assertEqual(1, len(succeeded), status)
                self.assertTrue(
                    any(
                        'interrupted enrollment' in w
                        for w in status['warnings']
                    ),
                    status,
                )
            self.assertEqual(
                usable - listed - left,
                shown,
                (
                    status,
                    self.credentials(user.id, 'mfa-osc'),
                    [r.describe() for r in results if r],
                ),
            )
            origins = [d.get('origin') for d in status['devices']]
            self.assertNotIn('hand-made', origins, status)
        self.assertEqual(
            len(succeeded), len((self.book(user.id) or {})['devices'])
        )


class TestKeystoneGarbage(SecretsCase):
    """Keystone (or a proxy in front of it) answers 500s, HTML, bad JSON."""

    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()

    def test_every_request_of_status_and_enroll(self) -> None:
        user, secret, _ = self.enrolled()
        env = self.env(user, secret, auth_url=self.proxy.auth_url)
        # NOTE: each command signs in with a secret whose code no command
        # used in this window, and each enroll enrolls a new secret: behind
        # the guard a code signs in once, and the runs waited for the next
        # window, one after the other.
        secrets = self.sign_in_secrets(user, secret)
        # A device no command signs in with, for assert_invariant's code
        # alone (its code is tried, refused and given back).
        probe = totp.generate_secret()
        self.enroll_in_process(
            user.id, probe, name='code-alone-probe', earlier_code=True
        )

        def enroll(name: str) -> tuple[str, ...]:
            return tuple(self.enroll_args(totp.generate_secret(), name=name))

        plans = [
            (('mfa', 'status'), tuple(mfa_base.GARBAGE)),
            (enroll('probe'), ('500', 'html', 'bad-json')),
        ]
        for args, modes in plans:
            if args[1] == 'enroll':
                args = enroll('probe')  # a code of now, not of the plan
            self.proxy.reset()
            with secrets.signing_in(env) as run_env:
                self.openstack(*args, env=run_env)
            total = len(self.proxy.requests)
            for mode in modes:
                for n in range(1, total + 1):
                    if args[1] == 'enroll':
                        args = enroll(f'd-{mode}-{n}')
                    self.proxy.reset(fail_at=n, mode=mode)
                    with secrets.signing_in(env) as run_env:
                        out = self.openstack_unchecked(*args, env=run_env)
                    self.assertNotIn('Traceback', out.stderr, out.describe())
                    for python in ('Expecting value', 'KeyError', 'NoneType'):
                        self.assertNotIn(python, out.stderr, out.describe())
                    if out.returncode != 0:
                        self.assertTrue(out.stderr.strip(), out.describe())
                    self.proxy.reset()
                    self.assert_invariant(user, probe)

    def test_malformed_answer_message(self) -> None:
        user, secret, _ = self.enrolled()
        env = self.env(user, secret, auth_url=self.proxy.auth_url)
        self.proxy.reset()
        self.openstack('mfa', 'status', env=env)
        (n,) = [
            i + 1
            for i, (method, path) in enumerate(self.proxy.requests)
            if method == 'GET' and '/credentials' in path
        ][:1]
        self.proxy.reset(fail_at=n, mode='bad-json')
        out = self.openstack_unchecked('mfa', 'status', env=env)
        self.assertNotEqual(0, out.returncode)
        self.assertIn('not a JSON object', out.stderr)

    def test_ids_in_paths(self) -> None:
        admin, admin_secret, _ = self.enrolled()
        env = self.env(admin, admin_secret, auth_url=self.proxy.auth_url)
        # NOTE: a secret no command used in this window for each sign-in
        # (behind the guard a code signs in once: see SignInSecrets).
        secrets = self.sign_in_secrets(admin, admin_secret)
        for bad in ('.', '..', '../credentials', 'a/b', '%2e', 'x?y=1'):
            self.proxy.reset()
            with secrets.signing_in(env) as run_env:
                out = self.openstack_unchecked(
                    'mfa', 'status', '--user', bad, env=run_env
                )
            self.assertNotEqual(0, out.returncode, out.describe())
            self.assertNotIn('Traceback', out.stderr)
            self.assertNotIn("'user'", out.stderr)
            paths = [p for _, p in self.proxy.requests]
            self.assertFalse(
                [p for p in paths if p.rstrip('/') == '/v3/users'
                 or '/credentials' in p.split('?')[0] and 'users/' in p],
                paths,
            )  # fmt: skip


class TestDemoOutput(base.FunctionalTestCase):
    def test_demo_shows_no_secret(self) -> None:
        record = os.path.join(self.home, 'secrets.json')
        demo = os.path.join(REPO, 'tools', 'demo.py')
        out = self.run_command(
            [sys.executable, demo, '--record-secrets', record], timeout=600
        )
        with open(record) as handle:
            secrets = json.load(handle)
        # the passwords, the phone's secret (plain and grouped), eight
        # recovery codes and the application credential secret
        self.assertGreaterEqual(len(secrets), 12)
        self.assertIn('***', out.stdout)
        self.assertIn('QR code of the secret', out.stdout)
        for secret in secrets:
            self.assertNotIn(secret, out.stdout + out.stderr)
        self.assertFalse(re.findall(CODE_RE, out.stdout))
        self.assertNotIn('\u2580', out.stdout)
