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

"""MFAClient on a real keystoneauth Session, Keystone mocked."""

from __future__ import annotations

import json
from typing import Any

from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslotest import base
import requests
import requests_mock
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import identity
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import rules as mfa_rules
from tests.unit.client.fakes import AUTH_URL
from tests.unit.client.fakes import TOKEN_ID
from tests.unit.client.fakes import USER_ID
from tests.unit.client.fakes import ClientTestCase

SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'


class TestClient(ClientTestCase):
    def test_who(self) -> None:
        self.assertEqual(USER_ID, self.client.current_user_id())
        self.assertEqual(['password', 'totp'], self.client.current_methods())
        self.assertEqual(AUTH_URL, self.client.endpoint)

    def test_for_token_knows_its_user(self) -> None:
        # NOTE: a bare token's plugin knows no user; the set-up at sign-in
        # and the recovery-code sign-in act as the user signing in.
        client = mfa_client.MFAClient.for_token(
            self.session, AUTH_URL, 'tok-9', 'u-9'
        )
        self.assertEqual('u-9', client.current_user_id())

    def test_create_credential_body_not_logged(self) -> None:
        self.requests.post(
            AUTH_URL + '/credentials',
            json={'credential': {'id': 'c1', 'blob': SECRET}},
            status_code=201,
        )
        cred = self.client.create_credential(USER_ID, 'totp', SECRET)
        self.assertIsInstance(cred, mfa_client.Credential)
        self.assertEqual('c1', cred.id)
        self.assertEqual(SECRET, cred.blob)
        self.assertEqual(
            {
                'credential': {
                    'user_id': USER_ID,
                    'type': 'totp',
                    'blob': SECRET,
                }
            },
            self.last_body(),
        )
        self.assertNotIn(SECRET, self.logger.output)

    def test_list_credentials_query_and_not_logged(self) -> None:
        self.requests.get(
            AUTH_URL + '/credentials',
            json={
                'credentials': [
                    {'id': 'c1', 'type': 'totp', 'blob': SECRET},
                ]
            },
        )
        creds = self.client.list_credentials(user_id=USER_ID, type='totp')
        self.assertEqual(
            [mfa_client.Credential('c1', None, 'totp', SECRET)], creds
        )
        self.assertEqual(
            {'user_id': [USER_ID], 'type': ['totp'], 'limit': ['1000']},
            self.requests.last_request.qs,
        )
        self.assertNotIn(SECRET, self.logger.output)

    def test_update_options_body(self) -> None:
        self.requests.patch(
            AUTH_URL + f'/users/{USER_ID}',
            json={'user': {'id': USER_ID, 'options': {'x': 1}}},
        )
        user = self.client.update_user_options(
            USER_ID,
            {
                'multi_factor_auth_rules': mfa_rules.guard_rules(
                    mfa_rules.DEFAULT_METHODS
                ),
                'multi_factor_auth_enabled': True,
            },
        )
        self.assertEqual(
            mfa_client.User(USER_ID, None, None, True, {'x': 1}), user
        )
        self.assertEqual(
            {
                'user': {
                    'options': {
                        'multi_factor_auth_rules': [
                            ['password'],
                            ['application_credential'],
                            ['external'],
                            ['oauth1'],
                            ['mapped'],
                        ],
                        'multi_factor_auth_enabled': True,
                    }
                }
            },
            self.last_body(),
        )

    def test_can_update_user_sends_a_no_op(self) -> None:
        self.requests.patch(AUTH_URL + f'/users/{USER_ID}', status_code=403)
        data = {
            'id': USER_ID,
            'options': {'multi_factor_auth_enabled': False},
        }
        user = mfa_client.User.from_json(data)
        self.assertFalse(self.client.can_update_user(user))
        self.assertEqual(
            {'user': {'options': {'multi_factor_auth_enabled': False}}},
            self.last_body(),
        )
        self.requests.patch(
            AUTH_URL + f'/users/{USER_ID}', json={'user': data}
        )
        self.assertTrue(self.client.can_update_user(user))
        # Unset stays unset: None removes nothing that was there.
        self.client.can_update_user(mfa_client.User.from_json({'id': USER_ID}))
        self.assertEqual(
            {'user': {'options': {'multi_factor_auth_enabled': None}}},
            self.last_body(),
        )

    def test_delete_missing_credential_is_fine(self) -> None:
        self.requests.delete(AUTH_URL + '/credentials/c1', status_code=404)
        self.client.delete_credential('c1')

    def test_errors_mapped_once(self) -> None:
        for status, kind in [
            (400, mfa_client.BadRequest),
            (403, mfa_client.Forbidden),
            (404, mfa_client.NotFound),
            (409, mfa_client.Conflict),
            (503, mfa_client.Unavailable),
        ]:
            self.requests.get(AUTH_URL + '/users/x', status_code=status)
            exc = self.assertRaises(kind, self.client.get_user, 'x')
            self.assertIn('read the user', str(exc))
        self.requests.get(
            AUTH_URL + '/users/x',
            exc=requests.exceptions.ConnectionError,
        )
        exc = self.assertRaises(
            mfa_client.Unavailable, self.client.get_user, 'x'
        )
        self.assertIn('Could not reach Keystone', str(exc))

    def test_check_totp_alone(self) -> None:
        self.session.get_token()  # sign in first
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            status_code=401,
            headers={'Openstack-Auth-Receipt': 'r'},
            json={'receipt': {}},
        )
        self.assertTrue(self.client.check_totp_alone('u-2', '123456'))
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['totp'],
                        'totp': {'user': {'id': 'u-2', 'passcode': '123456'}},
                    }
                }
            },
            self.last_body(),
        )
        self.assertNotIn('X-Auth-Token', self.requests.last_request.headers)
        self.assertNotIn('123456', self.logger.output)
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=401)
        self.assertFalse(self.client.check_totp_alone('u-2', '123456'))

    def test_check_totp_with_token(self) -> None:
        self.session.get_token()  # sign in first
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=201)
        self.assertTrue(self.client.check_totp_with_token(USER_ID, '654321'))
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['token', 'totp'],
                        'token': {'id': TOKEN_ID},
                        'totp': {
                            'user': {'id': USER_ID, 'passcode': '654321'}
                        },
                    }
                }
            },
            self.last_body(),
        )
        self.assertNotIn('654321', self.logger.output)
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=401)
        self.assertFalse(self.client.check_totp_with_token(USER_ID, '654321'))
        # Behind Keystone's MFA guard: a code that signed in already.
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            status_code=401,
            json={
                'error': {
                    'code': 401,
                    'title': 'Unauthorized',
                    'message': 'That passcode was used already: wait for '
                    'the next one.',
                    'mfa_guard': {'reason': 'replayed'},
                }
            },
        )
        exc = self.assertRaises(
            mfa_client.PasscodeUsed,
            self.client.check_totp_with_token,
            USER_ID,
            '654321',
        )
        self.assertIn('next code', str(exc))

    def test_use_up_recovery_code(self) -> None:
        code = 'ABCDEFGHIJKLMNOP'
        other = 'QRSTUVWXYZ234567'
        book = {
            'version': 2,
            'devices': {'d1': {'name': 'phone'}},
            'recovery_codes': ['r1', 'r2'],
        }
        self.session.get_token()  # sign in first
        self.requests.post(
            AUTH_URL + '/auth/tokens', status_code=401, json=PROBE_ANSWER
        )
        self.requests.get(
            AUTH_URL + f'/users/{USER_ID}', json={'user': {'id': USER_ID}}
        )
        self.requests.get(
            AUTH_URL + '/credentials',
            json={
                'credentials': [
                    {'id': 'd1', 'type': 'totp', 'blob': SECRET},
                    {
                        'id': 'r1',
                        'type': 'totp',
                        'blob': recovery.secret(other),
                    },
                    {
                        'id': 'r2',
                        'type': 'totp',
                        'blob': recovery.secret(code),
                    },
                    {'id': 'b', 'type': 'mfa-osc', 'blob': json.dumps(book)},
                ]
            },
        )
        delete = self.requests.delete(
            AUTH_URL + '/credentials/r2', status_code=204
        )
        patch = self.requests.patch(AUTH_URL + '/credentials/b', json={})
        left = mfa_account.use_up_recovery_code(
            self.client, USER_ID, 'abcd-efgh-ijkl-mnop'
        )
        self.assertEqual(1, left)
        self.assertTrue(delete.called)
        blob = json.loads(patch.last_request.json()['credential']['blob'])
        self.assertEqual(['r1'], blob['recovery_codes'])
        self.assertEqual(['d1'], list(blob['devices']))
        self.assertNotIn(code, self.logger.output)
        self.assertNotIn(recovery.secret(code), self.logger.output)

    def test_use_up_never_deletes_a_device(self) -> None:
        code = 'ABCDEFGHIJKLMNOP'
        # A bookkeeping edited to call the device a recovery code.
        book = {
            'devices': {'d1': {'name': 'phone'}},
            'recovery_codes': ['d1'],
        }
        self.session.get_token()
        self.requests.post(
            AUTH_URL + '/auth/tokens', status_code=401, json=PROBE_ANSWER
        )
        self.requests.get(
            AUTH_URL + f'/users/{USER_ID}', json={'user': {'id': USER_ID}}
        )
        self.requests.get(
            AUTH_URL + '/credentials',
            json={
                'credentials': [
                    {
                        'id': 'd1',
                        'type': 'totp',
                        'blob': recovery.secret(code),
                    },
                    {'id': 'b', 'type': 'mfa-osc', 'blob': json.dumps(book)},
                ]
            },
        )
        delete = self.requests.delete(
            AUTH_URL + '/credentials/d1', status_code=204
        )
        self.assertRaises(
            mfa_account.NotFound,
            mfa_account.use_up_recovery_code,
            self.client,
            USER_ID,
            code,
        )
        self.assertFalse(delete.called)


