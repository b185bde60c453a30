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

"""The remove workflow on the in-memory Keystone that checks the invariant."""

from __future__ import annotations

import copy

from oslotest import base

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import errors
from tests.unit.workflows import fakes


class TestRemove(base.BaseTestCase):
    def test_remove_one_of_two(self) -> None:
        ks = fakes.FakeKeystone()
        _, secret = fakes.do_enroll(ks)
        fakes.do_enroll(ks, name='laptop')
        ks.calls = []
        result = fakes.do_remove(
            ks, device='laptop', proof=totp.passcode(secret)
        )
        self.assertFalse(result.last)
        self.assertEqual(['laptop'], [r.split(' ')[0] for r in result.removed])
        self.assertEqual(['phone'], [r.split(' ')[0] for r in result.left])
        self.assertEqual(9, len(ks.totp_creds('u1')))
        self.assertEqual(fakes.ENFORCED, ks.options('u1'))

    def test_remove_last_restores_rules_before(self) -> None:
        ks = fakes.FakeKeystone()
        # NOTE: with mapped enabled, [["password", "mapped"]] alone would
        # refuse the password alone: rules the invariant calls locked out.
        ks.enabled = fakes.METHODS | {'mapped'}
        before = {
            'multi_factor_auth_rules': [['password'], ['password', 'mapped']],
            'multi_factor_auth_enabled': True,
        }
        ks.users['u1']['options'] = copy.deepcopy(before)
        _, secret = fakes.do_enroll(ks)
        self.assertEqual(
            [['password', 'totp'], ['password', 'mapped']],
            ks.options('u1')['multi_factor_auth_rules'],
        )
        result = fakes.do_remove(
            ks, all_devices=True, proof=totp.passcode(secret)
        )
        self.assertTrue(result.last)
        self.assertEqual({}, ks.creds)
        self.assertEqual(before, ks.options('u1'))
        self.assertEqual(True, result.flag)

    def test_remove_last_restores_flag_false(self) -> None:
        ks = fakes.FakeKeystone()
        before = {
            'multi_factor_auth_rules': [['password', 'totp']],
            'multi_factor_auth_enabled': False,
        }
        ks.users['u1']['options'] = copy.deepcopy(before)
        _, secret = fakes.do_enroll(ks)
        fakes.do_remove(ks, all_devices=True, proof=totp.passcode(secret))
        self.assertEqual(before, ks.options('u1'))

    def test_remove_last_without_rules_before(self) -> None:
        ks = fakes.FakeKeystone()
        _, secret = fakes.do_enroll(ks)
        result = fakes.do_remove(
            ks, device='phone', proof=totp.passcode(secret)
        )
        self.assertTrue(result.last)
        # The flag unset again, not false: as it was.
        self.assertIsNone(result.flag)
        self.assertEqual({}, ks.options('u1'))
        self.assertEqual({}, ks.creds)

    def test_remove_with_recovery_code_uses_it_up(self) -> None:
        ks = fakes.FakeKeystone()
        first, _ = fakes.do_enroll(ks)
        fakes.do_enroll(ks, name='laptop')
        fakes.do_remove(ks, device='laptop', proof=first.recovery_codes[0])
        self.assertEqual(8, len(ks.totp_creds('u1')))
        self.assertEqual(7, len(ks.book('u1')['recovery_codes']))
        self.assertRaises(
            errors.PasscodeRefused,
            fakes.do_remove,
            ks,
            device='phone',
            proof=first.recovery_codes[0],
        )

    def test_wrong_proof(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        fakes.do_enroll(ks, name='laptop')
        self.assertRaises(
            errors.PasscodeRefused,
            fakes.do_remove,
            ks,
            device='laptop',
            proof='000000',
        )
        self.assertEqual(10, len(ks.totp_creds('u1')))

    def test_non_admin_may_not_remove_last(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        ks.admin = False
        before = copy.deepcopy(ks.creds)
        exc = self.assertRaises(
            errors.NeedsAdministrator, fakes.do_remove, ks, all_devices=True
        )
        self.assertIn('openstack mfa remove --user u1 --all', str(exc))
        self.assertEqual(before, ks.creds)

    def test_unknown_device(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        exc = self.assertRaises(
            errors.NotFound, fakes.do_remove, ks, device='nope'
        )
        self.assertIn('phone', str(exc))

    def test_remove_unusable_credential(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        ks.add_totp('u1', 'not base32', 'bad')
        status = fakes.get_status(ks)
        self.assertIn('bad', status.unverified_credentials)
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
        result = fakes.do_remove(ks, device='bad')
        self.assertFalse(result.last)
        self.assertNotIn('bad', ks.creds)
        self.assertEqual(fakes.ENFORCED, ks.options('u1'))

    def test_locked_out_reset_without_proof(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u2']['options'] = copy.deepcopy(fakes.ENFORCED)
        self.assertEqual(
            mfa_rules.STATE_LOCKED_OUT, fakes.get_status(ks, 'u2').state
        )
        result = fakes.do_remove(ks, 'u2', all_devices=True)
        self.assertTrue(result.last)
        self.assertEqual({}, ks.options('u2'))

    def test_interrupted_last_removal_at_every_step(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        ks.calls = []
        fakes.do_remove(ks, all_devices=True)
        steps = len(ks.calls)
        for fail_at in range(1, steps + 1):
            ks = fakes.FakeKeystone()
            fakes.do_enroll(ks)
            ks.calls = []
            ks.fail_at = fail_at
            self.assertRaises(
                fakes.Boom, fakes.do_remove, ks, all_devices=True
            )
            ks.check_invariant()
            ks.fail_at = None
            # A later status reports, a later remove or enroll finishes.
            fakes.get_status(ks)
            try:
                fakes.do_remove(ks, all_devices=True)
            except errors.NotFound:
                # Only when nothing at all is left to finish.
                self.assertEqual({}, ks.creds, f'step {fail_at}')
            self.assertEqual({}, ks.creds, f'step {fail_at}')
            self.assertEqual({}, ks.options('u1'), f'step {fail_at}')
            fakes.do_enroll(ks)
            ks.check_invariant()
            self.assertEqual(
                mfa_rules.STATE_ENFORCED, fakes.get_status(ks).state
            )
