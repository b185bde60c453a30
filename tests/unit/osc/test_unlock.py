# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""``openstack mfa unlock``: its parser, sentences and exit status."""

from __future__ import annotations

import datetime
import io
from typing import Any

from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc import client as mfa_client
from mfa_osc.osc import unlock
from tests.unit.osc import fakes

UNTIL = '2099-01-02T03:04:05Z'


def bob(lock: Any = None) -> mfa_client.User:
    data: dict[str, Any] = {'id': 'u2', 'name': 'bob', 'domain_id': 'd'}
    if lock is not None:
        data['mfa_osc_lock'] = lock
    return mfa_client.User.from_json(data)


class TestUnlock(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.app.stderr = io.StringIO()
        self.mfa_client.clock_skew = 0.0
        self.mfa_client.find_users.return_value = [bob()]
        self.locked = bob({'since': '2099-01-02T02:34:05Z', 'until': UNTIL})

    def unlock(self, *argv: str) -> str:
        self.run_command(
            unlock.UnlockMFA(self.app, None), ['--user', 'bob', *argv]
        )
        return str(self.app.stderr.getvalue())

    def test_user_is_required(self) -> None:
        cmd = unlock.UnlockMFA(self.app, None)
        self.assertRaises(base.ParserException, self.check_parser, cmd, [], [])

    def test_ends_a_lock_in_force(self) -> None:
        self.mfa_client.get_user.return_value = self.locked
        self.assertEqual(
            'Ended the TOTP lock of bob (it would have lasted until '
            '2099-01-02 03:04:05 UTC).\n',
            self.unlock(),
        )
        self.mfa_client.update_user_options.assert_called_once_with(
            'u2', {}, extra={'mfa_osc_lock': None}
        )

    def test_the_domain_narrows_the_lookup(self) -> None:
        self.mfa_client.find_domain_id.return_value = 'd'
        self.mfa_client.get_user.return_value = self.locked
        self.unlock('--user-domain', 'corp')
        self.mfa_client.find_users.assert_called_once_with('bob', 'd')

    def test_not_locked_changes_nothing(self) -> None:
        past = {'since': '2000-01-01T00:00:00Z', 'until': '2000-01-01T00:30Z'}
        for record in (bob(), bob(past)):
            self.app.stderr = io.StringIO()
            self.mfa_client.get_user.return_value = record
            self.assertEqual(
                "bob's TOTP sign-in is not locked; nothing was changed.\n",
                self.unlock(),
            )
        self.mfa_client.update_user_options.assert_not_called()

    def test_keystones_clock_counts(self) -> None:
        # Keystone's clock is a century ahead of this machine's.
        ahead = datetime.timedelta(days=36600).total_seconds()
        self.mfa_client.clock_skew = -ahead
        self.mfa_client.get_user.return_value = self.locked
        self.assertIn('is not locked', self.unlock())
        self.mfa_client.update_user_options.assert_not_called()

    def test_403_is_one_sentence(self) -> None:
        self.mfa_client.get_user.return_value = self.locked
        self.mfa_client.update_user_options.side_effect = mfa_client.Forbidden(
            'Keystone refused (HTTP 403).'
        )
        cmd = unlock.UnlockMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--user', 'bob'], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertEqual(
            "Ending a TOTP lock needs an administrator: Keystone's policy "
            '(identity:update_user) refused to change the record of user '
            'bob for the signed-in user; run `openstack mfa unlock --user '
            "u2` with an administrator's credentials.",
            str(exc),
        )
        self.assertEqual('', self.app.stderr.getvalue())

    def test_no_such_user_is_one_sentence(self) -> None:
        self.mfa_client.find_users.return_value = []
        self.mfa_client.get_user.side_effect = mfa_client.NotFound('gone')
        cmd = unlock.UnlockMFA(self.app, None)
        parsed = self.check_parser(cmd, ['--user', 'nobody'], [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertEqual(
            "There is no user 'nobody': `openstack user list` lists the "
            'users, to give one of their names or IDs with --user.',
            str(exc),
        )
        self.mfa_client.update_user_options.assert_not_called()
