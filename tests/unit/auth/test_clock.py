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

"""A machine clock minutes fast: Keystone's clock is the one that counts.

Keystone answers with a ``Date`` header minutes in the past (this
machine's clock is ahead): the receipt's and the token's expiry are
judged by Keystone's time, and codes the plugin computes from a secret
(``--os-totp-secret``, a recovery code) are computed for Keystone's time.
Issue 20, item 9.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import time
from typing import Any

from keystoneauth1 import access
from keystoneauth1 import session as ks_session
import testtools

from mfa_osc import recovery
from mfa_osc import totp
from mfa_osc.auth import cache
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from tests.unit.auth import fakes

#: This machine's clock is six minutes ahead of Keystone's.
FAST = 360.0


def keystone_date(fast: float = FAST) -> str:
    return email.utils.formatdate(time.time() - fast, usegmt=True)


def stamp(when: float) -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime(when))


def receipt(fast: float = FAST) -> dict[str, Any]:
    """A fresh receipt (300 s) by Keystone's clock: expired by ours."""
    answer = fakes.receipt_response(expires_in=300 - fast)
    answer['headers'] = dict(answer['headers'], Date=keystone_date(fast))
    return answer


def token(fast: float = FAST, lifetime: float = 3600) -> dict[str, Any]:
    """A fresh token by Keystone's clock (``lifetime`` seconds)."""
    body = json.loads(json.dumps(fakes.TOKEN_BODY))
    body['token']['expires_at'] = stamp(time.time() - fast + lifetime)
    body['token']['issued_at'] = stamp(time.time() - fast)
    return {
        'status_code': 201,
        'headers': {
            'X-Subject-Token': fakes.TOKEN_ID,
            'Date': keystone_date(fast),
        },
        'json': body,
    }


def refused(fast: float = FAST) -> dict[str, Any]:
    return dict(fakes.UNAUTHORIZED, headers={'Date': keystone_date(fast)})


def sent_codes(history: list[Any]) -> list[str | None]:
    codes = []
    for request in history:
        identity = request.json()['auth']['identity']
        codes.append(identity.get('totp', {}).get('user', {}).get('passcode'))
    return codes


class TestReceiptByKeystoneClock(fakes.PluginTestCase):
    def test_a_fresh_receipt_is_answered_though_our_clock_says_late(
        self,
    ) -> None:
        self.requests.post(fakes.TOKEN_URL, [receipt(), token()])
        self.prompt.return_value = '123456'
        ref = self.make().get_auth_ref(self.session)
        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        second = self.bodies()[1]['auth']
        self.assertEqual(['totp'], second['identity']['methods'])
        self.assertEqual(
            fakes.RECEIPT,
            self.requests.request_history[1].headers['Openstack-Auth-Receipt'],
        )
        # A typed passcode is the phone's: sent as typed.
        self.assertEqual([None, '123456'], sent_codes(self.history()))

    def test_an_expired_receipt_by_keystone_clock_still_stops(self) -> None:
        # Expired by Keystone's clock too: no request is wasted on it.
        answer = fakes.receipt_response(expires_in=-5 - FAST)
        answer['headers'] = dict(answer['headers'], Date=keystone_date())
        self.requests.post(fakes.TOKEN_URL, **answer)
        self.prompt.return_value = '123456'
        self.assertRaises(
            exceptions.ReceiptExpired, self.make().get_auth_ref, self.session
        )
        self.assertEqual(1, len(self.requests.request_history))

    def test_a_recovery_code_is_computed_for_keystone_time(self) -> None:
        code = recovery.display(recovery.new_code())
        self.requests.post(fakes.TOKEN_URL, [receipt(), token()])
        self.prompt.return_value = code
        auth = self.make(token_cache=False)
        used: list[str] = []
        auth._use_up_recovery_code = (  # type: ignore[method-assign]
            lambda session, ref, bare: used.append(bare)
        )
        auth.get_auth_ref(self.session)
        expected = totp.passcode(
            recovery.secret(recovery.normalize(code)), time.time() - FAST
        )
        self.assertEqual([None, expected], sent_codes(self.history()))
        self.assertEqual([recovery.normalize(code)], used)

    def history(self) -> list[Any]:
        return list(self.requests.request_history)


