"""Command tests: parsers, output and the checks made before any request."""

from __future__ import annotations

import io
import json
import os
from unittest import mock

import fixtures
from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc import enrollment
from mfa_osc import totp
from mfa_osc.osc import mfa

SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'


class CommandTestCase(base.TestCommand):
    def setUp(self) -> None:
        super().setUp()
        self.mfa_client = mock.Mock()
        self.app.client_manager.mfa = self.mfa_client
        self.terminal = self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.osc.mfa.is_terminal', return_value=False
            )
        ).mock


class TestEnroll(CommandTestCase):
    def test_parser(self) -> None:
        cmd = mfa.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd,
            ['--name', 'phone', '--passcode', '123456', '--secret', SECRET],
            [('name', 'phone'), ('passcode', '123456'), ('secret', SECRET)],
        )
        self.assertEqual(8, parsed.recovery_codes)
        self.assertFalse(parsed.no_application_credentials)

    def test_no_terminal_no_passcode_refused_before_requests(self) -> None:
        cmd = mfa.EnrollMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--secret', SECRET], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn('--passcode', str(exc))
        self.assertEqual([], self.mfa_client.mock_calls)

    def test_secret_must_reach_an_app(self) -> None:
        cmd = mfa.EnrollMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--passcode', '123456'], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn('--show-secret', str(exc))
        self.assertEqual([], self.mfa_client.mock_calls)

    def test_existing_recovery_file_refused(self) -> None:
        path = self.useFixture(fixtures.TempDir()).join('codes.txt')
        with open(path, 'w') as f:
            f.write('x')
        cmd = mfa.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd,
            ['--secret', SECRET, '--passcode', '1', '--recovery-file', path],
            [],
        )
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn('never overwritten', str(exc))

    def test_workflow_errors_become_command_errors(self) -> None:
        cmd = mfa.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd, ['--secret', SECRET, '--passcode', '123456'], []
        )
        with mock.patch.object(
            enrollment,
            'resolve_user',
            side_effect=enrollment.NeedsAdministrator('ask an admin'),
        ):
            exc = self.assertRaises(
                exceptions.CommandError, cmd.take_action, parsed
            )
        self.assertEqual('ask an admin', str(exc))


class TestRemove(CommandTestCase):
    def test_device_or_all_required(self) -> None:
        cmd = mfa.RemoveMFA(self.app, None)
        self.assertRaises(base.ParserException, self.check_parser, cmd, [], [])
        self.assertRaises(
            base.ParserException,
            self.check_parser,
            cmd,
            ['--all', '--device', 'x'],
            [],
        )

    def test_no_terminal_needs_yes(self) -> None:
        self.assertRaises(
            exceptions.CommandError, mfa._confirm, 'Remove?', False
        )
        mfa._confirm('Remove?', True)


class TestPasscodeShow(CommandTestCase):
    def test_show(self) -> None:
        cmd = mfa.ShowPasscode(self.app, None)
        self.assertFalse(cmd.auth_required)
        parsed = self.check_parser(
            cmd, ['--secret', SECRET.lower()], [('secret', SECRET.lower())]
        )
        columns, data = cmd.take_action(parsed)
        self.assertEqual(('passcode', 'seconds_left'), columns)
        self.assertIn(totp.window_offset(SECRET, data[0]), (0, -1))

    def test_from_environment(self) -> None:
        with mock.patch.dict(os.environ, {'OS_TOTP_SECRET': SECRET}):
            cmd = mfa.ShowPasscode(self.app, None)
            parsed = self.check_parser(cmd, [], [('secret', SECRET)])
        self.assertEqual(6, len(cmd.take_action(parsed)[1][0]))

    def test_no_secret(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            cmd = mfa.ShowPasscode(self.app, None)
            parsed = self.check_parser(cmd, [], [])
        self.assertRaises(exceptions.CommandError, cmd.take_action, parsed)


class TestQR(base.TestCase):
    def test_half_blocks_quiet_zone_both_colours(self) -> None:
        text = mfa.qr_text('otpauth://totp/x?secret=' + SECRET)
        lines = text.splitlines()
        # Every line draws black on white explicitly and resets after.
        for line in lines:
            self.assertTrue(line.startswith('\x1b[30;107m'))
            self.assertTrue(line.endswith('\x1b[0m'))
        plain = mfa.qr_text('otpauth://totp/x?secret=' + SECRET, False)
        rows = plain.splitlines()
        # Quiet zone: 4 modules = 2 blank lines and 4 blank columns.
        self.assertEqual('', rows[0].strip())
        self.assertEqual('', rows[1].strip())
        self.assertTrue(all(r.startswith('    ') for r in rows))
        self.assertTrue(set(plain) <= set(' \n\u2580\u2584\u2588'))


class TestStatusAll(CommandTestCase):
    def test_all_is_a_list(self) -> None:
        rows = [
            {
                'id': 'u1',
                'name': 'alice',
                'domain_id': 'default',
                'devices': 1,
                'recovery_codes_left': 8,
                'unverified': 0,
                'state': 'enforced',
                'admin': True,
            }
        ]
        self.mfa_client.truncated = []
        cmd = mfa.ShowMFAStatus(self.app, None)
        parsed = self.check_parser(cmd, ['--all', '-f', 'json'], [])
        with mock.patch.object(enrollment, 'audit', return_value=rows):
            columns, data = cmd.take_action(parsed)
            self.assertEqual(mfa.AUDIT_COLUMNS, columns)
            self.app.stdout = io.StringIO()
            cmd.formatter = cmd._formatter_plugins['json'].obj
            cmd.produce_output(parsed, columns, data)

        self.assertEqual(rows, json.loads(self.app.stdout.getvalue()))

    def test_domain_needs_all(self) -> None:
        cmd = mfa.ShowMFAStatus(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'd'], [])
        self.assertRaises(exceptions.CommandError, cmd.take_action, parsed)
