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

"""``openstack mfa enforce``: one user's result as one item, the rows of
``--all`` in every list format, with the action taken."""

from __future__ import annotations

import csv
import io
import json
import logging
from unittest import mock

from cliff.formatters import table
import fixtures
from osc_lib import exceptions
from osc_lib.test import base
import yaml

from mfa_osc import account as mfa_account
from mfa_osc import rules as mfa_rules
from mfa_osc.client import lists
from mfa_osc.osc import enforce
from mfa_osc.osc import listing
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import enforce as enforce_flow
from tests.unit.osc import fakes

ENFORCED = enforce_flow.EnforceResult(
    'u2', enforce_flow.ACTION_ENFORCED, True, [['password', 'totp']]
)


class TestEnforce(fakes.CommandTestCase):
    def run_with(
        self, result: enforce_flow.EnforceResult, *argv: str
    ) -> tuple[object, object]:
        cmd = enforce.EnforceMFA(self.app, None)
        parsed = self.check_parser(cmd, list(argv), [])
        cmd.formatter = table.TableFormatter()
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

    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.truncated = []

    def run_all(self, *argv: str, **patch: object) -> tuple[int, str, str]:
        """Run ``enforce --all ARGV`` as cliff does: code, stdout, stderr."""
        cmd = enforce.EnforceMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--all', *argv], [])
        self.app.stderr = io.StringIO()
        self.app.stdout = io.StringIO()
        patch.setdefault('return_value', self.rows(2))
        with mock.patch.object(bulk_flow, 'enforce_all', **patch):
            try:
                code = cmd.run(parsed)
            except KeyboardInterrupt:
                code = 130
        return code, self.app.stdout.getvalue(), self.app.stderr.getvalue()

    def test_csv(self) -> None:
        # Issue 21: a release note promised -f csv; a ShowOne refused it.
        code, out, _ = self.run_all('-f', 'csv', '-c', 'id', '-c', 'rules')
        self.assertEqual(0, code)
        self.assertEqual(
            [
                ['id', 'rules'],
                ['u0', "[['password']]"],
                ['u1', "[['password']]"],
            ],
            list(csv.reader(io.StringIO(out))),
        )

    def test_json(self) -> None:
        _, out, _ = self.run_all('-f', 'json')
        rows = json.loads(out)
        self.assertEqual(['u0', 'u1'], [r['id'] for r in rows])
        self.assertEqual([['password']], rows[0]['rules'])
        self.assertEqual(list(enforce.BULK_COLUMNS), list(rows[0]))

    def test_value_sorted_by_cliff(self) -> None:
        _, out, _ = self.run_all(
            '-f', 'value', '-c', 'name', '--sort-column', 'name',
            '--sort-descending',
        )  # fmt: skip
        self.assertEqual('user1\nuser0\n', out)

    def test_yaml(self) -> None:
        _, out, _ = self.run_all('-f', 'yaml', '-c', 'result')
        self.assertEqual([{'result': 'done'}] * 2, yaml.safe_load(out))

    def test_table_shows_rules_as_text(self) -> None:
        _, out, _ = self.run_all('-c', 'name', '-c', 'rules')
        self.assertIn('| user0 | password |', out)

    def test_shell_is_not_a_list_format(self) -> None:
        cmd = enforce.EnforceMFA(self.app, None)
        self.assertRaises(
            base.ParserException,
            self.check_parser, cmd, ['--all', '-f', 'shell'], [],
        )  # fmt: skip

    def test_truncated_lists_are_warned_of(self) -> None:
        logger = self.useFixture(
            fixtures.FakeLogger(name=listing.__name__, level=logging.INFO)
        )
        self.mfa_client.truncated = ['users']
        self.run_all('-f', 'json')
        self.assertIn('cut these lists short: users; ', logger.output)
        self.assertIn(lists.LIMIT_ADVICE, logger.output)

    def test_nothing_to_do(self) -> None:
        code, out, err = self.run_all('-f', 'json', return_value=[])
        self.assertEqual((0, []), (code, json.loads(out)))
        self.assertIn('Nothing to do: every user', err)

    def test_a_failed_row_is_a_non_zero_exit_after_the_rows(self) -> None:
        rows = self.rows(2)
        rows[1].result = 'failed: Keystone answered 500'
        self.app.stdout = io.StringIO()
        exc = self.assertRaises(
            exceptions.CommandError,
            self.run_all, '-f', 'value', '-c', 'result', return_value=rows,
        )  # fmt: skip
        self.assertIn('1 user(s) could not be changed', str(exc))

    def test_ctrl_c_shows_the_users_done_and_exits_130(self) -> None:
        code, out, err = self.run_all(
            '-f', 'json', side_effect=bulk_flow.Interrupted(self.rows(2))
        )
        self.assertEqual(130, code)
        self.assertEqual(['u0', 'u1'], [r['id'] for r in json.loads(out)])
        self.assertIn('Interrupted: the 2 user(s) above were done', err)

    def test_dry_run_failure_says_nothing_was_changed(self) -> None:
        rows = self.rows(1)
        rows[0].result = 'not changed: the code alone is the only way in'
        cmd_error = None
        try:
            self.run_all('--dry-run', '-f', 'json', return_value=rows)
        except exceptions.CommandError as exc:
            cmd_error = str(exc)
        assert cmd_error is not None
        self.assertIn('nothing was changed', cmd_error)
        self.assertNotIn('the others were', cmd_error)


class TestEnforceOneFormats(fakes.CommandTestCase):
    """One user's result is one item, in the formats that show one."""

    def enforce(self, *argv: str) -> str:
        with (
            mock.patch.object(mfa_account, 'resolve_user'),
            mock.patch.object(enforce_flow, 'enforce', return_value=ENFORCED),
        ):
            return self.run_command(
                enforce.EnforceMFA(self.app, None), ['--user', 'bob', *argv]
            )

    def test_json_is_one_object(self) -> None:
        self.assertEqual(
            {
                'user_id': 'u2',
                'enforced': True,
                'rules': [['password', 'totp']],
                'action': enforce_flow.ACTION_ENFORCED,
            },
            json.loads(self.enforce('-f', 'json')),
        )

    def test_value_and_columns(self) -> None:
        out = self.enforce('-f', 'value', '-c', 'enforced', '-c', 'user_id')
        self.assertEqual('u2\nTrue\n', out)

    def test_csv_is_refused_before_any_change(self) -> None:
        cmd = enforce.EnforceMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--user', 'bob', '-f', 'csv'], [])
        with mock.patch.object(enforce_flow, 'enforce') as flow:
            exc = self.assertRaises(exceptions.CommandError, cmd.run, parsed)
        flow.assert_not_called()
        self.assertEqual(
            '-f csv prints the rows of --all; for one user use -f table, '
            'json, yaml or value.',
            str(exc),
        )
