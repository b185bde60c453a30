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

"""What the OSC layer hands the sign-in plugin at each start."""

from __future__ import annotations

import argparse
import subprocess
import sys

import fixtures
from oslotest import base

from mfa_osc.auth import hooks
from mfa_osc.osc import plugin


class TestPolicySetUpRegistered(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(hooks.register, None)

    def test_every_command_gets_the_set_up(self) -> None:
        plugin.register_policy_set_up(['--os-cloud', 'c', 'server', 'list'])
        self.assertIsNotNone(hooks.registered.enroll)
        self.assertFalse(hooks.registered.exempt)

    @staticmethod
    def osc_parser() -> argparse.ArgumentParser:
        """OSC's global options as the plugin hooks see them."""
        from osc_lib import shell

        return shell.OpenStackShell().build_option_parser('openstack', '1')

    def test_enroll_and_status_are_exempt(self) -> None:
        parser = self.osc_parser()
        for argv in (
            ['mfa', 'enroll', '--name', 'phone'],
            ['--os-cloud', 'c', 'mfa', 'status', '-f', 'json'],
            ['--debug', 'mfa', 'enroll'],
            ['-vv', 'mfa', 'status'],
            ['mfa', '--os-cloud', 'c', 'status'],
            ['--os-region-name', 'mfa', 'mfa', 'status'],
            ['--os-username', 'mfa', '--os-auth-type', 'x', 'mfa', 'enroll'],
            ['--os-region-name=r1', 'mfa', 'enroll'],
        ):
            plugin.register_policy_set_up(argv, parser)
            self.assertTrue(hooks.registered.exempt, argv)
        for argv in (['mfa', 'exec', '--', 'status'], ['token', 'issue']):
            plugin.register_policy_set_up(argv, parser)
            self.assertFalse(hooks.registered.exempt, argv)

    def test_option_values_are_not_command_words(self) -> None:
        parser = self.osc_parser()
        for argv in (
            # A region named mfa and a project named status or enroll.
            ['--os-region-name', 'mfa', '--os-project-name', 'status'],
            ['--os-region-name', 'mfa', '--os-project-name', 'enroll']
            + ['server', 'list'],
            ['--os-region-name', 'mfa', 'status'],
            ['--os-region', 'mfa', 'enroll'],  # a prefix, as argparse takes
            ['--os-region-name=mfa', 'enroll'],
            ['--os-cloud', 'mfa', 'enroll', 'server', 'list'],
            # Options of the command: cliff's command ends before them.
            ['server', 'list', '--name', 'mfa', 'status'],
            ['token', 'issue', 'mfa', 'status'],
        ):
            plugin.register_policy_set_up(argv, parser)
            self.assertFalse(hooks.registered.exempt, argv)

    def test_command_words(self) -> None:
        parser = self.osc_parser()
        self.assertEqual(
            ['server', 'list'],
            plugin.command_words(
                ['--os-region-name', 'mfa', '--os-project-name', 'status']
                + ['server', 'list', '--long'],
                parser,
            ),
        )
        # An option not known yet that is not OSC's: the command ends.
        self.assertEqual(
            [], plugin.command_words(['--frobnicate', 'mfa', 'status'], parser)
        )

    def test_the_hook_hands_over_the_parser(self) -> None:
        parser = self.osc_parser()
        self.useFixture(
            fixtures.MockPatch(
                'sys.argv',
                ['openstack', '--os-region-name', 'mfa', 'status', 'x'],
            )
        )
        plugin.build_option_parser(parser)
        self.assertFalse(hooks.registered.exempt)
        self.useFixture(
            fixtures.MockPatch(
                'sys.argv',
                ['openstack', '--os-region-name', 'mfa', 'mfa', 'status'],
            )
        )
        plugin.build_option_parser(self.osc_parser())
        self.assertTrue(hooks.registered.exempt)

    def test_registering_loads_neither_the_check_nor_the_workflows(
        self,
    ) -> None:
        # NOTE: in a fresh interpreter: OSC imports the hook at every start.
        code = (
            'import sys; from mfa_osc.osc import plugin; '
            "plugin.register_policy_set_up(['token', 'issue']); "
            "print(sorted(m for m in sys.modules if m.startswith('mfa_osc')))"
        )
        out = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertNotIn('mfa_osc.auth.policy', out)
        self.assertNotIn('mfa_osc.workflows', out)
        self.assertNotIn('mfa_osc.osc.sign_in', out)
        self.assertIn('mfa_osc.auth.hooks', out)