class TestWithoutADateHeader(fakes.PluginTestCase):
    """uwsgi alone sends no ``Date``: the time of issue of the receipt or
    token Keystone has just issued tells its clock."""

    def test_the_receipts_time_of_issue(self) -> None:
        answer = receipt()
        del answer['headers']['Date']
        answer['json']['receipt']['issued_at'] = stamp(time.time() - FAST)
        self.requests.post(fakes.TOKEN_URL, [answer, token()])
        self.prompt.return_value = '123456'
        ref = self.make(token_cache=False).get_auth_ref(self.session)
        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)

    def test_the_tokens_time_of_issue(self) -> None:
        fast = TestCacheByKeystoneClock.FAST
        answer = token(fast)
        del answer['headers']['Date']
        self.requests.post(fakes.TOKEN_URL, **answer)
        self.make(passcode='123456').get_auth_ref(self.session)
        later = self.make(password=None)
        self.assertEqual(
            fakes.TOKEN_ID, later.get_auth_ref(self.session).auth_token
        )
        self.assertEqual(1, len(self.requests.request_history))
        self.assertAlmostEqual(fast, later.cache.skew or 0, delta=5)

    def test_a_date_header_wins(self) -> None:
        answer = token(0)
        answer['json']['token']['issued_at'] = stamp(time.time() - 999)
        self.requests.post(fakes.TOKEN_URL, **answer)
        auth = self.make(passcode='123456')
        auth.get_auth_ref(self.session)
        self.assertAlmostEqual(0, auth.cache.skew or 0, delta=5)


def codes_between(start: float, end: float, fast: float = 0.0) -> set[str]:
    """The codes of the windows from ``start`` to ``end``, on a clock
    ``fast`` seconds behind this machine's (a sign-in may cross a 30-second
    boundary)."""
    return {totp.passcode(fakes.SECRET, when - fast) for when in (start, end)}


class TestComputedCodes(fakes.PluginTestCase):
    def test_totp_secret_signs_in_by_keystone_time(self) -> None:
        # One request with our clock's code (refused, its Date measures
        # the clock), the password alone (a receipt: the password is
        # right), the receipt with the code of Keystone's time.
        self.requests.post(fakes.TOKEN_URL, [refused(), receipt(), token()])
        auth = self.make(totp_secret=fakes.SECRET, token_cache=False)
        start = time.time()
        ref = auth.get_auth_ref(self.session)
        end = time.time()
        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        codes = sent_codes(list(self.requests.request_history))
        self.assertIn(codes[0], codes_between(start, end))
        self.assertIsNone(codes[1])
        self.assertIn(codes[2], codes_between(start, end, FAST))
        last = self.bodies()[2]['auth']['identity']
        # The password is not sent a third time.
        self.assertEqual(['totp'], last['methods'])
        self.assertTrue(auth.fresh_second_factor)

    def test_totp_secret_alone_tries_keystone_time(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [refused(), token()])
        auth = self.make(
            totp_secret=fakes.SECRET, auth_methods='totp', token_cache=False
        )
        start = time.time()
        auth.get_auth_ref(self.session)
        end = time.time()
        codes = sent_codes(list(self.requests.request_history))
        self.assertEqual(2, len(codes))
        self.assertIn(codes[0], codes_between(start, end))
        self.assertIn(codes[1], codes_between(start, end, FAST))

    def test_a_right_clock_costs_no_retry(self) -> None:
        # Keystone's refusal with the same time: a wrong secret, said so,
        # and no code is sent but our clock's.
        self.requests.post(fakes.TOKEN_URL, [refused(0), receipt(0)])
        auth = self.make(totp_secret=fakes.SECRET, token_cache=False)
        start = time.time()
        self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        end = time.time()
        codes = sent_codes(list(self.requests.request_history))
        # The sign-in, the password alone, the unscoped check of the scope.
        self.assertEqual(3, len(codes))
        self.assertIsNone(codes[1])
        for code in (codes[0], codes[2]):
            self.assertIn(code, codes_between(start, end))

    def test_a_typed_passcode_is_never_changed(self) -> None:
        self.requests.post(fakes.TOKEN_URL, [refused(), receipt()])
        auth = self.make(passcode='123456', token_cache=False)
        exc = self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        self.assertRegex(str(exc), 'clock is 36[01] seconds ahead of Keystone')
        self.assertEqual(
            ['123456', None, '123456'],
            sent_codes(list(self.requests.request_history)),
        )