PROBE_ANSWER = {
    'error': {
        'code': 401,
        'title': 'Unauthorized',
        'message': 'Attempted to authenticate with an unsupported method.',
        'identity': {
            'methods': ['password', 'token', 'totp', 'application_credential']
        },
    }
}


class TestEnabledMethods(ClientTestCase):
    def test_probe(self) -> None:
        self.session.get_token()  # sign in first
        probe = self.requests.post(
            AUTH_URL + '/auth/tokens', status_code=401, json=PROBE_ANSWER
        )
        self.assertEqual(
            frozenset({'password', 'token', 'totp', 'application_credential'}),
            self.client.enabled_methods(),
        )
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['mfa-osc-probe'],
                        'mfa-osc-probe': {},
                    }
                }
            },
            self.last_body(),
        )
        self.assertNotIn('X-Auth-Token', self.requests.last_request.headers)
        # Once per client.
        self.client.enabled_methods()
        self.assertEqual(1, probe.call_count)

    def test_unknown_answer(self) -> None:
        self.session.get_token()
        for answer in ({'error': {'code': 401}}, {'x': 1}, [1]):
            self.requests.post(
                AUTH_URL + '/auth/tokens', status_code=401, json=answer
            )
            client = mfa_client.MFAClient(self.session)
            self.assertIsNone(client.enabled_methods())
        self.requests.post(
            AUTH_URL + '/auth/tokens', status_code=401, text='<html>'
        )
        client = mfa_client.MFAClient(self.session)
        self.assertIsNone(client.enabled_methods())

    def test_keystone_down(self) -> None:
        self.session.get_token()
        self.requests.post(AUTH_URL + '/auth/tokens', status_code=503)
        self.assertRaises(mfa_client.Unavailable, self.client.enabled_methods)


