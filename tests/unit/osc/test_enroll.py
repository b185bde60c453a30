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

"""``openstack mfa enroll``: the parser and the checks before requests."""

from __future__ import annotations

import io
import os
from unittest import mock

import fixtures
from osc_lib import exceptions
from osc_lib.tests import utils as tests_utils

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc.osc import enroll
from mfa_osc.workflows import errors as workflow_errors
from tests.unit.osc import fakes

SECRET = fakes.SECRET


class TestEnroll(fakes.CommandTestCase):
    def test_parser(self) -> None:
        cmd = enroll.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd,
            ['--name', 'phone', '--passcode', '123456', '--secret', SECRET],
            [('name', 'phone'), ('passcode', '123456'), ('secret', SECRET)],
        )
        self.assertEqual(8, parsed.recovery_codes)
        self.assertIsNone(parsed.application_credentials)

    def test_application_credentials_flags(self) -> None:
        cmd = enroll.EnrollMFA(self.app, None)
        self.check_parser(
            cmd,
            ['--no-application-credentials'],
            [('application_credentials', False)],
        )
        self.check_parser(
            cmd,
            ['--application-credentials'],
            [('application_credentials', True)],
        )

    def test_no_terminal_no_passcode_refused_before_requests(self) -> None:
        cmd = enroll.EnrollMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--secret', SECRET], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn('--passcode', str(exc))
        self.assertEqual([], self.mfa_client.mock_calls)

    def test_no_such_user_said_before_the_terminal(self) -> None:
        self.mfa_client.find_users.return_value = []
        self.mfa_client.get_user.side_effect = mfa_client.NotFound('gone')
        cmd = enroll.EnrollMFA(self.app, None)
        for extra, listing in (
            ([], '`openstack user list`'),
            (['--user-domain', 'd1'], '`openstack user list --domain d1`'),
        ):
            self.mfa_client.find_domain_id.return_value = 'd1'
            parsed = self.check_parser(
                cmd, ['--user', 'nosuchuser', '--secret', SECRET, *extra], []
            )
            exc = self.assertRaises(
                exceptions.CommandError, cmd.take_action, parsed
            )
            self.assertTrue(
                str(exc).startswith("There is no user 'nosuchuser'"), exc
            )
            self.assertIn(listing, str(exc))
            self.assertNotIn('terminal', str(exc))
            self.mfa_client.create_credential.assert_not_called()
            self.mfa_client.update_user_options.assert_not_called()

    def test_secret_must_reach_an_app(self) -> None:
        cmd = enroll.EnrollMFA(self.app, None)
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
        cmd = enroll.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd,
            ['--secret', SECRET, '--passcode', '1', '--recovery-file', path],
            [],
        )
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn('never overwritten', str(exc))
        self.assertEqual([], self.mfa_client.mock_calls)

    def test_workflow_errors_become_command_errors(self) -> None:
        cmd = enroll.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd, ['--secret', SECRET, '--passcode', '123456'], []
        )
        with mock.patch.object(
            mfa_account,
            'resolve_user',
            side_effect=workflow_errors.NeedsAdministrator('ask an admin'),
        ):
            exc = self.assertRaises(
                exceptions.CommandError, cmd.take_action, parsed
            )
        self.assertEqual('ask an admin', str(exc))

    def test_secret_file_and_stdin(self) -> None:
        path = self.useFixture(fixtures.TempDir()).join('secret')
        with open(path, 'w') as handle:
            handle.write(SECRET.lower() + '\n')
        cmd = enroll.EnrollMFA(self.app, None)
        self.check_parser(
            cmd, ['--secret-file', path], [('secret', SECRET.lower())]
        )
        with mock.patch('sys.stdin', io.StringIO(SECRET)):
            self.check_parser(
                cmd, ['--secret-file', '-'], [('secret', SECRET)]
            )
        self.assertRaises(
            tests_utils.ParserException,
            self.check_parser,
            cmd,
            ['--secret', SECRET, '--secret-file', path],
            [],
        )
        text = cmd.get_parser('enroll').format_help()
        self.assertIn('prefer --secret-file', text)

    def test_qr_file_removed_when_enrollment_fails(self) -> None:
        path = self.useFixture(fixtures.TempDir()).join('qr.svg')
        cmd = enroll.EnrollMFA(self.app, None)
        parsed = self.check_parser(
            cmd,
            ['--secret', SECRET, '--passcode', '123456', '--qr-file', path],
            [],
        )
        plan = mock.Mock(warnings=[], name='device-1')
        self.mfa_client.auth_url.return_value = 'https://keystone.example/v3'
        with (
            mock.patch.object(mfa_account, 'resolve_user'),
            mock.patch.object(
                enroll.enroll_plan, 'prepare', return_value=plan
            ),
            mock.patch.object(
                enroll.enroll_flow,
                'enroll',
                side_effect=workflow_errors.WorkflowError('refused'),
            ),
        ):
            self.assertRaises(exceptions.CommandError, cmd.take_action, parsed)
        self.assertFalse(os.path.exists(path))
