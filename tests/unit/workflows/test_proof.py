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

"""The proof rule: a command on yourself asks for fresh proof."""

from __future__ import annotations

from typing import Any
from unittest import mock

import fixtures
from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc.workflows import errors
from mfa_osc.workflows import proof as proof_flow


class TestWhenDue(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client = mock.Mock()
        self.account = mock.Mock()
        self.ask = mock.Mock(return_value='654321')
        self.verify = self.useFixture(
            fixtures.MockPatchObject(
                proof_flow, 'verify', return_value='recovery-id'
            )
        ).mock

    def when_due(self, **kwargs: Any) -> str | None:
        rule: dict[str, Any] = {
            'is_self': True,
            'has_device': True,
            'fresh': False,
            'given': None,
        }
        rule.update(kwargs)
        return proof_flow.when_due(
            self.client, self.account, ask=self.ask, **rule
        )

    def test_cached_token_asks(self) -> None:
        self.assertEqual('recovery-id', self.when_due())
        self.ask.assert_called_once_with()
        self.verify.assert_called_once_with(
            self.client, self.account, '654321', fresh=False
        )

    def test_fresh_sign_in_is_proof_enough(self) -> None:
        self.assertIsNone(self.when_due(fresh=True))
        self.ask.assert_not_called()
        self.verify.assert_not_called()

    def test_a_code_given_is_checked_even_after_a_fresh_sign_in(self) -> None:
        for fresh in (True, False):
            self.verify.reset_mock()
            self.when_due(fresh=fresh, given='123456')
            self.verify.assert_called_once_with(
                self.client, self.account, '123456', fresh=fresh
            )
        self.ask.assert_not_called()

    def test_nothing_asked_of_another_user_or_without_a_device(self) -> None:
        for kwargs in (
            {'is_self': False},
            {'has_device': False},
            {'is_self': False, 'given': '123456'},
            {'has_device': False, 'given': '123456'},
        ):
            self.assertIsNone(self.when_due(**kwargs), kwargs)
        self.ask.assert_not_called()
        self.verify.assert_not_called()

    def test_no_proof_obtained_checks_nothing(self) -> None:
        self.ask.side_effect = RuntimeError('no terminal')
        self.assertRaises(RuntimeError, self.when_due)
        self.verify.assert_not_called()


class TestVerifyBehindTheGuard(base.BaseTestCase):
    """Keystone's MFA guard takes a passcode once (mfa_osc.guard)."""

    def setUp(self) -> None:
        super().setUp()
        self.client = mock.Mock()
        self.client.check_totp_with_token.side_effect = (
            mfa_client.PasscodeUsed('That passcode signed you in already.')
        )
        self.account = mock.Mock(user_id='u1')

    def test_the_code_of_this_commands_own_sign_in_is_proof(self) -> None:
        self.assertIsNone(
            proof_flow.verify(self.client, self.account, '123456', fresh=True)
        )
        self.client.check_totp_with_token.assert_called_once_with(
            'u1', '123456'
        )

    def test_a_code_used_elsewhere_asks_for_the_next(self) -> None:
        exc = self.assertRaises(
            errors.PasscodeRefused,
            proof_flow.verify,
            self.client,
            self.account,
            '123456',
        )
        self.assertIn('signed you in already', str(exc))
