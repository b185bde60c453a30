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

"""The sign-in as users meet it, through the real CLI and Keystone.

Users without MFA see no change even with a code in a shared environment;
the Passcode: prompt forgives a typo and takes a recovery code; messages
name the real cause and the next step in the form the user used (flag,
variable, clouds.yaml key or openstacksdk argument); a passcode command's
secret stays out of --debug, and a command that cannot start says why.
"""

from __future__ import annotations

import json
import os
import sys

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base

ENFORCED = [['password', 'totp'], ['application_credential']]
SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ'

#: openstacksdk signing in; argv: auth_url user password project, then a
#: JSON object of extra arguments. Prints OK USER_ID or the error's text.
SDK_SCRIPT = """
import json, sys, openstack
kwargs = dict(
    auth_type='v3multifactor', auth_url=sys.argv[1], username=sys.argv[2],
    password=sys.argv[3], project_name=sys.argv[4],
    user_domain_name='Default', project_domain_name='Default',
    token_cache='off')
kwargs.update(json.loads(sys.argv[5]))
try:
    conn = openstack.connect(**kwargs)
    conn.authorize()
    print('OK', conn.current_user_id)
except Exception as exc:
    print('ERROR', exc)
"""


class SignInTestCase(mfa_base.MFATestCase):
    def mfa_user(self) -> local_keystone.KeystoneUser:
        user, _ = self.make_totp_user(ENFORCED, SECRET)
        return user

    def sdk(self, user: local_keystone.KeystoneUser, **extra: object) -> str:
        return self.run_python(
            SDK_SCRIPT,
            self.keystone.auth_url,
            user.name,
            user.password,
            str(user.project_name),
            json.dumps(extra),
        )

    def assert_clean(self, text: str, *secrets: str) -> None:
        self.assertNotIn('Traceback', text)
        self.assertNotIn('Errno', text)
        for secret in secrets:
            self.assertNotIn(secret, text)

    def wrong(self) -> str:
        return self.bad_code(SECRET)


class TestNoChangeWithoutMFA(SignInTestCase):
    """A code given up front never turns a good password into a failure."""

    def test_shared_passcode_variable(self) -> None:
        user = self.make_user()
        env = self.mfa_env(user, OS_PASSCODE='123456')
        result = self.openstack(
            'token', 'issue', '-f', 'value', '-c', 'user_id', env=env
        )
        self.assertEqual(user.id, result.stdout.strip())
        self.assertEqual(
            'Signed in with the password alone: Keystone did not accept the '
            'passcode from OS_PASSCODE, and the MFA rules of this account do '
            'not ask for one. To sign in with one request, unset OS_PASSCODE '
            'for this account.\n',
            result.stderr,
        )

    def test_totp_secret_flag(self) -> None:
        user = self.make_user()
        result = self.openstack(
            '--os-totp-secret',
            SECRET,
            *base.TOKEN_USER_ID,
            env=self.mfa_env(user),
        )
        self.assertEqual(user.id, result.stdout.strip())
        self.assertIn('leave out --os-totp-secret', result.stderr)
        self.assert_clean(result.stderr, SECRET)

    def test_device_not_required_by_the_rules(self) -> None:
        # NOTE: enrolled, not enforced: a wrong code is not needed either.
        user, _ = self.make_totp_user(
            [['password'], ['application_credential']], SECRET
        )
        wrong = self.wrong()
        result = self.openstack(
            'token', 'issue', env=self.mfa_env(user, OS_PASSCODE=wrong)
        )
        self.assertIn('Signed in with the password alone', result.stderr)
        self.assert_clean(result.stderr, wrong)

    def test_openstacksdk(self) -> None:
        user = self.make_user()
        result = self.run_command(
            [
                sys.executable,
                '-c',
                SDK_SCRIPT,
                self.keystone.auth_url,
                user.name,
                user.password,
                str(user.project_name),
                json.dumps({'passcode': '123456'}),
            ]
        )
        self.assertEqual(f'OK {user.id}', result.stdout.strip())
        self.assertIn('from the passcode setting', result.stderr)
        self.assertIn('leave out the passcode setting', result.stderr)

    def test_wrong_password_with_a_code(self) -> None:
        user = self.make_user()
        env = self.mfa_env(user, OS_PASSCODE='123456', OS_PASSWORD='wrong-1')
        result = self.openstack('token', 'issue', env=env, expect_fail=True)
        self.assertIn('Keystone refused the password', result.stderr)
        self.assert_clean(result.stderr, 'wrong-1')

    def test_mfa_user_wrong_code_blames_the_code(self) -> None:
        user = self.mfa_user()
        wrong = self.wrong()
        result = self.openstack(
            'token',
            'issue',
            env=self.mfa_env(user, OS_PASSCODE=wrong),
            expect_fail=True,
        )
        self.assertIn(
            'Keystone refused the sign-in: the password was accepted, the '
            'passcode from OS_PASSCODE was not.',
            result.stderr,
        )
        self.assert_clean(result.stderr, wrong, user.password)


