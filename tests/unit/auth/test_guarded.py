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

"""The MFA guard's answers as the v3multifactor plugin reads them
(:mod:`mfa_osc.auth.guarded`), on requests-mock: a lock on every path, its
wording, the plugin's own policy check behind the guard, the wait for the
next window.

The answers are built by the guard's own module (:mod:`mfa_osc.guard.
answers`, the contract), so that a change on either side shows here.
"""

from __future__ import annotations

import datetime
import io
import time
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ksa_exc

from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import policy as auth_policy
from mfa_osc.guard import answers
from tests.unit.auth import fakes


class TestLocked(fakes.GuardTestCase):
    """429 ``locked``: one sentence, never retried, on every path."""

    def assert_locked(self, exc: Exception) -> None:
        self.assertIsInstance(exc, ksa_exc.AuthorizationFailure)
        text = str(exc)
        self.assertIn(
            'TOTP sign-in of this account is locked after too many wrong '
            'passcodes until ',
            text,
        )
        self.assertIn(' local time (in 29 minutes): it ends by itself', text)
        self.assertIn(
            'an administrator can end it early with `openstack mfa unlock '
            f'--user {fakes.USER_ID}`.',
            text,
        )

    def test_code_up_front_is_not_tried_with_the_password_alone(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [fakes.guard_locked()])
        auth = self.make(passcode='123456')
        exc = self.assertRaises(
            exceptions.TOTPLocked, auth.get_auth_ref, self.session
        )
        self.assert_locked(exc)
        self.assertEqual(1, len(self.requests.request_history))

    def test_passcode_command_runs_once(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL, [fakes.receipt_response(), fakes.guard_locked()]
        )
        auth = self.make(passcode_command=self.command('111111', '222222'))
        exc = self.assertRaises(
            exceptions.TOTPLocked, auth.get_auth_ref, self.session
        )
        self.assert_locked(exc)
        self.assertEqual(2, len(self.requests.request_history))
        self.sleep.assert_not_called()

    def test_prompt_is_not_asked_again(self) -> None:
        self.terminal.return_value = True
        self.prompt.side_effect = ['111111', '222222']
        self.requests.post(
            fakes.TOKEN_URL, [fakes.receipt_response(), fakes.guard_locked()]
        )
        auth = self.make()
        exc = self.assertRaises(
            exceptions.TOTPLocked, auth.get_auth_ref, self.session
        )
        self.assert_locked(exc)
        self.assertEqual(2, len(self.requests.request_history))
        self.prompt.assert_called_once_with('Passcode: ')

    def test_recovery_code_is_not_used_up(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [fakes.guard_locked()])
        auth = self.make(recovery_code='ABCD-EFGH-JKMN-PQRS')
        exc = self.assertRaises(
            exceptions.TOTPLocked, auth.get_auth_ref, self.session
        )
        self.assert_locked(exc)
        # NOTE: no password alone, no credential deleted.
        self.assertEqual(1, len(self.requests.request_history))

    def test_locked_by_the_unscoped_retry(self) -> None:
        # The scoped code was refused, and the same code sent unscoped
        # (is it the project?) reached the lock: the lock is what is said.
        self.terminal.return_value = True
        self.prompt.side_effect = ['111111']
        self.requests.post(
            fakes.TOKEN_URL,
            [
                fakes.receipt_response(),
                fakes.UNAUTHORIZED,
                fakes.guard_locked(),
            ],
        )
        exc = self.assertRaises(
            exceptions.TOTPLocked, self.make().get_auth_ref, self.session
        )
        self.assert_locked(exc)

    def test_user_id_the_guard_names_when_signing_in_by_name(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [fakes.guard_locked()])
        exc = self.assertRaises(
            exceptions.TOTPLocked,
            self.make(passcode='123456').get_auth_ref,
            self.session,
        )
        self.assertIn('--user u1`', str(exc))
        self.assertNotIn('alice', str(exc))


