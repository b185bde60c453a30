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

"""Setting a throwaway Keystone up with ``keystone-manage``, and what
release it is.

The keys, the database and the bootstrap admin: :data:`SETUP_SCRIPT` runs
the commands of :func:`setup_phases` in one interpreter (importing
Keystone takes seconds), where :func:`script_interpreter` finds the one
running ``keystone-manage``; else they run as plain ``keystone-manage``
commands. :func:`keystone_facts` reads the release in that interpreter.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
import os
import subprocess
import sys

__all__ = [
    'SETUP_SCRIPT',
    'bootstrap_args',
    'keystone_facts',
    'script_interpreter',
    'set_wal_mode',
    'setup_phases',
]

# Runs keystone-manage's commands in ONE interpreter: importing keystone
# takes seconds, so four separate keystone-manage runs would take four times
# that.  The keys are set up first, then a marker file tells the parent it
# can start the server (which needs the keys) while the database is created.
SETUP_SCRIPT = """\
import json
import sys
import warnings

warnings.simplefilter('ignore')

from keystone.cmd import cli
from keystone.conf import CONF

config_file, marker, phases = sys.argv[1], sys.argv[2], sys.argv[3]
sqlite_path = sys.argv[4] if len(sys.argv) > 4 else ''
for index, commands in enumerate(json.loads(phases)):
    for command in commands:
        CONF.reset()
        CONF.clear()
        cli.main(argv=['keystone-manage', '--config-file', config_file]
                 + command)
        if command[0] == 'db_sync' and sqlite_path:
            import sqlite3
            db = sqlite3.connect(sqlite_path)
            db.execute('PRAGMA journal_mode=WAL')
            db.close()
    if index == 0:
        with open(marker, 'w') as f:
            f.write('ready')
"""


_KEYSTONE_FACTS = """\
import importlib.metadata, importlib.util, json
print(json.dumps([importlib.metadata.version('keystone'),
                  importlib.util.find_spec('keystone.wsgi') is not None]))
"""


def keystone_facts(interpreter: str) -> tuple[tuple[int, ...] | None, bool]:
    """The release of Keystone in ``interpreter``'s environment (None if
    unknown), and whether it has the ``keystone.wsgi`` module (Keystone 27
    and newer; assumed when unknown: a failure then shows in the log)."""
    try:
        proc = subprocess.run(
            [interpreter, '-c', _KEYSTONE_FACTS],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        version, has_wsgi = json.loads(proc.stdout)
        release = tuple(int(part) for part in str(version).split('.')[:3])
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError):
        return None, True
    return release, bool(has_wsgi)


def script_interpreter(script: str) -> str | None:
    """The Python interpreter that runs a console script, if known."""
    if os.path.dirname(os.path.abspath(script)) == os.path.dirname(
        os.path.abspath(sys.executable)
    ):
        return sys.executable
    try:
        with open(script, 'rb') as f:
            first = f.readline(4096)
    except OSError:
        return None
    if not first.startswith(b'#!'):
        return None
    words = first[2:].decode(errors='replace').split()
    if len(words) != 1 or not os.path.isabs(words[0]):
        return None
    if 'python' not in os.path.basename(words[0]):
        return None
    return words[0] if os.access(words[0], os.X_OK) else None


def set_wal_mode(path: str) -> None:
    """Put a sqlite database in WAL mode (it stays so, in the file)."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        db.execute('PRAGMA journal_mode=WAL')
    finally:
        db.close()


def bootstrap_args(
    url: str, username: str, project_name: str, region: str
) -> list[str]:
    """``keystone-manage bootstrap``'s arguments: the admin, its project,
    and the identity endpoints at ``url``."""
    return [
        'bootstrap',
        '--bootstrap-username',
        username,
        '--bootstrap-project-name',
        project_name,
        '--bootstrap-role-name',
        'admin',
        '--bootstrap-service-name',
        'keystone',
        '--bootstrap-region-id',
        region,
        '--bootstrap-admin-url',
        url,
        '--bootstrap-public-url',
        url,
        '--bootstrap-internal-url',
        url,
    ]


def setup_phases(bootstrap: Sequence[str]) -> list[list[list[str]]]:
    """The keystone-manage commands: the keys (which the server needs to
    start), then the database and ``bootstrap``."""
    owner: list[str] = []
    if os.geteuid() == 0:  # keystone-manage insists when run as root
        owner = ['--keystone-user', '0', '--keystone-group', '0']
    return [
        [['fernet_setup', *owner], ['credential_setup', *owner]],
        [['db_sync'], list(bootstrap)],
    ]
