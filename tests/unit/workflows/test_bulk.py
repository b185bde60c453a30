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

import datetime
from typing import Any
from unittest import mock

from oslotest import base

from mfa_osc import all_accounts
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.client import records
from mfa_osc.workflows import bulk
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import errors
from mfa_osc.workflows import policy as policy_flow
from tests.unit.workflows import fakes as fake
from tests.unit.workflows.clouds import GUARD
from tests.unit.workflows.clouds import cloud

REVOKE_KEY = records.REVOKE_KEY


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
        # The rules (with the revocation mark), then the mark cleared once
        # the revocation was done: two users.
        self.assertEqual(4, ks.calls.count('update_user_options'))
        self.assertEqual(
            [None, None],
            [ks.users[u].get(REVOKE_KEY) for u in ('u2', 'u3')],
        )
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
            # NOTE: a user whose revocation failed, or was done but whose
            # mark could not be cleared, is revoked again by the rerun.
            marked = [
                r for r in done if ks.users[r.id].get(REVOKE_KEY) is not None
            ]
            rerun = bulk.enforce_all(fake.as_keystone(ks))
            self.assertEqual(
                total - len(done) + len(marked), len(rerun), fail_at
            )
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

    def test_own_revocation_waits_out_keystones_second(self) -> None:
        # NOTE: a token issued in the second of the revocation counts as
        # revoked: the signed-in user's next sign-in must come later.
        ks = cloud()
        ks.revocation_age = 0.0
        client = fake.as_keystone(ks)
        me = client.current_user_id()
        other = next(u for u in ks.users if u != me)
        with mock.patch.object(enforce_flow.time, 'sleep') as sleep:
            enforce_flow.end_sessions(client, other)
            sleep.assert_not_called()
            enforce_flow.end_sessions(client, me)
        sleep.assert_called_once()
        (waited,) = sleep.call_args.args
        self.assertTrue(0 < waited <= enforce_flow.REVOCATION_SECOND)
        self.assertGreaterEqual(enforce_flow.REVOCATION_SECOND, 1.0)
        self.assertEqual([other, me], ks.revoked)

    def test_bulk_waits_out_keystones_second_once(self) -> None:
        # NOTE: a user's sign-in in the second of their revocation gets a
        # token that fails at once: the command returns after that second,
        # waiting once, not once per user.
        ks = cloud()
        ks.revocation_age = 0.0
        with mock.patch.object(enforce_flow.time, 'sleep') as sleep:
            bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual(['u2', 'u3'], ks.revoked)
        sleep.assert_called_once()
        (waited,) = sleep.call_args.args
        self.assertTrue(0 < waited <= enforce_flow.REVOCATION_SECOND)

    def test_no_revocation_no_wait(self) -> None:
        ks = cloud()
        client = fake.as_keystone(ks)
        with mock.patch.object(enforce_flow.time, 'sleep') as sleep:
            enforce_flow.settle(client)
        sleep.assert_not_called()

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
            [
                'update_user_options',
                'revoke_user_tokens',
                'update_user_options',
            ]
            * 2,
            changes,
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
        # NOTE: the revocation mark is cleared once the tokens are revoked.
        self.assertEqual(
            ['revoke_user_tokens', 'update_user_options'], ks.calls[-2:]
        )
        self.assertIsNone(ks.users['u2'].get(records.REVOKE_KEY))

    def test_own_enroll_and_keep_sessions_revoke_nothing(self) -> None:
        ks = fake.FakeKeystone()
        result, _ = fake.do_enroll(ks, 'u1')
        self.assertEqual('', result.sessions)
        result, _ = fake.do_enroll(ks, 'u2', keep_sessions=True)
        self.assertEqual(enforce_flow.SESSIONS_KEPT, result.sessions)
        self.assertEqual([], ks.revoked)


