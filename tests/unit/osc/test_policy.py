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

"""``openstack mfa policy set``: whom it changed, and why others failed."""

from __future__ import annotations

import io
from unittest import mock

from cliff.formatters import json_format
from osc_lib import exceptions

from mfa_osc.osc import policy as policy_cmd
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import policy as policy_flow
from tests.unit.osc import fakes


class TestPolicySetReport(fakes.CommandTestCase):
    """``policy set`` names whom it changed and why others failed."""

    def run_set(self, *argv: str) -> tuple[str, str | None]:
        rows = [
            bulk_flow.BulkRow(
                'u1', 'erin', 'd', 'not enrolled', bulk_flow.ACTION_GUARD,
                [['password']], bulk_flow.RESULT_DONE,
            ),
            bulk_flow.BulkRow(
                'u2', 'flood', 'd', 'unknown', bulk_flow.ACTION_LEFT, [],
                'failed: the user has more credentials than Keystone lists',
            ),
        ]  # fmt: skip
        policy = policy_flow.Policy('d', True, None, [])
        cmd = policy_cmd.SetPolicy(self.app, None)
        parsed = self.check_parser(
            cmd, ['--domain', 'd', '--required', *argv], []
        )
        self.app.stderr = io.StringIO()
        self.app.stdout = io.StringIO()
        with (
            mock.patch.object(
                policy_flow, 'set_policy', return_value=(policy, rows)
            ),
            mock.patch.object(
                policy_flow, 'covers_signed_in_user', return_value=False
            ),
        ):
            columns, data = cmd.take_action(parsed)
            error = None
            try:
                cmd.formatter = json_format.JSONFormatter()
                parsed.formatter = 'json'
                cmd.produce_output(parsed, columns, data)
            except exceptions.CommandError as exc:
                error = str(exc)
        return self.app.stderr.getvalue(), error

    def test_names_and_reasons(self) -> None:
        said, error = self.run_set()
        self.assertIn('guard rules', said)
        self.assertIn(': erin.', said)
        self.assertIn('flood: failed: the user has more credentials', said)
        assert error is not None
        self.assertIn('The policy is set, but 1 user(s)', error)

    def test_dry_run_says_nothing_was_changed(self) -> None:
        said, error = self.run_set('--dry-run')
        self.assertIn('would get guard rules', said)
        assert error is not None
        self.assertIn('nothing was changed', error)
        self.assertNotIn('The policy is set', error)


class TestPolicyCommands(fakes.CommandTestCase):
    def test_show_json_keys(self) -> None:
        cmd = policy_cmd.ShowPolicy(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'D'], [('domain', 'D')])
        policy = policy_flow.Policy('d1', True, '2027-03-31', ['admin'])
        with mock.patch.object(
            policy_flow, 'show', return_value=policy
        ) as flow:
            columns, data = cmd.take_action(parsed)
        flow.assert_called_once_with(self.mfa_client, 'D')
        self.assertEqual(('required', 'deadline', 'roles'), columns)
        required, deadline, roles = data
        self.assertEqual(
            (True, '2027-03-31', ['admin']),
            (required, deadline, roles.machine_readable()),
        )

    def test_show_without_policy(self) -> None:
        cmd = policy_cmd.ShowPolicy(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'D'], [])
        with mock.patch.object(policy_flow, 'show', return_value=None):
            _, data = cmd.take_action(parsed)
        self.assertEqual([False, None], list(data)[:2])

    def test_set_needs_required_and_domain(self) -> None:
        cmd = policy_cmd.SetPolicy(self.app, None)
        for argv in (['--domain', 'D'], ['--required']):
            self.assertRaises(
                fakes.base.ParserException, self.check_parser, cmd, argv, []
            )
        parsed = self.check_parser(
            cmd,
            ['--domain', 'D', '--required', '--deadline', '2027-03-31',
             '--role', 'admin', '--role', 'member'],
            [('roles', ['admin', 'member']), ('deadline', '2027-03-31')],
        )  # fmt: skip
        self.assertTrue(parsed.required)
