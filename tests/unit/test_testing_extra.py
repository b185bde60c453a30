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

"""The ``testing`` extra declares what ``mfa_osc.testing`` needs."""

from __future__ import annotations

import ast
import configparser
import os
import re
import sys

from oslotest import base

TOP = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)
TESTING = os.path.join(TOP, 'mfa_osc', 'testing')


def _requirements(lines: str) -> dict[str, str]:
    """``{normalized name: requirement}`` of requirement lines."""
    found = {}
    for line in lines.splitlines():
        requirement = line.partition('#')[0].strip()
        if requirement:
            name = re.match(r'[A-Za-z0-9._-]+', requirement)
            assert name is not None, requirement
            key = re.sub(r'[-_.]+', '-', name.group()).lower()
            found[key] = requirement.replace(' ', '')
    return found


def _extra(name: str) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(os.path.join(TOP, 'setup.cfg'))
    return _requirements(parser['extras'][name])


def _file(name: str) -> dict[str, str]:
    with open(os.path.join(TOP, name)) as f:
        return _requirements(f.read())


def _imported_top_level(path: str) -> set[str]:
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module is not None
            names.add(node.module.partition('.')[0])
    return names


class TestTestingExtra(base.BaseTestCase):
    def test_same_pins_as_keystone_requirements(self) -> None:
        # NOTE: tox installs keystone-requirements.txt; pip install
        # 'mfa-osc[testing]' the extra. One Keystone for both.
        extra = _extra('testing')
        for name, requirement in _file('keystone-requirements.txt').items():
            self.assertEqual(requirement, extra.get(name), name)

    def test_every_import_of_the_package_is_declared(self) -> None:
        declared = set(_extra('testing')) | set(_file('requirements.txt'))
        modules = set()
        for name in sorted(os.listdir(TESTING)):
            if name.endswith('.py'):
                modules |= _imported_top_level(os.path.join(TESTING, name))
        # NOTE: each third-party module imported here is named as its
        # distribution is (keystone, keystoneauth1, cryptography).
        third_party = {
            module
            for module in modules
            if module not in sys.stdlib_module_names and module != 'mfa_osc'
        }
        self.assertIn('keystone', third_party)
        self.assertEqual(set(), third_party - declared)
