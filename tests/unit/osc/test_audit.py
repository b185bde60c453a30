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

"""``openstack mfa audit``: one row per user, in every list format."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging

import fixtures
import yaml

from mfa_osc.client import lists
from mfa_osc.osc import audit
from mfa_osc.osc import listing
from mfa_osc.workflows import status as status_flow
from tests.unit.osc import fakes

ROW = dataclasses.asdict(fakes.ROW)


class TestAudit(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.truncated = []
        self.flow = self.useFixture(
            fixtures.MockPatchObject(
                status_flow, 'audit', return_value=[fakes.ROW]
            )
        ).mock

    def audit(self, *argv: str) -> str:
        return self.run_command(audit.AuditMFA(self.app, None), list(argv))

    def test_domain(self) -> None:
        cmd = audit.AuditMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'corp'], [])
        columns, data = cmd.take_action(parsed)
        self.flow.assert_called_once_with(self.mfa_client, 'corp')
        self.assertEqual(status_flow.columns(status_flow.AuditRow), columns)
        self.assertEqual([status_flow.values(fakes.ROW)], data)

    def test_json(self) -> None:
        self.assertEqual([ROW], json.loads(self.audit('-f', 'json')))

    def test_yaml(self) -> None:
        self.assertEqual([ROW], yaml.safe_load(self.audit('-f', 'yaml')))

    def test_csv(self) -> None:
        rows = list(csv.reader(io.StringIO(self.audit('-f', 'csv'))))
        self.assertEqual(
            [list(ROW), ['' if v is None else str(v) for v in ROW.values()]],
            rows,
        )

    def test_value(self) -> None:
        self.assertEqual(
            'u1 alice default 1 8 0 enforced True False None None False '
            'None\n',
            self.audit('-f', 'value'),
        )

    def test_table(self) -> None:
        out = self.audit('-f', 'table', '-c', 'name', '-c', 'state')
        self.assertIn('| name  | state    |', out)
        self.assertIn('| alice | enforced |', out)
        self.assertNotIn('u1', out)

    def test_sorted_by_cliff(self) -> None:
        bob = dataclasses.replace(fakes.ROW, id='u2', name='bob')
        self.flow.return_value = [bob, fakes.ROW]
        out = self.audit('-f', 'value', '-c', 'name', '--sort-column', 'name')
        self.assertEqual('alice\nbob\n', out)

    def test_truncated_lists_are_warned_of(self) -> None:
        logger = self.useFixture(
            fixtures.FakeLogger(name=listing.__name__, level=logging.INFO)
        )
        self.mfa_client.truncated = ['users', 'users']
        self.audit()
        self.assertIn('cut these lists short: users; ', logger.output)
        # Issue 21: the advice for every release, list_limit included.
        self.assertIn(lists.LIMIT_ADVICE, logger.output)
        self.assertIn('[DEFAULT] list_limit', logger.output)


class TestAuditLocked(fakes.CommandTestCase):
    """A locked user's row: the two last columns, in every format."""

    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.truncated = []
        locked = dataclasses.replace(
            fakes.ROW,
            totp_locked=True,
            totp_locked_until='2099-01-02T03:04:05Z',
        )
        self.useFixture(
            fixtures.MockPatchObject(
                status_flow, 'audit', return_value=[locked]
            )
        )

    def audit(self, *argv: str) -> str:
        return self.run_command(audit.AuditMFA(self.app, None), list(argv))

    def test_json(self) -> None:
        (row,) = json.loads(self.audit('-f', 'json'))
        self.assertEqual(list(ROW), list(row))
        self.assertTrue(row['totp_locked'])
        self.assertEqual('2099-01-02T03:04:05Z', row['totp_locked_until'])

    def test_yaml(self) -> None:
        (row,) = yaml.safe_load(self.audit('-f', 'yaml'))
        self.assertEqual('2099-01-02T03:04:05Z', row['totp_locked_until'])

    def test_csv(self) -> None:
        header, row = csv.reader(io.StringIO(self.audit('-f', 'csv')))
        self.assertEqual(list(ROW), header)
        self.assertEqual(['True', '2099-01-02T03:04:05Z'], row[-2:])

    def test_value(self) -> None:
        self.assertEqual(
            'u1 alice default 1 8 0 enforced True False None None True '
            '2099-01-02T03:04:05Z\n',
            self.audit('-f', 'value'),
        )
