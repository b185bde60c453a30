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

"""``enforce --all`` on the in-memory Keystone that checks the invariant."""

from __future__ import annotations

from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc import identity
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import bulk
from mfa_osc.workflows import enforce as enforce_flow
from tests.unit import test_client
from tests.unit import test_workflows as fake

GUARD = [['password'], ['application_credential']]


class Cloud(fake.FakeKeystone):
    """The fake, where carol's account was weak before we came: the
    invariant for her is "no weaker than that" (guard rules, or as was)."""

    def check_invariant(self) -> None:
        carol = self.users.get('u3')
        if carol is not None and not carol.get('options'):
            self.users.pop('u3')
            try:
                super().check_invariant()
            finally:
                self.users['u3'] = carol
            return
        super().check_invariant()


def cloud() -> fake.FakeKeystone:
    """alice enrolled and enforced, bob enrolled not enforced, carol with
    a hand-made code-alone credential, dave with nothing."""
    ks = Cloud()
    ks.users['u3'] = {'id': 'u3', 'name': 'carol', 'domain_id': 'default'}
    ks.users['u4'] = {'id': 'u4', 'name': 'dave', 'domain_id': 'other'}
    fake.do_enroll(ks, 'u1')
    fake.do_enroll(ks, 'u2')
    ks.users['u2']['options'] = {
        mfa_rules.RULES_OPTION: GUARD,
        mfa_rules.ENABLED_OPTION: True,
    }
    ks.creds['hand'] = {
        'id': 'hand',
        'user_id': 'u3',
        'type': 'totp',
        'blob': totp.generate_secret(),
    }
    ks.calls = []
    ks.revoked = []
    return ks


class TestEnforceAll(base.BaseTestCase):
    def test_plan_and_dry_run(self) -> None:
        ks = cloud()
        before = {u: dict(r.get('options') or {}) for u, r in ks.users.items()}
        rows = bulk.enforce_all(fake.as_keystone(ks), dry_run=True)
        self.assertEqual(
            [('bob', bulk.ACTION_ENFORCE), ('carol', bulk.ACTION_GUARD)],
            [(r.name, r.action) for r in rows],
        )
        self.assertEqual({bulk.RESULT_PLANNED}, {r.result for r in rows})
        self.assertNotIn('update_user_options', ks.calls)
        after = {u: dict(r.get('options') or {}) for u, r in ks.users.items()}
        self.assertEqual(before, after)

    def test_enforces_and_guards_then_nothing(self) -> None:
        ks = cloud()
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual({bulk.RESULT_DONE}, {r.result for r in rows})
        self.assertEqual(2, ks.calls.count('update_user_options'))
        status = fake.get_status(ks, 'u2')
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
        self.assertEqual(
            [['password', 'totp'], ['application_credential']],
            ks.users['u2']['options'][mfa_rules.RULES_OPTION],
        )
        self.assertEqual(
            GUARD, ks.users['u3']['options'][mfa_rules.RULES_OPTION]
        )
        self.assertNotIn('options', ks.users['u4'])
        ks.calls = []
        self.assertEqual([], bulk.enforce_all(fake.as_keystone(ks)))
        self.assertNotIn('update_user_options', ks.calls)

    def test_no_application_credentials(self) -> None:
        ks = cloud()
        bulk.enforce_all(fake.as_keystone(ks), application_credentials=False)
        self.assertEqual(
            [['password', 'totp']],
            ks.users['u2']['options'][mfa_rules.RULES_OPTION],
        )

    def test_interrupted_everywhere_then_rerun(self) -> None:
        total = len(bulk.enforce_all(fake.as_keystone(cloud()), dry_run=True))
        for fail_at in range(1, 12):
            ks = cloud()
            ks.fail_at = fail_at
            try:
                rows = bulk.enforce_all(fake.as_keystone(ks))
            except fake.Boom:
                rows = []
            # The fake asserts never weaker, never locked out, after every
            # change; a failed change is reported, not hidden.
            ks.check_invariant()
            ks.fail_at = None
            # NOTE: a row whose rules changed but whose older tokens could
            # not be revoked is failed too, yet done: a re-run leaves it.
            failed = [r for r in rows if r.result != bulk.RESULT_DONE]
            done = [r for r in rows if r.result == bulk.RESULT_DONE]
            self.assertLessEqual(len(done), total)
            if rows:
                self.assertEqual(total, len(rows))
            rerun = bulk.enforce_all(fake.as_keystone(ks))
            self.assertEqual(total - len(done), len(rerun), fail_at)
            self.assertLessEqual(len(failed), len(rerun))
            self.assertEqual([], bulk.enforce_all(fake.as_keystone(ks)))

    def test_progress(self) -> None:
        seen: list[tuple[int, int]] = []
        bulk.enforce_all(
            fake.as_keystone(cloud()),
            progress=lambda done, total: seen.append((done, total)),
        )
        self.assertEqual([(1, 2), (2, 2)], seen)


