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

"""``openstack mfa logout``: the token out of use before any request, kept
(0600) until Keystone revoked it, and what a revocation's answer means."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
import stat
from typing import Any
from unittest import mock

import fixtures
from openstack import exceptions as sdk_exc
from osc_lib import exceptions
from oslotest import base
import requests
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.auth import cache
from mfa_osc.osc import exported
from mfa_osc.osc import logout
from tests.unit.osc import fakes

URL = 'http://keystone.test/v3'
TOKENS = URL + '/auth/tokens'


class TestRevoke(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())

    def test_waits_a_few_seconds_at_most(self) -> None:
        # NOTE: 404 (or 401: the token cannot vouch for itself) is a
        # token already invalid: revoked.
        for status in (204, 404, 401):
            self.requests.delete(TOKENS, status_code=status)
            self.assertIsNone(logout._revoke(URL, 'gAAAA-t'))
        self.assertEqual(
            'gAAAA-t', self.requests.last_request.headers['X-Subject-Token']
        )
        self.assertEqual(
            logout.REVOKE_TIMEOUT, self.requests.last_request.timeout
        )
        self.assertLessEqual(logout.REVOKE_TIMEOUT, 10)

    def test_no_answer(self) -> None:
        self.requests.delete(TOKENS, exc=requests.exceptions.ReadTimeout)
        self.assertEqual(
            'it did not answer within 5 seconds', logout._revoke(URL, 't')
        )

    def test_server_error(self) -> None:
        self.requests.delete(TOKENS, status_code=503)
        self.assertEqual('it answered 503', logout._revoke(URL, 't'))

    def test_each_failure_in_words(self) -> None:
        for answer, why in (
            (
                {'exc': requests.exceptions.SSLError('verify failed')},
                'its TLS certificate was not verified',
            ),
            (
                {'exc': requests.exceptions.ConnectionError('refused')},
                'the connection failed',
            ),
            ({'status_code': 403}, 'it answered 403'),
            ({'status_code': 409}, 'it answered 409'),
        ):
            self.requests.delete(TOKENS, **answer)
            self.assertEqual(why, logout._revoke(URL, 't'))

    def test_one_sentence_naming_the_next_command(self) -> None:
        tls = logout._failure(
            URL, 'its TLS certificate was not verified', 'openstack mfa logout'
        )
        self.assertIn('`openstack --os-cacert CA-FILE mfa logout`', tls)
        other = logout._failure(
            URL, 'it answered 503', 'openstack mfa logout --all'
        )
        self.assertIn('run `openstack mfa logout --all` again', other)
        for text in (tls, other):
            self.assertEqual(1, text.count('. ') + text.endswith('.'))
            self.assertIn(URL, text)


#: Where a token waits for its revocation, below the cache directory.
#: NOTE: spelled out, not imported: it is a place on disk that a
#: revocation left by an earlier version must still be found in.
REVOKE_DIR = 'mfa-osc-revoke'
EXPIRES = '2099-01-01T00:00:00.000000Z'


def cache_id(name: str) -> str:
    """A cache id as the plugin makes them: base64 of a SHA-256."""
    return base64.b64encode(hashlib.sha256(name.encode()).digest()).decode()


def entry(token: str, url: str = URL, *scoped: str) -> dict[str, Any]:
    """A cached sign-in: the MFA token and the tokens rescoped from it."""
    body = {'token': {'expires_at': EXPIRES, 'user': {'id': 'u1'}}}
    return {
        'auth_token': token,
        'body': body,
        'confirmed': None,
        'auth_url': url,
        'scopes': {
            f'project:p{n}': {'auth_token': t, 'body': body, 'confirmed': None}
            for n, t in enumerate(scoped)
        },
    }


class TestLogout(fakes.CommandTestCase):
    """The command, on a real token cache, against requests-mock."""

    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.dir = Path(self.useFixture(fixtures.TempDir()).path) / 'cache'
        self.dir.mkdir(mode=0o700)
        self.useFixture(
            fixtures.EnvironmentVariable('MFA_OSC_CACHE_DIR', str(self.dir))
        )
        for name in ('OS_TOKEN', 'OS_AUTH_TOKEN', 'OS_AUTH_URL'):
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.useFixture(fixtures.EnvironmentVariable(exported.VARIABLE))
        self.entry_id = cache_id('alice')
        self.auth = mock.Mock(auth_url=URL)
        self.auth.get_unscoped_cache_id.return_value = self.entry_id
        self.cloud = mock.Mock()
        self.cloud.get_auth.return_value = self.auth
        self.cloud.get_requests_verify_args.return_value = ('/ca.pem', None)
        self.app.options = mock.Mock(cloud='mfa')
        self.app.cloud_config = mock.Mock()
        self.app.cloud_config.get_one.return_value = self.cloud
        self.app.cloud = mock.Mock(config={'auth_type': 'v3multifactor'})
        self.app.stdout = io.StringIO()
        self.app.stderr = io.StringIO()

    def logout(self, *argv: str) -> str:
        """Run ``mfa logout ARGV``; what it wrote to standard output."""
        cmd = logout.Logout(self.app, None)
        cmd.take_action(self.check_parser(cmd, list(argv), []))
        return self.app.stdout.getvalue()

    def fails(self, *argv: str) -> str:
        """Run ``mfa logout ARGV``, which must fail; its error."""
        cmd = logout.Logout(self.app, None)
        parsed = self.check_parser(cmd, list(argv), [])
        exc = self.assertRaises(
            exceptions.CommandError, cmd.take_action, parsed
        )
        return str(exc)

    def waiting(self) -> dict[str, list[str]]:
        """The tokens that wait for revocation, by file name."""
        found: dict[str, list[str]] = {}
        folder = self.dir / REVOKE_DIR
        for path in sorted(folder.glob('*.json')) if folder.is_dir() else []:
            # NOTE: only this user may read them: they hold tokens.
            self.assertEqual(0o600, stat.S_IMODE(path.stat().st_mode))
            data = json.loads(path.read_text())
            found[path.name] = (
                [data['auth_token']] if 'auth_token' in data else []
            )
            found[path.name] += data.get('tokens', [])
            found[path.name] += [
                s['auth_token'] for s in data.get('scopes', {}).values()
            ]
        return found

    def subjects(self) -> list[str]:
        """The tokens whose revocation was asked, in order."""
        return [
            r.headers['X-Subject-Token'] for r in self.requests.request_history
        ]

    def test_token_out_of_use_before_any_request(self) -> None:
        cache.save(self.entry_id, entry('gAAAA-mfa'), self.dir)
        cached = next(self.dir.glob('*.json'))
        seen: list[object] = []

        def answer(request: Any, context: Any) -> str:
            # NOTE: while Keystone is asked, no command can sign in with
            # the entry, and the token is kept until the answer.
            seen.append(cached.exists())
            seen.append(list(self.waiting().values()))
            context.status_code = 204
            return ''

        self.requests.delete(TOKENS, text=answer)
        out = self.logout()
        self.assertEqual([False, [['gAAAA-mfa']]], seen)
        self.assertIn('Signed out: removed 1 cached sign-in;', out)
        # Revoked: nothing is left to retry, and the cache is empty.
        self.assertEqual({}, self.waiting())
        self.assertEqual([], list(self.dir.glob('*.json')))
        request = self.requests.last_request
        self.assertEqual('gAAAA-mfa', request.headers['X-Subject-Token'])
        self.assertEqual('gAAAA-mfa', request.headers['X-Auth-Token'])
        # The cloud's CA, and the timeout.
        self.assertEqual('/ca.pem', request.verify)
        self.assertEqual(logout.REVOKE_TIMEOUT, request.timeout)
        self.assertEqual('', self.app.stderr.getvalue())

    def test_taken_out_of_use_even_when_keystone_is_never_reached(
        self,
    ) -> None:
        cache.save(self.entry_id, entry('gAAAA-mfa'), self.dir)
        self.requests.delete(TOKENS, exc=requests.exceptions.ConnectTimeout)
        self.fails()
        self.assertEqual([], list(self.dir.glob('*.json')))

    def test_rescoped_tokens_revoked_too(self) -> None:
        cache.save(
            self.entry_id, entry('t-mfa', URL, 't-p0', 't-p1'), self.dir
        )
        self.requests.delete(TOKENS, status_code=204)
        self.logout()
        self.assertEqual(['t-mfa', 't-p0', 't-p1'], self.subjects())
        self.assertEqual({}, self.waiting())

    def test_already_invalid_counts_as_revoked(self) -> None:
        cache.save(self.entry_id, entry('t-mfa', URL, 't-p0'), self.dir)
        self.requests.delete(
            TOKENS, [{'status_code': 404}, {'status_code': 401}]
        )
        self.assertIn('Signed out', self.logout())
        self.assertEqual({}, self.waiting())

    def test_no_answer_kept_for_retry_non_zero_exit(self) -> None:
        cache.save(self.entry_id, entry('t-mfa', URL, 't-p0'), self.dir)
        self.requests.delete(TOKENS, exc=requests.exceptions.ConnectTimeout)
        error = self.fails()
        self.assertIn(f'at {URL} (it did not answer within 5 seconds)', error)
        self.assertIn('run `openstack mfa logout` again', error)
        self.assertEqual(
            logout.REVOKE_TIMEOUT, self.requests.last_request.timeout
        )
        # NOTE: a cloud that did not answer is not asked again in this
        # run: each try could wait the whole timeout.
        self.assertEqual(1, self.requests.call_count)
        self.assertEqual([['t-mfa', 't-p0']], list(self.waiting().values()))
        # Signed out here all the same, and no token in the message.
        self.assertIn('Signed out: removed 1', self.app.stdout.getvalue())
        self.assertNotIn('t-mfa', error)
        self.assertNotIn('t-p0', error)

    def test_only_the_tokens_not_revoked_are_kept(self) -> None:
        cache.save(self.entry_id, entry('t-mfa', URL, 't-p0'), self.dir)
        self.requests.delete(
            TOKENS, [{'status_code': 204}, {'status_code': 503}]
        )
        self.assertIn('(it answered 503)', self.fails())
        self.assertEqual([['t-p0']], list(self.waiting().values()))

    def test_next_logout_retries(self) -> None:
        cache.save(self.entry_id, entry('t-mfa'), self.dir)
        self.requests.delete(TOKENS, status_code=503)
        self.fails()
        self.app.stdout = io.StringIO()
        self.requests.delete(TOKENS, status_code=204)
        out = self.logout()
        self.assertEqual(['t-mfa', 't-mfa'], self.subjects())
        self.assertIn('Revoked 1 more token that waited for it', out)
        self.assertNotIn('Signed out', out)
        self.assertEqual({}, self.waiting())

    def test_tls_failure_names_the_ca_option(self) -> None:
        cache.save(self.entry_id, entry('t-mfa'), self.dir)
        self.requests.delete(TOKENS, exc=requests.exceptions.SSLError)
        error = self.fails()
        self.assertIn('(its TLS certificate was not verified)', error)
        self.assertIn('`openstack --os-cacert CA-FILE mfa logout`', error)
        self.assertEqual(1, len(self.waiting()))

    def test_all_names_its_rerun(self) -> None:
        cache.save(self.entry_id, entry('t-mfa'), self.dir)
        self.requests.delete(TOKENS, status_code=500)
        self.assertIn(
            'run `openstack mfa logout --all` again', self.fails('--all')
        )

    def test_other_clouds_wait_for_all(self) -> None:
        other = 'http://other.test:5000'
        cache.save(cache_id('bob'), entry('t-other', other), self.dir)
        self.requests.delete(TOKENS, status_code=204)
        self.requests.delete(other + '/v3/auth/tokens', status_code=204)
        # NOTE: a plain logout signs out of this command's cloud only.
        self.logout('--all')
        self.assertEqual(['t-other'], self.subjects())
        self.assertEqual({}, self.waiting())

    def test_waiting_revocation_of_another_cloud_left_for_all(self) -> None:
        other = 'http://other.test:5000'
        cache.save(cache_id('bob'), entry('t-other', other), self.dir)
        self.requests.delete(other + '/v3/auth/tokens', status_code=503)
        self.fails('--all')
        cache.save(self.entry_id, entry('t-mfa', URL + '/'), self.dir)
        self.requests.delete(TOKENS, status_code=204)
        self.app.stdout = io.StringIO()
        self.logout()
        # The same cloud however its URL is written (/v3, a slash).
        self.assertEqual(['t-other', 't-mfa'], self.subjects())
        self.assertIn(
            'Note: 1 sign-out of other clouds still wait',
            self.app.stderr.getvalue(),
        )
        self.assertEqual([['t-other']], list(self.waiting().values()))

    def test_all_removes_only_cache_entries(self) -> None:
        cache.save(cache_id('alice'), entry('t-a'), self.dir)
        cache.save(cache_id('bob'), entry('t-b'), self.dir)
        mine = self.dir / 'notes.json'
        mine.write_text('{"auth_token": "t-notes"}')
        self.requests.delete(TOKENS, status_code=204)
        out = self.logout('--all')
        self.assertIn('Signed out: removed 2 cached sign-ins;', out)
        self.assertEqual(['t-a', 't-b'], sorted(self.subjects()))
        self.assertTrue(mine.exists())
        self.assertEqual([mine], list(self.dir.glob('*.json')))

    def test_all_needs_no_cloud_configured(self) -> None:
        def get_one(**kwargs: Any) -> Any:
            if kwargs['validate']:
                raise sdk_exc.ConfigException('Missing value auth-url')
            return self.cloud

        self.app.cloud_config.get_one.side_effect = get_one
        cache.save(self.entry_id, entry('t-a'), self.dir)
        self.requests.delete(TOKENS, status_code=204)
        self.assertIn('Signed out: removed 1', self.logout('--all'))
        self.assertEqual(['t-a'], self.subjects())

    def test_nothing_to_sign_out_of(self) -> None:
        self.assertEqual(
            'No cached sign-in to sign out of for this cloud and user.\n',
            self.logout(),
        )
        self.app.stdout = io.StringIO()
        self.assertEqual(
            'No cached sign-in to sign out of on this machine.\n',
            self.logout('--all'),
        )
        self.assertEqual(0, self.requests.call_count)

    def test_nothing_cached_by_another_auth_type_says_so(self) -> None:
        self.app.cloud.config['auth_type'] = 'password'
        self.auth.get_unscoped_cache_id.return_value = None
        out = self.logout()
        self.assertIn('it signs in with auth type password', out)
        self.assertIn('`openstack mfa logout --all`', out)

    def test_no_cloud_configured_names_all(self) -> None:
        self.app.cloud_config.get_one.side_effect = sdk_exc.ConfigException(
            'Missing value auth-url'
        )
        cache.save(self.entry_id, entry('t-mfa'), self.dir)
        error = self.fails()
        self.assertIn('No cloud to sign out of is configured', error)
        self.assertIn('`openstack mfa logout --all`', error)
        self.assertEqual(0, self.requests.call_count)
        self.assertEqual(1, len(list(self.dir.glob('*.json'))))

    def test_cache_that_cannot_be_used_refuses_before_any_request(
        self,
    ) -> None:
        cache.save(self.entry_id, entry('t-mfa'), self.dir)
        self.dir.chmod(0o777)
        self.addCleanup(self.dir.chmod, 0o700)
        error = self.fails()
        self.assertIn('could not be taken out of use', error)
        self.assertIn(str(self.dir), error)
        self.assertEqual(0, self.requests.call_count)

    def test_unreadable_revocation_dropped_without_a_request(self) -> None:
        folder = self.dir / REVOKE_DIR
        folder.mkdir(mode=0o700)
        junk = folder / 'x.1-2.json'
        junk.write_text('not json')
        junk.chmod(0o600)
        self.assertEqual(
            'No cached sign-in to sign out of on this machine.\n',
            self.logout('--all'),
        )
        self.assertFalse(junk.exists())
        self.assertEqual(0, self.requests.call_count)

    def test_exported_token_revoked_with_its_entry(self) -> None:
        cache.save(self.entry_id, entry('t-mfa'), self.dir)
        self.useFixture(fixtures.EnvironmentVariable('OS_TOKEN', 't-mfa'))
        self.useFixture(fixtures.EnvironmentVariable('OS_AUTH_URL', URL))
        self.useFixture(
            fixtures.EnvironmentVariable(
                exported.VARIABLE, exported.mark('t-mfa')
            )
        )
        self.auth.get_unscoped_cache_id.return_value = None
        # NOTE: the entry and the exported token are both remembered: the
        # second DELETE finds it revoked already.
        self.requests.delete(
            TOKENS, [{'status_code': 204}, {'status_code': 404}]
        )
        out = self.logout()
        self.assertEqual({'t-mfa'}, set(self.subjects()))
        self.assertIn('`unset OS_TOKEN OS_AUTH_TOKEN MFA_OSC_EXPORTED`', out)
        self.assertIn('Signed out: removed 1 cached sign-in;', out)
        self.assertEqual([], list(self.dir.glob('*.json')))
        self.assertEqual({}, self.waiting())

    def test_token_from_elsewhere_in_the_shell_not_revoked(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('OS_TOKEN', 't-other'))
        self.useFixture(fixtures.EnvironmentVariable('OS_AUTH_URL', URL))
        # NOTE: the mark of another token: OS_TOKEN was set after export.
        self.useFixture(
            fixtures.EnvironmentVariable(
                exported.VARIABLE, exported.mark('t-mfa')
            )
        )
        self.requests.delete(TOKENS, status_code=204)
        out = self.logout('--all')
        self.assertEqual(0, self.requests.call_count)
        self.assertNotIn('unset', out)