class TestPathID(ClientTestCase):
    def test_refused_before_any_request(self) -> None:
        calls = [
            lambda v: self.client.get_user(v),
            lambda v: self.client.update_user_options(v, {}),
            lambda v: self.client.update_credential(v, 'x'),
            lambda v: self.client.delete_credential(v),
            lambda v: self.client.domain_enabled(v),
        ]
        for value in ('.', '..', 'a/b', '?x', '', '#x', '%2e', 'a b'):
            for call in calls:
                exc = self.assertRaises(identity.InvalidID, call, value)
                self.assertIn('not a valid', str(exc))
        self.assertEqual(0, self.requests.call_count)

    def test_quoted(self) -> None:
        self.assertEqual('abc-123_x', identity.path_id('abc-123_x'))
        self.assertEqual('a%3Bb', identity.path_id('a;b'))
        self.assertRaises(identity.InvalidID, identity.path_id, None)


class TestErrorMessages(ClientTestCase):
    def test_keystone_message_kept(self) -> None:
        message = (
            'You are not authorized to perform the requested action: '
            'identity:get_user.'
        )
        self.requests.get(
            AUTH_URL + '/users/x',
            status_code=403,
            json={'error': {'code': 403, 'message': message}},
        )
        exc = self.assertRaises(
            mfa_client.Forbidden, self.client.get_user, 'x'
        )
        self.assertIn(
            '"You are not authorized to perform the requested action: '
            'identity:get_user"',
            str(exc),
        )
        self.assertEqual(403, exc.status)

    def test_keystone_message_masked(self) -> None:
        secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ'
        redact.register(secret)
        self.requests.post(
            AUTH_URL + '/credentials',
            status_code=400,
            json={'error': {'code': 400, 'message': f'Bad blob {secret}'}},
        )
        exc = self.assertRaises(
            mfa_client.BadRequest,
            self.client.create_credential,
            USER_ID,
            'totp',
            secret,
        )
        self.assertIn('Bad blob', str(exc))
        self.assertNotIn(secret, str(exc))

    def test_no_message(self) -> None:
        self.requests.get(
            AUTH_URL + '/users/x', status_code=409, text='<html>oops</html>'
        )
        exc = self.assertRaises(mfa_client.Conflict, self.client.get_user, 'x')
        self.assertEqual(
            'Keystone refused to read the user (HTTP 409).', str(exc)
        )

    def test_every_request_named_as_a_sentence(self) -> None:
        # NOTE: the list reader names a list ("users"); that read
        # "Keystone refused to users" (issue 20).
        verbs = (
            'create',
            'delete',
            'list',
            'look up',
            'read',
            'revoke',
            'update',
        )
        pattern = (
            r'^Keystone refused to (?:' + '|'.join(verbs) + r') [a-zA-Z ]+'
            r' \(HTTP 403\): the policy of this cloud does not allow it'
        )
        calls: list[tuple[str, Any]] = [
            ('get_user', lambda: self.client.get_user('x')),
            ('find_users', lambda: self.client.find_users('x')),
            ('list_users', lambda: self.client.list_users()),
            ('list_users (domain)', lambda: self.client.list_users('d')),
            ('find_domain_id', lambda: self.client.find_domain_id('d')),
            (
                'get_domain_extra',
                lambda: self.client.get_domain_extra('d', 'k'),
            ),
            (
                'set_domain_extra',
                lambda: self.client.set_domain_extra('d', 'k', 1),
            ),
            (
                'update_user_options',
                lambda: self.client.update_user_options('x', {}),
            ),
            (
                'revoke_user_tokens',
                lambda: self.client.revoke_user_tokens('x'),
            ),
            ('list_credentials', lambda: self.client.list_credentials()),
            (
                'list_credentials (owners)',
                lambda: self.client.list_credentials(owners=['x']),
            ),
            (
                'create_credential',
                lambda: self.client.create_credential('x', 'totp', SECRET),
            ),
            (
                'update_credential',
                lambda: self.client.update_credential('c', 'b'),
            ),
            ('delete_credential', lambda: self.client.delete_credential('c')),
            ('find_role_ids', lambda: self.client.find_role_ids('admin')),
            ('role_assignments', lambda: self.client.role_assignments('r')),
        ]
        forbidden = {'error': {'code': 403, 'message': ''}}
        for method in ('GET', 'POST', 'PATCH', 'DELETE'):
            self.requests.register_uri(
                method,
                requests_mock.ANY,
                status_code=403,
                json=forbidden,
            )
        self.requests.post(
            AUTH_URL + '/auth/tokens',
            json=self.token,
            headers={'X-Subject-Token': TOKEN_ID},
            status_code=201,
        )
        for name, call in calls:
            exc = self.assertRaises(mfa_client.ClientError, call)
            self.assertRegex(str(exc), pattern, name)

    def test_a_list_reads_as_listing_it(self) -> None:
        self.requests.get(AUTH_URL + '/users', status_code=403)
        exc = self.assertRaises(mfa_client.Forbidden, self.client.list_users)
        self.assertTrue(
            str(exc).startswith('Keystone refused to list users (HTTP 403)'),
            str(exc),
        )
        self.requests.get(AUTH_URL + '/users', status_code=503)
        exc = self.assertRaises(mfa_client.Unavailable, self.client.list_users)
        self.assertTrue(
            str(exc).startswith('Keystone failed to list users (HTTP 503)'),
            str(exc),
        )
        self.requests.get(
            AUTH_URL + '/credentials',
            exc=requests.exceptions.ConnectionError('refused'),
        )
        exc = self.assertRaises(
            mfa_client.Unavailable, self.client.list_credentials
        )
        self.assertTrue(
            str(exc).startswith(
                'Could not reach Keystone to list credentials'
            ),
            str(exc),
        )

    def test_malformed_bodies(self) -> None:
        for kwargs in (
            {'text': '<html><body>Proxy login</body></html>'},
            {'text': '{"user": '},
            {'json': ['user']},
        ):
            self.requests.get(AUTH_URL + '/users/x', **kwargs)
            exc = self.assertRaises(
                mfa_client.Malformed, self.client.get_user, 'x'
            )
            self.assertIn('not a JSON object', str(exc))
            self.assertIn('auth URL', str(exc))

    def test_malformed_records(self) -> None:
        for body in ({}, {'user': 'x'}, {'user': {'name': 'alice'}}):
            self.requests.get(AUTH_URL + '/users/x', json=body)
            exc = self.assertRaises(
                mfa_client.Malformed, self.client.get_user, 'x'
            )
            self.assertIn('Keystone', str(exc))
        self.requests.get(
            AUTH_URL + '/credentials', json={'credentials': [{'blob': 'x'}]}
        )
        self.assertRaises(mfa_client.Malformed, self.client.list_credentials)
        self.requests.get(AUTH_URL + '/credentials', json={'credentials': 1})
        exc = self.assertRaises(
            mfa_client.Malformed, self.client.list_credentials
        )
        self.assertIn('"credentials" list', str(exc))


