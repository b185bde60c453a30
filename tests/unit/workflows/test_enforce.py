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

"""The enforce workflow on the in-memory Keystone that checks the invariant."""

from __future__ import annotations

import fixtures
from oslotest import base

from mfa_osc import totp
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import errors
from tests.unit.workflows import fakes


class TestEnforce(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # NOTE: the fake answers at once; no other run needs the wait.
        self.useFixture(
            fixtures.MonkeyPatch('mfa_osc.account.SETTLE_SECONDS', 0.0)
        )

    def test_enforce_refuses_without_device(self) -> None:
        ks = fakes.FakeKeystone()
        self.assertRaises(
            errors.WouldLockOut,
            enforce_flow.enforce,
            fakes.as_keystone(ks),
            ks.get_user('u2'),
        )
        self.assertEqual({}, ks.options('u2'))

    def test_enforce_guards_a_hand_made_device(self) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret())
        done = enforce_flow.enforce(fakes.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_GUARDED, done.action)
        self.assertFalse(done.enforced)
        ks.allow_weaker = False
        ks.check_invariant()

    def test_enforce_code_alone_only_way_in_refused(self) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret(), 'hand')
        ks.users['u2']['options'] = {'multi_factor_auth_rules': [['totp']]}
        exc = self.assertRaises(
            errors.WouldLockOut,
            enforce_flow.enforce,
            fakes.as_keystone(ks),
            ks.get_user('u2'),
        )
        self.assertIn('--user u2 --adopt hand', str(exc))
        self.assertEqual(
            [['totp']], ks.options('u2')['multi_factor_auth_rules']
        )

    def test_enforce_guard_keeps_app_creds_refused(self) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret(), 'hand')
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['totp'], ['password']]
        }
        done = enforce_flow.enforce(fakes.as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_GUARDED, done.action)
        self.assertFalse(done.enforced)
        guard = [['password'], ['totp', 'application_credential']]
        self.assertEqual(guard, done.rules)
        self.assertEqual(guard, ks.options('u2')['multi_factor_auth_rules'])
        self.assertEqual('the password still does', done.still_signs_in)
        ks.allow_weaker = False
        ks.check_invariant()
