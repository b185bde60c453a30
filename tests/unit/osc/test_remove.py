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

"""``openstack mfa remove``: the parser, confirmation and proof."""

from __future__ import annotations

import io
from types import SimpleNamespace
from unittest import mock

import fixtures
from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc import client as mfa_client
from mfa_osc.osc import remove
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import remove as remove_flow
from tests.unit.osc import fakes


class TestRemove(fakes.CommandTestCase):
    def test_device_or_all_required(self) -> None:
        cmd = remove.RemoveMFA(self.app, None)
        self.assertRaises(base.ParserException, self.check_parser, cmd, [], [])
        self.assertRaises(
            base.ParserException,
            self.check_parser,
            cmd,
            ['--all', '--device', 'x'],
            [],
        )


class TestProof(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.app.stderr = io.StringIO()
        self.mfa_client.current_user_id.return_value = 'u1'
        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.account.resolve_user',
                return_value=SimpleNamespace(id='u1', name='alice'),
            )
        )
        self.account = mock.Mock(
            usable=['c1', 'c2'], recovery_ids=[], has_second_factor=True
        )
        self.useFixture(
            fixtures.MockPatchObject(
                remove_flow,
                'plan',
                return_value=SimpleNamespace(
                    account=self.account, labels=['phone'], last=False
                ),
            )
        )
        self.verify = self.useFixture(
            fixtures.MockPatchObject(proof_flow, 'verify', return_value=None)
        ).mock
        self.remove = self.useFixture(
            fixtures.MockPatchObject(
                remove_flow,
                'remove',
                return_value=SimpleNamespace(
                    last=False, removed=['phone'], left=['tablet']
                ),
            )
        ).mock
        self.signed_in(fresh=False)

    def signed_in(self, fresh: bool) -> None:
        self.app.client_manager.auth = SimpleNamespace(
            fresh_second_factor=fresh
        )

    def run_remove(self, *argv: str) -> None:
        cmd = remove.RemoveMFA(self.app, None)
        args = ['--device', 'phone', '--yes', *argv]
        cmd.take_action(self.check_parser(cmd, args, []))

    def test_cached_token_without_a_terminal_is_refused(self) -> None:
        exc = self.assertRaises(exceptions.CommandError, self.run_remove)
        self.assertIn(
            '(its token came from the cache, or the auth type takes none), '
            'so removing a device needs a current passcode or a recovery '
            'code: give --passcode CODE',
            str(exc),
        )
        self.verify.assert_not_called()
        self.remove.assert_not_called()

    def test_passcode_given_is_checked(self) -> None:
        self.signed_in(fresh=True)
        self.verify.return_value = 'rc1'
        self.run_remove('--passcode', '123456')
        self.verify.assert_called_once_with(
            self.mfa_client, self.account, '123456', fresh=True
        )
        self.assertEqual('rc1', self.remove.call_args.kwargs['used_recovery'])

    def test_fresh_sign_in_asks_nothing(self) -> None:
        self.signed_in(fresh=True)
        self.run_remove()
        self.verify.assert_not_called()
        self.assertIsNone(self.remove.call_args.kwargs['used_recovery'])
        self.assertIn(
            'Removed phone; still enrolled: tablet',
            (self.app.stderr.getvalue()),
        )

    def test_another_user_or_no_usable_device_asks_nothing(self) -> None:
        self.mfa_client.current_user_id.return_value = 'admin'
        self.run_remove('--user', 'alice')
        self.mfa_client.current_user_id.return_value = 'u1'
        self.account.usable = []
        self.account.has_second_factor = False
        self.run_remove()
        self.verify.assert_not_called()
        self.assertEqual(2, self.remove.call_count)


class TestNoSuchUser(fakes.CommandTestCase):
    def test_one_sentence_naming_user_list(self) -> None:
        # NOTE: remove resolves the user through the account module
        # directly: its sentence is the one shown, with no rewrite.
        self.mfa_client.find_users.return_value = []
        self.mfa_client.get_user.side_effect = mfa_client.NotFound('gone')
        cmd = remove.RemoveMFA(self.app, None)
        parsed = self.check_parser(
            cmd, ['--user', 'nosuchuser', '--all', '--yes'], []
        )
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        self.assertEqual(
            "There is no user 'nosuchuser': `openstack user list` lists the "
            'users, to give one of their names or IDs with --user.',
            str(exc),
        )
        self.mfa_client.delete_credential.assert_not_called()
