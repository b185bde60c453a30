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

"""``openstack mfa recovery code create``: the proof it asks of you."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import fixtures
from osc_lib import exceptions

from mfa_osc.osc import common
from mfa_osc.osc import recovery
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import recovery as recovery_flow
from tests.unit.osc import fakes


class TestProof(fakes.CommandTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.mfa_client.current_user_id.return_value = 'u1'
        self.account = mock.Mock(
            verified={'c1': {'name': 'phone'}},
            hand_made=[],
            has_second_factor=True,
        )
        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.account.load_account', return_value=self.account
            )
        )
        self.user = SimpleNamespace(id='u1', name='alice')
        self.useFixture(
            fixtures.MockPatchObject(
                common, 'resolve_user', return_value=self.user
            )
        )
        self.verify = self.useFixture(
            fixtures.MockPatchObject(proof_flow, 'verify', return_value=None)
        ).mock
        self.regenerate = self.useFixture(
            fixtures.MockPatchObject(
                recovery_flow, 'regenerate', return_value=['a-b-c']
            )
        ).mock
        self.signed_in(fresh=False)

    def signed_in(self, fresh: bool) -> None:
        self.app.client_manager.auth = SimpleNamespace(
            fresh_second_factor=fresh
        )

    def create(self, *argv: str) -> None:
        cmd = recovery.CreateRecoveryCodes(self.app, None)
        cmd.take_action(self.check_parser(cmd, list(argv), []))

    def test_cached_token_without_a_terminal_is_refused(self) -> None:
        exc = self.assertRaises(exceptions.CommandError, self.create)
        self.assertEqual(
            'This command did not sign in with a passcode just now (its '
            'token came from the cache, or the auth type takes none), so '
            'creating recovery codes needs a current passcode or a recovery '
            'code: give --passcode CODE or --recovery-code-file PATH (- for '
            'standard input), or run the command on a terminal to be '
            'prompted. Nothing was changed.',
            str(exc),
        )
        self.verify.assert_not_called()
        self.regenerate.assert_not_called()

    def test_cached_token_asks_on_a_terminal(self) -> None:
        self.terminal.return_value = True
        with mock.patch(
            'mfa_osc.auth.sources.prompt', return_value='654321'
        ) as prompt:
            self.create()
        prompt.assert_called_once()
        self.verify.assert_called_once_with(
            self.mfa_client, self.account, '654321', fresh=False
        )

    def test_recovery_code_given_is_used_up(self) -> None:
        self.signed_in(fresh=True)
        self.verify.return_value = 'rc1'
        self.create('--recovery-code', 'abcd-efgh')
        self.verify.assert_called_once_with(
            self.mfa_client, self.account, 'abcd-efgh', fresh=True
        )
        self.assertEqual(
            'rc1', self.regenerate.call_args.kwargs['used_recovery']
        )

    def test_fresh_sign_in_asks_nothing(self) -> None:
        self.signed_in(fresh=True)
        self.create()
        self.verify.assert_not_called()
        self.assertIsNone(self.regenerate.call_args.kwargs['used_recovery'])

    def test_another_user_asks_nothing(self) -> None:
        self.mfa_client.current_user_id.return_value = 'admin'
        self.create('--user', 'alice')
        self.verify.assert_not_called()
        self.assertEqual(1, self.regenerate.call_count)

    def test_hand_made_device_is_a_device(self) -> None:
        # NOTE: the same test as remove's (Account.has_second_factor): a
        # hand-made device only, and a token from the cache. Codes would
        # recover nothing without a verified device: refused, before any
        # code is asked for.
        self.account.verified = {}
        self.account.hand_made = ['h1']
        exc = self.assertRaises(exceptions.CommandError, self.create)
        self.assertIn('no verified TOTP device', str(exc))
        self.assertIn('--adopt h1', str(exc))
        self.assertNotIn('passcode', str(exc))
        self.verify.assert_not_called()
        self.regenerate.assert_not_called()

    def test_no_device_at_all_asks_nothing(self) -> None:
        self.account.verified = {}
        self.account.has_second_factor = False
        exc = self.assertRaises(exceptions.CommandError, self.create)
        self.assertIn('enroll a device first', str(exc))
        self.verify.assert_not_called()
        self.regenerate.assert_not_called()
