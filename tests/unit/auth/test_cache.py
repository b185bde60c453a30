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

"""The token cache: reuse, rescope, refusal, corruption and file modes."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import stat
import time
from typing import Any
from unittest import mock

import fixtures
from keystoneauth1 import session as ks_session
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.auth import cache
from mfa_osc.auth import cached
from mfa_osc.auth import exceptions
from mfa_osc.auth import plugin
from mfa_osc.auth import private_files
from mfa_osc.auth import reuse
from mfa_osc.auth import revocations
from tests.unit.auth import fakes

OTHER_TOKEN = 'gAAAAAB-other-project-token'
#: 200 answers to GET /v3/auth/tokens that are not a token.
GARBAGE: list[dict[str, Any]] = [
    {'text': '{"token": {"expires_at": "2099-01-01T00:00:00'},
    {'text': '<html>Service Unavailable</html>'},
    {'json': {'token': {}}},
    {'json': {'token': {'expires_at': '2099-01-01T00:00:00.000000Z'}}},
    {'json': []},
    {'json': 'token'},
]


class TestTokenCache(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.dir = self.useFixture(fixtures.TempDir()).path + '/mfa'
        self.useFixture(
            fixtures.EnvironmentVariable('MFA_OSC_CACHE_DIR', self.dir)
        )
        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.auth.sources.prompt', return_value=None
            )
        )
        # NOTE: the wait after a revoked token is tested once, below.
        self.useFixture(
            fixtures.MockPatchObject(reuse, 'REVOCATION_SECOND', 0.0)
        )

    def make(self, **kwargs: object) -> plugin.MultiFactor:
        params: dict[str, object] = {
            'username': 'alice',
            'user_domain_id': 'default',
            'password': 's3cret-pass',
            'project_name': 'demo',
            'project_domain_id': 'default',
            'passcode': '123456',
        }
        params.update(kwargs)
        return plugin.MultiFactor(fakes.AUTH_URL, **params)  # type: ignore

    def sign_in_once(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        self.make().get_auth_ref(ks_session.Session())
        self.seen = len(self.requests.request_history)

    def history(self) -> list[object]:
        return self.requests.request_history[getattr(self, 'seen', 0) :]

    def posts(self) -> list[object]:
        return [r for r in self.history() if r.method == 'POST']  # type: ignore

    def age(self, seconds: float = cached.CONFIRM_WINDOW + 1) -> None:
        """Make every cached confirmation ``seconds`` older."""
        for path, entry in cache.entries():
            entry['confirmed'] -= seconds
            for scoped in entry.get('scopes', {}).values():
                scoped['confirmed'] -= seconds
            path.write_text(json.dumps(entry))

    def test_second_command_sends_no_request(self) -> None:
        self.sign_in_once()
        auth = self.make(passcode=None, password=None)

        ref = auth.get_auth_ref(ks_session.Session())

        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertEqual('p1', ref.project_id)
        self.assertEqual([], self.history())
        self.assertEqual(0, auth.sign_in_requests)

    def test_past_the_window_one_request_confirms_again(self) -> None:
        self.sign_in_once()
        self.age()
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=fakes.TOKEN_BODY,
        )
        # NOTE: a new plugin, as in a new command, with no passcode at all.
        auth = self.make(passcode=None, password=None)

        ref = auth.get_auth_ref(ks_session.Session())

        self.assertEqual('p1', ref.project_id)
        (post,) = self.history()
        ident = post.json()['auth']['identity']  # type: ignore
        self.assertEqual(
            {'methods': ['token'], 'token': {'id': fakes.TOKEN_ID}}, ident
        )
        # Confirmed again: the next command sends nothing.
        self.seen = len(self.requests.request_history)
        ref = self.make(passcode=None).get_auth_ref(ks_session.Session())
        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertEqual([], self.history())

    def test_renamed_project_is_rescoped_not_reused(self) -> None:
        self.sign_in_once()
        self.age()
        body = json.loads(json.dumps(fakes.TOKEN_BODY))
        body['token']['project']['id'] = 'p2'
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=body,
        )
        ref = self.make(passcode=None).get_auth_ref(ks_session.Session())
        self.assertEqual(OTHER_TOKEN, ref.auth_token)
        self.seen = len(self.requests.request_history)
        # The new project's token is the one kept for that name.
        ref = self.make(passcode=None).get_auth_ref(ks_session.Session())
        self.assertEqual(OTHER_TOKEN, ref.auth_token)
        self.assertEqual([], self.history())

    def test_renamed_user_means_fresh_sign_in(self) -> None:
        self.sign_in_once()
        self.age()
        body = json.loads(json.dumps(fakes.TOKEN_BODY))
        body['token']['user']['name'] = 'alice-old'
        self.requests.post(
            fakes.TOKEN_URL,
            [
                {
                    'status_code': 201,
                    'json': body,
                    'headers': {'X-Subject-Token': OTHER_TOKEN},
                },
                fakes.TOKEN_RESPONSE,
            ],
        )
        self.make(passcode='654321').get_auth_ref(ks_session.Session())
        rescope, post = self.posts()
        ident = post.json()['auth']['identity']  # type: ignore
        self.assertEqual(['password', 'totp'], ident['methods'])

    def test_back_and_forth_costs_one_rescope_each(self) -> None:
        self.sign_in_once()
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=fakes.TOKEN_BODY,
        )
        for name in ('other', 'demo', 'other', 'demo'):
            self.make(passcode=None, project_name=name).get_auth_ref(
                ks_session.Session()
            )
        self.assertEqual(1, len(self.posts()))
        ref = self.make(passcode=None, project_name='other').get_auth_ref(
            ks_session.Session()
        )
        self.assertEqual(OTHER_TOKEN, ref.auth_token)

    def test_failed_rescope_keeps_the_cache(self) -> None:
        # NOTE: as in a program on openstacksdk, whatever other tests of
        # this run imported (openstackclient.shell makes it OSC).
        self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.auth.options.in_openstack_cli', return_value=False
            )
        )
        self.sign_in_once()
        self.requests.post(fakes.TOKEN_URL, **fakes.UNAUTHORIZED)
        self.requests.get(fakes.TOKEN_URL, json=fakes.TOKEN_BODY)
        auth = self.make(passcode=None, project_name='typo')
        exc = self.assertRaises(
            exceptions.NoRoleOnScope, auth.get_auth_ref, ks_session.Session()
        )
        self.assertIn('has no role on project typo', str(exc))
        # NOTE: in the words of a program on openstacksdk, not OSC's flags.
        self.assertIn('project_name=', str(exc))
        self.assertNotIn('--os-', str(exc))
        self.assertEqual(1, len(list(cache.entries())))

    def test_url_without_v3_is_the_same_entry(self) -> None:
        a = self.make()
        b = plugin.MultiFactor(
            'http://keystone.test/', username='alice', user_domain_id='default'
        )
        self.assertEqual(a.get_unscoped_cache_id(), b.get_unscoped_cache_id())

    def test_other_project_is_rescoped_from_the_cached_token(self) -> None:
        self.sign_in_once()
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=fakes.TOKEN_BODY,
        )
        auth = self.make(passcode=None, password=None, project_name='other')

        ref = auth.get_auth_ref(ks_session.Session())

        self.assertEqual(OTHER_TOKEN, ref.auth_token)
        (post,) = self.posts()
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['token'],
                        'token': {'id': fakes.TOKEN_ID},
                    },
                    'scope': {
                        'project': {
                            'name': 'other',
                            'domain': {'id': 'default'},
                        }
                    },
                }
            },
            post.json(),  # type: ignore[attr-defined]
        )

    def test_revoked_token_means_fresh_sign_in(self) -> None:
        self.sign_in_once()
        self.age()
        self.requests.get(fakes.TOKEN_URL, status_code=404, json={})
        self.requests.post(
            fakes.TOKEN_URL, [fakes.UNAUTHORIZED, fakes.TOKEN_RESPONSE]
        )
        auth = self.make(passcode='654321')

        auth.get_auth_ref(ks_session.Session())

        rescope, post = self.posts()
        ident = post.json()['auth']['identity']  # type: ignore
        self.assertEqual(['password', 'totp'], ident['methods'])

    def test_revoked_token_waits_out_keystones_second(self) -> None:
        # NOTE: a sign-in in the second of the revocation gets a token
        # Keystone counts as revoked too: the fresh sign-in comes later.
        self.sign_in_once()
        self.age()
        self.requests.get(fakes.TOKEN_URL, status_code=404, json={})
        self.requests.post(
            fakes.TOKEN_URL, [fakes.UNAUTHORIZED, fakes.TOKEN_RESPONSE]
        )
        auth = self.make(passcode='654321')
        seen: list[int] = []
        with (
            mock.patch.object(reuse, 'REVOCATION_SECOND', 1.0),
            mock.patch.object(reuse.time, 'sleep') as sleep,
        ):
            sleep.side_effect = lambda _: seen.append(
                len(self.requests.request_history)
            )
            auth.get_auth_ref(ks_session.Session())
        sleep.assert_called_once_with(1.0)
        # After the rescope and the validation, before the sign-in.
        methods = [r.method for r in self.requests.request_history]
        self.assertEqual('GET', methods[seen[0] - 1])
        self.assertEqual('POST', methods[seen[0]])

    def test_corrupt_entry_means_fresh_sign_in(self) -> None:
        self.sign_in_once()
        (path,) = [p for p, _ in cache.entries()]
        path.write_text('{not json')
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        self.make().get_auth_ref(ks_session.Session())
        self.assertEqual(1, len(self.posts()))
        self.assertEqual(
            fakes.TOKEN_ID, json.loads(path.read_text())['auth_token']
        )

    def test_wrong_shape_entry_means_fresh_sign_in(self) -> None:
        self.sign_in_once()
        (path,) = [p for p, _ in cache.entries()]
        path.write_text('{"auth_token": 5, "body": []}')
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        self.make().get_auth_ref(ks_session.Session())
        self.assertEqual(1, len(self.posts()))

    def plant(self, change: Any) -> cache.Path:
        """Sign in for demo and other, then ``change`` the file's entry."""
        self.sign_in_once()
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=fakes.TOKEN_BODY,
        )
        self.make(passcode=None, project_name='other').get_auth_ref(
            ks_session.Session()
        )
        ((path, entry),) = list(cache.entries())
        self.assertEqual(1, len(entry['scopes']))
        change(entry)
        path.write_text(json.dumps(entry))
        return path

    def assert_fresh_sign_in(self, path: cache.Path, **kwargs: Any) -> None:
        """The next command signs in afresh and replaces the file."""
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        self.seen = len(self.requests.request_history)
        auth = self.make(passcode='654321', **kwargs)

        ref = auth.get_auth_ref(ks_session.Session())

        self.assertEqual(fakes.TOKEN_ID, ref.auth_token)
        self.assertEqual('u1', ref.user_id)
        (post,) = self.posts()
        ident = post.json()['auth']['identity']  # type: ignore
        self.assertEqual(['password', 'totp'], ident['methods'])
        entry = json.loads(path.read_text())
        self.assertTrue(cache.well_formed(entry))
        self.assertEqual(fakes.TOKEN_ID, entry['auth_token'])
        self.assertEqual({}, entry['scopes'])
        # And the command after it sends nothing.
        self.seen = len(self.requests.request_history)
        self.make(passcode=None, **kwargs).get_auth_ref(ks_session.Session())
        self.assertEqual([], self.history())

    def test_scoped_entry_without_expiry_means_fresh_sign_in(self) -> None:
        def no_expiry(entry: dict[str, Any]) -> None:
            for scoped in entry['scopes'].values():
                del scoped['body']['token']['expires_at']

        path = self.plant(no_expiry)
        self.assert_fresh_sign_in(path, project_name='other')

    def test_malformed_scoped_entry_means_fresh_sign_in(self) -> None:
        def token(entry: dict[str, Any]) -> dict[str, Any]:
            (scoped,) = entry['scopes'].values()
            return scoped['body']['token']  # type: ignore[no-any-return]

        changes = [
            lambda e: token(e).update(expires_at='bad'),
            lambda e: token(e).update(expires_at='2024-13-45T00:00:00Z'),
            lambda e: token(e).update(expires_at=5),
            lambda e: token(e).pop('user'),
            lambda e: token(e).update(user={'id': 7}),
            lambda e: token(e).update(project='p1'),
            lambda e: e['scopes'].update(x={'auth_token': 'x'}),
            lambda e: e['scopes'].update(x={'body': fakes.TOKEN_BODY}),
            lambda e: e['scopes'].update(x=[]),
            lambda e: e.update(scopes=[]),
            lambda e: e.update(confirmed='yesterday'),
        ]
        for change in changes:
            for old in private_files.cache_dir().glob('*.json'):
                old.unlink()
            path = self.plant(change)
            self.assert_fresh_sign_in(path, project_name='other')

    def test_cached_body_without_user_means_fresh_sign_in(self) -> None:
        # NOTE: inside the confirmation window no request checks it: it
        # must not be handed out (a KeyError 'user' later).
        for user in (None, {}, {'id': ''}, {'id': 5}, [], 'u1'):
            self.sign_in_once()
            ((path, entry),) = list(cache.entries())
            if user is None:
                del entry['body']['token']['user']
            else:
                entry['body']['token']['user'] = user
            path.write_text(json.dumps(entry))
            self.assert_fresh_sign_in(path)

    def test_malformed_scoped_entry_in_memory_is_rescoped(self) -> None:
        # NOTE: the cache's own check (candidate), whatever put the entry
        # there.
        self.sign_in_once()
        auth = self.make(passcode=None, project_name='other')
        auth.cache.load()
        auth.cache.scoped = {
            auth.scope_key(): {
                'auth_token': 'x',
                'body': {'token': {'user': {'id': 'u1'}}},
                'confirmed': time.time(),
            }
        }
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=fakes.TOKEN_BODY,
        )

        ref = auth.get_auth_ref(ks_session.Session())

        self.assertEqual(OTHER_TOKEN, ref.auth_token)
        (post,) = self.posts()
        ident = post.json()['auth']['identity']  # type: ignore
        self.assertEqual(['token'], ident['methods'])

    def test_keyring_state_of_another_shape_counts_as_absent(self) -> None:
        auth = self.make(passcode=None, token_cache=False)
        for state in (
            '{not json',
            '[]',
            json.dumps({'auth_token': 'x', 'body': {'token': {}}}),
            json.dumps(
                {
                    'auth_token': fakes.TOKEN_ID,
                    'body': fakes.TOKEN_BODY,
                    'scopes': {'k': {'auth_token': 'x', 'body': {}}},
                }
            ),
        ):
            auth.set_unscoped_auth_state(state)
            self.assertIsNone(auth.get_unscoped_auth_state())
        # The next sign-in asks afresh.
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        auth.sources.passcode = '123456'
        self.assertEqual('u1', auth.get_auth_ref(ks_session.Session()).user_id)

    def test_files_are_private(self) -> None:
        self.sign_in_once()
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.dir).st_mode))
        (path,) = [p for p, _ in cache.entries()]
        self.assertEqual(0o600, stat.S_IMODE(path.stat().st_mode))
        self.assertNotIn('123456', path.read_text())
        self.assertNotIn('s3cret-pass', path.read_text())

    def test_cache_off(self) -> None:
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        self.make(token_cache='off').get_auth_ref(ks_session.Session())
        self.assertFalse(os.path.exists(self.dir))

    def test_password_only_sign_in_is_not_cached(self) -> None:
        body = json.loads(json.dumps(fakes.TOKEN_BODY))
        body['token']['methods'] = ['password']
        self.requests.post(
            fakes.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': fakes.TOKEN_ID},
            json=body,
        )
        # NOTE: the policy check after a sign-in without TOTP has tests of
        # its own (test_plugin, test_policy): here it sees no policy.
        self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.policy.check', return_value=None)
        )
        self.make(passcode=None).get_auth_ref(ks_session.Session())
        self.assertEqual([], list(cache.entries()))

    def test_invalidate_forgets_a_token_keystone_refuses(self) -> None:
        self.sign_in_once()
        auth = self.make(passcode=None)
        auth.get_access(ks_session.Session())
        self.requests.get(fakes.TOKEN_URL, status_code=404, json={})
        self.assertTrue(auth.invalidate())
        self.assertEqual([], list(cache.entries()))

    def test_invalidate_keeps_a_token_keystone_accepts(self) -> None:
        # NOTE: a 401 from a service for another reason (a wrong
        # --original-password) must not throw a good sign-in away.
        self.sign_in_once()
        auth = self.make(passcode=None)
        auth.get_access(ks_session.Session())
        self.requests.get(fakes.TOKEN_URL, json=fakes.TOKEN_BODY)
        self.assertFalse(auth.invalidate())
        self.assertEqual(1, len(list(cache.entries())))
        self.assertEqual(1, len(self.history()))
        self.assertEqual('GET', self.history()[0].method)  # type: ignore

    def test_garbage_check_after_refused_rescope_means_fresh_sign_in(
        self,
    ) -> None:
        logs = self.useFixture(fixtures.FakeLogger(name=plugin.__name__))
        for answer in GARBAGE:
            self.sign_in_once()
            self.age()
            self.requests.get(fakes.TOKEN_URL, status_code=200, **answer)
            self.requests.post(
                fakes.TOKEN_URL, [fakes.UNAUTHORIZED, fakes.TOKEN_RESPONSE]
            )
            auth = self.make(passcode='654321')

            ref = auth.get_auth_ref(ks_session.Session())

            self.assertEqual('u1', ref.user_id)
            rescope, get, post = self.history()
            self.assertEqual('GET', get.method)  # type: ignore
            ident = post.json()['auth']['identity']  # type: ignore
            self.assertEqual(['password', 'totp'], ident['methods'])
            ((path, entry),) = list(cache.entries())
            self.assertEqual(fakes.TOKEN_ID, entry['auth_token'])
        self.assertIn(
            'did not answer the check of the cached sign-in with a '
            'Keystone token',
            logs.output,
        )

    def test_invalidate_forgets_a_token_keystone_answers_garbage_for(
        self,
    ) -> None:
        for answer in GARBAGE:
            self.sign_in_once()
            auth = self.make(passcode=None)
            auth.get_access(ks_session.Session())
            self.requests.get(fakes.TOKEN_URL, status_code=200, **answer)
            self.assertTrue(auth.invalidate())
            self.assertEqual([], list(cache.entries()))

    def test_garbage_rescope_answer_is_a_clear_error(self) -> None:
        answers: list[dict[str, Any]] = [
            {'text': '{"token": "', 'headers': {'X-Subject-Token': 't'}},
            {'json': 5, 'headers': {'X-Subject-Token': 't'}},
            {'json': {'token': {}}, 'headers': {'X-Subject-Token': 't'}},
            {'json': {'token': 'x'}, 'headers': {'X-Subject-Token': 't'}},
            {'json': fakes.TOKEN_BODY},  # no X-Subject-Token
        ]
        self.sign_in_once()
        for answer in answers:
            self.requests.post(fakes.TOKEN_URL, status_code=201, **answer)
            auth = self.make(passcode=None, project_name='other')

            exc = self.assertRaises(
                exceptions.MFAError, auth.get_auth_ref, ks_session.Session()
            )

            self.assertIn(
                f'The server at {fakes.AUTH_URL} did not answer the sign-in '
                'with a Keystone token',
                str(exc),
            )
            # The sign-in is kept, unchanged.
            ((path, entry),) = list(cache.entries())
            self.assertEqual(fakes.TOKEN_ID, entry['auth_token'])
            self.assertEqual({}, entry['scopes'])

    def test_keyring_hooks_round_trip(self) -> None:
        self.sign_in_once()
        first = self.make(token_cache=False)
        self.requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        first.get_auth_ref(ks_session.Session())
        state = first.get_unscoped_auth_state()
        self.assertIsNotNone(state)
        second = self.make(passcode=None, password=None, token_cache=False)
        self.assertEqual(
            first.get_unscoped_cache_id(), second.get_unscoped_cache_id()
        )
        second.set_unscoped_auth_state(state)
        self.seen = len(self.requests.request_history)
        self.requests.get(fakes.TOKEN_URL, json=fakes.TOKEN_BODY)
        self.assertEqual(
            fakes.TOKEN_ID,
            second.get_auth_ref(ks_session.Session()).auth_token,
        )
        self.assertEqual([], self.posts())
        self.assertTrue(plugin.MultiFactor.interactive_unscoped_auth)

    def test_cache_id_differs_per_user_and_cloud(self) -> None:
        a = self.make().get_unscoped_cache_id()
        self.assertEqual(
            a, self.make(passcode='999999').get_unscoped_cache_id()
        )
        self.assertNotEqual(
            a, self.make(username='bob').get_unscoped_cache_id()
        )
        other = plugin.MultiFactor(
            'http://other.test/v3', username='alice', user_domain_id='default'
        )
        self.assertNotEqual(a, other.get_unscoped_cache_id())


