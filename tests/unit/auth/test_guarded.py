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

"""The v3multifactor plugin against the MFA guard's answers, on
requests-mock: a lock, a used passcode, the domain's policy on the server.

The answers are built by the guard's own module (:mod:`mfa_osc.guard.
answers`, the contract), so that a change on either side shows here.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
import time
from typing import Any
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ksa_exc

from mfa_osc import totp
from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import hooks
from mfa_osc.auth import plugin
from mfa_osc.auth import policy as auth_policy
from mfa_osc.guard import answers
from tests.unit.auth import fakes

GUARD = {guarded.HEADER: '1'}
USER_ID = 'u1'


def answer(made: answers.Answer) -> dict[str, Any]:
    """requests-mock's keyword arguments for one of the guard's answers."""
    return {
        'status_code': int(made.status.split()[0]),
        'headers': dict(made.headers),
        'content': made.body,
    }


def locked(retry_after: int = 1740) -> dict[str, Any]:
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=retry_after
    )
    return answer(answers.locked(USER_ID, until, retry_after))


REPLAYED = answer(answers.replayed())
POLICY = answer(answers.policy('2027-01-01'))
UNAVAILABLE = answer(answers.unavailable('memcached cannot be reached'))


def guarded_response(response: dict[str, Any]) -> dict[str, Any]:
    """Keystone's answer as the guard hands it on: with its header."""
    return {**response, 'headers': {**response.get('headers', {}), **GUARD}}


UNSCOPED_TOKEN = {
    'status_code': 201,
    'headers': {'X-Subject-Token': 'gAAAAAB-unscoped', **GUARD},
    'json': {
        'token': {
            key: value
            for key, value in fakes.TOKEN_BODY['token'].items()
            if key not in ('project', 'catalog')
        }
        | {'methods': ['password']}
    },
}


class GuardTestCase(fakes.PluginTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.tell = self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.sources.tell')
        ).mock
        self.sleep = self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.guarded._sleep')
        ).mock
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        saved = (hooks.registered.enroll, hooks.registered.exempt)
        self.addCleanup(lambda: hooks.register(saved[0], exempt=saved[1]))
        hooks.register(None)

    def told(self) -> list[str]:
        return [c.args[0] for c in self.tell.call_args_list]

    def bodies(self) -> list[Any]:
        """The token requests' bodies (not the reads between them)."""
        return [
            r.json()
            for r in self.requests.request_history
            if r.method == 'POST'
        ]

    def methods(self, index: int) -> list[str]:
        return list(self.bodies()[index]['auth']['identity']['methods'])

    def passcode(self, index: int) -> str:
        identity = self.bodies()[index]['auth']['identity']
        return str(identity['totp']['user']['passcode'])

    def command(self, *codes: str) -> str:
        """A passcode command printing ``codes``, one per run."""
        folder = self.useFixture(fixtures.TempDir()).path
        script = os.path.join(folder, 'codes.py')
        with open(script, 'w') as out:
            out.write(
                'import pathlib\n'
                f'p = pathlib.Path({folder!r}) / "runs"\n'
                'n = int(p.read_text()) if p.exists() else 0\n'
                'p.write_text(str(n + 1))\n'
                f'print({list(codes)!r}[n])\n'
            )
        return f'{sys.executable} {script}'


class TestLocked(GuardTestCase):
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
            f'--user {USER_ID}`.',
            text,
        )

    def test_code_up_front_is_not_tried_with_the_password_alone(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [locked()])
        auth = self.make(passcode='123456')
        exc = self.assertRaises(
            exceptions.TOTPLocked, auth.get_auth_ref, self.session
        )
        self.assert_locked(exc)
        self.assertEqual(1, len(self.requests.request_history))

    def test_passcode_command_runs_once(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL, [fakes.receipt_response(), locked()]
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
            fakes.TOKEN_URL, [fakes.receipt_response(), locked()]
        )
        auth = self.make()
        exc = self.assertRaises(
            exceptions.TOTPLocked, auth.get_auth_ref, self.session
        )
        self.assert_locked(exc)
        self.assertEqual(2, len(self.requests.request_history))
        self.prompt.assert_called_once_with('Passcode: ')

    def test_recovery_code_is_not_used_up(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [locked()])
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
            [fakes.receipt_response(), fakes.UNAUTHORIZED, locked()],
        )
        exc = self.assertRaises(
            exceptions.TOTPLocked, self.make().get_auth_ref, self.session
        )
        self.assert_locked(exc)

    def test_user_id_the_guard_names_when_signing_in_by_name(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [locked()])
        exc = self.assertRaises(
            exceptions.TOTPLocked,
            self.make(passcode='123456').get_auth_ref,
            self.session,
        )
        self.assertIn('--user u1`', str(exc))
        self.assertNotIn('alice', str(exc))