class TestLockedWording(fakes.GuardTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable('TZ', 'Europe/Berlin'))
        time.tzset()
        self.addCleanup(time.tzset)

    def test_local_time_with_the_date_when_not_today(self) -> None:
        moment = datetime.datetime(2026, 12, 6, 13, 5, 12, tzinfo=datetime.UTC)
        self.assertEqual(
            '14:05:12 CET',
            guarded.local_time(moment, datetime.date(2026, 12, 6)),
        )
        self.assertEqual(
            '2026-12-06 14:05:12 CET',
            guarded.local_time(moment, datetime.date(2026, 12, 5)),
        )

    def test_how_long(self) -> None:
        self.assertEqual('1 second', guarded.how_long(1))
        self.assertEqual('45 seconds', guarded.how_long(45))
        self.assertEqual('1 minute', guarded.how_long(60))
        self.assertEqual('2 minutes', guarded.how_long(61))
        self.assertEqual('1 hour', guarded.how_long(3600))
        self.assertEqual('1 hour and 5 minutes', guarded.how_long(3900))

    def test_until_in_local_time(self) -> None:
        until = datetime.datetime.now(datetime.UTC).replace(
            microsecond=0
        ) + datetime.timedelta(seconds=90)
        self.requests.post(
            fakes.TOKEN_URL,
            **fakes.guard_answer(answers.locked(fakes.USER_ID, until, 90)),
        )
        exc = self.assertRaises(
            exceptions.TOTPLocked,
            self.make(passcode='123456').get_auth_ref,
            self.session,
        )
        self.assertIn(
            f'until {guarded.local_time(until)} local time (in 2 minutes)',
            str(exc),
        )
        self.assertIn(until.astimezone().strftime('%H:%M:%S'), str(exc))


class TestPluginPolicyCheckBehindTheGuard(fakes.GuardTestCase):
    """The plugin's own check trusts the server where it cannot read the
    policy, and keeps its warnings where it can."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(
            fixtures.MonkeyPatch(
                'mfa_osc.auth.policy.check', fakes.POLICY_CHECK
            )
        )
        self.requests.get(
            fakes.AUTH_URL + '/credentials',
            json={'credentials': [], 'links': {'next': None}},
        )

    def test_unreadable_policy_trusts_the_guard(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL,
            **fakes.guarded_response(fakes.PASSWORD_TOKEN_RESPONSE),
        )
        self.requests.get(fakes.AUTH_URL + '/domains/default', status_code=403)
        auth = self.make(token_cache=False)

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertTrue(auth.server_enforced)

    def test_unreadable_policy_without_the_guard_still_refuses(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **fakes.PASSWORD_TOKEN_RESPONSE)
        self.requests.get(fakes.AUTH_URL + '/domains/default', status_code=403)
        self.assertRaises(
            auth_policy.PolicyUnreadable,
            self.make(token_cache=False).get_auth_ref,
            self.session,
        )

    def test_warning_before_the_deadline_behind_the_guard(self) -> None:
        logs = self.useFixture(fixtures.FakeLogger(level=20))
        self.requests.post(
            fakes.TOKEN_URL,
            **fakes.guarded_response(fakes.PASSWORD_TOKEN_RESPONSE),
        )
        self.requests.get(
            fakes.AUTH_URL + '/domains/default',
            json={
                'domain': {
                    'id': 'default',
                    'mfa_policy': {'required': True, 'deadline': '2099-01-01'},
                }
            },
        )
        self.make(token_cache=False).get_auth_ref(self.session)
        self.assertIn(
            'MFA is required for your account from 2099-01-01', logs.output
        )


class TestWaitForTheNextWindow(fakes.GuardTestCase):
    def test_by_keystone_clock(self) -> None:
        out = io.StringIO()
        # NOTE: this machine 100 s ahead of Keystone, whose clock reads
        # 10 s into a window: 20 s to its end, and the margin.
        with mock.patch(
            'mfa_osc.auth.clock.time.time', return_value=1_800_000_110.0
        ):
            waited = guarded.wait_for_next_window(100.0, out)
        self.assertEqual(20 + guarded.MARGIN, waited)
        self.sleep.assert_called_once_with(20 + guarded.MARGIN)
        self.assertIn('waiting 22 seconds', out.getvalue())
