"""Workflow tests on an in-memory Keystone that checks the invariant.

The fake holds users' options and credentials the way Keystone does and,
after every change, asserts that the account is neither weaker (a TOTP
credential while a TOTP-only sign-in is allowed) nor locked out (rules
requiring TOTP and no credential from a verified device). It can fail the
Nth request, so each workflow is interrupted at every step in turn.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc import enrollment
from mfa_osc import totp


class Boom(mfa_client.Unavailable):
    pass


class FakeKeystone:
    def __init__(self, admin: bool = True, user_id: str = 'u1') -> None:
        self.admin = admin
        self.me = user_id
        self.users: dict[str, dict[str, Any]] = {
            'u1': {'id': 'u1', 'name': 'alice', 'domain_id': 'default'},
            'u2': {'id': 'u2', 'name': 'bob', 'domain_id': 'default'},
        }
        self.creds: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        self.calls: list[str] = []
        self.fail_at: int | None = None
        self.allow_weaker = False
        self.methods = ['password', 'totp']
        self.clock_skew: float | None = None
        self.session = None

    # -- plumbing

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise Boom('Keystone failed (HTTP 503).')

    def check_invariant(self) -> None:
        for user_id in self.users:
            enabled, rules = mfa_client.rules_of(self.users[user_id])
            totp_ids = [
                c['id']
                for c in self.creds.values()
                if c['user_id'] == user_id and c['type'] == 'totp'
            ]
            if totp_ids and not self.allow_weaker:
                assert enrollment.totp_alone_refused(enabled, rules), (
                    'weaker',
                    user_id,
                    rules,
                )
            if enrollment.requires_totp(enabled, rules):
                book = [
                    json.loads(c['blob'])
                    for c in self.creds.values()
                    if c['user_id'] == user_id and c['type'] == 'mfa-osc'
                ]
                devices = set(book[0]['devices']) if book else set()
                assert devices & set(totp_ids), ('locked out', user_id)

    # -- the client interface

    def current_user_id(self) -> str:
        return self.me

    def current_methods(self) -> list[str]:
        return list(self.methods)

    def auth_url(self) -> str:
        return 'https://keystone.example.com:5000/v3'

    def get_user(self, user_id: str) -> dict[str, Any]:
        self._call('get_user')
        if user_id not in self.users:
            raise mfa_client.NotFound('no user')
        return copy.deepcopy(self.users[user_id])

    def find_users(self, name: str, domain_id: str | None = None) -> Any:
        self._call('find_users')
        return [
            copy.deepcopy(u) for u in self.users.values() if u['name'] == name
        ]

    def list_users(self, domain_id: str | None = None) -> Any:
        self._call('list_users')
        return [copy.deepcopy(u) for u in self.users.values()]

    def find_domain_id(self, name: str) -> str:
        self._call('find_domain_id')
        return 'default'

    def update_user_options(self, user_id: str, options: Any) -> Any:
        self._call('update_user_options')
        if not self.admin:
            raise mfa_client.Forbidden('403')
        current = self.users[user_id].setdefault('options', {})
        for key, value in options.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = copy.deepcopy(value)
        self.check_invariant()
        return copy.deepcopy(self.users[user_id])

    def can_update_user(self, user: Any) -> bool:
        try:
            self.update_user_options(user['id'], {})
        except mfa_client.Forbidden:
            return False
        return True

    def list_credentials(
        self, user_id: str | None = None, type: str | None = None
    ) -> Any:
        self._call('list_credentials')
        return [
            copy.deepcopy(c)
            for c in self.creds.values()
            if (user_id is None or c['user_id'] == user_id)
            and (type is None or c['type'] == type)
        ]

    def create_credential(self, user_id: str, type: str, blob: str) -> Any:
        self._call('create_credential:' + type)
        cred_id = f'c{next(self.ids)}'
        self.creds[cred_id] = {
            'id': cred_id,
            'user_id': user_id,
            'type': type,
            'blob': blob,
        }
        self.check_invariant()
        return copy.deepcopy(self.creds[cred_id])

    def update_credential(self, cred_id: str, blob: str) -> None:
        self._call('update_credential')
        self.creds[cred_id]['blob'] = blob
        self.check_invariant()

    def delete_credential(self, cred_id: str) -> None:
        self._call('delete_credential')
        self.creds.pop(cred_id, None)
        self.check_invariant()

    def find_role_ids(self, name: str) -> list[str]:
        self._call('find_role_ids')
        return ['r-admin']

    def role_assignments(self, role_id: str) -> Any:
        self._call('role_assignments')
        return [{'user': {'id': 'u1'}, 'role': {'id': role_id}}]

    def _good(self, user_id: str, code: str) -> bool:
        return any(
            totp.passcode(c['blob']) == code
            for c in self.creds.values()
            if c['user_id'] == user_id and c['type'] == 'totp'
        )

    def check_totp_alone(self, user_id: str, code: str) -> bool:
        self._call('check_totp_alone')
        return self._good(user_id, code)

    def check_totp_with_token(self, user_id: str, code: str) -> bool:
        self._call('check_totp_with_token')
        return self._good(user_id, code)

    # -- helpers for tests

    def totp_creds(self, user_id: str) -> list[dict[str, Any]]:
        return [
            c
            for c in self.creds.values()
            if c['user_id'] == user_id and c['type'] == 'totp'
        ]

    def options(self, user_id: str) -> dict[str, Any]:
        return dict(self.users[user_id].get('options') or {})


def _codes(secret: str) -> enrollment.PasscodeSource:
    def source(attempt: int, hint: str) -> str | None:
        return totp.passcode(secret) if attempt == 0 else None

    return source


def do_enroll(
    ks: FakeKeystone,
    user_id: str = 'u1',
    name: str | None = 'phone',
    secret: str | None = None,
    **kwargs: Any,
) -> tuple[enrollment.EnrollResult, str]:
    client: Any = ks
    user = ks.get_user(user_id)
    account, name, can_update, warnings = enrollment.prepare_enrollment(
        client, user, name=name, allow_weaker=kwargs.pop('allow_weaker', False)
    )
    secret = secret or totp.generate_secret()
    result = enrollment.enroll(
        client,
        account,
        name=name,
        can_update=can_update,
        secret=secret,
        passcodes=kwargs.pop('passcodes', _codes(secret)),
        warnings=warnings,
        **kwargs,
    )
    return result, secret


def do_remove(
    ks: FakeKeystone,
    user_id: str = 'u1',
    device: str | None = None,
    all_devices: bool = False,
    proof: str | None = None,
) -> enrollment.RemoveResult:
    client: Any = ks
    user = ks.get_user(user_id)
    account, targets, last = enrollment.plan_removal(
        client, user, device=device, all_devices=all_devices
    )
    used = None
    if proof:
        used = enrollment.verify_proof(client, account, proof)
    return enrollment.remove(
        client, account, targets, last, used_recovery=used
    )


class TestRules(base.BaseTestCase):
    def test_enforced_rules_merge(self) -> None:
        self.assertEqual(
            [['password', 'totp'], ['application_credential']],
            enrollment.enforced_rules(enrollment.GUARD_RULES, True),
        )
        self.assertEqual(
            [['password', 'totp']],
            enrollment.enforced_rules(enrollment.GUARD_RULES, False),
        )
        self.assertEqual(
            [
                ['password', 'totp'],
                ['application_credential'],
                ['password', 'mapped'],
            ],
            enrollment.enforced_rules(
                [['password'], ['totp'], ['password', 'mapped']], True
            ),
        )

    def test_predicates(self) -> None:
        guard = enrollment.GUARD_RULES
        self.assertTrue(enrollment.totp_alone_refused(True, guard))
        self.assertFalse(enrollment.totp_alone_refused(False, guard))
        self.assertFalse(enrollment.totp_alone_refused(True, []))
        self.assertFalse(enrollment.totp_alone_refused(True, [['totp']]))
        self.assertTrue(enrollment.password_alone_ok(True, guard))
        self.assertFalse(enrollment.requires_totp(True, guard))
        self.assertTrue(enrollment.requires_totp(True, [['password', 'totp']]))
        self.assertFalse(
            enrollment.app_creds_allowed(True, [['password', 'totp']])
        )

    def test_recovery_code_format(self) -> None:
        code = enrollment.new_recovery_code()
        self.assertEqual(16, len(code))
        # NOTE: a code is too short to be a Keystone secret itself ...
        self.assertRaises(totp.InvalidSecret, totp.normalize_secret, code)
        # ... Keystone wants 128 bits at least: the credential holds a derived
        # 160-bit secret.
        self.assertEqual(32, len(totp.recovery_secret(code)))
        shown = enrollment.format_recovery_code(code)
        self.assertRegex(shown, r'^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$')
        self.assertEqual(
            code, enrollment.normalize_recovery_code(shown.lower())
        )
        self.assertRaises(
            enrollment.PasscodeRefused,
            enrollment.normalize_recovery_code,
            'ABCD-EFGH',
        )


class TestEnroll(base.BaseTestCase):
    def test_enroll_order_and_result(self) -> None:
        ks = FakeKeystone()
        result, secret = do_enroll(ks)
        self.assertEqual(
            [
                'get_user',
                'list_credentials',
                'update_user_options',  # no-op probe
                'update_user_options',  # guard rules
                'create_credential:totp',
                'check_totp_alone',
            ]
            + ['create_credential:totp'] * 8
            + ['create_credential:mfa-osc', 'update_user_options'],
            ks.calls,
        )
        self.assertTrue(result.enforced)
        self.assertEqual(8, len(result.recovery_codes))
        self.assertEqual(
            {
                'multi_factor_auth_enabled': True,
                'multi_factor_auth_rules': [
                    ['password', 'totp'],
                    ['application_credential'],
                ],
            },
            ks.options('u1'),
        )
        blobs = {c['blob'] for c in ks.totp_creds('u1')}
        self.assertIn(secret, blobs)
        for code in result.recovery_codes:
            self.assertIn(totp.recovery_secret(code.replace('-', '')), blobs)
            self.assertNotIn(code.replace('-', ''), blobs)
        book = [c for c in ks.creds.values() if c['type'] == 'mfa-osc']
        data = json.loads(book[0]['blob'])
        self.assertEqual(
            ['phone'], [d['name'] for d in data['devices'].values()]
        )
        self.assertEqual(8, len(data['recovery_codes']))
        self.assertEqual({'enabled': False, 'rules': []}, data['rules_before'])
        # No secret in the bookkeeping.
        for secret_value in blobs:
            self.assertNotIn(secret_value, book[0]['blob'])

    def test_no_application_credentials(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks, application_credentials=False)
        self.assertEqual(
            [['password', 'totp']],
            ks.options('u1')['multi_factor_auth_rules'],
        )

    def test_second_device_keeps_codes_and_unique_names(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        second, _ = do_enroll(ks, name='laptop')
        self.assertEqual([], second.recovery_codes)
        self.assertEqual(10, len(ks.totp_creds('u1')))
        self.assertRaises(enrollment.EnrollmentError, do_enroll, ks)

    def test_default_name(self) -> None:
        ks = FakeKeystone()
        result, _ = do_enroll(ks, name=None)
        self.assertEqual('device-1', result.device_name)
        result, _ = do_enroll(ks, name=None)
        self.assertEqual('device-2', result.device_name)

    def test_wrong_code_retried_then_refused(self) -> None:
        ks = FakeKeystone()
        secret = totp.generate_secret()
        hints: list[str] = []

        def source(attempt: int, hint: str) -> str | None:
            hints.append(hint)
            good = totp.passcode(secret)
            return f'{(int(good) + 1) % 1000000:06d}'

        self.assertRaises(
            enrollment.PasscodeRefused,
            do_enroll,
            ks,
            secret=secret,
            passcodes=source,
        )
        self.assertEqual(enrollment.PASSCODE_ATTEMPTS, len(hints))
        self.assertIn('not the current code', hints[1])
        # A wrong code never reaches Keystone and nothing is created.
        self.assertEqual([], ks.totp_creds('u1'))
        self.assertNotIn('create_credential:totp', ks.calls)

    def test_clock_off_says_so(self) -> None:
        ks = FakeKeystone()
        secret = totp.generate_secret()
        ks.check_totp_alone = lambda u, c: False  # type: ignore
        import time

        ahead = totp.passcode(secret, time.time() + 90)
        calls = []

        def source(attempt: int, hint: str) -> str | None:
            calls.append(hint)
            return ahead if attempt == 0 else None

        exc = self.assertRaises(
            enrollment.PasscodeRefused,
            do_enroll,
            ks,
            secret=secret,
            passcodes=source,
        )
        self.assertIn('clock', str(exc))
        self.assertNotIn(ahead, str(exc))
        # The unverified credential is deleted again.
        self.assertEqual([], ks.totp_creds('u1'))

    def test_non_admin_without_guard_refused_before_anything(self) -> None:
        ks = FakeKeystone(admin=False)
        exc = self.assertRaises(enrollment.NeedsAdministrator, do_enroll, ks)
        self.assertIn('openstack mfa enroll --user u1', str(exc))
        self.assertEqual({}, ks.creds)

    def test_non_admin_allow_weaker(self) -> None:
        ks = FakeKeystone(admin=False)
        ks.allow_weaker = True
        result, _ = do_enroll(ks, allow_weaker=True)
        self.assertFalse(result.enforced)
        self.assertTrue(any('ALONE' in w for w in result.warnings))

    def test_non_admin_with_guard_verifies_then_admin_enforces(self) -> None:
        ks = FakeKeystone(admin=False)
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': enrollment.GUARD_RULES,
            'multi_factor_auth_enabled': True,
        }
        result, _ = do_enroll(ks)
        self.assertFalse(result.enforced)
        self.assertEqual(
            'openstack mfa enforce --user u1', result.admin_command
        )
        self.assertEqual(8, len(result.recovery_codes))
        ks.admin = True
        rules = enrollment.enforce(ks, ks.get_user('u1'))  # type: ignore
        self.assertEqual(
            [['password', 'totp'], ['application_credential']], rules
        )

    def test_enforce_refuses_without_device(self) -> None:
        ks = FakeKeystone()
        self.assertRaises(
            enrollment.WouldLockOut,
            enrollment.enforce,
            ks,  # type: ignore
            ks.get_user('u2'),
        )
        self.assertEqual({}, ks.options('u2'))

    def test_interrupted_at_every_step_then_repaired(self) -> None:
        steps = len(self._enroll_calls())
        for fail_at in range(1, steps + 1):
            ks = FakeKeystone()
            ks.fail_at = fail_at
            self.assertRaises(Boom, do_enroll, ks)
            ks.check_invariant()
            ks.fail_at = None
            ks.calls = []
            status = enrollment.status(ks, ks.get_user('u1'), is_self=True)  # type: ignore
            if ks.totp_creds('u1') and status['devices'] == []:
                self.assertTrue(status['unverified_credentials'])
            if status['state'] == enrollment.STATE_NOT_ENFORCED:
                self.assertRaises(enrollment.EnrollmentError, do_enroll, ks)
                enrollment.enforce(ks, ks.get_user('u1'))  # type: ignore
            else:
                result, _ = do_enroll(ks)
                self.assertTrue(result.enforced)
            status = enrollment.status(ks, ks.get_user('u1'), is_self=True)  # type: ignore
            self.assertEqual([], status['unverified_credentials'])
            self.assertEqual(1, len(status['devices']))
            self.assertEqual(enrollment.STATE_ENFORCED, status['state'])

    def _enroll_calls(self) -> list[str]:
        ks = FakeKeystone()
        do_enroll(ks)
        return ks.calls


class TestRemove(base.BaseTestCase):
    def test_remove_one_of_two(self) -> None:
        ks = FakeKeystone()
        _, secret = do_enroll(ks)
        do_enroll(ks, name='laptop')
        ks.calls = []
        result = do_remove(ks, device='laptop', proof=totp.passcode(secret))
        self.assertFalse(result.last)
        self.assertEqual(['laptop'], result.removed)
        self.assertEqual(9, len(ks.totp_creds('u1')))
        self.assertTrue(
            enrollment.requires_totp(*mfa_client.rules_of(ks.get_user('u1')))
        )

    def test_remove_last_restores_rules_before(self) -> None:
        ks = FakeKeystone()
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': [['password', 'mapped']],
            'multi_factor_auth_enabled': True,
        }
        _, secret = do_enroll(ks)
        self.assertIn(
            ['password', 'mapped'],
            ks.options('u1')['multi_factor_auth_rules'],
        )
        result = do_remove(ks, all_devices=True, proof=totp.passcode(secret))
        self.assertTrue(result.last)
        self.assertEqual({}, ks.creds)
        self.assertEqual(
            {
                'multi_factor_auth_rules': [['password', 'mapped']],
                'multi_factor_auth_enabled': True,
            },
            ks.options('u1'),
        )

    def test_remove_last_without_rules_before(self) -> None:
        ks = FakeKeystone()
        _, secret = do_enroll(ks)
        do_remove(ks, device='phone', proof=totp.passcode(secret))
        self.assertEqual({}, ks.options('u1'))
        self.assertEqual({}, ks.creds)

    def test_remove_with_recovery_code_uses_it_up(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        do_enroll(ks, name='laptop')
        do_remove(ks, device='laptop', proof=first.recovery_codes[0])
        self.assertEqual(8, len(ks.totp_creds('u1')))
        self.assertRaises(
            enrollment.PasscodeRefused,
            do_remove,
            ks,
            device='phone',
            proof=first.recovery_codes[0],
        )

    def test_wrong_proof(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        do_enroll(ks, name='laptop')
        self.assertRaises(
            enrollment.PasscodeRefused,
            do_remove,
            ks,
            device='laptop',
            proof='000000',
        )
        self.assertEqual(10, len(ks.totp_creds('u1')))

    def test_non_admin_may_not_remove_last(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        ks.admin = False
        before = copy.deepcopy(ks.creds)
        exc = self.assertRaises(
            enrollment.NeedsAdministrator, do_remove, ks, all_devices=True
        )
        self.assertIn('openstack mfa remove --user u1 --all', str(exc))
        self.assertEqual(before, ks.creds)

    def test_unknown_device(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        exc = self.assertRaises(
            enrollment.NotFound, do_remove, ks, device='nope'
        )
        self.assertIn('phone', str(exc))

    def test_interrupted_last_removal_at_every_step(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        ks.calls = []
        do_remove(ks, all_devices=True)
        steps = len(ks.calls)
        for fail_at in range(1, steps + 1):
            ks = FakeKeystone()
            do_enroll(ks)
            ks.calls = []
            ks.fail_at = fail_at
            self.assertRaises(Boom, do_remove, ks, all_devices=True)
            ks.check_invariant()
            ks.fail_at = None
            # A later status reports, a later remove or enroll finishes.
            enrollment.status(ks, ks.get_user('u1'), is_self=True)  # type: ignore
            if ks.totp_creds('u1'):
                do_remove(ks, all_devices=True)
            self.assertEqual([], ks.totp_creds('u1'))
            do_enroll(ks)
            ks.check_invariant()


class TestRecoveryCodes(base.BaseTestCase):
    def test_regenerate_replaces(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        account = enrollment.load_account(ks, 'u1')  # type: ignore
        codes = enrollment.regenerate_recovery_codes(ks, account, count=4)  # type: ignore
        self.assertEqual(4, len(codes))
        blobs = {c['blob'] for c in ks.totp_creds('u1')}
        self.assertEqual(5, len(blobs))
        for old in first.recovery_codes:
            self.assertNotIn(totp.recovery_secret(old.replace('-', '')), blobs)
        for new in codes:
            self.assertIn(totp.recovery_secret(new.replace('-', '')), blobs)

    def test_regenerate_needs_a_device(self) -> None:
        ks = FakeKeystone()
        account = enrollment.load_account(ks, 'u2')  # type: ignore
        self.assertRaises(
            enrollment.EnrollmentError,
            enrollment.regenerate_recovery_codes,
            ks,
            account,
        )

    def test_consume(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        code = first.recovery_codes[3]
        self.assertEqual(7, enrollment.consume_recovery_code(ks, 'u1', code))
        # A used code is gone: consuming again changes nothing.
        self.assertEqual(7, enrollment.consume_recovery_code(ks, 'u1', code))
        status = enrollment.status(ks, ks.get_user('u1'), is_self=True)  # type: ignore
        self.assertEqual(7, status['recovery_codes_left'])
        self.assertEqual([], status['warnings'])


class TestStatusAudit(base.BaseTestCase):
    def test_status_warnings(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        ks.creds['x'] = {
            'id': 'x',
            'user_id': 'u2',
            'type': 'totp',
            'blob': totp.generate_secret(),
        }
        data = enrollment.status(ks, ks.get_user('u2'), is_self=False)  # type: ignore
        self.assertEqual(enrollment.STATE_CODE_ALONE, data['state'])
        self.assertEqual(['x'], data['unverified_credentials'])
        self.assertIsNone(data['session_used_totp'])
        self.assertTrue(any('ALONE' in w for w in data['warnings']))
        ks.creds.clear()
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['password', 'totp']],
            'multi_factor_auth_enabled': True,
        }
        data = enrollment.status(ks, ks.get_user('u2'), is_self=True)  # type: ignore
        self.assertEqual(enrollment.STATE_LOCKED_OUT, data['state'])
        self.assertFalse(data['application_credentials_allowed'])
        self.assertTrue(data['session_used_totp'])

    def test_audit_fixed_requests(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        for n in range(50):
            ks.users[f'x{n}'] = {
                'id': f'x{n}',
                'name': f'x{n}',
                'domain_id': 'default',
            }
        ks.calls = []
        rows = enrollment.audit(ks, 'Default')  # type: ignore
        self.assertEqual(
            [
                'find_domain_id',
                'list_users',
                'list_credentials',
                'list_credentials',
                'find_role_ids',
                'role_assignments',
            ],
            ks.calls,
        )
        by_id = {r['id']: r for r in rows}
        self.assertEqual(52, len(rows))
        self.assertEqual(enrollment.STATE_ENFORCED, by_id['u1']['state'])
        self.assertTrue(by_id['u1']['admin'])
        self.assertEqual(8, by_id['u1']['recovery_codes_left'])
        self.assertEqual(enrollment.STATE_NOT_ENROLLED, by_id['u2']['state'])
