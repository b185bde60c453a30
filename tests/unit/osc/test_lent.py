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

"""The clouds.yaml files exec lends: found and removed after a kill -9."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys

import fixtures
from oslotest import base

from mfa_osc.auth import revocations
from mfa_osc.osc import lent

TEXT = json.dumps(
    {
        'clouds': {
            'mfa-exec': {
                'auth_type': 'v3token',
                'auth': {'auth_url': 'http://k.test/v3', 'token': 'gAAAA-t'},
            }
        }
    }
)
#: Lends a file, prints its path and is killed, as by `kill -9`.
KILLED = """
import os, signal, sys
from mfa_osc.osc import lent
with lent.lend(sys.argv[1], lent.Path(sys.argv[2])) as path:
    print(path, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


class TestLent(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = lent.Path(self.useFixture(fixtures.TempDir()).path) / 'c'

    def test_private_file_below_the_cache(self) -> None:
        with lent.lend(TEXT, self.dir) as path:
            self.assertTrue(
                path.startswith(str(self.dir / 'mfa-osc-exec' / 'mfa-exec-'))
            )
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
            folder = os.path.dirname(path)
            self.assertEqual(0o700, stat.S_IMODE(os.stat(folder).st_mode))
            # In use: left alone.
            self.assertEqual(0, lent.collect(self.dir))
            self.assertTrue(os.path.exists(path))
        self.assertFalse(os.path.exists(folder))
        self.assertEqual(set(), lent.HELD)

    def test_left_by_a_killed_exec_is_collected(self) -> None:
        run = subprocess.run(
            [sys.executable, '-c', KILLED, TEXT, str(self.dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        self.assertEqual(-signal.SIGKILL, run.returncode, run.stderr)
        path = run.stdout.strip()
        self.assertTrue(os.path.exists(path))
        self.assertEqual(1, lent.collect(self.dir))
        self.assertFalse(os.path.exists(os.path.dirname(path)))
        # Its token waits for `mfa logout` to revoke it.
        self.assertEqual(
            [('http://k.test/v3', ['gAAAA-t'])],
            [
                revocations.pending_tokens(d)
                for _, d in revocations.pending(self.dir)
            ],
        )

    def test_only_its_own_folders_are_removed(self) -> None:
        # NOTE: the cache directory may be a folder of the user's own.
        base = self.dir / lent.LENT_DIR
        mine = base / 'my-project'
        mine.mkdir(parents=True, mode=0o700)
        os.chmod(self.dir, 0o700)
        os.chmod(base, 0o700)
        (mine / 'lock').write_text('')
        self.assertEqual(0, lent.collect(self.dir))
        self.assertTrue((mine / 'lock').exists())
