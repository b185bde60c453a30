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

"""The recovery-codes file: written whole and 0600 or not at all, never
over an existing path, removed when voided."""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys

import fixtures
from osc_lib import exceptions
from oslotest import base

from mfa_osc.osc import files


class TestRecoveryFile(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'codes.txt')

    def test_written_whole_0600_and_nothing_else_left(self) -> None:
        kept = files.RecoveryFile(self.path, 'alice')
        kept.save(['AAAA-BBBB', 'CCCC-DDDD'])
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))
        with open(self.path) as handle:
            lines = handle.read().splitlines()
        self.assertEqual(['AAAA-BBBB', 'CCCC-DDDD'], lines[1:])
        self.assertEqual(['codes.txt'], os.listdir(self.dir))

    def test_file_size_limit_leaves_no_file(self) -> None:
        # NOTE: a real short write in a child process: RLIMIT_FSIZE with
        # SIGXFSZ ignored makes write(2) fail with EFBIG, as a full disk
        # makes it fail with ENOSPC.
        code = (
            'import sys; from mfa_osc.osc import files; '
            'files.RecoveryFile(sys.argv[1], "alice")'
            '.save(["ABCD-EFGH-IJKL-MNOP"] * 32)'
        )

        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))

        out = subprocess.run(
            [sys.executable, '-c', code, self.path],
            capture_output=True,
            text=True,
            preexec_fn=limit,
            check=False,
        )
        self.assertNotEqual(0, out.returncode)
        self.assertIn(
            f'Could not write {self.path} (file too large): raise the file '
            'size limit (ulimit -f) or choose another path with '
            '--recovery-file; nothing was changed in Keystone.',
            out.stderr,
        )
        self.assertEqual([], os.listdir(self.dir))

    def test_no_space_message(self) -> None:
        import errno

        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.osc.files.os.fsync',
                side_effect=OSError(errno.ENOSPC, 'No space left on device'),
            )
        )
        kept = files.RecoveryFile(self.path, 'alice')
        exc = self.assertRaises(
            exceptions.CommandError, kept.save, ['AAAA-BBBB']
        )
        self.assertEqual(
            f'Could not write {self.path} (no space left on device): free '
            'some space or choose another path with --recovery-file; '
            'nothing was changed in Keystone.',
            str(exc),
        )
        self.assertEqual([], os.listdir(self.dir))
        self.assertFalse(kept.written)
        self.assertEqual('', kept.explain())

    def test_existing_path_never_replaced(self) -> None:
        with open(self.path, 'w') as handle:
            handle.write('keep')
        kept = files.RecoveryFile(self.path, 'alice')
        exc = self.assertRaises(
            exceptions.CommandError, kept.save, ['AAAA-BBBB']
        )
        self.assertIn('already exists', str(exc))
        with open(self.path) as handle:
            self.assertEqual('keep', handle.read())
        self.assertEqual(['codes.txt'], os.listdir(self.dir))

    def test_voided_file_removed_and_said(self) -> None:
        kept = files.RecoveryFile(self.path, 'alice')
        kept.save(['AAAA-BBBB'])
        kept.void()
        self.assertFalse(os.path.exists(self.path))
        with self.assertRaisesRegex(
            exceptions.CommandError,
            r'^Keystone failed\. .*codes\.txt was removed: its codes would '
            r'not work\.$',
        ):
            with kept.explained():
                raise exceptions.CommandError('Keystone failed.')

    def test_no_path_no_file(self) -> None:
        kept = files.RecoveryFile(None, 'alice')
        kept.save(['AAAA-BBBB'])
        kept.void()
        self.assertEqual([], os.listdir(self.dir))
