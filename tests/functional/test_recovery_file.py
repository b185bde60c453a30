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

"""``--recovery-file`` on a full disk, through the real CLI (issue 20/10).

A recovery-codes file that cannot be written must change nothing in
Keystone: the old codes keep working, no empty file blocks a second run
with the same path, and the error says what to do. The full disk is a
4 KiB tmpfs filled up (the tests run as root, as in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

from mfa_osc import recovery
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base


def bare(code: str) -> str:
    return code.replace('-', '')


class TestRecoveryFileOnAFullDisk(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.full = os.path.join(self.home, 'full')
        os.mkdir(self.full)
        mount = shutil.which('mount') or '/bin/mount'
        umount = shutil.which('umount') or '/bin/umount'
        subprocess.run(
            [mount, '-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', self.full],
            check=True,
        )
        self.addCleanup(subprocess.run, [umount, '-l', self.full], check=False)
        self.filler = os.path.join(self.full, 'filler')
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b'\0' * 512)
        except OSError:
            pass
        finally:
            os.close(fd)
        self.path = os.path.join(self.full, 'codes.txt')

    def free_space(self) -> None:
        os.unlink(self.filler)

    def assert_refused_cleanly(self, stderr: str) -> None:
        self.assertIn(
            f'Could not write {self.path} (no space left on device): free '
            'some space or choose another path with --recovery-file; '
            'nothing was changed in Keystone.',
            stderr,
        )
        self.assertNotIn('Traceback', stderr)
        self.assertNotIn('Errno', stderr)
        self.assertEqual(['filler'], os.listdir(self.full))

    def blobs(self, user: local_keystone.KeystoneUser) -> set[str]:
        return {c['blob'] for c in self.credentials(user.id)}

    def test_recovery_code_create(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        first = self.openstack_json(
            *self.enroll_args(secret),
            env=self.env(user),
        )['recovery_codes']
        self.assertEqual(8, len(first))
        before = self.blobs(user)
        self.assertEqual(9, len(before))

        failed = self.openstack(
            'mfa',
            'recovery',
            'code',
            'create',
            '--recovery-file',
            self.path,
            env=self.env(user, secret),
            expect_fail=True,
        )
        self.assert_refused_cleanly(failed.stderr)
        # Nothing changed in Keystone: the same credentials, and an old
        # code still signs in.
        self.assertEqual(before, self.blobs(user))
        self.assertEqual(8, len(self.book(user.id)['recovery_codes']))
        token = self.openstack_json(
            'token',
            'issue',
            env=self.env(user, recovery.secret(bare(first[0]))),
        )
        self.assertEqual(user.id, token['user_id'])

        # With space again, the same path works.
        self.free_space()
        new = json.loads(
            self.openstack(
                'mfa',
                'recovery',
                'code',
                'create',
                '--count',
                '3',
                '--recovery-file',
                self.path,
                '-f',
                'json',
                env=self.env(user, secret),
            ).stdout
        )['recovery_codes']
        self.assertEqual(0o600, stat.S_IMODE(os.stat(self.path).st_mode))
        with open(self.path) as handle:
            self.assertEqual(new, handle.read().splitlines()[1:])
        self.assertEqual(
            {secret, *(recovery.secret(bare(c)) for c in new)},
            self.blobs(user),
        )
        self.assertEqual(['codes.txt'], os.listdir(self.full))

    def test_enroll(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        failed = self.openstack(
            *self.enroll_args(secret, '--recovery-file', self.path),
            env=self.env(user),
            expect_fail=True,
        )
        self.assert_refused_cleanly(failed.stderr)
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual([], self.credentials(user.id, 'mfa-osc'))
        self.assertEqual({}, self.user_record(user.id)['options'])
        self.assertEqual(201, self.password_status(user))

        self.free_space()
        data = self.openstack_json(
            *self.enroll_args(secret, '--recovery-file', self.path),
            env=self.env(user),
        )
        self.assertTrue(data['enforced'])
        with open(self.path) as handle:
            self.assertEqual(
                data['recovery_codes'], handle.read().splitlines()[1:]
            )
        self.assertEqual(9, len(self.blobs(user)))
        self.assert_invariant(user)


class TestKeystoneFailsAfterTheFile(mfa_base.MFATestCase):
    """The file is written, then Keystone fails: the file is removed."""

    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()

    def test_recovery_code_create(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        self.openstack(
            *self.enroll_args(secret),
            env=self.env(user),
        )
        env = self.env(user, secret, auth_url=self.proxy.auth_url)
        path = os.path.join(self.home, 'codes.txt')

        # A run that succeeds shows where the first code is created.
        self.proxy.reset()
        self.openstack(
            'mfa', 'recovery', 'code', 'create', '--count', '2', env=env
        )
        posts = [
            n
            for n, (method, url) in enumerate(self.proxy.requests, 1)
            if method == 'POST' and url.startswith('/v3/credentials')
        ]
        self.assertTrue(posts)
        before = {c['blob'] for c in self.credentials(user.id)}

        self.proxy.reset(fail_at=posts[0])
        failed = self.openstack(
            'mfa',
            'recovery',
            'code',
            'create',
            '--count',
            '2',
            '--recovery-file',
            path,
            env=env,
            expect_fail=True,
        )
        self.assertIn(
            f'{path} was removed: its codes would not work.', failed.stderr
        )
        self.assertNotIn('Traceback', failed.stderr)
        self.assertFalse(os.path.lexists(path))
        after = {c['blob'] for c in self.credentials(user.id)}
        self.assertEqual(before, after)
