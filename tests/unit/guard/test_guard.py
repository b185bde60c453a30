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

"""mfa_osc.guard.guard: lockout, replay, the domain policy, and failures,
with a fake Keystone application and the per-process store."""

from __future__ import annotations

import json
import logging

import fixtures
import testtools

from mfa_osc.guard import guard
from mfa_osc.guard import request
from mfa_osc.guard import store
from tests.unit.guard import fakes
from tests.unit.guard.fakes import call
from tests.unit.guard.fakes import password_request
from tests.unit.guard.fakes import totp_request

RECEIPT = {'Openstack-Auth-Receipt': 'r'}
HEADER = ('OpenStack-MFA-Guard', '1')


class TestLockout(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.guard, self.keystone, self.directory, self.clock = (
            fakes.make_guard()
        )

    def _wrong(self, times: int) -> None:
        # NOTE: a code not sent before each time (totp_request's default),
        # as a guesser sends them.
        for _ in range(times):
            self.keystone.answer(401)
            self.assertEqual(401, call(self.guard, totp_request()).code)

    def test_locks_after_max_failures_and_refuses_the_right_code(
        self,
    ) -> None:
        self._wrong(3)
        self.assertEqual(3, len(self.keystone.seen))
        locked = call(self.guard, totp_request('654321'))
        self.assertEqual(429, locked.code)
        # NOTE: neither the locking try nor any later one reaches Keystone.
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        right = call(self.guard, totp_request('111111'))
        self.assertEqual(429, right.code)
        self.assertEqual(3, len(self.keystone.seen))
        self.assertEqual('600', locked.headers['Retry-After'])
        self.assertEqual('1', locked.headers['OpenStack-MFA-Guard'])
        self.assertEqual(
            {
                'error': {
                    'code': 429,
                    'title': 'Too Many Requests',
                    'message': 'TOTP sign-in locked after too many wrong '
                    'passcodes until 2027-01-15T12:10:00 UTC; an '
                    'administrator can end it with `openstack mfa unlock '
                    f'--user {fakes.USER_ID}`.',
                    'mfa_guard': {
                        'reason': 'locked',
                        'until': '2027-01-15T12:10:00Z',
                        'retry_after': 600,
                    },
                }
            },
            locked.json,
        )
        self.assertEqual(
            {
                'since': '2027-01-15T12:00:00Z',
                'until': '2027-01-15T12:10:00Z',
            },
            self.directory.marks[fakes.USER_ID],
        )
        self.clock.advance(100)
        self.assertEqual(
            '500', call(self.guard, totp_request()).headers['Retry-After']
        )

    def test_lock_ends_after_lockout_duration(self) -> None:
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)
        self.clock.advance(601)
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('222222')).code)

    def test_lock_ends_at_its_until_though_the_store_keeps_it(self) -> None:
        # NOTE: memcached and Redis expire a marked lock counted from when
        # it was stored again with its mark, a little after it began.
        slow = store.LocalStore(clock=lambda: 0.0)  # never expires
        self.guard, self.keystone, self.directory, self.clock = (
            fakes.make_guard(store_=slow)
        )
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)
        self.clock.advance(599)
        self.assertEqual(
            '1', call(self.guard, totp_request()).headers['Retry-After']
        )
        self.clock.advance(1)
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('222222')).code)

    def test_lock_ended_on_the_user_record(self) -> None:
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)
        self.directory.marks[fakes.USER_ID] = None  # openstack mfa unlock
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('222222')).code)
        # NOTE: the count starts again from nothing.
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_a_lock_of_another_time_on_the_record_does_not_hold(self) -> None:
        self._wrong(3)
        call(self.guard, totp_request())
        self.directory.marks[fakes.USER_ID] = {
            'since': '2026-01-01T00:00:00Z',
            'until': '2026-01-01T00:30:00Z',
        }
        self.keystone.answer(401)
        self.assertEqual(401, call(self.guard, totp_request('333333')).code)

    def test_read_only_record_keeps_the_lock_for_its_duration(self) -> None:
        self.directory.read_only = True
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)
        self.assertEqual({}, self.directory.marks)
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_a_token_gives_the_tries_back(self) -> None:
        self._wrong(2)
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('444444')).code)
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_a_receipt_for_a_good_code_alone_is_a_try(self) -> None:
        for passcode in ('100000', '100001', '100002'):
            self.keystone.answer(401, {}, RECEIPT)
            response = call(
                self.guard, totp_request(passcode, methods=('totp',))
            )
            self.assertEqual(401, response.code)
            self.assertEqual('r', response.headers['Openstack-Auth-Receipt'])
        self.assertEqual(
            429, call(self.guard, totp_request(methods=('totp',))).code
        )

    def test_name_and_id_count_together(self) -> None:
        by_name = {'name': 'alice', 'domain': {'name': 'Default'}}
        by_domain_id = {'name': 'alice', 'domain': {'id': fakes.DOMAIN_ID}}
        for user in (by_name, by_domain_id, None):
            self.keystone.answer(401)
            call(self.guard, totp_request(user=user))
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_a_name_wins_over_an_id_as_in_keystone(self) -> None:
        other = {'id': 'someone-else', 'name': 'alice', 'domain': {
            'id': fakes.DOMAIN_ID}}  # fmt: skip
        self._wrong(2)
        self.keystone.answer(401)
        call(self.guard, totp_request(user=other))
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_an_id_counts_as_keystone_spells_it(self) -> None:
        for _ in range(3):
            self.keystone.answer(401)
            call(self.guard, totp_request(user={'id': fakes.USER_ID.upper()}))
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_an_unknown_user_is_counted_by_name(self) -> None:
        ghost = {'name': 'ghost', 'domain': {'name': 'Default'}}
        for _ in range(3):
            self.keystone.answer(401)
            call(self.guard, totp_request(user=ghost))
        response = call(self.guard, totp_request(user=ghost))
        self.assertEqual(429, response.code)
        self.assertIn('--user ghost', response.json['error']['message'])
        self.assertEqual({}, self.directory.marks)

    def test_other_users_and_other_methods_are_not_locked(self) -> None:
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)
        self.keystone.answer(401, {}, RECEIPT)
        response = call(self.guard, password_request())
        self.assertEqual(401, response.code)
        self.assertEqual('r', response.headers['Openstack-Auth-Receipt'])
        self.keystone.answer(201, fakes.token_body(['application_credential']))
        self.assertEqual(
            201,
            call(
                self.guard,
                {
                    'auth': {
                        'identity': {
                            'methods': ['application_credential'],
                            'application_credential': {
                                'id': 'a',
                                'secret': 's',
                            },
                        }
                    }
                },
            ).code,
        )
        self.keystone.answer(401)
        bob = {'id': 'bob'}
        self.assertEqual(401, call(self.guard, totp_request(user=bob)).code)

    def test_the_same_code_again_in_its_window_is_not_counted(
        self,
    ) -> None:
        # NOTE: v3multifactor sends a refused code once more, unscoped, to
        # tell a wrong code from a missing role: one wrong code, one try.
        for _ in range(5):
            self.keystone.answer(401)
            self.assertEqual(
                401, call(self.guard, totp_request('246810')).code
            )
        self.assertEqual(5, len(self.keystone.seen))
        self._wrong(1)
        # In a later window the same code is a new guess, and counts.
        self.clock.advance(30)
        self.keystone.answer(401)
        self.assertEqual(401, call(self.guard, totp_request('246810')).code)
        self.assertEqual(429, call(self.guard, totp_request()).code)

    def test_password_requests_are_never_counted(self) -> None:
        for _ in range(10):
            self.keystone.answer(401)
            self.assertEqual(401, call(self.guard, password_request()).code)
        self._wrong(3)
        self.assertEqual(429, call(self.guard, totp_request()).code)


