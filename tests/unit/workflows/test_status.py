#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The status workflow: one user's state, and the audit's rows."""

from __future__ import annotations

import datetime

from oslotest import base
import testtools

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow
from tests.unit.workflows import clouds
from tests.unit.workflows import fakes


class TestRowAgrees(testtools.TestCase):
    """The state and compliance columns of one row never disagree."""

    def test_hand_made_device_under_guard_rules(self) -> None:
        ks = clouds.cloud()
        ks.users['u5'] = {'id': 'u5', 'name': 'erin', 'domain_id': 'default'}
        # carol's hand-made credential, under guard rules: a device the
        # rules do not require yet.
        ks.users['u3']['options'] = {
            mfa_rules.RULES_OPTION: [['password'], ['application_credential']],
            mfa_rules.ENABLED_OPTION: True,
        }
        ks.domains['default'][policy_flow.POLICY_KEY] = {
            'required': True,
            'deadline': '2027-03-11',
            'roles': [],
        }
        rows = {
            str(r.name): r
            for r in status_flow.audit(
                fakes.as_keystone(ks), today=datetime.date(2027, 3, 1)
            )
        }
        carol = rows['carol']
        self.assertEqual(mfa_rules.STATE_NOT_ENFORCED, carol.state)
        self.assertEqual(policy_flow.NOT_ENFORCED, carol.compliance)
        self.assertEqual(1, carol.devices)
        agree = {
            mfa_rules.STATE_ENFORCED: policy_flow.COMPLIANT,
            mfa_rules.STATE_NOT_ENFORCED: policy_flow.NOT_ENFORCED,
            mfa_rules.STATE_NOT_ENROLLED: 'not enrolled, 10 days left',
        }
        covered = [r for r in rows.values() if r.policy]
        self.assertEqual(
            ['alice', 'bob', 'carol', 'erin'], sorted(r.name for r in covered)
        )
        for row in covered:
            self.assertEqual(agree[row.state], row.compliance, row.name)


class TestLockedOutWarning(testtools.TestCase):
    """The ``locked out`` warning says which cause it is, and its command
    repairs it (issue 20: a federated user refused by the rules was told
    their TOTP credentials were missing)."""

    FEDERATED = [
        {
            'idp_id': 'idp',
            'protocols': [{'protocol_id': 'mapped', 'unique_id': 'bob'}],
        }
    ]

    def fake(self, options: dict[str, object]) -> fakes.FakeKeystone:
        ks = fakes.FakeKeystone()
        ks.enabled = fakes.METHODS | {'mapped', 'external'}
        ks.users['u2']['options'] = options
        return ks

    def warning(self, ks: fakes.FakeKeystone) -> str:
        status = fakes.get_status(ks, 'u2', is_self=False)
        self.assertEqual(mfa_rules.STATE_LOCKED_OUT, status.state)
        return status.warnings[0]

    def test_federated_user_under_an_earlier_guard(self) -> None:
        ks = self.fake(
            {
                mfa_rules.RULES_OPTION: mfa_rules.LEGACY_GUARD_RULES,
                mfa_rules.ENABLED_OPTION: True,
            }
        )
        ks.users['u2']['federated'] = self.FEDERATED
        said = self.warning(ks)
        self.assertIn('(password; application_credential) refuse mapped', said)
        self.assertIn('`openstack mfa enforce --user u2`', said)
        self.assertNotIn('TOTP credential', said)
        enforce_flow.enforce(fakes.as_keystone(ks), ks.get_user('u2'))
        status = fakes.get_status(ks, 'u2', is_self=False)
        self.assertNotEqual(mfa_rules.STATE_LOCKED_OUT, status.state)

    def test_federated_user_under_rules_that_need_a_code(self) -> None:
        ks = self.fake({mfa_rules.RULES_OPTION: [['password', 'totp']]})
        ks.users['u2']['federated'] = self.FEDERATED
        said = self.warning(ks)
        self.assertIn('(password+totp) refuse mapped', said)
        self.assertIn('`openstack mfa remove --user u2 --all`', said)
        self.assertNotIn('TOTP credential Keystone', said)
        fakes.do_remove(ks, 'u2', all_devices=True)
        status = fakes.get_status(ks, 'u2', is_self=False)
        self.assertNotEqual(mfa_rules.STATE_LOCKED_OUT, status.state)

    def test_federated_user_under_password_rules(self) -> None:
        ks = self.fake({mfa_rules.RULES_OPTION: [['password']]})
        ks.users['u2']['federated'] = self.FEDERATED
        said = self.warning(ks)
        self.assertIn('(password) refuse mapped', said)
        command = (
            'openstack user set --multi-factor-auth-rule password '
            '--multi-factor-auth-rule mapped u2'
        )
        self.assertIn(f'`{command}`', said)
        self.assertNotIn('TOTP credential', said)
        # What the command sets (OSC splits each rule at commas).
        ks.users['u2']['options'] = {
            mfa_rules.RULES_OPTION: [['password'], ['mapped']]
        }
        status = fakes.get_status(ks, 'u2', is_self=False)
        self.assertNotEqual(mfa_rules.STATE_LOCKED_OUT, status.state)

    def test_no_totp_credential(self) -> None:
        ks = self.fake({mfa_rules.RULES_OPTION: [['password', 'totp']]})
        said = self.warning(ks)
        self.assertIn('no TOTP credential Keystone can use', said)
        self.assertIn('`openstack mfa remove --user u2 --all`', said)

    def test_rules_refusing_password_and_code(self) -> None:
        rules = [['password', 'totp', 'external']]
        ks = self.fake({mfa_rules.RULES_OPTION: rules})
        ks.add_totp('u2', totp.generate_secret(), 'hand')
        said = self.warning(ks)
        self.assertNotIn('no TOTP credential', said)
        self.assertIn('refuse a password alone and a password with a', said)
        self.assertIn('`openstack mfa remove --user u2 --all`', said)
        fakes.do_remove(ks, 'u2', all_devices=True)
        status = fakes.get_status(ks, 'u2', is_self=False)
        self.assertNotEqual(mfa_rules.STATE_LOCKED_OUT, status.state)


