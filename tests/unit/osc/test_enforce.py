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
from unittest import mock

from mfa_osc import account as mfa_account
from mfa_osc.osc import enforce
from mfa_osc.workflows import enforce as enforce_flow
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