class TestLockedWording(GuardTestCase):
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
            fakes.TOKEN_URL, **answer(answers.locked(USER_ID, until, 90))
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


class TestReplayed(GuardTestCase):
    """401 ``replayed``: asked again, waited out, or one sentence."""

    def test_prompt_asks_again(self) -> None:
        self.terminal.return_value = True
        self.prompt.side_effect = ['111111', '222222']
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.receipt_response(), REPLAYED, fakes.TOKEN_RESPONSE],
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
            fakes.TOKEN_URL, [fakes.receipt_response()] + [REPLAYED] * 3
        )
        exc = self.assertRaises(
            exceptions.PasscodeReplayed, self.make().get_auth_ref, self.session
        )
        self.assertIn('the prompt has no tries left', str(exc))
        self.assertEqual(4, len(self.requests.request_history))

    def test_passcode_command_waits_for_the_next_window(self) -> None:
        self.requests.post(
            fakes.TOKEN_URL,
            [fakes.receipt_response(), REPLAYED, fakes.TOKEN_RESPONSE],
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
            fakes.TOKEN_URL, [fakes.receipt_response(), REPLAYED, REPLAYED]
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
        self.requests.post(fakes.TOKEN_URL, [REPLAYED])
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
        self.requests.post(fakes.TOKEN_URL, [REPLAYED, fakes.TOKEN_RESPONSE])

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
            [REPLAYED, fakes.receipt_response(), fakes.TOKEN_RESPONSE],
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
            [fakes.PASSWORD_TOKEN_RESPONSE, REPLAYED, fakes.TOKEN_RESPONSE],
        )
        auth = self.make()

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        self.assertEqual(
            ['111111', '222222'], [self.passcode(1), self.passcode(2)]
        )
        self.assertEqual(['password', 'totp'], self.methods(2))
        self.assertEqual([guarded.REPLAYED_AT_PROMPT], self.told())


class TestPolicyOnTheServer(GuardTestCase):
    """403 ``policy`` on a sign-in without a second factor."""

    def test_exempt_command_signs_in_unscoped(self) -> None:
        hooks.register(None, exempt=True)
        self.requests.post(fakes.TOKEN_URL, [POLICY, UNSCOPED_TOKEN])

        ref = self.make().get_auth_ref(self.session)

        self.assertEqual('gAAAAAB-unscoped', ref.auth_token)
        second = self.bodies()[1]['auth']
        self.assertEqual('unscoped', second['scope'])
        self.assertEqual(['password'], second['identity']['methods'])

    def test_passcode_command_signs_in_with_the_password(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [POLICY, fakes.TOKEN_RESPONSE])
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
        self.requests.post(fakes.TOKEN_URL, [POLICY, fakes.TOKEN_RESPONSE])

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
            fakes.TOKEN_URL, [POLICY, UNSCOPED_TOKEN, fakes.TOKEN_RESPONSE]
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
            fakes.TOKEN_URL, [POLICY, UNSCOPED_TOKEN, fakes.TOKEN_RESPONSE]
        )

        ref = self.make().get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        enroll.assert_not_called()
        self.assertEqual('135790', self.passcode(2))
        self.assertEqual(self.scope(), self.bodies()[2]['auth']['scope'])

    def test_no_way_to_a_second_factor(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [POLICY])
        exc = self.assertRaises(
            auth_policy.PolicyRequired, self.make().get_auth_ref, self.session
        )
        self.assertIn(
            "Your domain's policy requires MFA since 2027-01-01", str(exc)
        )
        self.assertIn('`openstack mfa enroll`', str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_unavailable_is_one_sentence(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [UNAVAILABLE])
        exc = self.assertRaises(
            exceptions.GuardUnavailable,
            self.make(passcode='123456').get_auth_ref,
            self.session,
        )
        self.assertIn('try again in a minute', str(exc))
        self.assertEqual(1, len(self.requests.request_history))


class TestPluginPolicyCheckBehindTheGuard(GuardTestCase):
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
            fakes.TOKEN_URL, **guarded_response(fakes.PASSWORD_TOKEN_RESPONSE)
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
            fakes.TOKEN_URL, **guarded_response(fakes.PASSWORD_TOKEN_RESPONSE)
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


class TestWaitForTheNextWindow(GuardTestCase):
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
