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

"""The v3multifactor plugin through the real openstack CLI and Keystone."""

from __future__ import annotations

import json
import os
import shlex
import sys
from typing import Any

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base

MFA_RULES = [['password', 'totp'], ['application_credential']]
SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ'


def code_command(secret: str) -> str:
    """A passcode command, as a password manager's OTP command would be."""
    script = f'from mfa_osc import totp; print(totp.passcode({secret!r}))'
    return f'{shlex.quote(sys.executable)} -c {shlex.quote(script)}'


class PluginTestCase(base.FunctionalTestCase):
    def mfa_user(self) -> local_keystone.KeystoneUser:
        user, _ = self.make_totp_user(MFA_RULES, SECRET)
        return user

    def env(
        self, user: local_keystone.KeystoneUser, **extra: str
    ) -> dict[str, str]:
        env = self.keystone.os_env(user)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        # NOTE: each sign-in below must really happen; the cache has tests
        # of its own.
        env['OS_TOKEN_CACHE'] = 'off'
        env.update(extra)
        return env

    def token(self, env: dict[str, str], *args: str) -> dict[str, Any]:
        result: dict[str, Any] = self.openstack_json(
            *args, 'token', 'issue', env=env
        )
        return result


class TestWithoutMFA(PluginTestCase):
    def test_no_rules_no_passcode_no_prompt(self) -> None:
        user = self.make_user()
        token = self.token(self.env(user))
        self.assertEqual(user.id, token['user_id'])
        self.assertEqual(user.project_id, token['project_id'])

    def test_no_prompt_even_on_a_terminal(self) -> None:
        user = self.make_user()
        env = self.env(user)
        code, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID, env=env, timeout=60
        )
        self.assertEqual(0, code, output)
        self.assertIn(user.id, output)
        self.assertNotIn('Passcode', output)