class TestStatusAudit(base.BaseTestCase):
    def test_status_warnings(self) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret())
        data = fakes.get_status(ks, 'u2', is_self=False)
        self.assertEqual(mfa_rules.STATE_CODE_ALONE, data.state)
        self.assertEqual(['x'], [d['id'] for d in data.devices])
        self.assertEqual('hand-made', data.devices[0]['origin'])
        self.assertIsNone(data.session_used_totp)
        self.assertTrue(data.mfa_enabled)
        self.assertTrue(any('ALONE' in w for w in data.warnings))
        ks.creds.clear()
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['password', 'totp']],
        }
        data = fakes.get_status(ks, 'u2', is_self=True)
        self.assertEqual(mfa_rules.STATE_LOCKED_OUT, data.state)
        self.assertFalse(data.application_credentials_allowed)
        self.assertTrue(data.session_used_totp)

    def test_status_flag_false_and_ignored_methods(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['password', 'totp']],
            'multi_factor_auth_enabled': False,
        }
        data = fakes.get_status(ks, 'u2', is_self=False)
        self.assertFalse(data.mfa_enabled)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, data.state)
        self.assertTrue(any('is false' in w for w in data.warnings))
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['password', 'oauth1']],
        }
        data = fakes.get_status(ks, 'u2', is_self=False)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, data.state)
        self.assertTrue(any('oauth1' in w for w in data.warnings))

    def test_status_clock_skew(self) -> None:
        ks = fakes.FakeKeystone()
        ks.clock_skew = 42.04
        data = fakes.get_status(ks)
        self.assertEqual(42.0, data.clock_skew_seconds)
        self.assertTrue(any('clock' in w for w in data.warnings))

    def test_columns(self) -> None:
        self.assertEqual('id', status_flow.columns(status_flow.AuditRow)[0])
        ks = fakes.FakeKeystone()
        data = fakes.get_status(ks)
        self.assertEqual(
            len(status_flow.columns(status_flow.Status)),
            len(status_flow.values(data)),
        )

    def test_audit_fixed_requests(self) -> None:
        ks = fakes.crowded()
        rows = status_flow.audit(fakes.as_keystone(ks), 'Default')
        self.assertEqual(
            [
                'find_domain_id',
                'list_users',
                'list_credentials',
                'list_credentials',
                'enabled_methods',
                'find_role_ids',
                'role_assignments',
                'get_domain_extra',
            ],
            ks.calls,
        )
        by_id = {r.id: r for r in rows}
        self.assertEqual(52, len(rows))
        self.assertEqual(mfa_rules.STATE_ENFORCED, by_id['u1'].state)
        self.assertTrue(by_id['u1'].admin)
        self.assertEqual(1, by_id['u1'].devices)
        self.assertEqual(8, by_id['u1'].recovery_codes_left)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, by_id['u2'].state)
        self.assertFalse(by_id['u2'].admin)


