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

"""The entry point, the loader's options and its defaults."""

from __future__ import annotations

import subprocess
import sys

import fixtures
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import loading
from oslotest import base

from mfa_osc import redact
from mfa_osc.auth import loader
from mfa_osc.auth import options
from mfa_osc.auth import plugin


class TestEntryPoint(base.BaseTestCase):
    # NOTE: that v3multifactor loads this loader is in test_entry_points.

    def test_options_flags_and_secrets(self) -> None:
        options = {
            o.name: o for o in loading.get_plugin_options('v3multifactor')
        }
        for name in (
            'passcode',
            'totp-secret',
            'password',
            'recovery-code',
            # NOTE: it often carries the TOTP secret (oathtool -b SECRET);
            # `openstack configuration show` masks secret options.
            'passcode-command',
        ):
            self.assertTrue(options[name].secret, name)
            # NOTE: no up-front prompt: osc would ask on every command.
            self.assertIsNone(options[name].prompt, name)
        self.assertEqual('password,totp', options['auth-methods'].default)

    def test_loader_module_imports_little(self) -> None:
        code = (
            'import sys, mfa_osc.auth.loader; '
            'heavy = [m for m in ("pyotp", "osc_lib", "segno", "keyring", '
            '"mfa_osc.auth.plugin", "openstackclient") if m in sys.modules]; '
            'print(",".join(heavy))'
        )
        out = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            check=True,
        )
        self.assertEqual('', out.stdout.strip())


SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'


class TestPasscodeCommandSecrets(base.BaseTestCase):
    def test_secret_parts(self) -> None:
        self.assertEqual([], options.command_secrets(None))
        self.assertEqual([], options.command_secrets('/usr/local/bin/otp'))
        # NOTE: the whole command only; no word of it is masked alone.
        self.assertEqual(
            ['ykman oath accounts code --single'],
            options.command_secrets('ykman oath accounts code --single'),
        )
        found = options.command_secrets(f'oathtool --totp -b {SECRET}')
        self.assertIn(SECRET, found)
        self.assertIn(f'oathtool --totp -b {SECRET}', found)
        self.assertNotIn('oathtool', found)
        found = options.command_secrets(f"sh -c 'oathtool --key={SECRET}'")
        self.assertIn(SECRET, found)
        self.assertIn(f'oathtool --key={SECRET}', found)

    def test_listing_options_registers_them_for_the_scrubber(self) -> None:
        # NOTE: OSC lists every plugin's options to build its parser,
        # before it logs its command line under --debug.
        command = f'oathtool --totp -b {SECRET}'
        self.useFixture(
            fixtures.MonkeyPatch(
                'sys.argv', ['openstack', '--os-passcode-command', command]
            )
        )
        self.useFixture(fixtures.EnvironmentVariable('OS_PASSCODE_COMMAND'))
        loading.get_plugin_options('v3multifactor')
        line = f'START with options: --os-passcode-command {command} token'
        self.assertNotIn(SECRET, redact.scrub(line))
        self.assertIn('--os-passcode-command', redact.scrub(line))

    def test_from_the_environment(self) -> None:
        other = SECRET.replace('J', 'K')
        self.useFixture(
            fixtures.EnvironmentVariable(
                'OS_PASSCODE_COMMAND', f'oathtool -b {other}'
            )
        )
        loader.MultiFactor().get_options()
        self.assertEqual(
            "{'passcode_command': '***'}",
            redact.scrub(f"{{'passcode_command': 'oathtool -b {other}'}}"),
        )


class TestLoadFromOptions(base.BaseTestCase):
    def load(self, **kwargs: object) -> plugin.MultiFactor:
        params: dict[str, object] = {
            'auth_url': 'http://keystone.test/v3',
            'username': 'alice',
            'password': 'pw',
        }
        params.update(kwargs)
        result = loader.MultiFactor().load_from_options(**params)
        assert isinstance(result, plugin.MultiFactor)
        return result

    def test_methods_as_string_in_any_order(self) -> None:
        auth = self.load(auth_methods='v3totp,v3password')
        self.assertEqual(('password', 'totp'), auth.methods)

    def test_methods_default(self) -> None:
        self.assertEqual(('password', 'totp'), self.load().methods)

    def test_unknown_method(self) -> None:
        self.assertRaises(
            ksa_exc.OptionError, self.load, auth_methods='password,sms'
        )

    def test_user_and_project_domain_default(self) -> None:
        auth = self.load(project_name='demo')
        self.assertEqual('default', auth.user_domain_id)
        self.assertEqual('default', auth.project_domain_id)

    def test_osc_default_domain_is_honoured(self) -> None:
        auth = self.load(default_domain_id='corp', project_name='demo')
        self.assertEqual('corp', auth.user_domain_id)
        self.assertEqual('corp', auth.project_domain_id)

    def test_default_domain_by_name(self) -> None:
        auth = self.load(default_domain_name='Corp')
        self.assertEqual('Corp', auth.user_domain_name)
        self.assertIsNone(auth.user_domain_id)

    def test_explicit_domain_wins(self) -> None:
        auth = self.load(user_domain_name='Other', default_domain_id='corp')
        self.assertEqual('Other', auth.user_domain_name)
        self.assertIsNone(auth.user_domain_id)

    def test_user_id_needs_no_domain(self) -> None:
        auth = self.load(username=None, user_id='u1')
        self.assertIsNone(auth.user_domain_id)