class TestPrompt(SignInTestCase):
    """Typos are asked again; a recovery code is taken; Ctrl-D is clear."""

    def test_typo_and_empty_line_are_asked_again(self) -> None:
        user = self.mfa_user()
        code, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID,
            env=self.mfa_env(user),
            inputs=[
                ('Passcode: ', '12345'),
                (r'Passcode \(try again\): ', ''),
                (
                    r'Passcode \(try again\): ',
                    lambda _: self.good_code(SECRET),
                ),
            ],
        )
        self.assertEqual(0, code, output)
        self.assertIn('5 digits where 6 are needed', output)
        self.assertIn('The passcode is empty', output)
        self.assertIn(user.id, output)

    def test_three_wrong_codes(self) -> None:
        user = self.mfa_user()
        wrong = self.wrong()
        code, output = self.openstack_on_pty(
            'token',
            'issue',
            env=self.mfa_env(user),
            inputs=[
                ('Passcode: ', wrong),
                (r'not accepted.*\n.*Passcode \(try again\): ', wrong),
                (r'not accepted.*\n.*Passcode \(try again\): ', wrong),
            ],
        )
        self.assertNotEqual(0, code, output)
        self.assertIn('the passcode (after 3 tries) was not.', output)
        self.assert_clean(output)

    def test_ctrl_d(self) -> None:
        user = self.mfa_user()
        code, output = self.openstack_on_pty(
            'token',
            'issue',
            env=self.mfa_env(user),
            inputs=[('Passcode: ', '\x04')],
        )
        self.assertEqual(1, code, output)
        self.assertIn('No passcode entered: the prompt was closed', output)
        self.assertNotIn('on a terminal', output)
        self.assert_clean(output)

    def test_recovery_code_at_the_prompt(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        enrolled = self.openstack_json(
            *self.enroll_args(secret, name='phone'),
            env=self.env(user),
        )
        codes = enrolled['recovery_codes']
        code, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID,
            env=self.mfa_env(user),
            inputs=[('Passcode: ', codes[0].lower())],
        )
        self.assertEqual(0, code, output)
        self.assertIn(user.id, output)
        self.assertIn(
            'Signed in with a recovery code, which is now used up', output
        )
        status = self.openstack_json(
            'mfa', 'status', env=self.env(user, secret)
        )
        self.assertEqual(len(codes) - 1, status['recovery_codes_left'])