class TestUnscoped(base.BaseTestCase):
    def test_endpoint_from_auth_url_without_catalog(self) -> None:
        requests = self.useFixture(rm_fixture.Fixture())
        token = ks_fixture.V3Token(user_id=USER_ID)
        requests.post(
            AUTH_URL + '/auth/tokens',
            json=token,
            headers={'X-Subject-Token': TOKEN_ID},
            status_code=201,
        )
        auth = v3.Password(
            auth_url=AUTH_URL,
            username='alice',
            password='pw',
            user_domain_id='default',
        )
        client = mfa_client.MFAClient(ks_session.Session(auth=auth))
        self.assertEqual(AUTH_URL, client.endpoint)


class TestPages(ClientTestCase):
    def page(
        self, ids: list[str], marker: str | None, host: str = ''
    ) -> dict[str, Any]:
        body: dict[str, object] = {'users': [{'id': i} for i in ids]}
        link = None
        if marker:
            link = (
                f'{host or AUTH_URL}/users?domain_id=d&limit=2&marker={marker}'
            )
            body['truncated'] = True
        body['links'] = {'next': link, 'self': AUTH_URL + '/users'}
        return body

    def test_follows_next_on_this_endpoint(self) -> None:
        def answer(request: Any, context: Any) -> dict[str, Any]:
            marker = request.qs.get('marker', [None])[0]
            pages = {
                None: self.page(['a', 'b'], 'b', 'http://evil.example'),
                'b': self.page(['c', 'd'], 'd', 'http://evil.example'),
                'd': self.page(['e'], None),
            }
            return pages[marker]

        self.requests.get(AUTH_URL + '/users', json=answer)
        users = self.client.list_users('d')
        self.assertEqual(['a', 'b', 'c', 'd', 'e'], [u.id for u in users])
        sent = [r for r in self.requests.request_history if r.method == 'GET']
        self.assertEqual(3, len(sent))
        for request in sent:
            self.assertTrue(request.url.startswith(AUTH_URL + '/users?'))
            self.assertEqual(['d'], request.qs['domain_id'])
        self.assertEqual(['2'], sent[1].qs['limit'])
        self.assertEqual(['d'], sent[2].qs['marker'])
        self.assertEqual([], self.client.truncated)

    def test_cut_without_next_is_an_error(self) -> None:
        self.requests.get(
            AUTH_URL + '/users',
            json={'users': [{'id': 'a'}], 'truncated': True, 'links': {}},
        )
        exc = self.assertRaises(mfa_client.Incomplete, self.client.list_users)
        self.assertIn('after 1 rows', str(exc))
        self.assertIn('max_db_limit', str(exc))

    def test_repeated_marker_is_refused(self) -> None:
        self.requests.get(AUTH_URL + '/users', json=self.page(['a', 'b'], 'b'))
        self.assertRaises(mfa_client.Malformed, self.client.list_users)

    def test_progress_per_page(self) -> None:
        seen: list[tuple[str, int]] = []
        self.client.on_page = lambda what, rows: seen.append((what, rows))
        self.requests.get(AUTH_URL + '/users', json=self.page(['a'], None))
        self.client.list_users()
        self.assertEqual([('users', 1)], seen)


