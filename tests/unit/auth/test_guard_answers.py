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

"""What a sign-in does with the MFA guard's refusals
(:mod:`mfa_osc.auth.guard_answers`, and the receipt's passcode tries of
:mod:`mfa_osc.auth.receipt`), on requests-mock: a used passcode asked
again, waited out or said in one sentence; the domain's policy on the
server answered with a second factor, unscoped, or the set-up.

The answers are built by the guard's own module (:mod:`mfa_osc.guard.
answers`, the contract), so that a change on either side shows here.
"""

from __future__ import annotations

from unittest import mock

import fixtures

from mfa_osc import totp
from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import hooks
from mfa_osc.auth import plugin
from mfa_osc.auth import policy as auth_policy
from tests.unit.auth import fakes


class TestReplayed(fakes.GuardTestCase):
    """401 ``replayed``: asked again, waited out, or one sentence."""

    def test_prompt_asks_again(self) -> None:
        self.terminal.return_value = True
        self.prompt.side_effect = ['111111', '222222']
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.receipt_response(), fakes.REPLAYED, fakes.TOKEN_RESPONSE],
        )
        auth = self.make()

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertEqual(
            [mock.call('Passcode: '), mock.call('Passcode (try again): ')],
            self.prompt.call_args_list,
        )
        self.assertEqual([guarded.REPLAYED_AT_PROMPT], self.told())
        self.assertEqual(
            ['111111', '222222'], [self.passcode(1), self.passcode(2)]
        )
        # NOTE: no unscoped retry, no password alone: the code was good.
        self.assertEqual(3, len(self.requests.request_history))

    def test_prompt_tries_run_out(self) -> None:
        self.terminal.return_value = True
        self.prompt.side_effect = ['111111', '222222', '333333']
        self.requests.post(
            fakes.TOKEN_URL, [fakes.receipt_response()] + [fakes.REPLAYED] * 3
        )
        exc = self.assertRaises(
            exceptions.PasscodeReplayed, self.make().get_auth_ref, self.session
        )
        self.assertIn('the prompt has no tries left', str(exc))
        self.assertEqual(4, len(self.requests.request_history))

    def test_passcode_command_waits_for_the_next_window(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.receipt_response(), fakes.REPLAYED, fakes.TOKEN_RESPONSE],
        )
        auth = self.make(passcode_command=self.command('111111', '222222'))

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertEqual(
            ['111111', '222222'], [self.passcode(1), self.passcode(2)]
        )
        self.sleep.assert_called_once()
        waited = self.sleep.call_args.args[0]
        # NOTE: the wait's arithmetic: TestWaitForTheNextWindow.
        self.assertGreater(waited, guarded.MARGIN)
        self.assertLessEqual(waited, guarded.PERIOD + guarded.MARGIN)
        self.assertIn(
            'That passcode was used already: waiting', self.stderr.getvalue()
        )

    def test_passcode_command_once(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.receipt_response(), fakes.REPLAYED, fakes.REPLAYED],
        )
        auth = self.make(passcode_command=self.command('111111', '111111'))
        exc = self.assertRaises(
            exceptions.PasscodeReplayed, auth.get_auth_ref, self.session
        )
        self.assertIn('also after waiting for the next 30-second', str(exc))
        self.sleep.assert_called_once()
        self.assertEqual(3, len(self.requests.request_history))

    def test_fixed_passcode_one_sentence(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('OS_PASSCODE', '123456'))
        self.requests.post(fakes.TOKEN_URL, [fakes.REPLAYED])
        exc = self.assertRaises(
            exceptions.PasscodeReplayed,
            self.make(passcode='123456').get_auth_ref,
            self.session,
        )
        self.assertEqual(
            'The passcode from OS_PASSCODE signed in already and a passcode '
            'works once: give the next code of the authenticator app (it '
            'changes every 30 seconds), or a passcode command '
            '(--os-passcode-command) that reads a new one each time.',
            str(exc),
        )
        self.assertNotIn('123456', str(exc))
        # NOTE: the password alone is not asked: the code was good.
        self.assertEqual(1, len(self.requests.request_history))
        self.sleep.assert_not_called()

    def test_totp_secret_computes_the_next_code(self) -> None:
        # NOTE: a clock 10 s into a window, moved on by the wait.
        base = 1_800_000_010.0
        waited: list[float] = []
        self.sleep.side_effect = waited.append
        self.useFixture(
            fixtures.MockPatch(
                'time.time', side_effect=lambda: base + sum(waited)
            )
        )
        self.requests.post(
            fakes.TOKEN_URL, [fakes.REPLAYED, fakes.TOKEN_RESPONSE]
        )

        self.make(totp_secret=fakes.SECRET).get_auth_ref(self.session)

        self.assertEqual([20 + guarded.MARGIN], waited)
        self.assertEqual(['password', 'totp'], self.methods(1))
        self.assertEqual(totp.passcode(fakes.SECRET, base), self.passcode(0))
        self.assertEqual(
            totp.passcode(fakes.SECRET, base + 22), self.passcode(1)
        )
        self.assertNotEqual(self.passcode(0), self.passcode(1))

    def test_as_recorded_prompt_asks_again_with_the_receipt(self) -> None:
        self.terminal.return_value = True
        auth = self.make()
        auth.cache.record_totp(True)
        self.prompt.side_effect = ['s3cret-pass', '111111', '222222']
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.REPLAYED, fakes.receipt_response(), fakes.TOKEN_RESPONSE],
        )
        auth = self.make(password=None)

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertEqual(['password', 'totp'], self.methods(0))
        self.assertEqual(['password'], self.methods(1))
        self.assertEqual(['totp'], self.methods(2))
        self.assertEqual('222222', self.passcode(2))
        self.assertEqual([guarded.REPLAYED_AT_PROMPT], self.told())

    def test_set_up_code_used_by_its_check_asks_the_next(self) -> None:
        # The set-up's TOTP-only check signed in with the code (no rules
        # yet): the guard counts it used; the next one is typed.
        self.terminal.return_value = True
        self.prompt.side_effect = ['222222']
        self.policy_check.return_value = '111111'
        self.requests.post(
            fakes.TOKEN_URL,
            [
                fakes.PASSWORD_TOKEN_RESPONSE,
                fakes.REPLAYED,
                fakes.TOKEN_RESPONSE,
            ],
        )
        auth = self.make()

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        self.assertEqual(
            ['111111', '222222'], [self.passcode(1), self.passcode(2)]
        )
        self.assertEqual(['password', 'totp'], self.methods(2))
        self.assertEqual([guarded.REPLAYED_AT_PROMPT], self.told())