class TestReplay(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.guard, self.keystone, self.directory, self.clock = (
            fakes.make_guard()
        )

    def test_a_code_that_signed_in_is_refused_and_not_counted(self) -> None:
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('123456')).code)
        for _ in range(5):
            response = call(self.guard, totp_request('123456'))
            self.assertEqual(401, response.code)
            self.assertEqual(
                {
                    'error': {
                        'code': 401,
                        'title': 'Unauthorized',
                        'message': 'That passcode was used already: wait '
                        'for the next one.',
                        'mfa_guard': {'reason': 'replayed'},
                    }
                },
                response.json,
            )
        self.assertEqual(1, len(self.keystone.seen))
        # NOTE: five replays counted nothing: two wrong codes and a right
        # one are three tries, which max_failures = 3 allows.
        for passcode in ('000001', '000002'):
            self.keystone.answer(401)
            response = call(self.guard, totp_request(passcode))
            self.assertEqual(401, response.code)
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('654321')).code)

    def test_a_code_is_usable_again_after_its_window(self) -> None:
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        call(self.guard, totp_request('123456'))
        self.clock.advance(91)
        self.keystone.answer(401)
        self.assertEqual(401, call(self.guard, totp_request('123456')).code)
        self.assertEqual(2, len(self.keystone.seen))

    def test_a_code_that_did_not_sign_in_stays_usable(self) -> None:
        self.keystone.answer(401, {}, RECEIPT)  # mfa enroll's proof
        call(self.guard, totp_request('123456', methods=('totp',)))
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(self.guard, totp_request('123456')).code)

    def test_codes_are_per_user(self) -> None:
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        call(self.guard, totp_request('123456'))
        self.keystone.answer(201, fakes.token_body(['password', 'totp']))
        bob = {'id': 'bob'}
        response = call(self.guard, totp_request('123456', user=bob))
        self.assertEqual(201, response.code)

    def test_replay_protection_off(self) -> None:
        self.guard, self.keystone, _, _ = fakes.make_guard(
            guard.Settings(max_failures=3, replay_protection=False)
        )
        for _ in range(2):
            self.keystone.answer(201, fakes.token_body(['password', 'totp']))
            self.assertEqual(201, call(self.guard, totp_request()).code)