class TestRevocationRemembered(base.BaseTestCase):
    """Issue 20, item 3: a revocation not done is done by the next run."""

    def test_failed_revocation_is_retried_then_cleared(self) -> None:
        ks = cloud()
        ks.revoke_failures = 1
        rows = bulk.enforce_all(fake.as_keystone(ks))
        failed = [r for r in rows if r.failed]
        self.assertEqual(['bob'], [r.name for r in failed])
        self.assertIsNotNone(ks.users['u2'].get(REVOKE_KEY))
        self.assertIsNone(ks.users['u3'].get(REVOKE_KEY))
        self.assertEqual(['u3'], ks.revoked)
        # The rerun has no rules to change, and revokes bob's tokens.
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual(
            [('bob', bulk.ACTION_SESSIONS, enforce_flow.SESSIONS_ENDED)],
            [(r.name, r.action, r.sessions) for r in rows],
        )
        self.assertEqual(['u3', 'u2'], ks.revoked)
        self.assertIsNone(ks.users['u2'].get(REVOKE_KEY))
        self.assertEqual([], bulk.enforce_all(fake.as_keystone(ks)))

    def test_rules_and_mark_are_one_request(self) -> None:
        ks = cloud()
        seen: list[tuple[Any, Any]] = []
        update = ks.update_user_options

        def spy(
            user_id: str, options: Any, *, extra: Any = None
        ) -> mfa_client.User:
            seen.append((dict(options), extra))
            return update(user_id, options, extra=extra)

        ks.update_user_options = spy  # type: ignore[method-assign]
        bulk.enforce_all(fake.as_keystone(ks))
        tightened = [e for o, e in seen if o]
        self.assertEqual(2, len(tightened))
        self.assertTrue(all(e and e.get(REVOKE_KEY) for e in tightened))

    def test_dry_run_and_keep_sessions_leave_the_mark(self) -> None:
        ks = cloud()
        ks.users['u4'][REVOKE_KEY] = '2026-12-06T00:00:00Z'
        rows = bulk.enforce_all(fake.as_keystone(ks), dry_run=True)
        self.assertIn(
            ('dave', bulk.ACTION_SESSIONS, enforce_flow.SESSIONS_PLANNED),
            [(r.name, r.action, r.sessions) for r in rows],
        )
        bulk.enforce_all(fake.as_keystone(ks), keep_sessions=True)
        self.assertNotIn('u4', ks.revoked)
        self.assertIsNotNone(ks.users['u4'].get(REVOKE_KEY))
        bulk.enforce_all(fake.as_keystone(ks))
        self.assertIn('u4', ks.revoked)
        self.assertIsNone(ks.users['u4'].get(REVOKE_KEY))

    def test_own_mark_last_and_nothing_after(self) -> None:
        ks = cloud()
        ks.me = 'u4'
        ks.strict_session = True
        ks.users['u4'][REVOKE_KEY] = '2026-12-06T00:00:00Z'
        bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual('u4', ks.revoked[-1])
        self.assertEqual('revoke_user_tokens', ks.calls[-1])
        self.assertIsNone(ks.users['u4'].get(REVOKE_KEY))

    def test_enforce_user_retries(self) -> None:
        ks = cloud()
        ks.revoke_failures = 1
        result = enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u3'))
        self.assertTrue(result.sessions_failed)
        self.assertIsNotNone(ks.users['u3'].get(REVOKE_KEY))
        # Guarded now, no verified device: the command refuses, and
        # revokes what was due all the same.
        error = self.assertRaises(
            enforce_flow.errors.WouldLockOut,
            enforce_flow.enforce,
            fake.as_keystone(ks),
            ks.get_user('u3'),
        )
        self.assertIn('were: ended', str(error))
        self.assertEqual(['u3'], ks.revoked)
        self.assertIsNone(ks.users['u3'].get(REVOKE_KEY))


class TestOneUserDoesNotStopEveryone(base.BaseTestCase):
    """Issue 20, item 7: a user with more credentials than a page."""

    def test_enforce_all_carries_on_and_reports_them(self) -> None:
        ks = cloud()
        ks.page_size = 40
        ks.users['u4']['options'] = {mfa_rules.RULES_OPTION: GUARD}
        for n in range(41):
            ks.add_totp('u4', totp.generate_secret(), f'many{n}')
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual({'bob', 'carol', 'dave'}, {str(r.name) for r in rows})
        dave = next(r for r in rows if r.name == 'dave')
        self.assertTrue(dave.failed)
        self.assertIn('more credentials than Keystone lists', dave.result)
        self.assertEqual(
            {bulk.RESULT_DONE},
            {r.result for r in rows if r.name != 'dave'},
        )
        # The audit still refuses a partial answer.
        self.assertRaises(
            mfa_client.Incomplete,
            fake.status_flow.audit,
            fake.as_keystone(ks),
        )