class TestPolicyOnTheServer(fakes.GuardTestCase):
    """403 ``policy`` on a sign-in without a second factor."""

    def test_exempt_command_signs_in_unscoped(self) -> None:
        hooks.register(None, exempt=True)
        self.requests.post(
            fakes.TOKEN_URL, [fakes.POLICY, fakes.UNSCOPED_TOKEN]
        )

        ref = self.make().get_auth_ref(self.session)

        self.assertEqual('gAAAAAB-unscoped', ref.auth_token)
        second = self.bodies()[1]['auth']
        self.assertEqual('unscoped', second['scope'])
        self.assertEqual(['password'], second['identity']['methods'])

    def test_passcode_command_signs_in_with_the_password(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL, [fakes.POLICY, fakes.TOKEN_RESPONSE]
        )
        auth = self.make(passcode_command=self.command('246810'))

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        second = self.bodies()[1]['auth']
        self.assertEqual(self.scope(), second['scope'])
        self.assertEqual(['password', 'totp'], second['identity']['methods'])
        self.assertEqual(
            fakes.PASSWORD_ALONE['password'], second['identity']['password']
        )
        self.assertEqual('246810', self.passcode(1))
        self.assertTrue(auth.fresh_second_factor)

    def test_prompt_on_a_terminal(self) -> None:
        self.terminal.return_value = True
        self.prompt.side_effect = ['135790']
        self.requests.post(
            fakes.TOKEN_URL, [fakes.POLICY, fakes.TOKEN_RESPONSE]
        )

        ref = self.make().get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        self.assertEqual('135790', self.passcode(1))
        self.assertEqual(
            [
                "Your domain's policy requires MFA since 2027-01-01: enter "
                'a passcode of your device.'
            ],
            self.told(),
        )

    def credentials(self, *blobs: str) -> None:
        """The user's own credentials, as the unscoped token reads them."""
        self.requests.get(
            fakes.AUTH_URL + '/credentials',
            json={
                'credentials': [
                    {
                        'id': f'c{n}',
                        'user_id': 'u1',
                        'type': 'totp',
                        'blob': blob,
                    }
                    for n, blob in enumerate(blobs)
                ],
                'links': {'next': None},
            },
        )

    def test_without_a_device_the_set_up_unscoped(self) -> None:
        self.terminal.return_value = True
        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.terminal.is_terminal', return_value=True
            )
        )
        enroll = mock.Mock(return_value='424242')
        hooks.register(enroll)
        self.credentials()
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.POLICY, fakes.UNSCOPED_TOKEN, fakes.TOKEN_RESPONSE],
        )

        ref = self.make().get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        self.prompt.assert_not_called()
        enroll.assert_called_once()
        self.assertEqual(
            'gAAAAAB-unscoped', enroll.call_args.args[1].auth_token
        )
        self.assertIn(
            "Your domain's policy requires MFA since 2027-01-01: set up a "
            'device now',
            self.stderr.getvalue(),
        )
        self.assertEqual('unscoped', self.bodies()[1]['auth']['scope'])
        third = self.bodies()[2]['auth']
        self.assertEqual(self.scope(), third['scope'])
        self.assertEqual(['password', 'totp'], third['identity']['methods'])
        self.assertEqual('424242', self.passcode(2))

    def test_with_a_device_and_the_set_up_the_prompt(self) -> None:
        self.terminal.return_value = True
        enroll = mock.Mock(return_value='424242')
        hooks.register(enroll)
        self.credentials(fakes.SECRET)
        self.prompt.side_effect = ['135790']
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.POLICY, fakes.UNSCOPED_TOKEN, fakes.TOKEN_RESPONSE],
        )

        ref = self.make().get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        enroll.assert_not_called()
        self.assertEqual('135790', self.passcode(2))
        self.assertEqual(self.scope(), self.bodies()[2]['auth']['scope'])

    def test_no_way_to_a_second_factor(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [fakes.POLICY])
        exc = self.assertRaises(
            auth_policy.PolicyRequired, self.make().get_auth_ref, self.session
        )
        self.assertIn(
            "Your domain's policy requires MFA since 2027-01-01", str(exc)
        )
        self.assertIn('`openstack mfa enroll`', str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_unavailable_is_one_sentence(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [fakes.UNAVAILABLE])
        exc = self.assertRaises(
            exceptions.GuardUnavailable,
            self.make(passcode='123456').get_auth_ref,
            self.session,
        )
        self.assertIn('try again in a minute', str(exc))
        self.assertEqual(1, len(self.requests.request_history))