class TestCacheAttacks(base.BaseTestCase):
    """Another user on the machine tampers with the cache."""

    ENTRY = {
        'auth_url': 'http://keystone.test/v3',
        'auth_token': 'gAAAA-token',
        'body': {
            'token': {
                'expires_at': '2999-01-01T00:00:00.000000Z',
                'user': {'id': 'u1'},
            }
        },
        'scope': None,
    }
    # NOTE: of the shape the plugin makes: the base64 of a SHA-256.
    CACHE_ID = base64.b64encode(hashlib.sha256(b'hello').digest()).decode()

    def setUp(self) -> None:
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.dir = cache.Path(self.root) / 'mfa-osc'
        self.logs = self.useFixture(
            fixtures.FakeLogger(name=private_files.__name__)
        )
        self.useFixture(
            fixtures.MockPatchObject(private_files, '_warned', set())
        )

    def saved(self) -> cache.Path:
        cache.save(self.CACHE_ID, dict(self.ENTRY), self.dir)
        return cache.entry_path(self.CACHE_ID, self.dir)

    def test_round_trip(self) -> None:
        self.saved()
        self.assertEqual(self.ENTRY, cache.load(self.CACHE_ID, self.dir))

    def test_missing_or_bad_expiry_counts_as_absent(self) -> None:
        path = self.saved()
        for body in (
            {'token': {}},
            {'token': {'expires_at': 'bad'}},
            {'token': {'expires_at': '2024-13-45T00:00:00Z'}},
            {'token': {'expires_at': 5}},
            {'token': []},
            [],
        ):
            path.write_text(json.dumps({'auth_token': 'x', 'body': body}))
            self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        path.write_text(json.dumps({**self.ENTRY, 'auth_token': ''}))
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertEqual([(path, None)], list(cache.entries(self.dir)))

    def test_malformed_user_or_scopes_count_as_absent(self) -> None:
        path = self.saved()
        body = self.ENTRY['body']
        for entry in (
            {**self.ENTRY, 'body': {'token': {'expires_at': '2999-01-01'}}},
            {**self.ENTRY, 'scope': 5},
            {**self.ENTRY, 'confirmed': 'now'},
            {**self.ENTRY, 'scopes': []},
            {**self.ENTRY, 'scopes': {'k': None}},
            {**self.ENTRY, 'scopes': {'k': {'auth_token': 'x'}}},
            {**self.ENTRY, 'scopes': {'k': {'body': body}}},
            {
                **self.ENTRY,
                'scopes': {
                    'k': {'auth_token': 'x', 'body': {'token': {}}},
                },
            },
        ):
            path.write_text(json.dumps(entry))
            self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
            self.assertEqual([(path, None)], list(cache.entries(self.dir)))
        for user in (None, {}, {'id': ''}, {'id': 5}, {'id': 'u1', 'name': 5}):
            token = {'expires_at': '2999-01-01T00:00:00Z', 'user': user}
            path.write_text(
                json.dumps({**self.ENTRY, 'body': {'token': token}})
            )
            self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        scoped = {'auth_token': 'y', 'body': body, 'confirmed': 1.5}
        path.write_text(json.dumps({**self.ENTRY, 'scopes': {'k': scoped}}))
        self.assertIsNotNone(cache.load(self.CACHE_ID, self.dir))

    def test_file_others_may_write_is_ignored(self) -> None:
        path = self.saved()
        os.chmod(path, 0o622)  # noqa: S103 - the attack
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertIn(
            'may be read or written by other users', self.logs.output
        )
        # A new sign-in replaces it with a private file.
        path = self.saved()
        self.assertEqual(0o600, stat.S_IMODE(path.stat().st_mode))
        self.assertIsNotNone(cache.load(self.CACHE_ID, self.dir))

    def test_symlink_file_not_followed(self) -> None:
        path = self.saved()
        target = cache.Path(self.root) / 'target.json'
        target.write_text(path.read_text())
        os.chmod(target, 0o600)
        path.unlink()
        path.symlink_to(target)
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        cache.save(
            self.CACHE_ID, {**self.ENTRY, 'auth_token': 'new'}, self.dir
        )
        self.assertFalse(path.is_symlink())
        self.assertEqual(
            'gAAAA-token', json.loads(target.read_text())['auth_token']
        )
        self.assertTrue(cache.delete(self.CACHE_ID, self.dir))
        self.assertTrue(target.exists())

    def test_symlink_directory_refused(self) -> None:
        elsewhere = cache.Path(self.root) / 'elsewhere'
        elsewhere.mkdir(mode=0o700)
        self.dir.symlink_to(elsewhere)
        self.assertRaises(
            private_files.UnsafeCache,
            cache.save,
            self.CACHE_ID,
            dict(self.ENTRY),
            self.dir,
        )
        self.assertEqual([], list(elsewhere.iterdir()))
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertFalse(cache.delete(self.CACHE_ID, self.dir))
        self.assertEqual([], list(cache.entries(self.dir)))
        self.assertIn('is not a directory', self.logs.output)

    def test_directory_of_another_user_refused(self) -> None:
        self.saved()
        uid = os.geteuid()
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=uid + 1))
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertRaises(
            private_files.UnsafeCache,
            cache.save,
            self.CACHE_ID,
            dict(self.ENTRY),
            self.dir,
        )
        self.assertEqual([], list(cache.entries(self.dir)))
        self.assertIn('belongs to another user', self.logs.output)
        # Warned once, not on every use.
        self.assertEqual(1, self.logs.output.count('belongs to another user'))

    def test_file_of_another_user_refused(self) -> None:
        path = self.saved()
        real = os.stat
        me = os.geteuid()

        def fstat(fd: int) -> os.stat_result:
            info = real(fd)
            values = list(info)
            values[stat.ST_UID] = me + 1
            return os.stat_result(values)

        self.useFixture(fixtures.MockPatch('os.fstat', side_effect=fstat))
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertIn(f'{path} belongs to another user', self.logs.output)

    def test_directory_others_may_write_is_refused_not_chmodded(self) -> None:
        self.saved()
        os.chmod(self.dir, 0o777)  # noqa: S103 - the attack
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertRaises(
            private_files.UnsafeCache,
            cache.save,
            self.CACHE_ID,
            dict(self.ENTRY),
            self.dir,
        )
        self.assertEqual(0o777, stat.S_IMODE(self.dir.stat().st_mode))
        self.assertIn('may be written by other users', self.logs.output)
        self.assertIn('MFA_OSC_CACHE_DIR', self.logs.output)

    def test_a_folder_of_the_users_own_is_used_as_it_is(self) -> None:
        # NOTE: MFA_OSC_CACHE_DIR=$HOME: 0755, with files of the user's.
        self.dir.mkdir(mode=0o755)
        os.chmod(self.dir, 0o755)  # noqa: S103 - a home folder's mode
        (self.dir / 'notes.txt').write_text('mine')
        self.saved()
        self.assertEqual(self.ENTRY, cache.load(self.CACHE_ID, self.dir))
        self.assertEqual(0o755, stat.S_IMODE(self.dir.stat().st_mode))
        self.assertEqual('mine', (self.dir / 'notes.txt').read_text())

    def test_unwritable_directory_warns_once(self) -> None:
        self.dir.mkdir(mode=0o700)
        self.useFixture(
            fixtures.MockPatch(
                'tempfile.mkstemp',
                side_effect=OSError(errno.EROFS, 'Read-only file system'),
            )
        )
        for _ in range(2):
            self.assertRaises(
                OSError, cache.save, self.CACHE_ID, dict(self.ENTRY), self.dir
            )
        self.assertEqual(
            1, self.logs.output.count('The token cache is not used')
        )
        self.assertIn(
            f'{self.dir} cannot be written (Read-only file system); set '
            'MFA_OSC_CACHE_DIR to a directory you can write',
            self.logs.output,
        )

    def test_fifo_in_place_of_the_file(self) -> None:
        self.dir.mkdir(mode=0o700)
        os.mkfifo(cache.entry_path(self.CACHE_ID, self.dir), 0o600)
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertIn('not a regular file', self.logs.output)


