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

import json
import os
import stat

import fixtures
from keystoneauth1 import session as ks_session
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.auth import cache
from mfa_osc.auth import plugin
from tests.unit import test_plugin as tp

OTHER_TOKEN = 'gAAAAAB-other-project-token'


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
        return plugin.MultiFactor(tp.AUTH_URL, **params)  # type: ignore

    def sign_in_once(self) -> None:
        self.requests.post(tp.TOKEN_URL, **tp.TOKEN_RESPONSE)
        self.make().get_auth_ref(ks_session.Session())
        self.seen = len(self.requests.request_history)

    def history(self) -> list[object]:
        return self.requests.request_history[getattr(self, 'seen', 0) :]

    def posts(self) -> list[object]:
        return [r for r in self.history() if r.method == 'POST']  # type: ignore

    def test_second_command_reuses_token_without_post(self) -> None:
        self.sign_in_once()
        self.requests.get(tp.TOKEN_URL, json=tp.TOKEN_BODY)
        # NOTE: a new plugin, as in a new command, with no passcode at all.
        auth = self.make(passcode=None, password=None)

        ref = auth.get_auth_ref(ks_session.Session())

        self.assertEqual(tp.TOKEN_ID, ref.auth_token)
        self.assertEqual([], self.posts())
        (get,) = self.history()
        self.assertEqual(tp.TOKEN_ID, get.headers['X-Auth-Token'])
        self.assertEqual(tp.TOKEN_ID, get.headers['X-Subject-Token'])
        self.assertEqual(0, auth.sign_in_requests)

    def test_other_project_is_rescoped_from_the_cached_token(self) -> None:
        self.sign_in_once()
        self.requests.post(
            tp.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': OTHER_TOKEN},
            json=tp.TOKEN_BODY,
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
                        'token': {'id': tp.TOKEN_ID},
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
        self.requests.get(tp.TOKEN_URL, status_code=404, json={})
        self.requests.post(tp.TOKEN_URL, **tp.TOKEN_RESPONSE)
        auth = self.make(passcode='654321')

        auth.get_auth_ref(ks_session.Session())

        (post,) = self.posts()
        ident = post.json()['auth']['identity']  # type: ignore
        self.assertEqual(['password', 'totp'], ident['methods'])

    def test_corrupt_entry_means_fresh_sign_in(self) -> None:
        self.sign_in_once()
        (path,) = [p for p, _ in cache.entries()]
        path.write_text('{not json')
        self.requests.post(tp.TOKEN_URL, **tp.TOKEN_RESPONSE)
        self.make().get_auth_ref(ks_session.Session())
        self.assertEqual(1, len(self.posts()))
        self.assertEqual(
            tp.TOKEN_ID, json.loads(path.read_text())['auth_token']
        )

    def test_wrong_shape_entry_means_fresh_sign_in(self) -> None:
        self.sign_in_once()
        (path,) = [p for p, _ in cache.entries()]
        path.write_text('{"auth_token": 5, "body": []}')
        self.requests.post(tp.TOKEN_URL, **tp.TOKEN_RESPONSE)
        self.make().get_auth_ref(ks_session.Session())
        self.assertEqual(1, len(self.posts()))

    def test_files_are_private(self) -> None:
        self.sign_in_once()
        self.assertEqual(0o700, stat.S_IMODE(os.stat(self.dir).st_mode))
        (path,) = [p for p, _ in cache.entries()]
        self.assertEqual(0o600, stat.S_IMODE(path.stat().st_mode))
        self.assertNotIn('123456', path.read_text())
        self.assertNotIn('s3cret-pass', path.read_text())

    def test_cache_off(self) -> None:
        self.requests.post(tp.TOKEN_URL, **tp.TOKEN_RESPONSE)
        self.make(token_cache='off').get_auth_ref(ks_session.Session())
        self.assertFalse(os.path.exists(self.dir))

    def test_password_only_sign_in_is_not_cached(self) -> None:
        body = json.loads(json.dumps(tp.TOKEN_BODY))
        body['token']['methods'] = ['password']
        self.requests.post(
            tp.TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': tp.TOKEN_ID},
            json=body,
        )
        self.make(passcode=None).get_auth_ref(ks_session.Session())
        self.assertEqual([], list(cache.entries()))

    def test_invalidate_forgets_the_entry(self) -> None:
        self.sign_in_once()
        self.requests.get(tp.TOKEN_URL, json=tp.TOKEN_BODY)
        auth = self.make(passcode=None)
        auth.get_access(ks_session.Session())
        self.assertTrue(auth.invalidate())
        self.assertEqual([], list(cache.entries()))

    def test_keyring_hooks_round_trip(self) -> None:
        self.sign_in_once()
        first = self.make(token_cache=False)
        self.requests.post(tp.TOKEN_URL, **tp.TOKEN_RESPONSE)
        first.get_auth_ref(ks_session.Session())
        state = first.get_unscoped_auth_state()
        self.assertIsNotNone(state)
        second = self.make(passcode=None, password=None, token_cache=False)
        self.assertEqual(
            first.get_unscoped_cache_id(), second.get_unscoped_cache_id()
        )
        second.set_unscoped_auth_state(state)
        self.seen = len(self.requests.request_history)
        self.requests.get(tp.TOKEN_URL, json=tp.TOKEN_BODY)
        self.assertEqual(
            tp.TOKEN_ID, second.get_auth_ref(ks_session.Session()).auth_token
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