class TestSessionsEnded(base.BaseTestCase):
    """Tightened rules revoke the user's older tokens, after the change."""

    def test_enforce_all_revokes_after_each_change(self) -> None:
        ks = cloud()
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual(['u2', 'u3'], ks.revoked)
        self.assertEqual(
            {enforce_flow.SESSIONS_ENDED}, {r.sessions for r in rows}
        )
        # Each revocation comes after that user's new rules.
        changes = [
            c
            for c in ks.calls
            if c in ('update_user_options', 'revoke_user_tokens')
        ]
        self.assertEqual(
            ['update_user_options', 'revoke_user_tokens'] * 2, changes
        )

    def test_keep_sessions_and_dry_run(self) -> None:
        ks = cloud()
        rows = bulk.enforce_all(fake.as_keystone(ks), dry_run=True)
        self.assertEqual(
            {enforce_flow.SESSIONS_PLANNED}, {r.sessions for r in rows}
        )
        rows = bulk.enforce_all(fake.as_keystone(ks), keep_sessions=True)
        self.assertEqual([], ks.revoked)
        self.assertNotIn('revoke_user_tokens', ks.calls)
        self.assertEqual(
            {enforce_flow.SESSIONS_KEPT}, {r.sessions for r in rows}
        )
        self.assertFalse(any(r.failed for r in rows))

    def test_keystone_without_the_call(self) -> None:
        ks = cloud()
        ks.no_revocation = True
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual(
            {enforce_flow.SESSIONS_UNSUPPORTED}, {r.sessions for r in rows}
        )
        self.assertIn('stay valid until they expire', rows[0].sessions)
        self.assertFalse(any(r.failed for r in rows))

    def test_own_tokens_last_and_nothing_after(self) -> None:
        ks = cloud()
        # The administrator running the command is bob (u2), enforced.
        ks.me = 'u2'
        ks.strict_session = True
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual(['u3', 'u2'], ks.revoked)
        self.assertEqual('revoke_user_tokens', ks.calls[-1])
        self.assertEqual(
            {enforce_flow.SESSIONS_ENDED}, {r.sessions for r in rows}
        )

    def test_failed_revocation_is_reported_rules_stay(self) -> None:
        ks = cloud()
        calls = len(bulk.enforce_all(fake.as_keystone(cloud()), dry_run=True))
        self.assertEqual(2, calls)
        # Fail at the first revocation: list_users, list_credentials x2,
        # enabled_methods come first; find it by running once.
        probe = cloud()
        bulk.enforce_all(fake.as_keystone(probe))
        ks.fail_at = probe.calls.index('revoke_user_tokens') + 1
        rows = bulk.enforce_all(fake.as_keystone(ks))
        ks.check_invariant()
        self.assertEqual(bulk.RESULT_DONE, rows[0].result)
        self.assertTrue(rows[0].failed)
        self.assertTrue(
            rows[0].sessions.startswith(enforce_flow.SESSIONS_FAILED)
        )
        self.assertIn('stay valid until they expire', rows[0].sessions)
        self.assertFalse(rows[1].failed)

    def test_enforce_one_user(self) -> None:
        ks = cloud()
        result = enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_ENFORCED, result.action)
        self.assertEqual(enforce_flow.SESSIONS_ENDED, result.sessions)
        self.assertEqual(['u2'], ks.revoked)
        # Unchanged: nothing tightened, nothing revoked.
        again = enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_UNCHANGED, again.action)
        self.assertEqual('', again.sessions)
        self.assertEqual(['u2'], ks.revoked)

    def test_enforce_guard_rules_revoke_too(self) -> None:
        ks = cloud()
        result = enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u3'))
        self.assertEqual(enforce_flow.ACTION_GUARDED, result.action)
        self.assertEqual(['u3'], ks.revoked)

    def test_enforce_on_yourself_ends_with_the_revocation(self) -> None:
        ks = cloud()
        ks.me = 'u2'
        ks.strict_session = True
        result = enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.SESSIONS_ENDED, result.sessions)
        self.assertEqual('revoke_user_tokens', ks.calls[-1])

    def test_enforce_keep_sessions(self) -> None:
        ks = cloud()
        result = enforce_flow.enforce(
            fake.as_keystone(ks), ks.get_user('u2'), keep_sessions=True
        )
        self.assertEqual(enforce_flow.SESSIONS_KEPT, result.sessions)
        self.assertEqual([], ks.revoked)

    def test_administrator_enroll_revokes_the_user(self) -> None:
        ks = fake.FakeKeystone()
        result, _ = fake.do_enroll(ks, 'u2')
        self.assertTrue(result.enforced)
        self.assertEqual(enforce_flow.SESSIONS_ENDED, result.sessions)
        self.assertEqual(['u2'], ks.revoked)
        self.assertEqual('revoke_user_tokens', ks.calls[-1])

    def test_own_enroll_and_keep_sessions_revoke_nothing(self) -> None:
        ks = fake.FakeKeystone()
        result, _ = fake.do_enroll(ks, 'u1')
        self.assertEqual('', result.sessions)
        result, _ = fake.do_enroll(ks, 'u2', keep_sessions=True)
        self.assertEqual(enforce_flow.SESSIONS_KEPT, result.sessions)
        self.assertEqual([], ks.revoked)