class TestKeystoneTextReplaced(SignInTestCase):
    def test_totp_alone_on_an_enforced_account(self) -> None:
        user = self.mfa_user()
        for flags, extra, step in (
            (
                ['--os-auth-methods', 'totp'],
                {},
                'sign in with --os-auth-methods password,totp.',
            ),
            ([], {'OS_AUTH_METHODS': 'totp'}, 'set OS_AUTH_METHODS='),
        ):
            env = self.mfa_env(user, OS_TOTP_SECRET=SECRET, **extra)
            result = self.openstack(
                *flags, 'token', 'issue', env=env, expect_fail=True
            )
            self.assertNotIn('Not all required auth rules', result.stderr)
            self.assertIn(
                'Keystone accepted totp, but the MFA rules of this account '
                'want one of: password+totp',
                result.stderr,
            )
            self.assertIn(step, result.stderr)
            self.assert_clean(result.stderr, SECRET)

    def test_openstacksdk_missing_passcode_names_its_arguments(self) -> None:
        out = self.sdk(self.mfa_user())
        self.assertTrue(out.startswith('ERROR This account needs'), out)
        self.assertIn('passcode_command', out)
        self.assertIn('openstack.connect()', out)
        self.assertNotIn('--os-', out)
        self.assertNotIn('OS_PASSCODE', out)

    def test_logout_without_a_cloud_points_to_all(self) -> None:
        result = self.openstack(
            'mfa', 'logout', env={'OS_AUTH_TYPE': ''}, expect_fail=True
        )
        self.assertIn('No cloud to sign out of is configured', result.stderr)
        self.assertIn('openstack mfa logout --all', result.stderr)
        self.assert_clean(result.stderr)


class TestCommandsAskOnlyWhatTheyUse(SignInTestCase):
    def enroll_two(self) -> tuple[local_keystone.KeystoneUser, str]:
        user = self.admin_user()
        phone = totp.generate_secret()
        self.openstack_json(
            *self.enroll_args(phone, name='phone'),
            env=self.env(user),
        )
        laptop = totp.generate_secret()
        self.openstack_json(
            *self.enroll_args(laptop, name='laptop'),
            env=self.env(user, phone),
        )
        return user, phone

    def test_remove_after_a_sign_in_with_totp_asks_nothing_more(self) -> None:
        user, phone = self.enroll_two()
        code, output = self.openstack_on_pty(
            'mfa',
            'remove',
            '--device',
            'laptop',
            '--yes',
            env=self.env(user, phone),
        )
        self.assertEqual(0, code, output)
        self.assertNotIn('Current passcode', output)
        self.assertRegex(
            output,
            r'Removed laptop \(\w+\); still enrolled: phone \(\w+\) '
            r'\(8 recovery codes left\)\.',
        )

    def test_remove_with_a_cached_token_asks_for_proof(self) -> None:
        user, phone = self.enroll_two()
        env = self.env(user, phone)
        env['OS_TOKEN_CACHE'] = 'on'
        self.openstack('token', 'issue', env=env)
        result = self.openstack(
            'mfa',
            'remove',
            '--device',
            'laptop',
            '--yes',
            env=env,
            expect_fail=True,
        )
        self.assertIn(
            'This command did not sign in with a passcode just now',
            result.stderr,
        )
        self.assertIn('--passcode CODE', result.stderr)
        self.assertEqual(2, len(self.book(user.id)['devices']))

    def test_ctrl_d_at_the_proof_prompt(self) -> None:
        user, phone = self.enroll_two()
        env = self.env(user, phone)
        env['OS_TOKEN_CACHE'] = 'on'
        self.openstack('token', 'issue', env=env)
        env.pop('OS_TOTP_SECRET', None)
        code, output = self.openstack_on_pty(
            'mfa', 'remove', '--device', 'laptop', '--yes', env=env,
            inputs=[('Current passcode or a recovery code: ', '\x04')],
        )  # fmt: skip
        self.assertEqual(1, code, output)
        self.assertIn('none was entered', output)
        self.assertNotIn('on a terminal', output)
        self.assertEqual(2, len(self.book(user.id)['devices']))

    def test_recovery_codes_without_a_device_ask_nothing(self) -> None:
        user = self.make_user()
        code, output = self.openstack_on_pty(
            'mfa', 'recovery', 'code', 'create', env=self.mfa_env(user)
        )
        self.assertEqual(1, code, output)
        self.assertNotIn('Passcode', output)
        self.assertNotIn('passcode or a recovery code:', output)
        self.assertIn('no verified TOTP device', output)
        self.assertIn('openstack mfa enroll', output)