class TestCredentialsWithoutMarkers(ClientTestCase):
    """Keystone 30 answers the next page of credentials with the first."""

    LIMIT = 3

    def setUp(self) -> None:
        super().setUp()
        self.creds = [
            {'id': f'c{n:02d}', 'user_id': owner, 'type': 'totp', 'blob': 'X'}
            for n, owner in enumerate(
                ['a1', 'a1', 'a2', 'a2', 'b1', 'b2', 'b3', 'c1', 'c1', 'c1']
            )
        ]
        self.requests.get(AUTH_URL + '/credentials', json=self.answer)

    def answer(self, request: Any, context: Any) -> dict[str, Any]:
        # NOTE: as Keystone's SQL driver does: filters (exact and
        # __startswith), then a cut at max_db_limit; the marker ignored.
        rows = self.creds
        user = request.qs.get('user_id', [None])[0]
        prefix = request.qs.get('user_id__startswith', [None])[0]
        if user:
            rows = [r for r in rows if r['user_id'] == user]
        if prefix:
            rows = [r for r in rows if r['user_id'].startswith(prefix)]
        body: dict[str, Any] = {'credentials': rows[: self.LIMIT]}
        if len(rows) > self.LIMIT:
            body['truncated'] = True
            link = f'{AUTH_URL}/credentials?limit=3&marker={rows[2]["id"]}'
            body['links'] = {'next': link, 'self': link}
        return body

    def test_read_in_parts_by_owner(self) -> None:
        owners = ['a1', 'a2', 'b1', 'b2', 'b3', 'c1', 'd1']
        creds = self.client.list_credentials(type='totp', owners=owners)
        self.assertEqual(
            sorted(c['id'] for c in self.creds), sorted(c.id for c in creds)
        )
        sent = [
            r.qs for r in self.requests.request_history if r.method == 'GET'
        ]
        # The whole list twice (the marker ignored), then a, b, c (b is
        # one page, a and c are split further), never one per user.
        self.assertLess(len(sent), 2 * len(owners))
        for query in sent[2:]:
            self.assertEqual(['totp'], query['type'])
            self.assertEqual(['1000'], query['limit'])

    def test_an_id_that_starts_another(self) -> None:
        # NOTE: c1's ID starts c1x's: both are read, c1 alone when split.
        self.creds += [
            {'id': f'x{n}', 'user_id': 'c1x', 'type': 'totp', 'blob': 'X'}
            for n in range(2)
        ]
        creds = self.client.list_credentials(
            type='totp', owners=['a1', 'a2', 'c1', 'c1x']
        )
        self.assertEqual(
            sorted(
                c['id']
                for c in self.creds
                if c['user_id'] in ('a1', 'a2', 'c1', 'c1x')
            ),
            sorted(c.id for c in creds),
        )

    def test_one_user_over_the_limit_is_an_error(self) -> None:
        self.creds += [
            {'id': f'd{n}', 'user_id': 'c1', 'type': 'totp', 'blob': 'X'}
            for n in range(3)
        ]
        exc = self.assertRaises(
            mfa_client.Incomplete,
            self.client.list_credentials,
            type='totp',
            owners=['a1', 'c1'],
        )
        self.assertIn('User c1', str(exc))
        self.assertIn('max_db_limit', str(exc))

    def test_without_owners_is_an_error(self) -> None:
        exc = self.assertRaises(
            mfa_client.Incomplete, self.client.list_credentials, type='totp'
        )
        self.assertIn('does not page it', str(exc))


