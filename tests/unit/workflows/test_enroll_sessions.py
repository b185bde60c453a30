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

"""An administrator's enroll remembers the revocation it owes (issue 20,
item 3): the rules that tighten carry the user record's mark, cleared
only once Keystone revoked, so a failed or interrupted revocation is
done by the next ``enforce`` or ``policy set`` run."""

from __future__ import annotations

from oslotest import base

from mfa_osc import totp
from mfa_osc.client import records
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import errors
from tests.unit.workflows import fakes as fake

REVOKE_KEY = records.REVOKE_KEY


class TestAdminEnrollRevocation(base.BaseTestCase):
    def test_revoked_and_mark_cleared(self) -> None:
        ks = fake.FakeKeystone()
        result, _ = fake.do_enroll(ks, 'u2')
        self.assertEqual(enforce_flow.SESSIONS_ENDED, result.sessions)
        self.assertEqual(['u2'], ks.revoked)
        self.assertIsNone(ks.users['u2'].get(REVOKE_KEY))

    def test_the_rules_carry_the_mark(self) -> None:
        ks = fake.FakeKeystone()
        seen: list[object] = []
        revoke = ks.revoke_user_tokens

        def watch(user_id: str) -> bool:
            # NOTE: what the record says while the DELETE is under way:
            # an interruption here leaves the mark.
            seen.append(ks.users[user_id].get(REVOKE_KEY))
            return revoke(user_id)

        ks.revoke_user_tokens = watch  # type: ignore[method-assign]
        fake.do_enroll(ks, 'u2')
        self.assertEqual(1, len(seen))
        self.assertIsNotNone(seen[0])
        self.assertIsNone(ks.users['u2'].get(REVOKE_KEY))

    def test_failed_revocation_is_done_by_the_next_enforce(self) -> None:
        ks = fake.FakeKeystone()
        ks.revoke_failures = 1
        result, _ = fake.do_enroll(ks, 'u2')
        self.assertTrue(result.enforced)
        self.assertTrue(result.sessions_failed, result.sessions)
        self.assertEqual([], ks.revoked)
        self.assertIsNotNone(ks.users['u2'].get(REVOKE_KEY))
        self.assertIn('openstack mfa enforce --user u2', result.warnings[-1])

        again = enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_UNCHANGED, again.action)
        self.assertEqual(enforce_flow.SESSIONS_ENDED, again.sessions)
        self.assertEqual(['u2'], ks.revoked)
        self.assertIsNone(ks.users['u2'].get(REVOKE_KEY))

    def test_interrupted_before_the_revocation(self) -> None:
        ks = fake.FakeKeystone()

        def interrupted(user_id: str) -> bool:
            raise KeyboardInterrupt

        revoke = ks.revoke_user_tokens
        ks.revoke_user_tokens = interrupted  # type: ignore[method-assign]
        self.assertRaises(KeyboardInterrupt, fake.do_enroll, ks, 'u2')
        ks.revoke_user_tokens = revoke  # type: ignore[method-assign]
        self.assertIsNotNone(ks.users['u2'].get(REVOKE_KEY))
        enforce_flow.enforce(fake.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(['u2'], ks.revoked)
        self.assertIsNone(ks.users['u2'].get(REVOKE_KEY))

    def test_keep_sessions_marks_nothing(self) -> None:
        ks = fake.FakeKeystone()
        result, _ = fake.do_enroll(ks, 'u2', keep_sessions=True)
        self.assertEqual(enforce_flow.SESSIONS_KEPT, result.sessions)
        self.assertEqual([], ks.revoked)
        self.assertNotIn(REVOKE_KEY, ks.users['u2'])

    def test_own_enrollment_marks_nothing(self) -> None:
        # NOTE: one's own tokens include this session's: not revoked, and
        # not left for the next run to revoke either.
        ks = fake.FakeKeystone()
        result, _ = fake.do_enroll(ks, 'u1')
        self.assertTrue(result.enforced)
        self.assertEqual([], ks.revoked)
        self.assertNotIn(REVOKE_KEY, ks.users['u1'])

    def test_code_alone_guarded_then_code_refused(self) -> None:
        # A hand-made credential without rules: the code alone may have
        # opened a session. The guard step marks it; the run stops at a
        # refused code, and the next enforce revokes.
        ks = fake.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret(), 'hand')
        ks.refuse_codes = True
        self.assertRaises(errors.PasscodeRefused, fake.do_enroll, ks, 'u2')
        ks.refuse_codes = False
        self.assertEqual([], ks.revoked)
        self.assertIsNotNone(ks.users['u2'].get(REVOKE_KEY))
        # The guard rules are on already, and the device is not verified:
        # the next enforce has nothing else to do, and revokes.
        exc = self.assertRaises(
            errors.WouldLockOut,
            enforce_flow.enforce,
            fake.as_keystone(ks),
            ks.get_user('u2'),
        )
        self.assertIn('were: ended', str(exc))
        self.assertEqual(['u2'], ks.revoked)
        self.assertIsNone(ks.users['u2'].get(REVOKE_KEY))


class TestFederatedUserNotLockedOut(base.BaseTestCase):
    def test_own_protocol_keeps_a_rule(self) -> None:
        ks = fake.FakeKeystone()
        ks.enabled = fake.METHODS | {'mapped'}
        ks.users['u2']['federated'] = [
            {
                'idp_id': 'idp',
                'protocols': [{'protocol_id': 'mapped', 'unique_id': 'b'}],
            }
        ]
        result, _ = fake.do_enroll(ks, 'u2')
        self.assertTrue(result.enforced)
        self.assertIn(['mapped'], ks.options('u2')['multi_factor_auth_rules'])
        status = fake.get_status(ks, 'u2', is_self=False)
        self.assertEqual('enforced', status.state)