class TestTotpLock(testtools.TestCase):
    """A lock of the guard, from the user record's mark (no request of its
    own): shown as locked, with its end, while in force."""

    @staticmethod
    def mark(seconds_from_now: float) -> dict[str, str]:
        now = datetime.datetime.now(datetime.UTC)
        until = now + datetime.timedelta(seconds=seconds_from_now)
        return {
            'since': now.strftime('%Y-%m-%dT%H:%M:%SZ'),
            'until': until.strftime('%Y-%m-%dT%H:%M:%SZ'),
        }

    def test_status_of_a_locked_user(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks, 'u2')
        lock = self.mark(600)
        ks.users['u2']['mfa_osc_lock'] = lock
        data = fakes.get_status(ks, 'u2', is_self=False)
        self.assertTrue(data.totp_locked)
        self.assertEqual(lock['until'], data.totp_locked_until)
        shown = lock['until'].replace('T', ' ').replace('Z', ' UTC')
        self.assertEqual(
            'TOTP sign-in is locked after too many wrong passcodes, until '
            f"{shown} (Keystone's clock): even the right code is refused "
            'until then; an administrator ends the lock with `openstack '
            'mfa unlock --user u2`.',
            data.warnings[0],
        )
        # NOTE: the last columns: the others keep their places.
        self.assertEqual(
            ('totp_locked', 'totp_locked_until'),
            status_flow.columns(status_flow.Status)[-2:],
        )

    def test_an_expired_mark_is_no_lock(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u1']['mfa_osc_lock'] = self.mark(-5)
        data = fakes.get_status(ks)
        self.assertFalse(data.totp_locked)
        self.assertIsNone(data.totp_locked_until)
        self.assertFalse(any('locked' in w for w in data.warnings))

    def test_by_keystones_clock(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u1']['mfa_osc_lock'] = self.mark(60)
        # This machine 120 s behind Keystone: the lock is over there.
        ks.clock_skew = -120.0
        self.assertFalse(fakes.get_status(ks).totp_locked)
        ks.clock_skew = 120.0
        self.assertTrue(fakes.get_status(ks).totp_locked)

    def test_a_mark_whose_end_cannot_be_read(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u1']['mfa_osc_lock'] = {'since': 'x'}
        data = fakes.get_status(ks)
        self.assertTrue(data.totp_locked)
        self.assertIsNone(data.totp_locked_until)
        self.assertEqual(
            'TOTP sign-in is locked after too many wrong passcodes, and its '
            'mark on the user record does not say until when: even the '
            'right code is refused while it lasts; an administrator ends '
            'the lock with `openstack mfa unlock --user u1`.',
            data.warnings[0],
        )

    def test_audit_rows_from_the_list_alone(self) -> None:
        ks = fakes.FakeKeystone()
        lock = self.mark(600)
        ks.users['u2']['mfa_osc_lock'] = lock
        ks.users['u3'] = {
            'id': 'u3',
            'name': 'carol',
            'domain_id': 'default',
            'mfa_osc_lock': self.mark(-600),
        }
        rows = {r.id: r for r in status_flow.audit(fakes.as_keystone(ks))}
        self.assertEqual(
            (True, lock['until']),
            (rows['u2'].totp_locked, rows['u2'].totp_locked_until),
        )
        self.assertEqual(
            (False, None),
            (rows['u3'].totp_locked, rows['u3'].totp_locked_until),
        )
        self.assertEqual(
            (False, None),
            (rows['u1'].totp_locked, rows['u1'].totp_locked_until),
        )
        # NOTE: no request per user.
        self.assertNotIn('get_user', ks.calls)
        self.assertEqual(
            ('compliance', 'totp_locked', 'totp_locked_until'),
            status_flow.columns(status_flow.AuditRow)[-3:],
        )