class TestTruncated(ClientTestCase):
    def test_full_page_flagged(self) -> None:
        users = [{'id': str(n)} for n in range(mfa_client.KEYSTONE_MAX_ROWS)]
        self.requests.get(AUTH_URL + '/users', json={'users': users})
        self.assertEqual(1000, len(self.client.list_users()))
        self.assertEqual(['users'], self.client.truncated)

    def test_truncated_flag_on_an_empty_page(self) -> None:
        self.requests.get(
            AUTH_URL + '/credentials',
            json={'credentials': [], 'truncated': True},
        )
        self.assertEqual([], self.client.list_credentials(type='totp'))


class TestRevokeRequest(ClientTestCase):
    """``DELETE /v3/users/{id}/tokens`` on a real keystoneauth session."""

    def test_revoked(self) -> None:
        self.requests.delete(AUTH_URL + '/users/u-2/tokens', status_code=204)
        self.assertTrue(self.client.revoke_user_tokens('u-2'))
        self.assertEqual('DELETE', self.requests.last_request.method)
        self.assertEqual(
            TOKEN_ID,
            self.requests.last_request.headers['X-Auth-Token'],
        )

    def test_keystone_without_the_call(self) -> None:
        for status in (404, 405, 501):
            self.requests.delete(
                AUTH_URL + '/users/u-2/tokens', status_code=status
            )
            self.assertFalse(self.client.revoke_user_tokens('u-2'))

    def test_refused_and_failed(self) -> None:
        self.requests.delete(AUTH_URL + '/users/u-2/tokens', status_code=403)
        self.assertRaises(
            mfa_client.Forbidden, self.client.revoke_user_tokens, 'u-2'
        )
        self.requests.delete(AUTH_URL + '/users/u-2/tokens', status_code=503)
        self.assertRaises(
            mfa_client.Unavailable, self.client.revoke_user_tokens, 'u-2'
        )

    def test_own_tokens_drop_the_session_token(self) -> None:
        self.requests.delete(AUTH_URL + '/users/u-1/tokens', status_code=204)
        self.assertEqual(TOKEN_ID, self.session.get_token())
        self.assertTrue(self.client.revoke_user_tokens(USER_ID))
        auth = self.session.auth
        self.assertIsNone(getattr(auth, 'auth_ref', None))

    def test_path_checked(self) -> None:
        self.assertRaises(
            identity.InvalidID, self.client.revoke_user_tokens, '../x'
        )
        self.assertEqual(0, self.client.requests)


