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

"""New recovery codes are saved before Keystone holds them (issue 20/10).

A recovery-codes file that cannot be written must change nothing in
Keystone; a file whose codes Keystone then does not take is voided.
"""

from __future__ import annotations

import copy
import os
import resource
import signal
import stat
import subprocess
import sys
from typing import Any

import fixtures
from osc_lib import exceptions
from oslotest import base

from mfa_osc import account as mfa_account
from mfa_osc import recovery
from mfa_osc.osc import files
from mfa_osc.workflows import recovery as recovery_flow
from tests.unit.workflows import fakes


class Keeper:
    """Records what the workflow asks of the file, and when."""

    def __init__(self, ks: fakes.FakeKeystone, fail: bool = False) -> None:
        self.ks = ks
        self.fail = fail
        self.saved: list[str] = []
        self.at_save: tuple[Any, Any] | None = None
        self.voided = False

    def save(self, codes: list[str]) -> None:
        self.at_save = state(self.ks)
        if self.fail:
            raise exceptions.CommandError('Could not write F.')
        self.saved = list(codes)

    def void(self) -> None:
        self.voided = True


def state(ks: fakes.FakeKeystone) -> tuple[Any, Any]:
    return copy.deepcopy(ks.creds), copy.deepcopy(ks.users)


def secrets_of(codes: list[str]) -> set[str]:
    return {recovery.secret(recovery.normalize(c)) for c in codes}


class TestRegenerate(base.BaseTestCase):
    def regenerate(self, ks: fakes.FakeKeystone, keeper: Keeper) -> list[str]:
        client = fakes.as_keystone(ks)
        account = mfa_account.load_account(client, 'u1')
        return recovery_flow.regenerate(client, account, count=3, keep=keeper)

    def test_a_file_that_cannot_be_written_changes_nothing(self) -> None:
        ks = fakes.FakeKeystone()
        first, _ = fakes.do_enroll(ks)
        before = state(ks)
        keeper = Keeper(ks, fail=True)
        ks.calls = []
        self.assertRaises(exceptions.CommandError, self.regenerate, ks, keeper)
        self.assertEqual(before, keeper.at_save)
        self.assertEqual(before, state(ks))
        # The old codes are all there still.
        blobs = {c['blob'] for c in ks.totp_creds('u1')}
        self.assertLessEqual(secrets_of(first.recovery_codes), blobs)

    def test_saved_first_and_the_codes_shown(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        keeper = Keeper(ks)
        before = state(ks)
        shown = self.regenerate(ks, keeper)
        self.assertEqual(before, keeper.at_save)
        self.assertEqual(shown, keeper.saved)
        self.assertFalse(keeper.voided)

    def test_interrupted_at_every_step(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        ks.calls = []
        self.regenerate(ks, Keeper(ks))
        steps = len(ks.calls)
        voided_at = []
        saved_at = []
        for fail_at in range(1, steps + 1):
            ks = fakes.FakeKeystone()
            first, _ = fakes.do_enroll(ks)
            ks.calls = []
            ks.fail_at = fail_at
            keeper = Keeper(ks)
            self.assertRaises(fakes.Boom, self.regenerate, ks, keeper)
            ks.fail_at = None
            account = mfa_account.load_account(fakes.as_keystone(ks), 'u1')
            live = {account.totp[c] for c in account.recovery_ids}
            blobs = {c['blob'] for c in ks.totp_creds('u1')}
            if keeper.at_save is not None:
                saved_at.append(fail_at)
            if keeper.voided:
                voided_at.append(fail_at)
                # The file is removed; the old codes still work.
                self.assertLessEqual(
                    secrets_of(first.recovery_codes), blobs, fail_at
                )
            else:
                # The file is kept: every code in it works.
                self.assertLessEqual(secrets_of(keeper.saved), live, fail_at)
                self.assertLessEqual(secrets_of(keeper.saved), blobs, fail_at)
        # Voided up to the bookkeeping that makes the codes the
        # account's, kept when only deleting the old codes failed.
        self.assertTrue(voided_at)
        self.assertEqual(saved_at[: len(voided_at)], voided_at)
        self.assertLess(len(voided_at), len(saved_at))


class TestEnroll(base.BaseTestCase):
    def test_a_file_that_cannot_be_written_changes_nothing(self) -> None:
        ks = fakes.FakeKeystone()
        # NOTE: as the no-op PATCH of the planning leaves it.
        ks.users['u1']['options'] = {}
        keeper = Keeper(ks, fail=True)
        before = state(ks)
        ks.calls = []
        self.assertRaises(
            exceptions.CommandError, fakes.do_enroll, ks, keep=keeper
        )
        self.assertEqual(before, keeper.at_save)
        self.assertEqual(before, state(ks))

    def test_saved_first_and_the_codes_shown(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u1']['options'] = {}
        keeper = Keeper(ks)
        before = state(ks)
        result, _ = fakes.do_enroll(ks, keep=keeper)
        self.assertEqual(before, keeper.at_save)
        self.assertEqual(result.recovery_codes, keeper.saved)
        self.assertEqual(8, len(keeper.saved))
        self.assertFalse(keeper.voided)

    def test_no_codes_made_nothing_saved(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        keeper = Keeper(ks)
        result, _ = fakes.do_enroll(ks, name='laptop', keep=keeper)
        self.assertEqual([], result.recovery_codes)
        self.assertIsNone(keeper.at_save)

    def test_interrupted_at_every_step(self) -> None:
        ks = fakes.FakeKeystone()
        ks.calls = []
        fakes.do_enroll(ks, keep=Keeper(ks))
        steps = len(ks.calls)
        for fail_at in range(1, steps + 1):
            ks = fakes.FakeKeystone()
            ks.calls = []
            ks.fail_at = fail_at
            keeper = Keeper(ks)
            try:
                fakes.do_enroll(ks, keep=keeper)
            except fakes.Boom:
                pass
            ks.fail_at = None
            ks.check_invariant()
            account = mfa_account.load_account(fakes.as_keystone(ks), 'u1')
            live = {account.totp[c] for c in account.recovery_ids}
            if not keeper.voided:
                # Kept only when every code in it is the account's.
                self.assertLessEqual(secrets_of(keeper.saved), live, fail_at)
            else:
                self.assertFalse(secrets_of(keeper.saved) & live, fail_at)


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
