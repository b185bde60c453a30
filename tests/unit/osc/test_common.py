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

"""What the commands share: the QR code, secret files, files written."""

from __future__ import annotations

import argparse
import io
import os
import stat
from types import SimpleNamespace
from unittest import mock

import fixtures
from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc import redact
from mfa_osc.osc import common
from mfa_osc.osc import files
from tests.unit.osc import fakes

SECRET = fakes.SECRET


class TestQR(base.TestCase):
    def test_half_blocks_quiet_zone_both_colours(self) -> None:
        text = common.qr_text('otpauth://totp/x?secret=' + SECRET)
        lines = text.splitlines()
        # Every line draws black on white explicitly and resets after.
        for line in lines:
            self.assertTrue(line.startswith('\x1b[30;107m'))
            self.assertTrue(line.endswith('\x1b[0m'))
        plain = common.qr_text('otpauth://totp/x?secret=' + SECRET, False)
        rows = plain.splitlines()
        # Quiet zone: 4 modules = 2 blank lines and 4 blank columns.
        self.assertEqual('', rows[0].strip())
        self.assertEqual('', rows[1].strip())
        self.assertTrue(all(r.startswith('    ') for r in rows))
        self.assertTrue(set(plain) <= set(' \n\u2580\u2584\u2588'))


class TestSecretFiles(base.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MockPatchObject(redact, '_known', set()))

    def write(self, name: str, text: str, mode: int = 0o600) -> str:
        path = os.path.join(self.dir, name)
        with open(path, 'w') as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path

    def test_file_stripped_and_registered(self) -> None:
        path = self.write('s', '  ' + SECRET + '\n')
        self.assertEqual(SECRET, files.read_secret(path))
        self.assertEqual('x ***', redact.scrub('x ' + SECRET))

    def test_stdin(self) -> None:
        with mock.patch('sys.stdin', io.StringIO('ABCD-EFGH-IJKL-MNOP\n')):
            self.assertEqual('ABCD-EFGH-IJKL-MNOP', files.read_secret('-'))

    def test_errors_are_argparse_errors(self) -> None:
        cases = [
            (os.path.join(self.dir, 'missing'), 'cannot read'),
            (self.write('empty', '\n'), 'is empty'),
            (self.write('big', 'A' * 5000), 'more than 4096'),
            (self.dir, 'cannot read'),
        ]
        for path, message in cases:
            exc = self.assertRaises(
                argparse.ArgumentTypeError, files.read_secret, path
            )
            self.assertIn(message, str(exc))
        with mock.patch('sys.stdin', io.StringIO('')):
            exc = self.assertRaises(
                argparse.ArgumentTypeError, files.read_secret, '-'
            )
        self.assertIn('standard input is empty', str(exc))
        binary = os.path.join(self.dir, 'bin')
        with open(binary, 'wb') as handle:
            handle.write(b'\xff\xfe\x00')
        self.assertRaises(
            argparse.ArgumentTypeError, files.read_secret, binary
        )

    def test_readable_by_others_warns(self) -> None:
        logs = self.useFixture(fixtures.FakeLogger(name=files.__name__))
        path = self.write('s', SECRET, 0o644)
        self.assertEqual(SECRET, files.read_secret(path))
        self.assertIn('may be read by other users', logs.output)
        self.assertNotIn(SECRET, logs.output)

    def test_recovery_code_file_option(self) -> None:
        parser = argparse.ArgumentParser()
        common.add_proof_options(parser, '')
        path = self.write('code', 'ABCD-EFGH-IJKL-MNOP\n')
        args = parser.parse_args(['--recovery-code-file', path])
        self.assertEqual('ABCD-EFGH-IJKL-MNOP', args.recovery_code)
        self.assertIsNone(args.passcode)
        with mock.patch('sys.stderr', io.StringIO()):
            self.assertRaises(
                SystemExit,
                parser.parse_args,
                ['--recovery-code', 'x', '--recovery-code-file', path],
            )


class TestFilesWritten(base.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch('os.umask', os.umask))
        old = os.umask(0)
        self.addCleanup(os.umask, old)

    def test_modes_0600_whatever_the_umask(self) -> None:
        for name in ('qr.png', 'qr.svg'):
            path = os.path.join(self.dir, name)
            files.write_qr_file(path, 'otpauth://totp/x?secret=' + SECRET)
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        path = os.path.join(self.dir, 'codes.txt')
        files.write_recovery_file(path, 'alice', ['AAAA-BBBB'])
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))

    def test_existing_or_linked_paths_never_written(self) -> None:
        target = os.path.join(self.dir, 'target')
        with open(target, 'w') as handle:
            handle.write('keep')
        for name in ('link.png', 'link.svg', 'link.txt', 'dangling.png'):
            path = os.path.join(self.dir, name)
            os.symlink(target if 'link' in name else target + '-nowhere', path)
            if name.endswith('.txt'):
                call = (files.write_recovery_file, path, 'u', ['A'])
            else:
                call = (files.write_qr_file, path, 'otpauth://x')
            exc = self.assertRaises(exceptions.CommandError, *call)
            self.assertIn('already exists', str(exc))
        with open(target) as handle:
            self.assertEqual('keep', handle.read())
        self.assertFalse(os.path.exists(target + '-nowhere'))


class TestIsTerminal(base.TestCase):
    def test_a_stream_says(self) -> None:
        tty = mock.Mock()
        tty.isatty.return_value = True
        self.assertTrue(common.is_terminal(tty))
        tty.isatty.return_value = False
        self.assertFalse(common.is_terminal(tty))

    def test_no_answer_is_no_terminal(self) -> None:
        closed = io.StringIO()
        closed.close()
        broken = mock.Mock()
        broken.isatty.side_effect = OSError('gone')
        for stream in (closed, broken, object(), io.StringIO()):
            self.assertFalse(common.is_terminal(stream), stream)

    def test_standard_input_by_default(self) -> None:
        tty = mock.Mock()
        tty.isatty.return_value = True
        with mock.patch('sys.stdin', tty):
            self.assertTrue(common.is_terminal())
        with mock.patch('sys.stdin', None):
            self.assertFalse(common.is_terminal())
        with mock.patch('sys.stdin', io.StringIO()):
            self.assertFalse(common.is_terminal())


class TestAskingPeople(fakes.CommandTestCase):
    def test_no_terminal_needs_yes(self) -> None:
        self.assertRaises(
            exceptions.CommandError,
            common.confirm,
            self.app,
            'Remove?',
            False,
        )
        common.confirm(self.app, 'Remove?', True)

    def test_fresh_second_factor_only_from_the_plugin(self) -> None:
        def app(auth: object) -> object:
            return SimpleNamespace(client_manager=SimpleNamespace(auth=auth))

        fresh = SimpleNamespace(fresh_second_factor=True)
        cached = SimpleNamespace(fresh_second_factor=False)
        self.assertTrue(common.fresh_second_factor(app(fresh)))
        self.assertFalse(common.fresh_second_factor(app(cached)))
        # NOTE: another auth type (v3password), or no sign-in yet.
        self.assertFalse(common.fresh_second_factor(app(object())))
        self.assertFalse(common.fresh_second_factor(app(None)))