class TestCutListAdvice(ClientTestCase):
    """Issue 20: Keystone 25 and older cap lists at list_limit (they have
    no max_db_limit): a cut list's advice names both."""

    def test_cut_users_and_credentials_name_list_limit(self) -> None:
        self.requests.get(
            AUTH_URL + '/users',
            json={'users': [{'id': 'a'}], 'truncated': True, 'links': {}},
        )
        exc = self.assertRaises(mfa_client.Incomplete, self.client.list_users)
        for name in (
            '[DEFAULT] max_db_limit',
            '[DEFAULT] list_limit',
            '[identity] list_limit',
            '[credential] list_limit',
        ):
            self.assertIn(name, str(exc))


class TestFederationProtocolsRequest(ClientTestCase):
    def test_protocols_of_every_identity_provider(self) -> None:
        base_url = AUTH_URL + '/OS-FEDERATION/identity_providers'
        self.requests.get(
            base_url,
            json={'identity_providers': [{'id': 'idp1'}, {'id': 'idp2'}]},
        )
        self.requests.get(
            base_url + '/idp1/protocols',
            json={'protocols': [{'id': 'mapped'}, {'id': 'openid'}]},
        )
        self.requests.get(
            base_url + '/idp2/protocols', json={'protocols': [{'id': 'saml2'}]}
        )
        self.assertEqual(
            {'mapped', 'openid', 'saml2'}, self.client.federation_protocols()
        )

    def test_unreadable_is_empty(self) -> None:
        self.requests.get(
            AUTH_URL + '/OS-FEDERATION/identity_providers',
            status_code=403,
        )
        self.assertEqual(frozenset(), self.client.federation_protocols())
