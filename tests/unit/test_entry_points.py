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

"""The installed entry points: the auth plugin and every mfa command load."""

from __future__ import annotations

import configparser
from importlib import metadata
import os

from cliff import command as cliff_command
from keystoneauth1 import loading
from oslotest import base

from mfa_osc.auth import loader
from mfa_osc.auth import plugin

SETUP_CFG = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, 'setup.cfg'
)


def declared(group: str) -> dict[str, str]:
    """``name = module:attr`` of an entry point group in setup.cfg."""
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    lines = parser['entry_points'][group].strip().splitlines()
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition('=') for line in lines)
    }


class TestEntryPoints(base.BaseTestCase):
    def test_v3multifactor_is_ours(self) -> None:
        found = loading.get_plugin_loader('v3multifactor')
        self.assertIsInstance(found, loader.MultiFactor)
        self.assertIs(plugin.MultiFactor, found.plugin_class)

    def test_every_mfa_command_loads(self) -> None:
        points = metadata.entry_points(group='openstack.mfa.v1')
        self.assertNotEqual([], list(points))
        for point in points:
            command = point.load()
            self.assertTrue(
                issubclass(command, cliff_command.Command), point.name
            )
            self.assertTrue(command.__module__.startswith('mfa_osc.osc.'))

    def test_installed_entry_points_match_setup_cfg(self) -> None:
        # NOTE: a stale editable install keeps the old module paths; run
        # `pip install --no-deps -e .` when this fails.
        for group in (
            'keystoneauth1.plugin',
            'openstack.cli.extension',
            'openstack.mfa.v1',
        ):
            installed = {
                p.name: p.value
                for p in metadata.entry_points(group=group)
                if p.dist is not None and p.dist.name == 'mfa-osc'
            }
            self.assertEqual(declared(group), installed, group)

    def test_osc_extension_loads(self) -> None:
        (point,) = [
            p
            for p in metadata.entry_points(group='openstack.cli.extension')
            if p.name == 'mfa'
        ]
        hooks = point.load()
        for name in ('make_client', 'build_option_parser', 'API_NAME'):
            self.assertTrue(hasattr(hooks, name), name)