class TestPassThrough(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.guard, self.keystone, self.directory, self.clock = (
            fakes.make_guard()
        )

    def test_other_requests_are_not_touched(self) -> None:
        sentinel = [b'untouched']

        def inner(environ: object, start_response: object) -> list[bytes]:
            return sentinel

        self.guard.app = inner
        for method, path in (
            ('GET', '/v3/auth/tokens'),
            ('POST', '/v3/users'),
            ('POST', '/v3/auth/tokens/OS-PKI/revoked'),
            ('POST', '/v3/OS-FEDERATION/identity_providers/i/protocols/p'),
        ):
            environ = {'REQUEST_METHOD': method, 'PATH_INFO': path}
            self.assertIs(sentinel, self.guard(environ, lambda *a: None))

    def test_every_spelling_of_the_token_path_is_guarded(self) -> None:
        for method, path in (
            ('post', '/v3/auth/tokens'),
            ('POST', '/v3/auth/tokens/'),
            ('POST', '//v3//auth/tokens'),
            ('POST', '/v3/./auth/tokens'),
        ):
            self.assertTrue(
                request.is_token_request(
                    {'REQUEST_METHOD': method, 'PATH_INFO': path}
                ),
                path,
            )

    def test_the_header_is_on_keystones_answers(self) -> None:
        self.keystone.answer(401, {}, RECEIPT)
        response = call(self.guard, password_request())
        self.assertEqual('1', response.headers['OpenStack-MFA-Guard'])
        self.assertEqual(
            json.dumps(password_request()).encode(),
            self.keystone.seen[0]['body'],
        )

    def test_a_malformed_body_goes_to_keystone(self) -> None:
        for body in (b'{"auth": ', b'[1, 2]', b'\xff\xfe', b''):
            self.keystone.answer(400)
            response = call(self.guard, body)
            self.assertEqual(400, response.code, body)
            self.assertEqual(body, self.keystone.seen[-1]['body'])
            self.assertEqual('1', response.headers['OpenStack-MFA-Guard'])

    def test_a_totp_request_without_a_user_is_forwarded_uncounted(
        self,
    ) -> None:
        for identity in (
            {'methods': ['totp']},
            {'methods': ['totp'], 'totp': {'user': {'passcode': '1'}}},
            {'methods': ['totp'], 'totp': {'user': {'name': 'alice'}}},
        ):
            self.keystone.answer(400)
            body = {'auth': {'identity': identity}}
            self.assertEqual(400, call(self.guard, body).code)
        self.assertEqual(3, len(self.keystone.seen))

    def test_a_body_nested_too_deep_goes_to_keystone(self) -> None:
        self.keystone.answer(400)
        body = b'[' * 30000 + b']' * 30000
        self.assertEqual(400, call(self.guard, body).code)
        self.assertEqual(body, self.keystone.seen[0]['body'])

    def test_a_body_too_large_is_refused(self) -> None:
        body = totp_request()
        body['padding'] = 'x' * request.MAX_BODY
        response = call(self.guard, body)
        self.assertEqual(400, response.code)
        self.assertEqual('too_large', response.json['error']['mfa_guard'][
            'reason'])  # fmt: skip
        self.assertEqual([], self.keystone.seen)


class TestFailures(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def _assert_unavailable(self, response: fakes.Response, what: str) -> None:
        self.assertEqual(503, response.code)
        self.assertEqual(
            {
                'error': {
                    'code': 503,
                    'title': 'Service Unavailable',
                    'message': f'The MFA guard cannot check this sign-in '
                    f'({what}); try again later.',
                    'mfa_guard': {'reason': 'unavailable'},
                }
            },
            response.json,
        )
        self.assertNotIn('X-Subject-Token', response.headers)

    def test_keystone_raising_is_never_a_token(self) -> None:
        the_guard, keystone, _, _ = fakes.make_guard()
        keystone.raises = RuntimeError('secret 123456 in a message')
        for body in (totp_request('123456'), password_request()):
            self._assert_unavailable(
                call(the_guard, body), 'an internal error'
            )
        self.assertNotIn('123456', self.logger.output)
        self.assertIn('RuntimeError', self.logger.output)
        # NOTE: the code did not sign in: it is still usable.
        keystone.raises = None
        keystone.answer(201, fakes.token_body(['password', 'totp']))
        self.assertEqual(201, call(the_guard, totp_request('123456')).code)

    def test_memcached_down_refuses_totp_only(self) -> None:
        the_guard, keystone, _, _ = fakes.make_guard(
            store_=fakes.FailingStore()
        )
        keystone.answer(201, fakes.token_body(['password', 'totp']))
        self._assert_unavailable(
            call(the_guard, totp_request()), 'memcached cannot be reached'
        )
        self.assertEqual([], keystone.seen)
        keystone.answers.clear()
        keystone.answer(201, fakes.token_body(['password']))
        self.assertEqual(201, call(the_guard, password_request()).code)

    def test_a_failed_user_lookup_refuses(self) -> None:
        the_guard, keystone, directory, _ = fakes.make_guard()
        directory.fail = RuntimeError('database is locked')
        user = {'name': 'alice', 'domain': {'name': 'Default'}}
        self._assert_unavailable(
            call(the_guard, totp_request(user=user)),
            "Keystone's user lookup failed",
        )
        self.assertEqual([], keystone.seen)

    def test_a_failed_mark_read_while_locked_refuses(self) -> None:
        the_guard, keystone, directory, _ = fakes.make_guard()
        for _ in range(4):
            keystone.answer(401)
            call(the_guard, totp_request())
        directory.fail = RuntimeError('database is locked')
        response = call(the_guard, totp_request())
        self.assertEqual(503, response.code)

    def test_no_secret_is_logged(self) -> None:
        the_guard, keystone, _, _ = fakes.make_guard()
        for n in range(5):
            keystone.answer(401)
            call(the_guard, totp_request(f'98765{n}'))
        self.assertIn('locked until', self.logger.output)
        self.assertNotIn('98765', self.logger.output)
        self.assertNotIn('pw', self.logger.output.replace('passcodes', ''))


class TestPolicy(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.guard, self.keystone, self.directory, self.clock = (
            fakes.make_guard()
        )
        self.directory.policies[fakes.DOMAIN_ID] = {
            'required': True,
            'deadline': '2027-01-01',
            'roles': [],
        }

    def _sign_in(self, token: dict[str, object]) -> fakes.Response:
        self.keystone.answer(201, token, {'X-Subject-Token': fakes.TOKEN_ID})
        return call(self.guard, password_request())

    def test_a_scoped_token_without_mfa_is_refused(self) -> None:
        for scope in ('project', 'domain', 'system'):
            response = self._sign_in(fakes.token_body(['password'], scope))
            self.assertEqual(403, response.code, scope)
            self.assertNotIn('X-Subject-Token', response.headers)
        self.assertEqual(
            {
                'error': {
                    'code': 403,
                    'title': 'Forbidden',
                    'message': "Your domain's policy requires MFA since "
                    '2027-01-01: sign in with your passcode, or set up a '
                    'device with `openstack mfa enroll` (an unscoped '
                    'sign-in is allowed for it).',
                    'mfa_guard': {
                        'reason': 'policy',
                        'deadline': '2027-01-01',
                    },
                }
            },
            response.json,
        )
        self.assertEqual([fakes.TOKEN_ID] * 3, self.directory.revoked)

    def test_a_rescoped_token_without_mfa_is_refused(self) -> None:
        token = fakes.token_body(['token', 'password'])
        self.assertEqual(403, self._sign_in(token).code)

    def test_a_federated_token_is_judged_as_a_password_one(self) -> None:
        token = fakes.token_body(['token', 'mapped'])
        self.assertEqual(403, self._sign_in(token).code)

    def test_what_passes(self) -> None:
        for token in (
            fakes.token_body(['password'], scope=None),
            fakes.token_body(['password', 'totp']),
            fakes.token_body(['token', 'password', 'totp']),
            fakes.token_body(['application_credential']),
            fakes.token_body(['password'], **{'OS-TRUST:trust': {'id': 't'}}),
        ):
            self.assertEqual(201, self._sign_in(token).code, token)
        self.assertEqual([], self.directory.revoked)

    def test_before_the_deadline_it_passes(self) -> None:
        self.clock.now = self.clock.now.replace(year=2026, month=12, day=31)
        self.assertEqual(
            201, self._sign_in(fakes.token_body(['password'])).code
        )

    def test_no_deadline_refuses_now(self) -> None:
        self.directory.policies[fakes.DOMAIN_ID] = {'required': True}
        self.guard.policies = type(self.guard.policies)(60)
        response = self._sign_in(fakes.token_body(['password']))
        self.assertEqual(403, response.code)
        self.assertIn('since now:', response.json['error']['message'])
        self.assertIsNone(response.json['error']['mfa_guard']['deadline'])

    def test_roles(self) -> None:
        self.directory.policies[fakes.DOMAIN_ID] = {
            'required': True,
            'roles': ['admin'],
        }
        member = fakes.token_body(['password'], roles=('member',))
        admin = fakes.token_body(['password'], roles=('member', 'admin'))
        self.assertEqual(201, self._sign_in(member).code)
        self.assertEqual(403, self._sign_in(admin).code)

    def test_exempt_users(self) -> None:
        for exempt, status in (
            ('alice', 403),  # a name alone would do for every domain
            ('alice@Other', 403),
            ('alice@Default', 201),
            (fakes.USER_ID, 201),
        ):
            self.guard.settings = guard.Settings(
                policy_exempt_users=frozenset({exempt})
            )
            response = self._sign_in(fakes.token_body(['password']))
            self.assertEqual(status, response.code, exempt)

    def test_an_unknown_name_is_not_logged(self) -> None:
        logger = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        ghost = {'name': 'correct horse', 'domain': {'name': 'Default'}}
        for _ in range(4):
            self.keystone.answer(401)
            call(self.guard, totp_request(user=ghost))
        self.assertIn('locked until', logger.output)
        self.assertNotIn('correct horse', logger.output)

    def test_the_policy_is_cached_for_policy_cache_time(self) -> None:
        self.assertEqual(
            403, self._sign_in(fakes.token_body(['password'])).code
        )
        self.directory.policies.clear()
        self.assertEqual(
            403, self._sign_in(fakes.token_body(['password'])).code
        )
        self.guard.policies._clock = lambda: 1e12  # past the time
        self.assertEqual(
            201, self._sign_in(fakes.token_body(['password'])).code
        )

    def test_an_unreadable_policy_refuses(self) -> None:
        self.directory.fail = RuntimeError('database is locked')
        response = self._sign_in(fakes.token_body(['password']))
        self.assertEqual(503, response.code)
        self.assertNotIn('X-Subject-Token', response.headers)
        self.assertIn("domain's policy cannot be read", response.body.decode())


class TestDelegation(testtools.TestCase):
    """Requests making a way to sign in later without a passcode, judged
    by the token making them."""

    EC2 = {'credential': {'type': 'ec2', 'user_id': fakes.USER_ID}}
    REQUESTS = (
        ('POST', '/v3/credentials', EC2, 'an EC2 credential'),
        (
            'POST',
            f'/v3/users/{fakes.USER_ID}/credentials/OS-EC2',
            {'tenant_id': 'p1'},
            'an EC2 credential',
        ),
        ('POST', '/v3/OS-TRUST/trusts', {'trust': {}}, 'a trust'),
        (
            'POST',
            f'/v3/users/{fakes.USER_ID}/application_credentials',
            {'application_credential': {'name': 'ci'}},
            'an application credential',
        ),
        (
            'PUT',
            '/v3/OS-OAUTH1/authorize/rt1',
            {'roles': [{'name': 'member'}]},
            'an OAuth 1.0a access token',
        ),
    )

    def setUp(self) -> None:
        super().setUp()
        self.guard, self.keystone, self.directory, self.clock = (
            fakes.make_guard()
        )
        self.directory.policies[fakes.DOMAIN_ID] = {
            'required': True,
            'deadline': '2027-01-01',
        }

    def _make(
        self, token: dict[str, object], method: str, path: str, body: object
    ) -> fakes.Response:
        self.directory.tokens['t1'] = token
        self.keystone.answer(201, {'made': True})
        return call(self.guard, body, path, method, token='t1')  # type: ignore[arg-type]

    def test_without_a_second_factor_nothing_is_made(self) -> None:
        for scope in (None, 'project'):
            token = fakes.token_body(['password'], scope)
            for method, path, body, what in self.REQUESTS:
                response = self._make(token, method, path, body)
                self.assertEqual(403, response.code, (scope, path))
                message = response.json['error']['message']
                self.assertIn(f'making {what} needs a token', message)
                self.assertEqual(
                    'policy', response.json['error']['mfa_guard']['reason']
                )
        self.assertEqual([], self.keystone.seen)
        self.assertEqual([], self.directory.revoked)

    def test_what_is_made(self) -> None:
        for token in (
            fakes.token_body(['password', 'totp'], None),
            fakes.token_body(['token', 'password', 'totp']),
            fakes.token_body(['application_credential']),
            fakes.token_body(['password'], **{'OS-TRUST:trust': {'id': 't'}}),
        ):
            for method, path, body, _ in self.REQUESTS:
                response = self._make(token, method, path, body)
                self.assertEqual(201, response.code, (token, path))
        # NOTE: Keystone gets the body as it came.
        self.assertEqual(
            json.dumps(self.EC2).encode(), self.keystone.seen[0]['body']
        )

    def test_before_the_deadline_or_outside_the_policy(self) -> None:
        token = fakes.token_body(['password'], None)
        method, path, body, _ = self.REQUESTS[2]
        self.clock.now = self.clock.now.replace(year=2026, month=12, day=31)
        self.assertEqual(201, self._make(token, method, path, body).code)
        self.clock.now = self.clock.now.replace(year=2027, month=2, day=1)
        self.directory.policies.clear()
        self.guard.policies = type(self.guard.policies)(60)
        self.assertEqual(201, self._make(token, method, path, body).code)

    def test_an_unscoped_token_counts_as_holding_the_roles(self) -> None:
        self.directory.policies[fakes.DOMAIN_ID] = {
            'required': True,
            'roles': ['admin'],
        }
        method, path, body, _ = self.REQUESTS[0]
        unscoped = fakes.token_body(['password'], None)
        member = fakes.token_body(['password'], roles=('member',))
        self.assertEqual(403, self._make(unscoped, method, path, body).code)
        self.assertEqual(201, self._make(member, method, path, body).code)

    def test_other_credentials_and_requests_go_to_keystone(self) -> None:
        token = fakes.token_body(['password'], None)
        totp = {'credential': {'type': 'totp', 'blob': 'x'}}
        self.assertEqual(
            201, self._make(token, 'POST', '/v3/credentials', totp).code
        )
        self.assertEqual(
            201, self._make(token, 'GET', '/v3/OS-TRUST/trusts', None).code
        )
        self.assertEqual(
            201, self._make(token, 'POST', '/v3/credentials', b'{').code
        )
        self.assertEqual(3, len(self.keystone.seen))

    def test_every_spelling_of_the_path_is_judged(self) -> None:
        token = fakes.token_body(['password'], None)
        for path in (
            '//v3/OS-TRUST/trusts',
            '/v3/OS-TRUST/trusts/',
            '/v3/./OS-TRUST/x/../trusts',
        ):
            response = self._make(token, 'POST', path, {'trust': {}})
            self.assertEqual(403, response.code, path)

    def test_a_token_keystone_does_not_take_goes_to_keystone(self) -> None:
        method, path, body, _ = self.REQUESTS[2]
        self.keystone.answer(401)
        response = call(self.guard, body, path, method, token='unknown')
        self.assertEqual(401, response.code)
        self.keystone.answer(401)
        self.assertEqual(401, call(self.guard, body, path, method).code)
        self.assertEqual(2, len(self.keystone.seen))

    def test_a_check_that_cannot_decide_refuses(self) -> None:
        token = fakes.token_body(['password'], None)
        self.directory.tokens['t1'] = token
        self.directory.fail = RuntimeError('database is locked')
        method, path, body, _ = self.REQUESTS[2]
        response = call(self.guard, body, path, method, token='t1')
        self.assertEqual(503, response.code)
        self.assertEqual([], self.keystone.seen)
