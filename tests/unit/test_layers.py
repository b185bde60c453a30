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

"""The import-linter contracts of .importlinter hold, and bite.

`tox -e pep8` runs ``lint-imports`` on the tree; these tests run it on a
copy of ``mfa_osc`` with one wrong import added, to show that a layering
mistake fails the check with the broken contract named, not only that
today's tree passes.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import fixtures
from oslotest import base

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = '.importlinter'

# NOTE: import-linter has no ``python -m`` entry; this runs its console
# script's function under this interpreter when the script is not beside
# it (an interpreter without a virtual environment's bin directory).
_RUN_CLI = (
    'import sys; from importlinter.cli import lint_imports_command; '
    'sys.exit(lint_imports_command())'
)


def _lint_imports_command() -> list[str]:
    script = shutil.which('lint-imports', path=os.path.dirname(sys.executable))
    if script:
        return [script]
    return [sys.executable, '-c', _RUN_CLI]


class TestLayers(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        if importlib.util.find_spec('importlinter') is None:
            self.skipTest(
                'import-linter is not installed '
                '(pip install "import-linter>=2.1")'
            )
        self.tree = pathlib.Path(self.useFixture(fixtures.TempDir()).path)
        shutil.copytree(
            ROOT / 'mfa_osc',
            self.tree / 'mfa_osc',
            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'),
        )
        shutil.copy(ROOT / CONFIG, self.tree / CONFIG)

    def _contract_name(self, key: str) -> str:
        config = configparser.ConfigParser()
        config.read(self.tree / CONFIG)
        return config[f'importlinter:contract:{key}']['name']

    def _add_import(self, module: str, line: str) -> None:
        """Append an import to mfa_osc/<module>.py (or its __init__.py)."""
        path = self.tree / 'mfa_osc' / f'{module}.py'
        if not path.exists():
            path = self.tree / 'mfa_osc' / module / '__init__.py'
        self.assertTrue(path.exists(), f'no module mfa_osc/{module} to edit')
        with path.open('a') as f:
            f.write(f'\n{line}  # noqa\n')

    def _lint(self) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        # The copy comes first, ahead of the installed (editable) mfa_osc.
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (str(self.tree), env.get('PYTHONPATH')) if p
        )
        # Long contract names stay on one line; no colour codes.
        env['COLUMNS'] = '200'
        env['NO_COLOR'] = '1'
        return subprocess.run(
            [*_lint_imports_command(), '--no-cache'],
            cwd=self.tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def _assert_broken(self, key: str, *details: str) -> None:
        result = self._lint()
        output = result.stdout + result.stderr
        self.assertNotEqual(0, result.returncode, output)
        self.assertIn(f'{self._contract_name(key)} BROKEN', output)
        for detail in details:
            self.assertIn(detail, output)

    def test_clean_copy_passes(self) -> None:
        result = self._lint()
        output = result.stdout + result.stderr
        self.assertEqual(0, result.returncode, output)
        self.assertIn(' 0 broken', output)

    def test_lower_layer_importing_a_higher_one_fails(self) -> None:
        self._add_import('client', 'from mfa_osc.osc import common')
        self._assert_broken(
            'layers', 'mfa_osc.client is not allowed to import mfa_osc.osc'
        )

    def test_auth_importing_workflows_fails(self) -> None:
        self._add_import('auth/plugin', 'from mfa_osc.workflows import enroll')
        self._assert_broken(
            'layers',
            'mfa_osc.auth is not allowed to import mfa_osc.workflows',
        )
        self._assert_broken(
            'plugin-off-workflows',
            'mfa_osc.auth is not allowed to import mfa_osc.workflows',
        )

    def test_a_command_importing_another_fails(self) -> None:
        self._add_import('osc/logout', 'from mfa_osc.osc import exec')
        self._assert_broken('commands-independent')

    def test_terminal_importing_another_pure_module_fails(self) -> None:
        self._add_import('terminal', 'from mfa_osc import redact')
        self._assert_broken('pure-independent')

    def test_workflow_importing_osc_lib_fails(self) -> None:
        self._add_import('workflows/enroll', 'from osc_lib import utils')
        self._assert_broken(
            'osc-only', 'mfa_osc.workflows is not allowed to import osc_lib'
        )

    def test_importing_testing_fails(self) -> None:
        self._add_import('osc/common', 'from mfa_osc.testing import keystone')
        self._assert_broken(
            'testing', 'mfa_osc.osc is not allowed to import mfa_osc.testing'
        )

    def test_module_without_a_layer_fails(self) -> None:
        (self.tree / 'mfa_osc' / 'helpers.py').write_text('import os\n')
        self._assert_broken('layers', 'mfa_osc.helpers')
