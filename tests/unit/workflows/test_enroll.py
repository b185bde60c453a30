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

"""The enroll workflow on the in-memory Keystone that checks the invariant."""

from __future__ import annotations

import copy
import datetime
import json
import time
from typing import Any
from unittest import mock

import fixtures
from oslotest import base

from mfa_osc import account as mfa_account
from mfa_osc import bookkeeping
from mfa_osc import recovery
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import errors
from mfa_osc.workflows import recovery as recovery_flow
from tests.unit.workflows import fakes


class TestEnroll(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # NOTE: the fake answers at once; no other run needs the wait.
        self.useFixture(
            fixtures.MonkeyPatch('mfa_osc.account.SETTLE_SECONDS', 0.0)
        )

    def test_enroll_order_and_result(self) -> None:
        ks = fakes.FakeKeystone()
        result, secret = fakes.do_enroll(ks)
        self.assertEqual(
            [
                'get_user',
                'list_credentials',
                'enabled_methods',
                'update_user_options',  # no-op probe
                'update_user_options',  # guard rules
                # The fingerprint of the secret, written over a fresh
                # read of the bookkeeping (no other run: no read-back).
                'list_credentials',
                'create_credential:mfa-osc',
                'create_credential:totp',
                'check_totp_alone',
            ]
            + ['create_credential:totp'] * 8
            + ['list_credentials', 'update_credential']
            + ['update_user_options'],
            ks.calls,
        )
        self.assertTrue(result.enforced)
        self.assertFalse(result.adopted)
        self.assertEqual(8, len(result.recovery_codes))
        self.assertEqual(fakes.ENFORCED, ks.options('u1'))
        blobs = {c['blob'] for c in ks.totp_creds('u1')}
        self.assertIn(secret, blobs)
        for code in result.recovery_codes:
            bare = recovery.normalize(code)
            self.assertIn(recovery.secret(bare), blobs)
            self.assertNotIn(bare, blobs)
        data = ks.book('u1')
        self.assertEqual(
            ['phone'], [d['name'] for d in data['devices'].values()]
        )
        self.assertEqual([result.device_id], list(data['devices']))
        self.assertEqual(8, len(data['recovery_codes']))
        self.assertEqual([], data['pending'])
        self.assertEqual(bookkeeping.BOOK_VERSION, data['version'])
        # Unset before: restoring it leaves the flag unset, not false.
        self.assertEqual({'flag': None, 'rules': []}, data['rules_before'])
        # No secret in the bookkeeping.
        raw = json.dumps(data)
        for secret_value in blobs:
            self.assertNotIn(secret_value, raw)
        self.assertEqual(mfa_rules.STATE_ENFORCED, fakes.get_status(ks).state)

    def _both_verified(
        self,
        ks: fakes.FakeKeystone,
        runs: list[tuple[enroll_flow.EnrollResult, str]],
    ) -> None:
        ks.check_invariant()
        status = fakes.get_status(ks)
        book = ks.book('u1')
        for result, secret in runs:
            self.assertIn(result.device_id, book['devices'])
            self.assertTrue(ks._good('u1', totp.passcode(secret)))
        self.assertEqual(
            ['mfa-osc', 'mfa-osc'], [d['origin'] for d in status.devices]
        )
        self.assertEqual([], status.unverified_credentials)
        # Both runs' recovery codes work and are listed as such.
        codes = [c for result, _ in runs for c in result.recovery_codes]
        self.assertEqual(len(codes), status.recovery_codes_left)
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)

    def test_another_run_while_this_one_verifies(self) -> None:
        # The CI failure: run B read run A's credential, pending, and
        # deleted it as a leftover once B was verified.
        ks = fakes.FakeKeystone()
        runs: list[tuple[enroll_flow.EnrollResult, str]] = []
        check = ks.check_totp_alone

        def check_then_b(user_id: str, passcode: str) -> bool:
            ks.check_totp_alone = check  # type: ignore[method-assign]
            runs.append(fakes.do_enroll(ks, name='b'))
            return check(user_id, passcode)

        ks.check_totp_alone = check_then_b  # type: ignore[method-assign]
        runs.insert(0, fakes.do_enroll(ks, name='a'))
        self.assertEqual(2, len(runs))
        self._both_verified(ks, runs)

    def test_another_run_between_read_and_first_write(self) -> None:
        ks = fakes.FakeKeystone()
        secret = totp.generate_secret()
        client = fakes.as_keystone(ks)
        plan = enroll_plan.prepare(client, ks.get_user('u1'), name='a')
        other = fakes.do_enroll(ks, name='b')  # starts and ends meanwhile
        result = enroll_flow.enroll(
            client, plan, secret=secret, passcodes=fakes.passcodes_of(secret)
        )
        self._both_verified(ks, [(result, secret), other])

    def test_fresh_mark_of_another_run_kept(self) -> None:
        # A credential marked moments ago is not a leftover: it may be the
        # device of a run still going. Older marks are leftovers.
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks, name='a')
        secret = totp.generate_secret()
        cred = 'late'
        ks.add_totp('u1', secret, cred)
        book = ks.book('u1')
        fp = bookkeeping.fingerprint(secret)
        book['pending'] = [fp]
        book['pending_at'] = {fp: bookkeeping.now()}
        (stored,) = [c for c in ks.creds.values() if c['type'] == 'mfa-osc']
        stored['blob'] = json.dumps(book)
        fakes.do_enroll(ks, name='c')
        self.assertIn(cred, ks.creds)
        self.assertEqual([cred], fakes.get_status(ks).unverified_credentials)
        self.useFixture(
            fixtures.MonkeyPatch(
                'mfa_osc.bookkeeping.PENDING_GRACE', datetime.timedelta(0)
            )
        )
        result, _ = fakes.do_enroll(ks, name='d')
        self.assertNotIn(cred, ks.creds)
        self.assertTrue(result.repaired)

    def test_rerun_after_an_interrupted_run_does_not_wait(self) -> None:
        # The interrupted run's marks were there when the rerun read the
        # account: no sign of another run at work, so no read-back.
        ks = fakes.FakeKeystone()
        steps = len(self._enroll_calls())
        ks.fail_at = steps - 2  # after the codes, before the bookkeeping
        self.assertRaises(fakes.Boom, fakes.do_enroll, ks)
        ks.fail_at = None
        self.assertTrue(ks.book('u1')['pending'])
        ks.calls = []
        fakes.do_enroll(ks, name='again')
        tail = ks.calls[ks.calls.index('check_totp_alone') :]
        self.assertEqual(
            ['list_credentials', 'update_credential'],
            [
                c
                for c in tail
                if c in ('list_credentials', 'update_credential')
            ],
        )

    def test_no_application_credentials(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks, application_credentials=False)
        self.assertEqual(
            [['password', 'totp']],
            ks.options('u1')['multi_factor_auth_rules'],
        )

    def test_rules_refusing_app_creds_kept(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u1']['options'] = {'multi_factor_auth_rules': [['password']]}
        fakes.do_enroll(ks)
        self.assertEqual(
            [['password', 'totp']],
            ks.options('u1')['multi_factor_auth_rules'],
        )

    def test_second_device_keeps_codes_and_unique_names(self) -> None:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        second, _ = fakes.do_enroll(ks, name='laptop')
        self.assertEqual([], second.recovery_codes)
        self.assertTrue(second.enforced)
        self.assertEqual(10, len(ks.totp_creds('u1')))
        self.assertRaises(errors.WorkflowError, fakes.do_enroll, ks)
        self.assertEqual(2, len(fakes.get_status(ks).devices))

    def test_default_name(self) -> None:
        ks = fakes.FakeKeystone()
        result, _ = fakes.do_enroll(ks, name=None)
        self.assertEqual('device-1', result.device_name)
        result, _ = fakes.do_enroll(ks, name=None)
        self.assertEqual('device-2', result.device_name)

    def test_wrong_code_retried_then_refused(self) -> None:
        ks = fakes.FakeKeystone()
        secret = totp.generate_secret()
        hints: list[str] = []

        def source(attempt: int, hint: str) -> str | None:
            hints.append(hint)
            good = totp.passcode(secret)
            return f'{(int(good) + 1) % 1000000:06d}'

        self.assertRaises(
            errors.PasscodeRefused,
            fakes.do_enroll,
            ks,
            secret=secret,
            passcodes=source,
        )
        self.assertEqual(errors.PASSCODE_ATTEMPTS, len(hints))
        self.assertIn('not the current code', hints[1])
        # A wrong code never reaches Keystone and nothing is created.
        self.assertEqual({}, ks.creds)
        self.assertNotIn('check_totp_alone', ks.calls)
        self.assertEqual({}, ks.options('u1'))

    def test_clock_off_says_so(self) -> None:
        ks = fakes.FakeKeystone()
        secret = totp.generate_secret()
        ahead = totp.passcode(secret, time.time() + 90)
        ks.refuse_codes = True
        hints: list[str] = []

        def source(attempt: int, hint: str) -> str | None:
            hints.append(hint)
            return ahead if attempt == 0 else None

        exc = self.assertRaises(
            errors.PasscodeRefused,
            fakes.do_enroll,
            ks,
            secret=secret,
            passcodes=source,
        )
        self.assertIn('clock', str(exc))
        self.assertNotIn(ahead, str(exc))
        # The unverified credential is deleted again.
        self.assertEqual([], ks.totp_creds('u1'))

    def test_disabled_domain_says_so(self) -> None:
        ks = fakes.FakeKeystone()
        ks.disabled_domains.add('default')
        exc = self.assertRaises(errors.PasscodeRefused, fakes.do_enroll, ks)
        self.assertIn('domain default', str(exc))
        self.assertIn('domain_enabled', ks.calls)
        self.assertEqual([], ks.totp_creds('u1'))

    def test_disabled_user_refused_before_anything(self) -> None:
        ks = fakes.FakeKeystone()
        ks.users['u1']['enabled'] = False
        exc = self.assertRaises(errors.WorkflowError, fakes.do_enroll, ks)
        self.assertIn('disabled', str(exc))
        self.assertEqual({}, ks.creds)
        self.assertNotIn('update_user_options', ks.calls)

    def test_totp_not_enabled_refused(self) -> None:
        ks = fakes.FakeKeystone()
        ks.enabled = frozenset({'password', 'token'})
        exc = self.assertRaises(errors.WorkflowError, fakes.do_enroll, ks)
        self.assertIn('[auth] methods', str(exc))
        self.assertEqual({}, ks.creds)

    def test_non_admin_without_guard_refused_before_anything(self) -> None:
        ks = fakes.FakeKeystone(admin=False)
        exc = self.assertRaises(errors.NeedsAdministrator, fakes.do_enroll, ks)
        self.assertIn('openstack mfa enroll --user u1', str(exc))
        self.assertEqual({}, ks.creds)

    def test_non_admin_flag_false_is_no_guard(self) -> None:
        # Guard rules with the flag false: Keystone ignores them.
        ks = fakes.FakeKeystone(admin=False)
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': mfa_rules.LEGACY_GUARD_RULES,
            'multi_factor_auth_enabled': False,
        }
        self.assertRaises(errors.NeedsAdministrator, fakes.do_enroll, ks)
        self.assertEqual({}, ks.creds)

    def test_non_admin_allow_weaker(self) -> None:
        ks = fakes.FakeKeystone(admin=False)
        ks.allow_weaker = True
        result, _ = fakes.do_enroll(ks, allow_weaker=True)
        self.assertFalse(result.enforced)
        self.assertTrue(any('ALONE' in w for w in result.warnings))

    def test_non_admin_with_guard_verifies_then_admin_enforces(self) -> None:
        ks = fakes.FakeKeystone(admin=False)
        # NOTE: flag unset: Keystone reads it as on, the guard holds.
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': mfa_rules.LEGACY_GUARD_RULES,
        }
        result, _ = fakes.do_enroll(ks)
        self.assertFalse(result.enforced)
        self.assertEqual(
            'openstack mfa enforce --user u1', result.admin_command
        )
        self.assertEqual(8, len(result.recovery_codes))
        self.assertEqual(
            mfa_rules.STATE_NOT_ENFORCED, fakes.get_status(ks).state
        )
        ks.admin = True
        done = enforce_flow.enforce(fakes.as_keystone(ks), ks.get_user('u1'))
        self.assertEqual(enforce_flow.ACTION_ENFORCED, done.action)
        self.assertTrue(done.enforced)
        self.assertEqual(
            [['password', 'totp'], ['application_credential']], done.rules
        )
        self.assertEqual(fakes.ENFORCED, ks.options('u1'))
        again = enforce_flow.enforce(fakes.as_keystone(ks), ks.get_user('u1'))
        self.assertEqual(enforce_flow.ACTION_UNCHANGED, again.action)

    def test_enroll_on_code_alone_rules_never_lets_the_password_alone_in(
        self,
    ) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u1', totp.generate_secret(), 'hand')
        ks.users['u1']['options'] = {'multi_factor_auth_rules': [['totp']]}
        seen: list[Any] = []
        update = ks.update_user_options

        def watch(
            user_id: str,
            options: dict[str, Any],
            *,
            extra: dict[str, Any] | None = None,
        ) -> None:
            update(user_id, options, extra=extra)
            seen.append(ks.options(user_id))

        with mock.patch.object(ks, 'update_user_options', watch):
            result, _ = fakes.do_enroll(ks)
        self.assertTrue(result.enforced)
        for options in seen:
            rules = mfa_rules.MFAOptions.of(options, ks.enabled)
            self.assertFalse(rules.password_alone_ok, seen)
            self.assertFalse(rules.app_creds_allowed, seen)
        self.assertEqual(
            [['password', 'totp']], ks.options('u1')['multi_factor_auth_rules']
        )

    def test_enroll_another_user_in_a_disabled_domain_changes_nothing(
        self,
    ) -> None:
        ks = fakes.FakeKeystone()
        ks.disabled_domains.add('default')
        exc = self.assertRaises(
            errors.WorkflowError, fakes.do_enroll, ks, 'u2'
        )
        self.assertIn('domain set --enable default', str(exc))
        self.assertEqual({}, ks.options('u2'))
        self.assertEqual([], ks.totp_creds('u2'))
        self.assertEqual({}, ks.book('u2'))

    def test_adopt_hand_made(self) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        secret = totp.generate_secret()
        ks.add_totp('u1', secret, 'hand')
        status = fakes.get_status(ks)
        self.assertEqual([], status.unverified_credentials)
        self.assertEqual(
            [('hand', 'hand-made')],
            [(d['id'], d['origin']) for d in status.devices],
        )
        result, _ = fakes.do_enroll(ks, adopt='hand')
        ks.allow_weaker = False
        ks.check_invariant()
        self.assertTrue(result.adopted)
        self.assertEqual('hand', result.device_id)
        self.assertEqual(secret, ks.creds['hand']['blob'])
        self.assertEqual(['hand'], list(ks.book('u1')['devices']))
        status = fakes.get_status(ks)
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
        self.assertEqual([], status.unverified_credentials)

    def test_adopt_unknown_refused(self) -> None:
        ks = fakes.FakeKeystone()
        self.assertRaises(errors.NotFound, fakes.do_enroll, ks, adopt='nope')
        self.assertEqual({}, ks.creds)

    def test_hand_made_kept(self) -> None:
        ks = fakes.FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u1', totp.generate_secret(), 'hand')
        result, _ = fakes.do_enroll(ks)
        self.assertIn('hand', ks.creds)
        self.assertTrue(
            any('--adopt hand' in w for w in result.warnings), result.warnings
        )
        status = fakes.get_status(ks)
        self.assertEqual(
            ['mfa-osc', 'hand-made'], [d['origin'] for d in status.devices]
        )
        self.assertTrue(any('hand-made' in w for w in status.warnings))

    def test_rules_naming_disabled_method_enforced(self) -> None:
        # [["password", "mapped"]] with mapped not enabled is password
        # alone to Keystone (application credentials refused): enrolling
        # enforces password and TOTP, removing restores the rule as it was.
        ks = fakes.FakeKeystone()
        before = {'multi_factor_auth_rules': [['password', 'mapped']]}
        ks.users['u1']['options'] = copy.deepcopy(before)
        _, secret = fakes.do_enroll(ks)
        self.assertEqual(
            {
                'multi_factor_auth_enabled': True,
                'multi_factor_auth_rules': [['password', 'totp']],
            },
            ks.options('u1'),
        )
        fakes.do_remove(ks, all_devices=True, proof=totp.passcode(secret))
        self.assertEqual(before, ks.options('u1'))

    def test_interrupted_at_every_step_then_repaired(self) -> None:
        steps = len(self._enroll_calls())
        interrupted: list[tuple[int, fakes.FakeKeystone]] = []
        for fail_at in range(1, steps + 1):
            ks = fakes.FakeKeystone()
            ks.fail_at = fail_at
            self.assertRaises(fakes.Boom, fakes.do_enroll, ks)
            ks.check_invariant()
            ks.fail_at = None
            ks.calls = []
            interrupted.append((fail_at, ks))
        # Every step kept the invariant; now each state is repaired, by a
        # run after PENDING_GRACE (before it, a mark may be a run's that
        # is still going: see test_fresh_mark_of_another_run_kept).
        self.useFixture(
            fixtures.MonkeyPatch(
                'mfa_osc.bookkeeping.PENDING_GRACE', datetime.timedelta(0)
            )
        )
        for fail_at, ks in interrupted:
            status = fakes.get_status(ks)
            # Nothing an interrupted run left looks like a hand-made
            # device (which enroll never deletes).
            self.assertEqual(
                [],
                [
                    d['id']
                    for d in status.devices
                    if d['origin'] == 'hand-made'
                ],
                f'step {fail_at}',
            )
            if status.state == mfa_rules.STATE_NOT_ENFORCED:
                # The device is verified: enforce, and make the recovery
                # codes the run did not get to (status says both).
                self.assertRaises(errors.WorkflowError, fakes.do_enroll, ks)
                client = fakes.as_keystone(ks)
                enforce_flow.enforce(client, ks.get_user('u1'))
                account = mfa_account.load_account(client, 'u1')
                if not account.recovery_ids or account.pending:
                    recovery_flow.regenerate(client, account)
            else:
                result, _ = fakes.do_enroll(ks)
                self.assertTrue(result.enforced)
            status = fakes.get_status(ks)
            self.assertEqual(
                [],
                [
                    d['id']
                    for d in status.devices
                    if d['origin'] == 'hand-made'
                ],
                f'step {fail_at}',
            )
            self.assertEqual(
                [], status.unverified_credentials, f'step {fail_at}'
            )
            self.assertEqual(1, len(status.devices), f'step {fail_at}')
            self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)

    def _enroll_calls(self) -> list[str]:
        ks = fakes.FakeKeystone()
        fakes.do_enroll(ks)
        return ks.calls
