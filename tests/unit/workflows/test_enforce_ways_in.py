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

"""``enforce`` keeps every way in the account has but the code alone, and
writes no rule naming only methods the cloud does not enable (before
Keystone 28 such a rule lets every sign-in in)."""

from __future__ import annotations

from oslotest import base

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import bulk
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import errors
from tests.unit.workflows import fakes as fake

FEDERATED = [
    {
        'idp_id': 'idp',
        'protocols': [{'protocol_id': 'mapped', 'unique_id': 'b'}],
    }
]


def federated_enrolled_not_enforced() -> fake.FakeKeystone:
    ks = fake.FakeKeystone()
    ks.enabled = fake.METHODS | {'mapped'}
    ks.users['u2']['federated'] = FEDERATED
    fake.do_enroll(ks, 'u2')
    ks.users['u2']['options'] = {}
    ks.calls = []
    return ks


def written(ks: fake.FakeKeystone, user_id: str) -> mfa_rules.MFAOptions:
    return mfa_rules.MFAOptions.of(
        ks.options(user_id), ks.enabled, own=['mapped']
    )


class TestFederatedEnforce(base.BaseTestCase):
    def test_enforce_user_keeps_the_protocol(self) -> None:
        ks = federated_enrolled_not_enforced()
        client = fake.as_keystone(ks)
        result = enforce_flow.enforce(client, client.get_user('u2'))
        self.assertTrue(result.enforced)
        self.assertIn(['mapped'], result.rules)
        after = written(ks, 'u2')
        self.assertTrue(after.signs_in('mapped'))
        self.assertFalse(after.signs_in_before_28('totp'))
        self.assertFalse(after.signs_in_before_28('password'))
        self.assertEqual('enforced', fake.get_status(ks, 'u2', False).state)

    def test_enforce_all_keeps_the_protocol(self) -> None:
        ks = federated_enrolled_not_enforced()
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertIn(
            ('u2', bulk.ACTION_ENFORCE), [(r.id, r.action) for r in rows]
        )
        self.assertTrue(written(ks, 'u2').signs_in('mapped'))

    def test_enroll_and_enforce_share_the_rules(self) -> None:
        ks = federated_enrolled_not_enforced()
        client = fake.as_keystone(ks)
        account = enroll_flow.mfa_account.load_account(
            client, client.get_user('u2')
        )
        self.assertEqual(
            account.options.enforced(True),
            enforce_flow.plan_rules(account, True),
        )


class TestNoRuleOfDisabledMethods(base.BaseTestCase):
    def hand_made(self, rules: mfa_rules.Rules) -> fake.FakeKeystone:
        ks = fake.FakeKeystone()
        ks.users['u2']['options'] = {
            mfa_rules.RULES_OPTION: rules,
            mfa_rules.ENABLED_OPTION: True,
        }
        ks.creds['hand'] = {
            'id': 'hand',
            'user_id': 'u2',
            'type': 'totp',
            'blob': totp.generate_secret(),
        }
        return ks

    def test_hand_made_void_rule_is_dropped(self) -> None:
        """Rules requiring the code, plus one naming only oauth1 on a
        cloud that does not enable it: before Keystone 28 that rule lets
        the code alone in. Not reported enforced; enforce's guard drops
        it and keeps password and code."""
        ks = self.hand_made([['password', 'totp'], ['oauth1']])
        report = fake.get_status(ks, 'u2', False)
        self.assertEqual('code alone signs in', report.state)
        self.assertFalse(report.enforced)
        said = [w for w in report.warnings if 'before 28' in w]
        self.assertEqual(1, len(said), report.warnings)
        self.assertIn('oauth1', said[0])
        self.assertFalse(
            [w for w in report.warnings if 'no MFA rules that refuse' in w]
        )
        client = fake.as_keystone(ks)
        result = enforce_flow.enforce(client, client.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_GUARDED, result.action)
        self.assertEqual([['password', 'totp']], result.rules)
        after = mfa_rules.MFAOptions.of(ks.options('u2'), ks.enabled)
        self.assertEqual([], after.void_rules)
        self.assertFalse(after.signs_in_before_28('totp'))
        self.assertTrue(after.signs_in('password', 'totp'))

    def test_enforce_all_drops_it_too(self) -> None:
        ks = self.hand_made([['totp'], ['oauth1'], ['password']])
        bulk.enforce_all(fake.as_keystone(ks))
        after = mfa_rules.MFAOptions.of(ks.options('u2'), ks.enabled)
        self.assertEqual([], after.void_rules)
        self.assertFalse(after.signs_in_before_28('totp'))
        self.assertTrue(after.signs_in('password'))


class TestUnknownMethodsRefuseWrites(base.BaseTestCase):
    """When Keystone does not say its [auth] methods, every command that
    would write MFA rules refuses before anything changes."""

    def unknown(self) -> fake.FakeKeystone:
        ks = fake.FakeKeystone()
        ks.enabled = None  # type: ignore[assignment]
        return ks

    def test_enroll_refuses_before_anything(self) -> None:
        ks = self.unknown()
        creds = dict(ks.creds)
        options = ks.options('u2')
        exc = self.assertRaises(
            mfa_rules.MethodsUnknown, fake.do_enroll, ks, 'u2'
        )
        self.assertIn('no MFA rules were changed', str(exc))
        self.assertEqual(creds, ks.creds)
        self.assertEqual(options, ks.options('u2'))
        self.assertNotIn('create_credential', ks.calls)

    def test_remove_of_the_last_device_refuses(self) -> None:
        ks = fake.FakeKeystone()
        fake.do_enroll(ks, 'u2')
        ks.enabled = None  # type: ignore[assignment]
        ks.calls = []
        creds = dict(ks.creds)
        self.assertRaises(
            mfa_rules.MethodsUnknown,
            fake.do_remove,
            ks,
            'u2',
            all_devices=True,
        )
        self.assertEqual(creds, ks.creds)
        self.assertNotIn('update_user_options', ks.calls)

    def test_status_still_reads(self) -> None:
        ks = fake.FakeKeystone()
        fake.do_enroll(ks, 'u2')
        ks.enabled = None  # type: ignore[assignment]
        self.assertEqual('enforced', fake.get_status(ks, 'u2', False).state)

    def test_guard_command_names_only_enabled_methods(self) -> None:
        known = mfa_rules.MFAOptions.of({}, fake.METHODS)
        self.assertEqual(
            'openstack user set --enable-multi-factor-auth '
            '--multi-factor-auth-rule password --multi-factor-auth-rule '
            'application_credential u2',
            errors.guard_command('u2', known),
        )
        unknown = mfa_rules.MFAOptions.of({})
        self.assertNotIn('oauth1', errors.guard_command('u2', unknown))