class TestCacheByKeystoneClock(fakes.PluginTestCase):
    #: Seventy minutes fast: a fresh one-hour token has expired by ours.
    FAST = 4200.0

    def test_the_cache_serves_with_a_clock_an_hour_fast(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **token(self.FAST))
        first = self.make(passcode='123456')
        ref = first.get_auth_ref(self.session)
        # The token lives: keystoneauth does not sign in again for each
        # request of the command.
        self.assertIs(ref, first.get_access(self.session))
        self.assertIs(ref, first.get_access(self.session))
        self.assertEqual(1, len(self.requests.request_history))
        # The next command: served from the cache, no request at all.
        later = self.make(password=None)
        self.assertEqual(
            fakes.TOKEN_ID, later.get_auth_ref(self.session).auth_token
        )
        self.assertEqual(1, len(self.requests.request_history))

    def test_an_expired_token_by_keystone_clock_is_not_served(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **token(self.FAST, lifetime=60))
        self.make(passcode='123456').get_auth_ref(self.session)
        later = self.make(password=None)
        self.assertRaises(
            exceptions.NoPassword, later.get_auth_ref, self.session
        )

    def test_a_bad_skew_in_the_cache_counts_for_nothing(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **token(0))
        self.make(passcode='123456').get_auth_ref(self.session)
        for _path, entry in cache.entries():
            self.assertAlmostEqual(0.0, entry['skew'], delta=5)
        for bad in ('"4200"', 'Infinity', 'true', 'null'):
            for path, entry in cache.entries():
                text = json.dumps(dict(entry, skew=0)).replace(
                    '"skew": 0', f'"skew": {bad}'
                )
                path.write_text(text)
            later = self.make(password=None)
            self.assertEqual(
                fakes.TOKEN_ID, later.get_auth_ref(self.session).auth_token
            )
            self.assertIsNone(later.cache.skew)


class TestClock(fakes.PluginTestCase):
    def test_keystone_time(self) -> None:
        self.assertAlmostEqual(time.time() - 60, clock.server_now(60), 0)
        self.assertAlmostEqual(time.time(), clock.server_now(None), 0)

    def test_recording_keeps_the_response(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **token())
        recording = clock.Recording(ks_session.Session())
        recording.post(fakes.TOKEN_URL, authenticated=False)
        skew = clock.skew_of(recording.response)
        self.assertIsNotNone(skew)
        self.assertAlmostEqual(FAST, skew or 0, delta=5)


class TestRenewalMargin(testtools.TestCase):
    """How long before its end a token in use is renewed."""

    @staticmethod
    def _ref(life: float) -> access.AccessInfoV3:
        issued = datetime.datetime.now(datetime.UTC)
        expires = issued + datetime.timedelta(seconds=life)
        body = {
            'token': {
                'methods': ['password', 'totp'],
                'issued_at': issued.strftime('%Y-%m-%dT%H:%M:%S.000000Z'),
                'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S.000000Z'),
                'user': {'id': 'u', 'domain': {'id': 'default'}},
            }
        }
        ref = access.create(body=body, auth_token='t')
        assert isinstance(ref, access.AccessInfoV3)
        return ref

    def test_keystoneauths_margin_for_usual_tokens(self) -> None:
        self.assertEqual(120, clock.renewal_margin(self._ref(3600), 120))

    def test_a_quarter_of_a_short_tokens_life(self) -> None:
        # NOTE: with keystoneauth's 120 s, a 60-second token just issued
        # expired "soon": each request signed in again, with a new code.
        ref = self._ref(60)
        self.assertEqual(15, clock.renewal_margin(ref, 120))
        self.assertTrue(ref.will_expire_soon(120))
        self.assertFalse(clock.expires_soon(ref, 15, None))