class TestPasscodeCommand(SignInTestCase):
    """Issue 11: the command's secret stays out; failures name the cause."""

    def fake_oathtool(self) -> str:
        """An ``oathtool --totp -b SECRET`` of our own."""
        folder = os.path.join(self.home, 'bin')
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, 'oathtool')
        with open(path, 'w') as handle:
            handle.write(
                f'#!{sys.executable}\n'
                'import sys\n'
                'from mfa_osc import totp\n'
                "print(totp.passcode(sys.argv[sys.argv.index('-b') + 1]))\n"
            )
        os.chmod(path, 0o700)
        return path

    def test_secret_in_the_command_stays_out_of_debug(self) -> None:
        user = self.mfa_user()
        command = f'{self.fake_oathtool()} --totp -b {SECRET}'
        for flags, extra in (
            (['--os-passcode-command', command], {}),
            ([], {'OS_PASSCODE_COMMAND': command}),
        ):
            result = self.openstack(
                '--debug',
                *flags,
                *base.TOKEN_USER_ID,
                env=self.mfa_env(user, **extra),
            )
            self.assertEqual(user.id, result.stdout.strip().splitlines()[-1])
            self.assertIn('START with options', result.stderr)
            self.assertNotIn(SECRET, result.stderr)
            self.assertNotIn(SECRET, result.stdout)
        shown = self.openstack(
            'configuration',
            'show',
            env=self.mfa_env(user, OS_PASSCODE_COMMAND=command),
        )
        self.assertNotIn(SECRET, shown.stdout)
        self.assertRegex(shown.stdout, r'passcode_command\s+\|\s+<redacted>')

    def broken_commands(self) -> list[tuple[str, str]]:
        folder = os.path.join(self.home, 'broken')
        os.makedirs(os.path.join(folder, 'a-directory'))
        made = {
            'not-executable': ('#!/bin/sh\necho 123456\n', 0o644),
            'bad-interpreter': ('#!/nonexistent/python3\nprint(1)\n', 0o755),
        }
        for name, (text, mode) in made.items():
            path = os.path.join(folder, name)
            with open(path, 'w') as handle:
                handle.write(text)
            os.chmod(path, mode)
        return [
            (os.path.join(folder, 'not-executable'), 'is not executable'),
            (os.path.join(folder, 'a-directory'), 'is a directory'),
            (
                os.path.join(folder, 'bad-interpreter'),
                "names the interpreter '/nonexistent/python3', which does not "
                'exist',
            ),
        ]

    def test_command_that_cannot_start(self) -> None:
        user = self.mfa_user()
        for path, why in self.broken_commands():
            result = self.openstack(
                '--os-passcode-command',
                path,
                'token',
                'issue',
                env=self.mfa_env(user),
                expect_fail=True,
            )
            self.assertIn(f"The passcode command '{path}' ", result.stderr)
            self.assertIn(why, result.stderr)
            self.assertNotIn('not found', result.stderr)
            self.assert_clean(result.stderr)
            out = self.sdk(user, passcode_command=path)
            self.assertTrue(out.startswith('ERROR The passcode command'), out)
            self.assertIn(why, out)
            self.assertNotIn('Errno', out)
            self.assertNotIn('PermissionError', out)
        result = self.openstack(
            'token',
            'issue',
            env=self.mfa_env(
                user, OS_PASSCODE_COMMAND=self.broken_commands_first()
            ),
            expect_fail=True,
        )
        self.assertIn('`chmod +x', result.stderr)
        self.assertIn('have OS_PASSCODE_COMMAND run it', result.stderr)

    def broken_commands_first(self) -> str:
        return os.path.join(self.home, 'broken', 'not-executable')