class TestLegacyGuardRepaired(base.BaseTestCase):
    def test_enforce_all_repairs_without_revoking(self) -> None:
        ks = cloud()
        # NOTE: a cloud enabling mapped: today's guard differs from the
        # legacy one (on fake.METHODS they are the same).
        ks.enabled = fake.METHODS | {'mapped'}
        ks.users['u4']['options'] = {
            mfa_rules.RULES_OPTION: mfa_rules.LEGACY_GUARD_RULES,
            mfa_rules.ENABLED_OPTION: True,
        }
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertIn(
            ('dave', bulk.ACTION_REPAIR),
            [(r.name, r.action) for r in rows],
        )
        self.assertEqual(
            mfa_rules.guard_rules(ks.enabled),
            ks.users['u4']['options'][mfa_rules.RULES_OPTION],
        )
        self.assertNotIn('u4', ks.revoked)

    def test_legacy_guard_same_as_today_is_left(self) -> None:
        """On a cloud whose guard rules are the legacy ones, no run
        repairs them again and again."""
        ks = cloud()
        ks.users['u4']['options'] = {
            mfa_rules.RULES_OPTION: mfa_rules.LEGACY_GUARD_RULES,
            mfa_rules.ENABLED_OPTION: True,
        }
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertNotIn('dave', [r.name for r in rows])


class TestPolicyGuards(base.BaseTestCase):
    """``policy set`` and ``unset`` (issue 20, items 1, 8 and 11)."""

    def weak_cloud(self) -> fake.FakeKeystone:
        ks = cloud()
        # No TOTP credential, rules that would let a code alone in.
        ks.users['u5'] = {
            'id': 'u5',
            'name': 'erin',
            'domain_id': 'default',
            'options': {
                mfa_rules.RULES_OPTION: [['password', 'totp']],
                mfa_rules.ENABLED_OPTION: False,
            },
        }
        ks.users['u6'] = {
            'id': 'u6',
            'name': 'frank',
            'domain_id': 'default',
            'options': {mfa_rules.RULES_OPTION: [['totp'], ['password']]},
        }
        return ks

    def test_rules_that_let_a_code_alone_in_are_guarded(self) -> None:
        ks = self.weak_cloud()
        _, rows = policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        self.assertEqual(
            {'carol', 'erin', 'frank'},
            {str(r.name) for r in rows if r.action == bulk.ACTION_GUARD},
        )
        self.assertEqual(GUARD, ks.options('u5')[mfa_rules.RULES_OPTION])
        self.assertEqual(
            [['password'], ['totp', 'application_credential']],
            ks.options('u6')[mfa_rules.RULES_OPTION],
        )
        # Nothing was refused that signed in (no TOTP, no sessions end).
        self.assertEqual(['u3'], ks.revoked)
        _, rows = policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        self.assertEqual([], rows)

    def test_enforce_all_guards_them_too(self) -> None:
        ks = self.weak_cloud()
        ks.domains['default'][policy_flow.POLICY_KEY] = {'required': True}
        rows = bulk.enforce_all(
            fake.as_keystone(ks), more=policy_flow.guard_changes
        )
        self.assertLessEqual(
            {('erin', bulk.ACTION_GUARD), ('frank', bulk.ACTION_GUARD)},
            {(str(r.name), r.action) for r in rows},
        )

    def test_unset_lifts_guard_rules_of_users_without_totp(self) -> None:
        ks = self.weak_cloud()
        ks.users['u7'] = {
            'id': 'u7',
            'name': 'gus',
            'domain_id': 'default',
            'options': {
                mfa_rules.RULES_OPTION: mfa_rules.LEGACY_GUARD_RULES,
                mfa_rules.ENABLED_OPTION: True,
            },
        }
        policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        _, rows = policy_flow.unset(fake.as_keystone(ks), 'Default')
        lifted = {str(r.name) for r in rows if r.action == bulk.ACTION_LIFT}
        # erin and gus had guard rules and no TOTP credential; carol keeps
        # hers (her code alone would sign in without), frank's are his
        # own rules, widened.
        self.assertEqual({'erin', 'gus'}, lifted)
        for user_id in ('u5', 'u7'):
            self.assertEqual({}, ks.options(user_id))
        self.assertEqual(GUARD, ks.options('u3')[mfa_rules.RULES_OPTION])
        self.assertIsNone(policy_flow.show(fake.as_keystone(ks), 'Default'))

    def test_deadline_empty_or_past_refused(self) -> None:
        ks = cloud()
        today = datetime.date(2027, 3, 1)
        for value in ('', '  ', '2025-03-31', '2027-02-28'):
            self.assertRaises(
                errors.WorkflowError,
                policy_flow.check_deadline,
                value,
                today,
            )
        self.assertIsNone(policy_flow.check_deadline(None, today))
        self.assertIsNone(policy_flow.check_deadline('now', today))
        self.assertEqual(
            '2027-03-01', policy_flow.check_deadline('2027-03-01', today)
        )
        error = self.assertRaises(
            errors.WorkflowError,
            policy_flow.set_policy,
            fake.as_keystone(ks),
            'Default',
            deadline='',
        )
        self.assertIn('empty', str(error))
        self.assertNotIn('set_domain_extra', ks.calls)
        self.assertNotIn('update_user_options', ks.calls)

    def test_warns_the_administrator_it_covers(self) -> None:
        ks = cloud()
        ks.me = 'u3'
        policy, _ = policy_flow.set_policy(fake.as_keystone(ks), 'Default')
        self.assertTrue(
            policy_flow.covers_signed_in_user(fake.as_keystone(ks), policy)
        )
        ks.me = 'u1'  # enforced
        self.assertFalse(
            policy_flow.covers_signed_in_user(fake.as_keystone(ks), policy)
        )
        ks.me = 'u4'  # another domain
        self.assertFalse(
            policy_flow.covers_signed_in_user(fake.as_keystone(ks), policy)
        )


