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

"""OSC's hooks (``mfa_osc.osc.plugin``): the commands' Keystone client,
and what the OSC layer hands the sign-in plugin at each start."""

from __future__ import annotations

import argparse
import subprocess
import sys
import types

import fixtures
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.auth import hooks
from mfa_osc.osc import plugin

AUTH_URL = 'https://keystone.example.com/v3'
PUBLIC_TWO = 'https://public.two.example.com/v3'
INTERNAL_TWO = 'https://internal.two.example.com/v3'
INTERNAL_ONE = 'https://internal.one.example.com/v3'


class TestMakeClient(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        token = ks_fixture.V3Token(user_id='u1', methods=['password'])
        token.set_project_scope()
        service = token.add_service('identity')
        service.add_standard_endpoints(
            public=AUTH_URL, internal=INTERNAL_ONE, region='RegionOne'
        )
        service.add_standard_endpoints(
            public=PUBLIC_TWO, internal=INTERNAL_TWO, region='RegionTwo'
        )
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            json=token,
            headers={'X-Subject-Token': 'tok'},
            status_code=201,
        )
        self.session = ks_session.Session(
            auth=v3.Password(
                auth_url=AUTH_URL,
                username='alice',
                password='pw',
                user_domain_id='default',
                project_id='p',
            )
        )

    def client_for(self, interface: str | None, region: str | None) -> str:
        instance = types.SimpleNamespace(
            session=self.session, interface=interface, region_name=region
        )
        client = plugin.make_client(instance)
        endpoint = str(client.endpoint)
        self.requests.get(endpoint + '/users/u1', json={'user': {'id': 'u1'}})
        client.get_user('u1')
        self.assertTrue(
            self.requests.last_request.url.startswith(endpoint + '/users/')
        )
        return endpoint

    def test_interface_and_region_pick_the_endpoint(self) -> None:
        self.assertEqual(
            INTERNAL_TWO, self.client_for('internal', 'RegionTwo')
        )
        self.assertEqual(PUBLIC_TWO, self.client_for('public', 'RegionTwo'))
        self.assertEqual(
            INTERNAL_ONE, self.client_for('internal', 'RegionOne')
        )

    def test_default_interface_is_public(self) -> None:
        self.assertEqual(PUBLIC_TWO, self.client_for(None, 'RegionTwo'))


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
