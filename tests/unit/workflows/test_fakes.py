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

"""The workflow tests' in-memory Keystone reads rules as Keystone does."""

from __future__ import annotations

from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from tests.unit.workflows import fakes


class TestFake(base.BaseTestCase):
    def test_invariant_uses_keystone_reading(self) -> None:
        ks = fakes.FakeKeystone()
        # Unset flag is on: guard rules alone refuse a TOTP code alone.
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': mfa_rules.LEGACY_GUARD_RULES
        }
        ks.add_totp('u1', totp.generate_secret())
        ks.check_invariant()
        # The flag false: Keystone ignores the rules, the code alone signs
        # in.
        ks.users['u1']['options']['multi_factor_auth_enabled'] = False
        self.assertRaises(AssertionError, ks.check_invariant)
        # A rule naming a method the cloud does not enable.
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': [['totp', 'oauth1']]
        }
        self.assertRaises(AssertionError, ks.check_invariant)
        # An unusable blob is no device: requiring TOTP locks out.
        ks.creds['x']['blob'] = ks.creds['x']['blob'].lower()
        ks.users['u1']['options'] = fakes.ENFORCED
        self.assertRaises(AssertionError, ks.check_invariant)

    def test_none_removes_option(self) -> None:
        ks = fakes.FakeKeystone()
        ks.add_totp('u1', totp.generate_secret())
        ks.update_user_options('u1', fakes.ENFORCED)
        ks.update_user_options('u1', {'multi_factor_auth_enabled': None})
        self.assertEqual(
            {
                'multi_factor_auth_rules': fakes.ENFORCED[
                    'multi_factor_auth_rules'
                ]
            },
            ks.options('u1'),
        )
        user = ks.get_user('u1')
        self.assertIsInstance(user, mfa_client.User)
        self.assertTrue(
            mfa_rules.MFAOptions.of(user.options, fakes.METHODS).requires_totp
        )