class TestRevokeRequest(test_client.ClientTestCase):
    """``DELETE /v3/users/{id}/tokens`` on a real keystoneauth session."""

    def test_revoked(self) -> None:
        self.requests.delete(
            test_client.AUTH_URL + '/users/u-2/tokens', status_code=204
        )
        self.assertTrue(self.client.revoke_user_tokens('u-2'))
        self.assertEqual('DELETE', self.requests.last_request.method)
        self.assertEqual(
            test_client.TOKEN_ID,
            self.requests.last_request.headers['X-Auth-Token'],
        )

    def test_keystone_without_the_call(self) -> None:
        for status in (404, 405, 501):
            self.requests.delete(
                test_client.AUTH_URL + '/users/u-2/tokens', status_code=status
            )
            self.assertFalse(self.client.revoke_user_tokens('u-2'))

    def test_refused_and_failed(self) -> None:
        self.requests.delete(
            test_client.AUTH_URL + '/users/u-2/tokens', status_code=403
        )
        self.assertRaises(
            mfa_client.Forbidden, self.client.revoke_user_tokens, 'u-2'
        )
        self.requests.delete(
            test_client.AUTH_URL + '/users/u-2/tokens', status_code=503
        )
        self.assertRaises(
            mfa_client.Unavailable, self.client.revoke_user_tokens, 'u-2'
        )

    def test_own_tokens_drop_the_session_token(self) -> None:
        self.requests.delete(
            test_client.AUTH_URL + '/users/u-1/tokens', status_code=204
        )
        self.assertEqual(test_client.TOKEN_ID, self.session.get_token())
        self.assertTrue(self.client.revoke_user_tokens(test_client.USER_ID))
        auth = self.session.auth
        self.assertIsNone(getattr(auth, 'auth_ref', None))

    def test_path_checked(self) -> None:
        self.assertRaises(
            identity.InvalidID, self.client.revoke_user_tokens, '../x'
        )
        self.assertEqual(0, self.client.requests)