class TestPasscodeSources(PluginTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = self.mfa_user()

    def test_password_alone_is_refused_with_the_rules(self) -> None:
        # NOTE: the plain in-tree plugin, for contrast: Keystone wants TOTP.
        env = self.keystone.os_env(self.user)
        env['OS_AUTH_TYPE'] = 'v3password'
        result = self.openstack('token', 'issue', env=env, expect_fail=True)
        self.assertIn('required auth rules', result.stderr)

    def test_passcode(self) -> None:
        env = self.env(self.user, OS_PASSCODE=self.good_code(SECRET))
        self.assertEqual(self.user.id, self.token(env)['user_id'])

    def test_passcode_flag_with_spaces(self) -> None:
        code = self.good_code(SECRET)
        env = self.env(self.user)
        token = self.token(env, '--os-passcode', f'{code[:3]} {code[3:]}')
        self.assertEqual(self.user.id, token['user_id'])

    def test_secret_in_any_case_with_spaces(self) -> None:
        messy = ' '.join(
            SECRET.lower()[i : i + 4] for i in range(0, len(SECRET), 4)
        )
        env = self.env(self.user, OS_TOTP_SECRET=messy)
        self.assertEqual(self.user.id, self.token(env)['user_id'])

    def test_passcode_command(self) -> None:
        env = self.env(self.user, OS_PASSCODE_COMMAND=code_command(SECRET))
        self.assertEqual(self.user.id, self.token(env)['user_id'])

    def test_prompt_after_receipt_on_a_terminal(self) -> None:
        env = self.env(self.user)
        code, output = self.openstack_on_pty(
            *base.TOKEN_USER_ID,
            env=env,
            inputs=[('Passcode: ', self.good_code(SECRET))],
            timeout=60,
        )
        self.assertEqual(0, code, output)
        self.assertIn(self.user.id, output)
        # NOTE: the password came from OS_PASSWORD and was not asked again.
        self.assertNotIn('Password:', output)

    def test_no_terminal_no_source_says_the_four_ways(self) -> None:
        result = self.openstack(
            'token', 'issue', env=self.env(self.user), expect_fail=True
        )
        for way in ('--os-passcode', 'OS_TOTP_SECRET', 'OS_PASSCODE_COMMAND'):
            self.assertIn(way, result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_method_spellings(self) -> None:
        for flags, extra in (
            (['--os-auth-methods', 'password,totp'], {}),
            (['--os-auth-methods', 'v3password,v3totp'], {}),
            ([], {'OS_AUTH_METHODS': 'totp,password'}),
        ):
            # NOTE: a code of now for each command: on a loaded machine the
            # three take longer than a code lives (CI failed so).
            env = self.env(
                self.user, OS_PASSCODE=self.good_code(SECRET), **extra
            )
            self.assertEqual(
                self.user.id, self.token(env, *flags)['user_id'], flags
            )

    def test_unknown_method(self) -> None:
        env = self.env(self.user, OS_AUTH_METHODS='password,sms')
        result = self.openstack('token', 'issue', env=env, expect_fail=True)
        self.assertIn("'sms'", result.stderr)
        self.assertIn('v3totp', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_wrong_code(self) -> None:
        good = totp.passcode(SECRET)
        wrong = f'{(int(good) + 500000) % 1000000:06d}'
        env = self.env(self.user, OS_PASSCODE=wrong)
        result = self.openstack('token', 'issue', env=env, expect_fail=True)
        self.assertIn('Keystone refused the sign-in', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertNotIn(wrong, result.stderr + result.stdout)

    def test_malformed_code(self) -> None:
        env = self.env(self.user, OS_PASSCODE='12345')
        result = self.openstack('token', 'issue', env=env, expect_fail=True)
        self.assertIn('5 digits where 6 are needed', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_user_domain_defaults_like_v3password(self) -> None:
        env = self.env(self.user, OS_PASSCODE=self.good_code(SECRET))
        for key in ('OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME'):
            env.pop(key, None)
        self.assertEqual(self.user.id, self.token(env)['user_id'])


class TestDefaultDomain(PluginTestCase):
    def test_os_default_domain_is_the_user_domain(self) -> None:
        api = self.keystone.admin_adapter()
        suffix = os.urandom(4).hex()
        domain = api.post(
            '/domains', json={'domain': {'name': f'corp-{suffix}'}}
        ).json()['domain']
        project = api.post(
            '/projects',
            json={'project': {'name': 'p', 'domain_id': domain['id']}},
        ).json()['project']
        user = api.post(
            '/users',
            json={
                'user': {
                    'name': 'carol',
                    'password': 'carol-password-1',
                    'domain_id': domain['id'],
                }
            },
        ).json()['user']
        role = api.get('/roles', params={'name': 'member'}).json()['roles']
        api.put(
            f'/projects/{project["id"]}/users/{user["id"]}/roles/'
            f'{role[0]["id"]}'
        )
        env = {
            'OS_AUTH_URL': self.keystone.auth_url,
            'OS_IDENTITY_API_VERSION': '3',
            'OS_AUTH_TYPE': 'v3multifactor',
            'OS_USERNAME': 'carol',
            'OS_PASSWORD': 'carol-password-1',
            'OS_PROJECT_NAME': 'p',
            'OS_TOKEN_CACHE': 'off',
        }
        token = self.openstack_json(
            '--os-default-domain', domain['id'], 'token', 'issue', env=env
        )
        self.assertEqual(user['id'], token['user_id'])
        self.assertEqual(project['id'], token['project_id'])


class TestApplicationCredential(PluginTestCase):
    def test_ci_signs_in_with_an_application_credential(self) -> None:
        user = self.mfa_user()
        env = self.env(user, OS_TOTP_SECRET=SECRET)
        created = self.openstack_json(
            'application', 'credential', 'create', 'ci-pipeline', env=env
        )
        created = {key.lower(): value for key, value in created.items()}
        ci_env = {
            'OS_AUTH_URL': self.keystone.auth_url,
            'OS_IDENTITY_API_VERSION': '3',
            'OS_AUTH_TYPE': 'v3applicationcredential',
            'OS_APPLICATION_CREDENTIAL_ID': created['id'],
            'OS_APPLICATION_CREDENTIAL_SECRET': created['secret'],
        }
        token = self.openstack_json('token', 'issue', env=ci_env)
        self.assertEqual(user.id, token['user_id'])


class TestSecretsStayOut(PluginTestCase):
    def test_debug_output_holds_no_secret(self) -> None:
        user = self.mfa_user()
        code = self.good_code(SECRET)
        env = self.env(user, OS_TOTP_SECRET=SECRET.lower())
        env.pop('OS_PASSWORD')
        result = self.openstack(
            '--debug',
            '--os-password',
            user.password,
            '--os-passcode',
            code,
            'token',
            'issue',
            '-f',
            'value',
            '-c',
            'id',
            env=env,
        )
        token_id = result.stdout.strip()
        self.assertTrue(token_id)
        log = result.stderr
        self.assertIn('START with options', log)
        for secret in (user.password, code, SECRET, SECRET.lower(), token_id):
            self.assertNotIn(secret, log)


class TestConfigPaths(PluginTestCase):
    def clouds_yaml(self, auth: dict[str, Any]) -> str:
        clouds = {
            'clouds': {
                'mfa': {
                    'auth_type': 'v3multifactor',
                    'identity_api_version': 3,
                    'auth': auth,
                }
            }
        }
        path = self.write_clouds_yaml(clouds, self.useFixture_tempdir())
        os.chmod(path, 0o600)
        return path

    def useFixture_tempdir(self) -> str:  # noqa: N802
        import fixtures

        return str(self.useFixture(fixtures.TempDir()).path)

    def test_clouds_yaml_with_methods_as_list_and_string(self) -> None:
        user = self.mfa_user()
        for methods in (['totp', 'password'], 'v3password,v3totp'):
            path = self.clouds_yaml(
                {
                    'auth_url': self.keystone.auth_url,
                    'username': user.name,
                    'password': user.password,
                    'project_name': user.project_name,
                    'user_domain_name': 'Default',
                    'project_domain_name': 'Default',
                    'auth_methods': methods,
                    'totp_secret': SECRET,
                    'token_cache': 'off',
                }
            )
            env = {'OS_CLIENT_CONFIG_FILE': path, 'OS_CLOUD': 'mfa'}
            token = self.openstack_json('token', 'issue', env=env)
            self.assertEqual(user.id, token['user_id'], methods)
        # NOTE: token_cache: "off" from clouds.yaml reached the plugin.
        self.assertFalse(
            os.path.exists(os.path.join(self.home, '.cache', 'mfa-osc'))
        )

    def test_openstacksdk_connect(self) -> None:
        user = self.mfa_user()
        script = (
            'import json, sys, openstack\n'
            'conn = openstack.connect(auth_type="v3multifactor", '
            'auth_url=sys.argv[1], username=sys.argv[2], '
            'password=sys.argv[3], project_name=sys.argv[4], '
            'user_domain_name="Default", project_domain_name="Default", '
            'totp_secret=sys.argv[5], token_cache="off")\n'
            'conn.authorize()\n'
            'print(json.dumps({"user_id": conn.current_user_id}))\n'
        )
        result = self.run_python(
            script,
            self.keystone.auth_url,
            user.name,
            user.password,
            str(user.project_name),
            SECRET,
        )
        self.assertEqual(user.id, json.loads(result)['user_id'])
