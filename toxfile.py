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

"""tox finds a Python 3.13 for the ``py313`` environment by itself.

tox loads this file (an inline plugin) next to ``tox.ini``. On machines
where Python 3.13 comes from pyenv but is not selected, ``python3.13`` on
``PATH`` is pyenv's shim, which answers "command not found"; tox would then
fail ``py313``. Before the environments are configured, this finds a
``python3.13`` that really runs (on ``PATH``, else pyenv's newest 3.13.x)
and names it in ``MFA_OSC_PYTHON313``, which ``tox.ini`` gives ``py313`` as
its ``base_python``. Where there is none, it says so: ``py313`` then fails
(``tox.ini`` skips no missing interpreter), and ``bash .ci/run`` leaves it
out with the same message.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from typing import Any

from tox.plugin import impl

VARIABLE = 'MFA_OSC_PYTHON313'


def _runs_313(path: str) -> bool:
    try:
        done = subprocess.run(
            [
                path,
                '-c',
                'import sys; sys.exit(sys.version_info[:2] != (3, 13))',
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _version(path: str) -> tuple[int, ...]:
    name = os.path.basename(os.path.dirname(os.path.dirname(path)))
    return tuple(int(p) for p in name.split('.') if p.isdigit())


def find_python313() -> str | None:
    """A ``python3.13`` that runs: on PATH first, then pyenv's newest."""
    on_path = shutil.which('python3.13')
    root = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    pyenv = sorted(
        glob.glob(
            os.path.join(root, 'versions', '3.13.*', 'bin', 'python3.13')
        ),
        key=_version,
        reverse=True,
    )
    for candidate in [on_path, *pyenv]:
        if candidate and _runs_313(candidate):
            return candidate
    return None


@impl
def tox_add_core_config(core_conf: Any, state: Any) -> None:
    if os.environ.get(VARIABLE):
        return
    found = find_python313()
    if found:
        os.environ[VARIABLE] = found
    else:
        sys.stderr.write(
            'Python 3.13 not found (no python3.13 on PATH that runs, none '
            'under pyenv): the py313 environment will fail; install it '
            '(pyenv install 3.13) or leave it out (TOX_SKIP_ENV=py313).\n'
        )