class TestPendingRevocations(base.BaseTestCase):
    """A sign-out moves the entry out of use, kept until revoked."""

    ENTRY = {
        **TestCacheAttacks.ENTRY,
        'scopes': {
            'k': {
                'auth_token': 'gAAAA-scoped',
                'body': TestCacheAttacks.ENTRY['body'],
                'confirmed': 1.0,
            }
        },
    }
    CACHE_ID = TestCacheAttacks.CACHE_ID

    def setUp(self) -> None:
        super().setUp()
        self.dir = cache.Path(self.useFixture(fixtures.TempDir()).path) / 'c'
        cache.save(self.CACHE_ID, dict(self.ENTRY), self.dir)

    def test_retire_takes_the_entry_out_of_use(self) -> None:
        moved = revocations.retire(self.CACHE_ID, self.dir)
        assert moved is not None
        self.assertIsNone(cache.load(self.CACHE_ID, self.dir))
        self.assertEqual([], list(cache.entries(self.dir)))
        self.assertEqual(0o600, stat.S_IMODE(moved.stat().st_mode))
        self.assertEqual(
            0o700,
            stat.S_IMODE(revocations.revoke_dir(self.dir).stat().st_mode),
        )
        ((path, data),) = list(revocations.pending(self.dir))
        self.assertEqual(moved, path)
        self.assertEqual(
            ('http://keystone.test/v3', ['gAAAA-token', 'gAAAA-scoped']),
            revocations.pending_tokens(data),
        )
        # Twice (two sign-outs at once): the second finds nothing.
        self.assertIsNone(revocations.retire(self.CACHE_ID, self.dir))

    def test_what_is_left_is_kept(self) -> None:
        path = revocations.retire(self.CACHE_ID, self.dir)
        assert path is not None
        revocations.keep_pending(
            path, 'http://keystone.test/v3', ['gAAAA-scoped']
        )
        ((_, data),) = list(revocations.pending(self.dir))
        self.assertEqual(
            ('http://keystone.test/v3', ['gAAAA-scoped']),
            revocations.pending_tokens(data),
        )
        revocations.drop_pending(path)
        self.assertEqual([], list(revocations.pending(self.dir)))

    def test_added_tokens(self) -> None:
        path = revocations.add_pending('http://k.test/v3', ['t1'], self.dir)
        self.assertEqual(0o600, stat.S_IMODE(path.stat().st_mode))
        self.assertEqual(
            [('http://k.test/v3', ['t1'])],
            [
                revocations.pending_tokens(d)
                for _, d in revocations.pending(self.dir)
            ],
        )

    def test_a_file_others_may_read_is_not_sent(self) -> None:
        path = revocations.retire(self.CACHE_ID, self.dir)
        assert path is not None
        os.chmod(path, 0o644)
        self.assertEqual([], list(revocations.pending(self.dir)))
        self.assertTrue(path.exists())

    def test_other_files_among_the_revocations_are_left_alone(self) -> None:
        folder = private_files.private_dir(revocations.REVOKE_DIR, self.dir)
        mine = folder / 'settings.json'
        mine.write_text('{}')
        os.chmod(mine, 0o600)
        self.assertEqual([], list(revocations.pending(self.dir)))
        self.assertTrue(mine.exists())

    def test_other_files_of_the_directory_are_not_entries(self) -> None:
        # NOTE: MFA_OSC_CACHE_DIR may name a folder with files of the
        # user's own: signing out of all must not take them.
        mine = self.dir / 'package.json'
        mine.write_text('{}')
        os.chmod(mine, 0o600)
        self.assertEqual(
            [cache.entry_path(self.CACHE_ID, self.dir)],
            [path for path, _ in cache.entries(self.dir)],
        )


