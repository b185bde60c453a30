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

"""``openstack mfa enforce``: its columns, with the action taken."""

from __future__ import annotations

import io
import json
from unittest import mock

from osc_lib import exceptions

from mfa_osc import account as mfa_account
from mfa_osc import rules as mfa_rules
from mfa_osc.osc import enforce
from mfa_osc.osc import policy as policy_cmd
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import policy as policy_flow
from tests.unit.osc import fakes


class TestEnforce(fakes.CommandTestCase):
    def run_with(
        self, result: enforce_flow.EnforceResult, *argv: str
    ) -> tuple[object, object]:
        cmd = enforce.EnforceMFA(self.app, None)
        parsed = self.check_parser(cmd, list(argv), [])
        self.app.stderr = io.StringIO()
        with (
            mock.patch.object(mfa_account, 'resolve_user') as resolve,
            mock.patch.object(
                enforce_flow, 'enforce', return_value=result
            ) as flow,
        ):
            columns, data = cmd.take_action(parsed)
        resolve.assert_called_once_with(self.mfa_client, 'bob', None)
        flow.assert_called_once_with(
            self.mfa_client,
            resolve.return_value,
            application_credentials=False,
        )
        return columns, data

    def test_enforced(self) -> None:
        rules = [['password', 'totp']]
        columns, data = self.run_with(
            enforce_flow.EnforceResult(
                'u2', enforce_flow.ACTION_ENFORCED, True, rules
            ),
            '--user',
            'bob',
            '--no-application-credentials',
        )
        self.assertEqual(('user_id', 'enforced', 'rules', 'action'), columns)
        user_id, enforced, rules_column, action = data  # type: ignore
        self.assertEqual('u2', user_id)
        self.assertTrue(enforced)
        self.assertEqual(rules, rules_column.machine_readable())
        self.assertEqual(enforce_flow.ACTION_ENFORCED, action)
        self.assertEqual('', self.app.stderr.getvalue())

    def test_guard_rules_are_explained(self) -> None:
        columns, data = self.run_with(
            enforce_flow.EnforceResult(
                'u2',
                enforce_flow.ACTION_GUARDED,
                False,
                [['password'], ['application_credential']],
            ),
            '--user',
            'bob',
            '--no-application-credentials',
        )
        self.assertEqual(enforce_flow.ACTION_GUARDED, data[3])  # type: ignore
        self.assertIn('guard rules are on', self.app.stderr.getvalue())

    def test_guard_wording_says_what_still_signs_in(self) -> None:
        # Issue 20: "the password still does" only when it does.
        _, data = self.run_with(
            enforce_flow.EnforceResult(
                'u2',
                enforce_flow.ACTION_GUARDED,
                False,
                [['application_credential'], ['totp', 'password']],
                still_signs_in=enforce_flow.guard_wording(
                    mfa_rules.MFAOptions.of(
                        {
                            mfa_rules.RULES_OPTION: [
                                ['application_credential'],
                                ['totp', 'password'],
                            ]
                        }
                    )
                ),
            ),
            '--user',
            'bob',
            '--no-application-credentials',
        )
        said = self.app.stderr.getvalue()
        self.assertNotIn('the password still does', said)
        self.assertIn('the password and the code together still do', said)


class TestEnforceAll(fakes.CommandTestCase):
    def rows(self, n: int) -> list[bulk_flow.BulkRow]:
        return [
            bulk_flow.BulkRow(
                f'u{i}',
                f'user{i}',
                'default',
                'code alone signs in',
                bulk_flow.ACTION_GUARD,
                [['password']],
                bulk_flow.RESULT_DONE,
            )
            for i in range(n)
        ]

    def run_all(self, *argv: str, **patch: object) -> tuple[int, str, str]:
        cmd = enforce.EnforceMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--all', *argv], [])
        self.app.stderr = io.StringIO()
        self.app.stdout = io.StringIO()
        with mock.patch.object(bulk_flow, 'enforce_all', **patch):
            columns, data = cmd.take_action(parsed)
            cmd.formatter = cmd._formatter_plugins['json'].obj
            parsed.formatter = 'json'
            parsed.columns = []
            parsed.noindent = True
            try:
                code = cmd.produce_output(parsed, columns, data)
            except KeyboardInterrupt:
                code = 130
        return code, self.app.stdout.getvalue(), self.app.stderr.getvalue()

    def test_ctrl_c_shows_the_users_done_and_exits_130(self) -> None:
        code, out, err = self.run_all(
            side_effect=bulk_flow.Interrupted(self.rows(2))
        )
        self.assertEqual(130, code)
        self.assertEqual(['u0', 'u1'], [r['id'] for r in json.loads(out)])
        self.assertIn('Interrupted: the 2 user(s) above were done', err)

    def test_dry_run_failure_says_nothing_was_changed(self) -> None:
        rows = self.rows(1)
        rows[0].result = 'not changed: the code alone is the only way in'
        cmd_error = None
        try:
            self.run_all('--dry-run', return_value=rows)
        except exceptions.CommandError as exc:
            cmd_error = str(exc)
        assert cmd_error is not None
        self.assertIn('nothing was changed', cmd_error)
        self.assertNotIn('the others were', cmd_error)


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
                cmd.formatter = cmd._formatter_plugins['json'].obj
                parsed.formatter = 'json'
                parsed.columns = []
                parsed.noindent = True
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