class TestUnknownMethods(base.BaseTestCase):
    def test_unknown_methods_refuse_every_write(self) -> None:
        """When Keystone does not say its [auth] methods, no rule is
        written (before Keystone 28 a rule of methods it does not enable
        lets every sign-in in): enforce --all and its dry run refuse
        before any user is changed, with one sentence."""
        for dry_run in (False, True):
            ks = cloud()
            ks.enabled = None  # type: ignore[assignment]
            ks.protocols = {'openid', 'saml2'}
            before = {
                u: dict(r.get('options') or {}) for u, r in ks.users.items()
            }
            exc = self.assertRaises(
                mfa_rules.MethodsUnknown,
                bulk.enforce_all,
                fake.as_keystone(ks),
                dry_run=dry_run,
            )
            self.assertIsInstance(exc, errors.ERRORS)
            self.assertIn('no MFA rules were changed', str(exc))
            self.assertNotIn('update_user_options', ks.calls)
            self.assertEqual([], ks.revoked)
            after = {
                u: dict(r.get('options') or {}) for u, r in ks.users.items()
            }
            self.assertEqual(before, after)

    def test_unknown_methods_refuse_enforce_user(self) -> None:
        ks = cloud()
        ks.enabled = None  # type: ignore[assignment]
        client = fake.as_keystone(ks)
        for user_id in ('u2', 'u3'):
            self.assertRaises(
                mfa_rules.MethodsUnknown,
                enforce_flow.enforce,
                client,
                client.get_user(user_id),
            )
        self.assertNotIn('update_user_options', ks.calls)

    def test_unknown_methods_refuse_policy_set_before_storing_it(
        self,
    ) -> None:
        ks = cloud()
        ks.enabled = None  # type: ignore[assignment]
        self.assertRaises(
            mfa_rules.MethodsUnknown,
            policy_flow.set_policy,
            fake.as_keystone(ks),
            'Default',
        )
        # NOTE: the policy record is not stored either: nothing changed.
        self.assertNotIn('set_domain_extra', ks.calls)
        self.assertNotIn('update_user_options', ks.calls)

    def test_reads_judge_by_the_assumed_methods(self) -> None:
        """The audit still reads (judged by Keystone's default methods,
        totp and the federation protocols)."""
        ks = cloud()
        ks.enabled = None  # type: ignore[assignment]
        ks.protocols = {'openid'}
        accounts, _ = all_accounts.load_all_readable(fake.as_keystone(ks))
        for account in accounts:
            self.assertFalse(account.options.known)
            self.assertIn('openid', account.options.methods)
