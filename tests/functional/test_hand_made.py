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

"""Accounts set up by hand, as real clouds have them, through the real CLI.

Each test sets an account up the way an administrator does without
mfa-osc (``credential create --type totp``, ``user set
--multi-factor-auth-rule``, the flag unset, true or false), runs the
administrator's ``openstack mfa`` commands on it, and after every step
compares mfa-osc's report with what Keystone does on real sign-ins:
password alone, code alone, password and code, application credential.
"""

from __future__ import annotations

from typing import Any

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base

ENFORCED = [['password', 'totp']]


class TestHandMade(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.admin = self.keystone.os_env()

    # -- set-up by hand, and what Keystone does

    def account(
        self,
        rules: list[list[str]] | None,
        flag: bool | None,
        secrets: tuple[str, ...] = (),
        app_cred: bool = False,
    ) -> tuple[local_keystone.KeystoneUser, list[str], dict[str, str]]:
        user = self.make_user()
        app = self.make_app_cred(user.id, user.password) if app_cred else {}
        options: dict[str, Any] = {}
        if rules is not None:
            options['multi_factor_auth_rules'] = rules
        if flag is not None:
            options['multi_factor_auth_enabled'] = flag
        if options:
            self.keystone.admin_adapter().patch(
                f'/users/{user.id}', json={'user': {'options': options}}
            )
        ids = [
            self.keystone.create_totp_credential(user.id, s) for s in secrets
        ]
        return user, ids, app

    def both_status(
        self, user: local_keystone.KeystoneUser, secret: str
    ) -> int:
        code = self.good_code(secret)
        status = self.password_and_code_status(user, code)
        if status != 201:
            self.give_back(secret, code)
        return status

    def status(self, user: local_keystone.KeystoneUser) -> dict[str, Any]:
        data = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=self.admin
        )
        assert isinstance(data, dict)
        return data

    def observe(
        self,
        user: local_keystone.KeystoneUser,
        secrets: tuple[str, ...],
        app: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """What Keystone does with each one-factor way in, and with the
        password and each secret's code together.

        NOTE: each sign-in that works spends a code, which behind the
        guard works once (5 codes of a secret at once, then one each 30
        seconds): the password and a code together are not tried where
        the code alone signed in, as any rule that the code alone meets
        is met by both (Keystone takes a rule met by a subset of the
        methods used).
        """
        alone = [self.totp_alone_status(user.id, s) for s in secrets]
        both = [
            201 if a == 201 else self.both_status(user, s)
            for s, a in zip(secrets, alone, strict=True)
        ]
        return {
            'password': self.password_status(user),
            'alone': alone,
            'both': both,
            'app': self.app_cred_status(app) if app else None,
        }

    def assert_report_true(
        self,
        user: local_keystone.KeystoneUser,
        secrets: tuple[str, ...],
        app: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """mfa-osc's report equals what Keystone does, and is safe; the
        report, with Keystone's answers under ``seen``."""
        report = self.status(user)
        seen = self.observe(user, secrets, app)
        password, alone, both = seen['password'], seen['alone'], seen['both']
        said = f'{report}\n{seen}'
        state = report['state']
        if state == 'code alone signs in':
            self.assertIn(201, alone, said)
        else:
            self.assertNotIn(201, alone, said)
        if state == 'enforced':
            self.assertEqual(401, password, said)
            self.assertIn(201, both, said)
            self.assertTrue(report['enforced'], said)
        elif state == 'locked out':
            self.assertEqual(401, password, said)
            self.assertNotIn(201, both, said)
        elif state in ('not enrolled', 'enrolled, not enforced'):
            self.assertEqual(201, password, said)
            self.assertFalse(report['enforced'], said)
        # Never locked out by a state we report as usable.
        if state != 'locked out':
            self.assertTrue(password == 201 or 201 in both, said)
        if app:
            expected = (
                201 if report['application_credentials_allowed'] else 401
            )
            self.assertEqual(expected, seen['app'], said)
        return dict(report, seen=seen)

    def mfa(self, *args: str, expect_fail: bool = False) -> str:
        result = self.openstack(
            'mfa', *args, env=self.admin, expect_fail=expect_fail
        )
        self.assertNotIn('Traceback', result.stderr)
        return result.stderr

    # -- the shapes

    def test_flag_unset_is_enforced_and_second_enroll_keeps_hand_made(
        self,
    ) -> None:
        sa = totp.generate_secret()
        user, (cred_a,), app = self.account(ENFORCED, None, (sa,), True)
        report = self.assert_report_true(user, (sa,), app)
        self.assertEqual('enforced', report['state'])
        self.assertTrue(report['mfa_enabled'])
        self.assertIn(cred_a, [d['id'] for d in report['devices']])
        self.assertFalse(report['application_credentials_allowed'])

        # A wrong code changes nothing, and deletes nothing.
        sb = totp.generate_secret()
        err = self.mfa(
            'enroll', '--user', user.id, '--name', 'second', '--secret', sb,
            '--passcode', self.bad_code(sb), expect_fail=True,
        )  # fmt: skip
        self.assertIn('nothing was changed', err)
        self.assertEqual(201, self.both_status(user, sa))
        self.assertEqual(
            [cred_a], [c['id'] for c in self.credentials(user.id)]
        )

        self.mfa(
            'enroll', '--user', user.id, '--name', 'second', '--secret', sb,
            '--passcode', self.good_code(sb),
        )  # fmt: skip
        self.assertEqual(201, self.both_status(user, sa))
        report = self.assert_report_true(user, (sa, sb), app)
        self.assertEqual('enforced', report['state'])
        # The administrator's choice stays: no application-credential rule.
        self.assertEqual(ENFORCED, self.user_record(user.id)['options'][
            'multi_factor_auth_rules'])  # fmt: skip
        origins = {d['origin'] for d in report['devices']}
        self.assertEqual({'mfa-osc', 'hand-made'}, origins)

        # enforce keeps the rules as they are, too.
        self.mfa('enforce', '--user', user.id)
        self.assert_report_true(user, (sa, sb), app)
        self.assertEqual(ENFORCED, self.user_record(user.id)['options'][
            'multi_factor_auth_rules'])  # fmt: skip

    def test_flag_false_restored_exactly(self) -> None:
        user, _, app = self.account(ENFORCED, False, (), True)
        report = self.assert_report_true(user, (), app)
        self.assertEqual('not enrolled', report['state'])
        self.assertFalse(report['mfa_enabled'])
        secret = totp.generate_secret()
        self.mfa(
            'enroll', '--user', user.id, '--secret', secret,
            '--passcode', self.good_code(secret),
        )  # fmt: skip
        report = self.assert_report_true(user, (secret,), app)
        self.assertEqual('enforced', report['state'])
        self.mfa('remove', '--user', user.id, '--all', '--yes')
        self.assertEqual(
            {
                'multi_factor_auth_rules': ENFORCED,
                'multi_factor_auth_enabled': False,
            },
            self.user_record(user.id)['options'],
        )
        self.assertEqual(201, self.password_status(user))
        self.assert_report_true(user, (secret,), app)

    def test_code_alone_then_guard_then_reset(self) -> None:
        secret = totp.generate_secret()
        user, _, app = self.account(ENFORCED, False, (secret,), True)
        report = self.assert_report_true(user, (secret,), app)
        self.assertEqual('code alone signs in', report['state'])
        self.assertIn(f'--user {user.id}', '\n'.join(report['warnings']))
        err = self.mfa('enforce', '--user', user.id)
        self.assertIn('guard rules', err)
        report = self.assert_report_true(user, (secret,), app)
        self.assertEqual('enrolled, not enforced', report['state'])
        self.assertTrue(self.credentials(user.id))
        self.mfa('remove', '--user', user.id, '--all', '--yes')
        self.assertEqual([], self.credentials(user.id))
        self.assert_report_true(user, (secret,), app)
        self.assertEqual(201, self.password_status(user))

    def test_totp_only_rule_adopted_then_removed(self) -> None:
        secret = totp.generate_secret()
        user, (cred,), _ = self.account([['totp']], None, (secret,))
        report = self.assert_report_true(user, (secret,))
        self.assertEqual('code alone signs in', report['state'])
        self.mfa(
            'enroll', '--user', user.id, '--adopt', cred, '--name', 'phone',
            '--passcode', self.good_code(secret),
        )  # fmt: skip
        report = self.assert_report_true(user, (secret,))
        self.assertEqual('enforced', report['state'])
        self.assertEqual(['phone'], [d['name'] for d in report['devices']])
        err = self.mfa('remove', '--user', user.id, '--all', '--yes')
        self.assertIn('would lock the account out', err)
        self.assert_report_true(user, (secret,))
        self.assertEqual(201, self.password_status(user))

    def test_two_hand_made_remove_one(self) -> None:
        sa, sb = totp.generate_secret(), totp.generate_secret()
        user, (cred_a, cred_b), _ = self.account(ENFORCED, None, (sa, sb))
        self.assert_report_true(user, (sa, sb))
        err = self.mfa(
            'remove', '--user', user.id, '--device', cred_a, '--yes'
        )
        self.assertIn('still enrolled', err)
        self.assertIn(cred_b, err)
        self.assertEqual(
            [cred_b], [c['id'] for c in self.credentials(user.id)]
        )
        self.assertEqual(201, self.both_status(user, sb))
        report = self.assert_report_true(user, (sb,))
        self.assertEqual('enforced', report['state'])

    def test_rules_with_methods_keystone_does_not_enable(self) -> None:
        secret = totp.generate_secret()
        shapes = [
            ([['totp', 'bogus']], 'code alone signs in'),
            (
                [
                    ['password', 'totp'],
                    ['application_credential'],
                    ['password', 'bogus'],
                ],
                'enrolled, not enforced',
            ),
            ([['oauth1']], 'code alone signs in'),
        ]
        users = []
        for rules, state in shapes:
            user, ids, _ = self.account(rules, None, (secret,))
            report = self.assert_report_true(user, (secret,))
            self.assertEqual(state, report['state'], rules)
            users.append((user, ids[0]))
        # Adopting the device of the second shape leaves no rule that a
        # password alone satisfies.
        user, cred = users[1]
        self.mfa(
            'enroll', '--user', user.id, '--adopt', cred,
            '--passcode', self.good_code(secret),
        )  # fmt: skip
        report = self.assert_report_true(user, (secret,))
        self.assertEqual('enforced', report['state'])
        self.assertEqual(401, self.password_status(user))

    def test_credentials_keystone_cannot_use(self) -> None:
        secret = totp.generate_secret()
        user, (lower,), _ = self.account(ENFORCED, None, (secret.lower(),))
        report = self.assert_report_true(user, (secret,))
        self.assertEqual('locked out', report['state'])
        self.assertIn(lower, report['unverified_credentials'])
        self.mfa('remove', '--user', user.id, '--all', '--yes')
        self.assertEqual(201, self.password_status(user))
        self.assert_report_true(user, ())

        user, (blob,), _ = self.account(None, None, ('{"not": "base32"}',))
        report = self.assert_report_true(user, ())
        self.assertEqual('not enrolled', report['state'])
        self.assertIn(blob, report['unverified_credentials'])

    def test_disabled_user_is_told_so(self) -> None:
        user, _, _ = self.account(None, None)
        self.keystone.admin_adapter().patch(
            f'/users/{user.id}', json={'user': {'enabled': False}}
        )
        secret = totp.generate_secret()
        err = self.mfa(
            'enroll', '--user', user.id, '--secret', secret,
            '--passcode', self.good_code(secret), expect_fail=True,
        )  # fmt: skip
        self.assertIn('is disabled', err)
        self.assertIn(f'openstack user set --enable {user.id}', err)
        self.assertEqual({}, self.user_record(user.id)['options'])
        self.assertEqual([], self.credentials(user.id))

    # -- every command on every shape

    @staticmethod
    def opened(seen: dict[str, Any], secrets: tuple[str, ...]) -> set[str]:
        """The one-factor ways in that Keystone accepted, from
        :meth:`observe`."""
        ways = set()
        if seen['password'] == 201:
            ways.add('password alone')
        for secret, status in zip(secrets, seen['alone'], strict=True):
            if status == 201:
                ways.add(f'code alone ({secret[:4]})')
        if seen['app'] == 201:
            ways.add('application credential')
        return ways

    def walk(
        self,
        rules: list[list[str]] | None,
        flag: bool | None,
        secrets: tuple[str, ...],
    ) -> None:
        """status, enforce, enroll, remove --device, remove --all.

        After each step: the report equals what Keystone does, no
        hand-made credential is gone unless it was named, and, before the
        removal of everything, no one-factor way in opened.
        """
        user, hand_made, app = self.account(rules, flag, secrets, True)
        shape = f'rules={rules} flag={flag} secrets={len(secrets)}'
        usable = tuple(s for s in secrets if s == s.upper())
        report = self.assert_report_true(user, usable, app)
        before = self.opened(report['seen'], usable)

        def step(*args: str, may_relax: bool = False) -> None:
            result = self.openstack('mfa', *args, env=self.admin, check=False)
            self.assertNotIn('Traceback', result.stderr, shape)
            kept = {c['id'] for c in self.credentials(user.id)}
            self.assertLessEqual(set(hand_made), kept, (shape, args))
            report = self.assert_report_true(user, usable + mine, app)
            now = self.opened(report['seen'], usable + mine)
            if not may_relax:
                self.assertLessEqual(now, before, (shape, args, result.stderr))

        mine: tuple[str, ...] = ()
        step('enforce', '--user', user.id)
        new = totp.generate_secret()
        mine = (new,)
        step(
            'enroll', '--user', user.id, '--name', 'walk', '--secret', new,
            '--passcode', self.good_code(new),
        )  # fmt: skip
        # NOTE: the last device that works, named: MFA goes with it.
        step(
            'remove', '--user', user.id, '--device', 'walk', '--yes',
            may_relax=not usable,
        )  # fmt: skip
        # NOTE: removing everything may relax the rules (that is what it
        # is for), never lock the account out.
        result = self.openstack(
            'mfa', 'remove', '--user', user.id, '--all', '--yes',
            env=self.admin, check=False,
        )  # fmt: skip
        self.assertNotIn('Traceback', result.stderr, shape)
        self.assert_report_true(user, usable + mine, app)

    def test_walk_enforced_by_hand(self) -> None:
        for flag in (None, True):
            self.walk(ENFORCED, flag, (totp.generate_secret(),))

    def test_walk_flag_off_and_two_devices(self) -> None:
        self.walk(ENFORCED, False, (totp.generate_secret(),))
        self.walk(
            ENFORCED, None, (totp.generate_secret(), totp.generate_secret())
        )

    def test_walk_code_alone_rules(self) -> None:
        for rules in ([['totp']], [['totp'], ['password']]):
            self.walk(rules, None, (totp.generate_secret(),))

    def test_walk_disabled_methods_and_unusable_secret(self) -> None:
        self.walk([['totp', 'bogus']], None, (totp.generate_secret(),))
        self.walk([['oauth1']], None, (totp.generate_secret(),))
        self.walk(ENFORCED, None, (totp.generate_secret().lower(),))

    def test_guard_keeps_application_credentials_refused(self) -> None:
        secret = totp.generate_secret()
        user, _, app = self.account(
            [['totp'], ['password']], None, (secret,), True
        )
        self.assertEqual(401, self.app_cred_status(app))
        err = self.mfa('enforce', '--user', user.id)
        self.assertIn('guard rules', err)
        self.assertEqual(401, self.app_cred_status(app))
        self.assertEqual(401, self.totp_alone_status(user.id, secret))
        self.assertEqual(201, self.password_status(user))

    def test_enforce_where_the_code_alone_is_the_only_way_in(self) -> None:
        secret = totp.generate_secret()
        user, (cred,), app = self.account([['totp']], None, (secret,), True)
        err = self.mfa('enforce', '--user', user.id, expect_fail=True)
        self.assertIn(f'--user {user.id} --adopt {cred}', err)
        self.assertEqual(
            [['totp']],
            self.user_record(user.id)['options']['multi_factor_auth_rules'],
        )
        report = self.assert_report_true(user, (secret,), app)
        self.assertFalse(report['enforced'])