class TestStateFiles(base.BaseTestCase):
    """read_state/write_state: the cache's interface for state files."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path + '/mfa'

    def test_written_0600_in_a_0700_directory_and_read_back(self) -> None:
        from pathlib import Path

        private_files.write_state('x.state', {'a': 1}, Path(self.dir))
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.dir).st_mode))
        path = os.path.join(self.dir, 'x.state')
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        self.assertEqual(
            {'a': 1}, private_files.read_state('x.state', Path(self.dir))
        )
        self.assertEqual(['x.state'], os.listdir(self.dir))

    def test_missing_unreadable_or_loose_reads_as_none(self) -> None:
        from pathlib import Path

        directory = Path(self.dir)
        self.assertIsNone(private_files.read_state('x.state', directory))
        private_files.write_state('x.state', {'a': 1}, directory)
        os.chmod(directory / 'x.state', 0o644)
        self.assertIsNone(private_files.read_state('x.state', directory))
        (directory / 'y.state').write_text('not json')
        os.chmod(directory / 'y.state', 0o600)
        self.assertIsNone(private_files.read_state('y.state', directory))

    def test_a_directory_others_may_write_is_refused(self) -> None:
        from pathlib import Path

        os.mkdir(self.dir, 0o700)
        os.chmod(self.dir, 0o777)  # noqa: S103 - the attack
        self.assertRaises(
            private_files.UnsafeCache,
            private_files.write_state,
            'x.state',
            {},
            Path(self.dir),
        )
        self.assertEqual([], os.listdir(self.dir))
