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

"""``openstack mfa session list`` and ``openstack mfa session end``."""

from __future__ import annotations

import datetime
import io
from typing import Any
from typing import cast
from unittest import mock

import fixtures
from keystoneauth1 import access
from keystoneauth1 import fixture as ks_fixture
from osc_lib import exceptions

from mfa_osc import client as mfa_client
from mfa_osc.client import records as app_records
from mfa_osc.osc import lent
from mfa_osc.osc import session
from tests.unit.osc import fakes

UNTIL = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def _cred(cid: str, name: str, description: str) -> app_records.AppCredential:
    return app_records.AppCredential(
        id=cid, name=name, description=description, project_id='p',
        expires_at=UNTIL, unrestricted=False, roles=(),
    )  # fmt: skip


EXPORTED = _cred(
    'ac1',
    'mfa-osc-session-box-20300102T030405Z-7',
    'Session of `openstack mfa export --session 8h` on box (pid 7), made '
    '..., expires ...; left to expire.',
)
STANDING = _cred('ac2', 'ci', 'a CI credential')


class SessionCase(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.useFixture(
            fixtures.EnvironmentVariable(
                'MFA_OSC_CACHE_DIR', self.useFixture(fixtures.TempDir()).path
            )
        )
        self.app_: Any = cast(Any, self.app)
        self.app_.stderr = io.StringIO()
        token = ks_fixture.V3Token()
        token.set_project_scope(id='p', name='proj')
        self.app_.client_manager.auth_ref = access.create(
            body=token, auth_token='t'
        )
        client = self.mfa_client
        client.clock_skew = 0.0
        client.current_user_id.return_value = 'u1'
        client.list_app_credentials.return_value = [EXPORTED, STANDING]

    def end(self, *argv: str) -> int:
        cmd = session.EndSessions(self.app_, None)
        parsed = self.check_parser(cmd, list(argv), [])
        result: int = cmd.take_action(parsed)
        return result


class TestList(SessionCase):
    def test_own_sessions_only(self) -> None:
        cmd = session.ListSessions(self.app_, None)
        parsed = self.check_parser(cmd, [], [])
        columns, rows = cmd.take_action(parsed)
        self.assertEqual(session.COLUMNS, columns)
        self.assertEqual(
            [
                (
                    EXPORTED.name, 'ac1', 'p', '2030-01-02T03:04:05Z',
                    'box', 'export', 'live',
                )
            ],
            rows,
        )  # fmt: skip
        self.mfa_client.list_app_credentials.assert_called_once_with('u1')

    def test_another_users(self) -> None:
        self.mfa_client.find_users.return_value = [mock.Mock(id='u2')]
        self.mfa_client.get_user.return_value = mfa_client.User.from_json(
            {'id': 'u2', 'name': 'bob'}
        )
        cmd = session.ListSessions(self.app_, None)
        parsed = self.check_parser(cmd, ['--user', 'bob'], [])
        cmd.take_action(parsed)
        self.mfa_client.list_app_credentials.assert_called_once_with('u2')

    def test_member_refused_one_sentence(self) -> None:
        self.mfa_client.find_users.side_effect = mfa_client.Forbidden(
            'Keystone refused to list users (HTTP 403).'
        )
        cmd = session.ListSessions(self.app_, None)
        parsed = self.check_parser(cmd, ['--user', 'bob'], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertIn("does not let you read user 'bob'", str(exc))
        self.assertIn('identity:list_application_credentials', str(exc))
        self.mfa_client.list_app_credentials.assert_not_called()


class TestEnd(SessionCase):
    def test_by_name(self) -> None:
        lent.hold_session('ac1')
        lent.release_session('ac1', ended=False)
        self.assertEqual(['ac1'], lent.sessions_here())
        self.assertEqual(0, self.end(EXPORTED.name))
        self.mfa_client.delete_app_credential.assert_called_once_with(
            'u1', 'ac1'
        )
        self.assertEqual(
            f'Ended 1 session that mfa-osc made for you: {EXPORTED.name}.\n',
            self.app_.stderr.getvalue(),
        )
        # Its lock file here goes with it.
        self.assertEqual([], lent.sessions_here())

    def test_all(self) -> None:
        self.assertEqual(0, self.end('--all'))
        self.mfa_client.delete_app_credential.assert_called_once_with(
            'u1', 'ac1'
        )

    def test_standing_credential_refused(self) -> None:
        exc = self.assertRaises(exceptions.CommandError, self.end, 'ci')
        self.assertIn("'ci' is not a session that mfa-osc made", str(exc))
        self.mfa_client.delete_app_credential.assert_not_called()

    def test_names_or_all(self) -> None:
        for argv in ([], ['--all', 'x']):
            exc = self.assertRaises(exceptions.CommandError, self.end, *argv)
            self.assertIn('or --all for every one', str(exc))
        self.mfa_client.list_app_credentials.assert_not_called()

    def test_signed_in_with_a_session(self) -> None:
        token = ks_fixture.V3Token()
        token.set_project_scope(id='p', name='proj')
        token['token']['methods'] = ['application_credential']
        token['token']['application_credential'] = {
            'id': 'ac1', 'name': EXPORTED.name, 'restricted': True,
        }  # fmt: skip
        self.app_.client_manager.auth_ref = access.create(
            body=token, auth_token='t'
        )
        exc = self.assertRaises(exceptions.CommandError, self.end, '--all')
        self.assertIn('restricted, as a session is', str(exc))
        self.mfa_client.list_app_credentials.assert_not_called()
        self.mfa_client.delete_app_credential.assert_not_called()

    def test_forbidden_names_the_policy(self) -> None:
        self.mfa_client.delete_app_credential.side_effect = (
            mfa_client.Forbidden('Keystone refused (HTTP 403).')
        )
        exc = self.assertRaises(exceptions.CommandError, self.end, '--all')
        self.assertIn('identity:delete_application_credential', str(exc))
