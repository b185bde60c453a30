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

"""``openstack mfa status``, and ``--all``, the audit's deprecated alias."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
from unittest import mock

import fixtures
from osc_lib import exceptions

from mfa_osc import client as mfa_client
from mfa_osc.osc import audit
from mfa_osc.osc import listing
from mfa_osc.osc import status
from mfa_osc.workflows import status as status_flow
from tests.unit.osc import fakes


class TestStatusAll(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.truncated = []
        self.flow = self.useFixture(
            fixtures.MockPatchObject(
                status_flow, 'audit', return_value=[fakes.ROW]
            )
        ).mock
        self.log = self.useFixture(
            fixtures.FakeLogger(name=status.__name__, level=logging.INFO)
        )

    def status(self, *argv: str) -> str:
        return self.run_command(
            status.ShowMFAStatus(self.app, None), ['--all', *argv]
        )

    def test_all_is_a_list(self) -> None:
        out = self.status('-f', 'json', '--domain', 'corp')
        self.assertEqual([dataclasses.asdict(fakes.ROW)], json.loads(out))
        self.flow.assert_called_once_with(self.mfa_client, 'corp')

    def test_deprecated_in_one_sentence_naming_the_audit(self) -> None:
        self.status('-f', 'json')
        self.assertEqual(listing.STATUS_ALL_DEPRECATED + '\n', self.log.output)
        self.assertIn('`openstack mfa audit`', self.log.output)
        self.assertEqual(1, self.log.output.count('.'))

    def test_prints_what_the_audit_prints(self) -> None:
        for argv in (
            ['-f', 'table'],
            ['-f', 'json'],
            ['-f', 'yaml'],
            ['-f', 'value'],
            ['-f', 'json', '-c', 'state', '-c', 'ID'],
        ):
            listed = self.run_command(audit.AuditMFA(self.app, None), argv)
            self.assertEqual(listed, self.status(*argv), argv)

    def test_columns_in_the_order_of_the_list(self) -> None:
        out = self.status(
            '-f', 'value', '-c', 'state', '-c', 'Recovery Codes Left'
        )
        self.assertEqual('8 enforced\n', out)

    def test_unknown_column_is_one_sentence(self) -> None:
        exc = self.assertRaises(
            exceptions.CommandError, self.status, '-c', 'colour'
        )
        self.assertEqual(
            'No column named colour: the columns are '
            + ', '.join(audit.COLUMNS)
            + '.',
            str(exc),
        )

    def test_shell_format_cannot_show_a_list(self) -> None:
        exc = self.assertRaises(
            exceptions.CommandError, self.status, '-f', 'shell'
        )
        self.assertEqual(
            '-f shell cannot show a list: use -f table, json, yaml or value.',
            str(exc),
        )

    def test_domain_needs_all(self) -> None:
        cmd = status.ShowMFAStatus(self.app, None)
        parsed = self.check_parser(cmd, ['--domain', 'd'], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn('`openstack mfa audit --domain DOMAIN`', str(exc))
        self.assertEqual([], self.mfa_client.mock_calls)


class TestStatusLocked(fakes.CommandTestCase):
    """A locked TOTP sign-in: the columns, and the warning naming unlock."""

    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.current_user_id.return_value = 'u1'
        self.mfa_client.clock_skew = 0.0
        record = {
            'id': 'u2',
            'name': 'bob',
            'domain_id': 'default',
            'mfa_osc_lock': {
                'since': '2099-01-02T02:34:05Z',
                'until': '2099-01-02T03:04:05Z',
            },
        }
        self.mfa_client.find_users.return_value = []
        self.mfa_client.get_user.return_value = mfa_client.User.from_json(
            record
        )
        self.mfa_client.list_credentials.return_value = []
        self.mfa_client.enabled_methods.return_value = frozenset(
            {'password', 'totp'}
        )
        self.log = self.useFixture(
            fixtures.FakeLogger(name=status.__name__, level=logging.INFO)
        )

    def test_locked_until_and_the_unlock_command(self) -> None:
        out = self.run_command(
            status.ShowMFAStatus(self.app, None),
            ['--user', 'u2', '-f', 'json'],
        )
        shown = json.loads(out)
        self.assertTrue(shown['totp_locked'])
        self.assertEqual('2099-01-02T03:04:05Z', shown['totp_locked_until'])
        self.assertIn(
            'TOTP sign-in is locked after too many wrong passcodes, until '
            "2099-01-02 03:04:05 UTC (Keystone's clock)",
            self.log.output,
        )
        self.assertIn('`openstack mfa unlock --user u2`', self.log.output)


class TestStatusOwnSessions(TestStatusLocked):
    """Your own status lists your live sessions, warnings or none."""

    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.current_user_id.return_value = 'u2'
        self.mfa_client.current_methods.return_value = ['password', 'totp']
        session = mock.Mock(expires_at=datetime.datetime(2099, 1, 2, 3, 4))
        session.name = 'mfa-osc-session-host-1'
        self.useFixture(
            fixtures.MockPatchObject(
                status.sessions_flow,
                'sweep',
                return_value=mock.Mock(live=[session]),
            )
        )

    def _shown(self) -> dict[str, object]:
        out = self.run_command(
            status.ShowMFAStatus(self.app, None),
            ['--user', 'u2', '-f', 'json'],
        )
        return dict(json.loads(out))

    def test_sessions_without_warnings(self) -> None:
        real = status_flow.status

        def without_warnings(*args: object, **kwargs: object) -> object:
            return dataclasses.replace(real(*args, **kwargs), warnings=[])

        self.useFixture(
            fixtures.MockPatchObject(
                status.status_flow, 'status', side_effect=without_warnings
            )
        )
        self.assertEqual(
            ['mfa-osc-session-host-1 until 2099-01-02 03:04 UTC'],
            self._shown()['sessions'],
        )

    def test_sessions_with_warnings(self) -> None:
        self.assertEqual(
            ['mfa-osc-session-host-1 until 2099-01-02 03:04 UTC'],
            self._shown()['sessions'],
        )
