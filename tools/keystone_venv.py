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

"""Build a virtualenv for a Keystone server of another release, once.

``python tools/keystone_venv.py DIR CONSTRAINTS REQUIREMENT...`` makes
``DIR`` a virtualenv of the Python running this script and installs the
requirements into it with ``pip install -c CONSTRAINTS`` (a release's
upper constraints). A stamp in ``DIR`` records the SHA-256 of the
constraints file, the requirements and the Python version: while they are
the same, a rerun does nothing; when one changes, ``DIR`` is built anew.
Point ``MFA_OSC_KEYSTONE_BIN`` at ``DIR/bin`` and
:class:`mfa_osc.testing.keystone.LocalKeystone` serves that Keystone
(``tox -e functional-keystone2024.1`` does both).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

STAMP = 'mfa-osc-keystone-venv.json'


def wanted(constraints: str, requirements: list[str]) -> dict[str, object]:
    """What the virtualenv must have been built from."""
    with open(constraints, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {
        'constraints_sha256': digest,
        'requirements': requirements,
        'python': '.'.join(str(p) for p in sys.version_info[:3]),
    }


def built_from(directory: str) -> object:
    try:
        with open(os.path.join(directory, STAMP)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def build(directory: str, constraints: str, requirements: list[str]) -> None:
    # NOTE: never half-built: the stamp is written last, so an
    # interrupted build is redone from scratch on the next run.
    shutil.rmtree(directory, ignore_errors=True)
    subprocess.run([sys.executable, '-m', 'venv', directory], check=True)
    python = os.path.join(directory, 'bin', 'python')
    subprocess.run(
        [
            python,
            '-m',
            'pip',
            'install',
            '--quiet',
            '--disable-pip-version-check',
            '-c',
            constraints,
            *requirements,
        ],
        check=True,
    )


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(
            'usage: python tools/keystone_venv.py DIR CONSTRAINTS '
            'REQUIREMENT...',
            file=sys.stderr,
        )
        return 2
    directory, constraints, requirements = argv[0], argv[1], argv[2:]
    directory = os.path.abspath(directory)
    expected = wanted(constraints, requirements)
    if built_from(directory) == expected:
        print(f'Keystone virtualenv {directory}: up to date.')
        return 0
    started = time.monotonic()
    try:
        build(directory, constraints, requirements)
    except subprocess.CalledProcessError as exc:
        print(
            f'Building the Keystone virtualenv {directory} failed (exit '
            f"status {exc.returncode}); see pip's output above.",
            file=sys.stderr,
        )
        return 1
    with open(os.path.join(directory, STAMP), 'w') as f:
        json.dump(expected, f)
    print(
        f'Keystone virtualenv {directory}: built in '
        f'{time.monotonic() - started:.0f} s.'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
