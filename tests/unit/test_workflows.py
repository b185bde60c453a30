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

"""Workflow tests on an in-memory Keystone that checks the invariant.

The fake holds users' options and credentials the way Keystone does and,
after every change, asserts that the account is neither weaker (a usable
TOTP credential while Keystone lets a TOTP code alone sign in) nor locked
out (rules Keystone reads as refusing the password alone, and no usable
TOTP credential). The rules are read as Keystone reads them
(:class:`mfa_osc.rules.MFAOptions`, unset flag = on, methods the cloud
does not enable dropped). It can fail the Nth request, so each workflow is
interrupted at every step in turn.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
import copy
import datetime
import itertools
import json
import time
from typing import Any
from unittest import mock

import fixtures
from oslotest import base

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import errors
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import recovery as recovery_flow
from mfa_osc.workflows import remove as remove_flow
from mfa_osc.workflows import status as status_flow

#: The ``[auth] methods`` of the fake cloud.
METHODS = frozenset({'password', 'token', 'totp', 'application_credential'})

ENFORCED = {
    'multi_factor_auth_enabled': True,
    'multi_factor_auth_rules': [
        ['password', 'totp'],
        ['application_credential'],
    ],
}


class Boom(mfa_client.Unavailable):
    pass


class FakeKeystone:
    """An in-memory :class:`mfa_client.Keystone` that checks the invariant."""

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
        #: The methods of the signed-in session's token.
        self.methods = ['password', 'totp']
        #: The cloud's ``[auth] methods``.
        self.enabled = METHODS
        self.disabled_domains: set[str] = set()
        self.clock_skew: float | None = None
        self.truncated: list[str] = []
        self._methods_known = False
        #: Keystone refuses every code (its clock is off).
        self.refuse_codes = False
        #: Domain records (extra attributes included), by ID.
        self.domains: dict[str, dict[str, Any]] = {
            'default': {'id': 'default', 'name': 'Default'},
            'other': {'id': 'other', 'name': 'Other'},
        }
        #: Effective role assignments: (role ID, user ID, scope).
        self.assignments: list[tuple[str, str, dict[str, Any]]] = [
            ('r-admin', 'u1', {'project': {'domain': {'id': 'default'}}}),
        ]
        #: Users whose tokens were revoked, in order.
        self.revoked: list[str] = []
        #: This Keystone has no DELETE /v3/users/{id}/tokens (before 30).
        self.no_revocation = False
        #: The session's own token was revoked.
        self.session_ended = False
        #: Assert that nothing is sent after the own token was revoked
        #: (off by default: tests reuse one fake for several commands).
        self.strict_session = False
        #: Credentials of one user Keystone lists in one answer (more
        #: cannot be read whole: Keystone 30 does not page them).
        self.page_size = 1000
        #: The federation protocols of the identity providers.
        self.protocols: set[str] = set()
        #: The revocation fails (HTTP 503) this many more times.
        self.revoke_failures = 0

    # -- plumbing

    def _call(self, name: str) -> None:
        assert not (self.strict_session and self.session_ended), (
            'call after own revocation',
            name,
        )
        self.calls.append(name)
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise Boom('Keystone failed (HTTP 503).')

    def _usable(self, user_id: str) -> list[dict[str, Any]]:
        return [
            c for c in self.totp_creds(user_id) if totp.keystone_key(c['blob'])
        ]

    def check_invariant(self) -> None:
        for user_id, user in self.users.items():
            options = mfa_rules.MFAOptions.of(
                user.get('options'), self.enabled
            )
            usable = self._usable(user_id)
            if usable and not self.allow_weaker:
                assert options.totp_alone_refused, (
                    'weaker',
                    user_id,
                    user.get('options'),
                )
            if not options.password_alone_ok:
                assert usable, ('locked out', user_id, user.get('options'))

    def _user(self, user_id: str) -> mfa_client.User:
        return mfa_client.User.from_json(copy.deepcopy(self.users[user_id]))

    def _cred(self, cred_id: str) -> mfa_client.Credential:
        return mfa_client.Credential.from_json(
            copy.deepcopy(self.creds[cred_id])
        )

    # -- the mfa_client.Keystone protocol

    def current_user_id(self) -> str:
        return self.me

    def current_methods(self) -> list[str]:
        return list(self.methods)

    def auth_url(self) -> str | None:
        return 'https://keystone.example.com:5000/v3'

    def enabled_methods(self) -> frozenset[str] | None:
        # NOTE: one request per client, as MFAClient caches the answer.
        if not self._methods_known:
            self._call('enabled_methods')
            self._methods_known = True
        return self.enabled

    def federation_protocols(self) -> frozenset[str]:
        self._call('federation_protocols')
        return frozenset(self.protocols)

    def get_user(self, user_id: str) -> mfa_client.User:
        self._call('get_user')
        if user_id not in self.users:
            raise mfa_client.NotFound('no user')
        return self._user(user_id)

    def find_users(
        self, name: str, domain_id: str | None = None
    ) -> list[mfa_client.User]:
        self._call('find_users')
        return [
            self._user(u['id'])
            for u in self.users.values()
            if u['name'] == name
            and (domain_id is None or u['domain_id'] == domain_id)
        ]

    def list_users(
        self, domain_id: str | None = None
    ) -> list[mfa_client.User]:
        self._call('list_users')
        return [
            self._user(u['id'])
            for u in self.users.values()
            if domain_id is None or u['domain_id'] == domain_id
        ]

    def token_domain_id(self, name_or_id: str) -> str | None:
        user = self.users.get(self.me) or {}
        domain = self.domains.get(str(user.get('domain_id'))) or {}
        if name_or_id in (domain.get('id'), domain.get('name')):
            return str(domain['id'])
        return None

    def find_domain_id(self, name_or_id: str) -> str:
        self._call('find_domain_id')
        for domain in self.domains.values():
            if name_or_id in (domain['id'], domain['name']):
                return str(domain['id'])
        return 'default'

    def domain_enabled(self, domain_id: str) -> bool | None:
        self._call('domain_enabled')
        return domain_id not in self.disabled_domains

    def update_user_options(
        self,
        user_id: str,
        options: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> mfa_client.User:
        self._call('update_user_options')
        if not self.admin:
            raise mfa_client.Forbidden('403')
        current = self.users[user_id].setdefault('options', {})
        for key, value in options.items():
            # NOTE: as Keystone does, None removes the option.
            if value is None:
                current.pop(key, None)
            else:
                current[key] = copy.deepcopy(value)
        for key, value in (extra or {}).items():
            # NOTE: Keystone keeps an extra attribute set to null as null.
            self.users[user_id][key] = copy.deepcopy(value)
        self.check_invariant()
        return self._user(user_id)

    def can_update_user(self, user: mfa_client.User) -> bool:
        noop = {
            mfa_rules.ENABLED_OPTION: user.options.get(
                mfa_rules.ENABLED_OPTION
            )
        }
        try:
            self.update_user_options(user.id, noop)
        except mfa_client.Forbidden:
            return False
        return True

    def revoke_user_tokens(self, user_id: str) -> bool:
        self._call('revoke_user_tokens')
        if not self.admin and user_id != self.me:
            raise mfa_client.Forbidden('403')
        if self.revoke_failures:
            self.revoke_failures -= 1
            raise mfa_client.Unavailable('Keystone failed (HTTP 503).')
        if self.no_revocation:
            return False
        self.revoked.append(user_id)
        if user_id == self.me:
            self.session_ended = True
        return True

    def list_credentials(
        self,
        user_id: str | None = None,
        type: str | None = None,
        owners: Iterable[str] | None = None,
        cut: list[str] | None = None,
    ) -> list[mfa_client.Credential]:
        self._call('list_credentials')
        too_many = [
            u
            for u in self.users
            if (user_id in (None, u))
            and sum(
                1
                for c in self.creds.values()
                if c['user_id'] == u and type in (None, c['type'])
            )
            > self.page_size
        ]
        if too_many and cut is None:
            raise mfa_client.Incomplete('cut')
        if cut is not None:
            cut.extend(u for u in too_many if u not in cut)
        return [
            self._cred(c['id'])
            for c in self.creds.values()
            if (user_id is None or c['user_id'] == user_id)
            and (type is None or c['type'] == type)
            and c['user_id'] not in too_many
        ]

    def create_credential(
        self, user_id: str, type: str, blob: str
    ) -> mfa_client.Credential:
        self._call('create_credential:' + type)
        cred_id = f'c{next(self.ids)}'
        self.creds[cred_id] = {
            'id': cred_id,
            'user_id': user_id,
            'type': type,
            'blob': blob,
        }
        self.check_invariant()
        return self._cred(cred_id)

    def update_credential(self, credential_id: str, blob: str) -> None:
        self._call('update_credential')
        self.creds[credential_id]['blob'] = blob
        self.check_invariant()

    def delete_credential(self, credential_id: str) -> None:
        self._call('delete_credential')
        self.creds.pop(credential_id, None)
        self.check_invariant()

    def find_role_ids(self, name: str) -> list[str]:
        self._call('find_role_ids')
        return [f'r-{name}'] if name in ('admin', 'member') else []

    def role_assignments(
        self, role_id: str, include_names: bool = False
    ) -> list[dict[str, Any]]:
        self._call('role_assignments')
        return [
            {
                'user': {'id': user_id},
                'role': {'id': role},
                'scope': copy.deepcopy(scope),
            }
            for role, user_id, scope in self.assignments
            if role == role_id
        ]

    def get_domain_extra(self, domain_id: str, key: str) -> Any:
        self._call('get_domain_extra')
        if domain_id not in self.domains:
            raise mfa_client.NotFound('no domain')
        return copy.deepcopy(self.domains[domain_id].get(key))

    def set_domain_extra(self, domain_id: str, key: str, value: Any) -> None:
        self._call('set_domain_extra')
        if not self.admin:
            raise mfa_client.Forbidden('403')
        self.domains[domain_id][key] = copy.deepcopy(value)

    def _good(self, user_id: str, code: str) -> bool:
        user = self.users[user_id]
        if (
            self.refuse_codes
            or user.get('enabled') is False
            or 'totp' not in self.enabled
        ):
            return False
        if user['domain_id'] in self.disabled_domains:
            return False
        # NOTE: as Keystone does ([totp] included_previous_windows = 1):
        # the current code and the one before, so that a code read just
        # before a 30-second boundary is not refused after it.
        now = time.time()
        return any(
            code
            in (
                totp.passcode(c['blob'], now),
                totp.passcode(c['blob'], now - 30),
            )
            for c in self._usable(user_id)
        )

    def check_totp_alone(self, user_id: str, passcode: str) -> bool:
        self._call('check_totp_alone')
        return self._good(user_id, passcode)

    def check_totp_with_token(self, user_id: str, passcode: str) -> bool:
        self._call('check_totp_with_token')
        return self._good(user_id, passcode)

    # -- helpers for tests

    def totp_creds(self, user_id: str) -> list[dict[str, Any]]:
        return [
            c
            for c in self.creds.values()
            if c['user_id'] == user_id and c['type'] == 'totp'
        ]

    def book(self, user_id: str) -> dict[str, Any]:
        books = [
            c
            for c in self.creds.values()
            if c['user_id'] == user_id and c['type'] == 'mfa-osc'
        ]
        assert len(books) <= 1, books
        return json.loads(books[0]['blob']) if books else {}

    def options(self, user_id: str) -> dict[str, Any]:
        return dict(self.users[user_id].get('options') or {})

    def add_totp(self, user_id: str, blob: str, cred_id: str = 'x') -> None:
        self.creds[cred_id] = {
            'id': cred_id,
            'user_id': user_id,
            'type': 'totp',
            'blob': blob,
        }


def as_keystone(ks: FakeKeystone) -> mfa_client.Keystone:
    """The fake where the protocol is expected (mypy checks this)."""
    return ks


def _codes(secret: str) -> errors.PasscodeSource:
    def source(attempt: int, hint: str) -> str | None:
        return totp.passcode(secret) if attempt == 0 else None

    return source


def do_enroll(
    ks: FakeKeystone,
    user_id: str = 'u1',
    name: str | None = 'phone',
    secret: str | None = None,
    *,
    allow_weaker: bool = False,
    adopt: str | None = None,
    passcodes: errors.PasscodeSource | None = None,
    **kwargs: Any,
) -> tuple[enroll_flow.EnrollResult, str]:
    client = as_keystone(ks)
    user = ks.get_user(user_id)
    plan = enroll_flow.prepare(
        client, user, name=name, allow_weaker=allow_weaker, adopt=adopt
    )
    if adopt is not None:
        secret = ks.creds[adopt]['blob']
    secret = secret or totp.generate_secret()
    result = enroll_flow.enroll(
        client,
        plan,
        secret=None if adopt is not None else secret,
        passcodes=passcodes or _codes(secret),
        **kwargs,
    )
    return result, secret


def do_remove(
    ks: FakeKeystone,
    user_id: str = 'u1',
    device: str | None = None,
    all_devices: bool = False,
    proof: str | None = None,
) -> remove_flow.RemoveResult:
    client = as_keystone(ks)
    user = ks.get_user(user_id)
    removal = remove_flow.plan(
        client, user, device=device, all_devices=all_devices
    )
    used = None
    if proof:
        used = proof_flow.verify(client, removal.account, proof)
    return remove_flow.remove(client, removal, used_recovery=used)


def get_status(
    ks: FakeKeystone, user_id: str = 'u1', is_self: bool = True
) -> status_flow.Status:
    return status_flow.status(
        as_keystone(ks), ks.get_user(user_id), is_self=is_self
    )


class TestFake(base.BaseTestCase):
    def test_invariant_uses_keystone_reading(self) -> None:
        ks = FakeKeystone()
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
        ks.users['u1']['options'] = ENFORCED
        self.assertRaises(AssertionError, ks.check_invariant)

    def test_none_removes_option(self) -> None:
        ks = FakeKeystone()
        ks.add_totp('u1', totp.generate_secret())
        ks.update_user_options('u1', ENFORCED)
        ks.update_user_options('u1', {'multi_factor_auth_enabled': None})
        self.assertEqual(
            {'multi_factor_auth_rules': ENFORCED['multi_factor_auth_rules']},
            ks.options('u1'),
        )
        user = ks.get_user('u1')
        self.assertIsInstance(user, mfa_client.User)
        self.assertTrue(
            mfa_rules.MFAOptions.of(user.options, METHODS).requires_totp
        )


class TestEnroll(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # NOTE: the fake answers at once; no other run needs the wait.
        self.useFixture(
            fixtures.MonkeyPatch('mfa_osc.account.SETTLE_SECONDS', 0.0)
        )

    def test_enroll_order_and_result(self) -> None:
        ks = FakeKeystone()
        result, secret = do_enroll(ks)
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
        self.assertEqual(ENFORCED, ks.options('u1'))
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
        self.assertEqual(mfa_account.BOOK_VERSION, data['version'])
        # Unset before: restoring it leaves the flag unset, not false.
        self.assertEqual({'flag': None, 'rules': []}, data['rules_before'])
        # No secret in the bookkeeping.
        raw = json.dumps(data)
        for secret_value in blobs:
            self.assertNotIn(secret_value, raw)
        self.assertEqual(mfa_rules.STATE_ENFORCED, get_status(ks).state)

    def _both_verified(
        self,
        ks: FakeKeystone,
        runs: list[tuple[enroll_flow.EnrollResult, str]],
    ) -> None:
        ks.check_invariant()
        status = get_status(ks)
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
        ks = FakeKeystone()
        runs: list[tuple[enroll_flow.EnrollResult, str]] = []
        check = ks.check_totp_alone

        def check_then_b(user_id: str, passcode: str) -> bool:
            ks.check_totp_alone = check  # type: ignore[method-assign]
            runs.append(do_enroll(ks, name='b'))
            return check(user_id, passcode)

        ks.check_totp_alone = check_then_b  # type: ignore[method-assign]
        runs.insert(0, do_enroll(ks, name='a'))
        self.assertEqual(2, len(runs))
        self._both_verified(ks, runs)

    def test_another_run_between_read_and_first_write(self) -> None:
        ks = FakeKeystone()
        secret = totp.generate_secret()
        client = as_keystone(ks)
        plan = enroll_flow.prepare(client, ks.get_user('u1'), name='a')
        other = do_enroll(ks, name='b')  # starts and ends meanwhile
        result = enroll_flow.enroll(
            client, plan, secret=secret, passcodes=_codes(secret)
        )
        self._both_verified(ks, [(result, secret), other])

    def test_fresh_mark_of_another_run_kept(self) -> None:
        # A credential marked moments ago is not a leftover: it may be the
        # device of a run still going. Older marks are leftovers.
        ks = FakeKeystone()
        do_enroll(ks, name='a')
        secret = totp.generate_secret()
        cred = 'late'
        ks.add_totp('u1', secret, cred)
        book = ks.book('u1')
        fp = mfa_account.fingerprint(secret)
        book['pending'] = [fp]
        book['pending_at'] = {fp: mfa_account.now()}
        (stored,) = [c for c in ks.creds.values() if c['type'] == 'mfa-osc']
        stored['blob'] = json.dumps(book)
        do_enroll(ks, name='c')
        self.assertIn(cred, ks.creds)
        self.assertEqual([cred], get_status(ks).unverified_credentials)
        self.useFixture(
            fixtures.MonkeyPatch(
                'mfa_osc.account.PENDING_GRACE', datetime.timedelta(0)
            )
        )
        result, _ = do_enroll(ks, name='d')
        self.assertNotIn(cred, ks.creds)
        self.assertTrue(result.repaired)

    def test_rerun_after_an_interrupted_run_does_not_wait(self) -> None:
        # The interrupted run's marks were there when the rerun read the
        # account: no sign of another run at work, so no read-back.
        ks = FakeKeystone()
        steps = len(self._enroll_calls())
        ks.fail_at = steps - 2  # after the codes, before the bookkeeping
        self.assertRaises(Boom, do_enroll, ks)
        ks.fail_at = None
        self.assertTrue(ks.book('u1')['pending'])
        ks.calls = []
        do_enroll(ks, name='again')
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
        ks = FakeKeystone()
        do_enroll(ks, application_credentials=False)
        self.assertEqual(
            [['password', 'totp']],
            ks.options('u1')['multi_factor_auth_rules'],
        )

    def test_rules_refusing_app_creds_kept(self) -> None:
        ks = FakeKeystone()
        ks.users['u1']['options'] = {'multi_factor_auth_rules': [['password']]}
        do_enroll(ks)
        self.assertEqual(
            [['password', 'totp']],
            ks.options('u1')['multi_factor_auth_rules'],
        )

    def test_second_device_keeps_codes_and_unique_names(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        second, _ = do_enroll(ks, name='laptop')
        self.assertEqual([], second.recovery_codes)
        self.assertTrue(second.enforced)
        self.assertEqual(10, len(ks.totp_creds('u1')))
        self.assertRaises(errors.WorkflowError, do_enroll, ks)
        self.assertEqual(2, len(get_status(ks).devices))

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
            errors.PasscodeRefused,
            do_enroll,
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
        ks = FakeKeystone()
        secret = totp.generate_secret()
        ahead = totp.passcode(secret, time.time() + 90)
        ks.refuse_codes = True
        hints: list[str] = []

        def source(attempt: int, hint: str) -> str | None:
            hints.append(hint)
            return ahead if attempt == 0 else None

        exc = self.assertRaises(
            errors.PasscodeRefused,
            do_enroll,
            ks,
            secret=secret,
            passcodes=source,
        )
        self.assertIn('clock', str(exc))
        self.assertNotIn(ahead, str(exc))
        # The unverified credential is deleted again.
        self.assertEqual([], ks.totp_creds('u1'))

    def test_disabled_domain_says_so(self) -> None:
        ks = FakeKeystone()
        ks.disabled_domains.add('default')
        exc = self.assertRaises(errors.PasscodeRefused, do_enroll, ks)
        self.assertIn('domain default', str(exc))
        self.assertIn('domain_enabled', ks.calls)
        self.assertEqual([], ks.totp_creds('u1'))

    def test_disabled_user_refused_before_anything(self) -> None:
        ks = FakeKeystone()
        ks.users['u1']['enabled'] = False
        exc = self.assertRaises(errors.WorkflowError, do_enroll, ks)
        self.assertIn('disabled', str(exc))
        self.assertEqual({}, ks.creds)
        self.assertNotIn('update_user_options', ks.calls)

    def test_totp_not_enabled_refused(self) -> None:
        ks = FakeKeystone()
        ks.enabled = frozenset({'password', 'token'})
        exc = self.assertRaises(errors.WorkflowError, do_enroll, ks)
        self.assertIn('[auth] methods', str(exc))
        self.assertEqual({}, ks.creds)

    def test_non_admin_without_guard_refused_before_anything(self) -> None:
        ks = FakeKeystone(admin=False)
        exc = self.assertRaises(errors.NeedsAdministrator, do_enroll, ks)
        self.assertIn('openstack mfa enroll --user u1', str(exc))
        self.assertEqual({}, ks.creds)

    def test_non_admin_flag_false_is_no_guard(self) -> None:
        # Guard rules with the flag false: Keystone ignores them.
        ks = FakeKeystone(admin=False)
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': mfa_rules.LEGACY_GUARD_RULES,
            'multi_factor_auth_enabled': False,
        }
        self.assertRaises(errors.NeedsAdministrator, do_enroll, ks)
        self.assertEqual({}, ks.creds)

    def test_non_admin_allow_weaker(self) -> None:
        ks = FakeKeystone(admin=False)
        ks.allow_weaker = True
        result, _ = do_enroll(ks, allow_weaker=True)
        self.assertFalse(result.enforced)
        self.assertTrue(any('ALONE' in w for w in result.warnings))

    def test_non_admin_with_guard_verifies_then_admin_enforces(self) -> None:
        ks = FakeKeystone(admin=False)
        # NOTE: flag unset: Keystone reads it as on, the guard holds.
        ks.users['u1']['options'] = {
            'multi_factor_auth_rules': mfa_rules.LEGACY_GUARD_RULES,
        }
        result, _ = do_enroll(ks)
        self.assertFalse(result.enforced)
        self.assertEqual(
            'openstack mfa enforce --user u1', result.admin_command
        )
        self.assertEqual(8, len(result.recovery_codes))
        self.assertEqual(mfa_rules.STATE_NOT_ENFORCED, get_status(ks).state)
        ks.admin = True
        done = enforce_flow.enforce(as_keystone(ks), ks.get_user('u1'))
        self.assertEqual(enforce_flow.ACTION_ENFORCED, done.action)
        self.assertTrue(done.enforced)
        self.assertEqual(
            [['password', 'totp'], ['application_credential']], done.rules
        )
        self.assertEqual(ENFORCED, ks.options('u1'))
        again = enforce_flow.enforce(as_keystone(ks), ks.get_user('u1'))
        self.assertEqual(enforce_flow.ACTION_UNCHANGED, again.action)

    def test_enforce_refuses_without_device(self) -> None:
        ks = FakeKeystone()
        self.assertRaises(
            errors.WouldLockOut,
            enforce_flow.enforce,
            as_keystone(ks),
            ks.get_user('u2'),
        )
        self.assertEqual({}, ks.options('u2'))

    def test_enforce_guards_a_hand_made_device(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret())
        done = enforce_flow.enforce(as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_GUARDED, done.action)
        self.assertFalse(done.enforced)
        ks.allow_weaker = False
        ks.check_invariant()

    def test_enforce_code_alone_only_way_in_refused(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret(), 'hand')
        ks.users['u2']['options'] = {'multi_factor_auth_rules': [['totp']]}
        exc = self.assertRaises(
            errors.WouldLockOut,
            enforce_flow.enforce,
            as_keystone(ks),
            ks.get_user('u2'),
        )
        self.assertIn('--user u2 --adopt hand', str(exc))
        self.assertEqual(
            [['totp']], ks.options('u2')['multi_factor_auth_rules']
        )

    def test_enforce_guard_keeps_app_creds_refused(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret(), 'hand')
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['totp'], ['password']]
        }
        done = enforce_flow.enforce(as_keystone(ks), ks.get_user('u2'))
        self.assertEqual(enforce_flow.ACTION_GUARDED, done.action)
        self.assertFalse(done.enforced)
        guard = [['password'], ['totp', 'application_credential']]
        self.assertEqual(guard, done.rules)
        self.assertEqual(guard, ks.options('u2')['multi_factor_auth_rules'])
        self.assertEqual('the password still does', done.still_signs_in)
        ks.allow_weaker = False
        ks.check_invariant()

    def test_enroll_on_code_alone_rules_never_lets_the_password_alone_in(
        self,
    ) -> None:
        ks = FakeKeystone()
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
            result, _ = do_enroll(ks)
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
        ks = FakeKeystone()
        ks.disabled_domains.add('default')
        exc = self.assertRaises(errors.WorkflowError, do_enroll, ks, 'u2')
        self.assertIn('domain set --enable default', str(exc))
        self.assertEqual({}, ks.options('u2'))
        self.assertEqual([], ks.totp_creds('u2'))
        self.assertEqual({}, ks.book('u2'))

    def test_adopt_hand_made(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        secret = totp.generate_secret()
        ks.add_totp('u1', secret, 'hand')
        status = get_status(ks)
        self.assertEqual([], status.unverified_credentials)
        self.assertEqual(
            [('hand', 'hand-made')],
            [(d['id'], d['origin']) for d in status.devices],
        )
        result, _ = do_enroll(ks, adopt='hand')
        ks.allow_weaker = False
        ks.check_invariant()
        self.assertTrue(result.adopted)
        self.assertEqual('hand', result.device_id)
        self.assertEqual(secret, ks.creds['hand']['blob'])
        self.assertEqual(['hand'], list(ks.book('u1')['devices']))
        status = get_status(ks)
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
        self.assertEqual([], status.unverified_credentials)

    def test_adopt_unknown_refused(self) -> None:
        ks = FakeKeystone()
        self.assertRaises(errors.NotFound, do_enroll, ks, adopt='nope')
        self.assertEqual({}, ks.creds)

    def test_hand_made_kept(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u1', totp.generate_secret(), 'hand')
        result, _ = do_enroll(ks)
        self.assertIn('hand', ks.creds)
        self.assertTrue(
            any('--adopt hand' in w for w in result.warnings), result.warnings
        )
        status = get_status(ks)
        self.assertEqual(
            ['mfa-osc', 'hand-made'], [d['origin'] for d in status.devices]
        )
        self.assertTrue(any('hand-made' in w for w in status.warnings))

    def test_rules_naming_disabled_method_enforced(self) -> None:
        # [["password", "mapped"]] with mapped not enabled is password
        # alone to Keystone (application credentials refused): enrolling
        # enforces password and TOTP, removing restores the rule as it was.
        ks = FakeKeystone()
        before = {'multi_factor_auth_rules': [['password', 'mapped']]}
        ks.users['u1']['options'] = copy.deepcopy(before)
        _, secret = do_enroll(ks)
        self.assertEqual(
            {
                'multi_factor_auth_enabled': True,
                'multi_factor_auth_rules': [['password', 'totp']],
            },
            ks.options('u1'),
        )
        do_remove(ks, all_devices=True, proof=totp.passcode(secret))
        self.assertEqual(before, ks.options('u1'))

    def test_interrupted_at_every_step_then_repaired(self) -> None:
        steps = len(self._enroll_calls())
        interrupted: list[tuple[int, FakeKeystone]] = []
        for fail_at in range(1, steps + 1):
            ks = FakeKeystone()
            ks.fail_at = fail_at
            self.assertRaises(Boom, do_enroll, ks)
            ks.check_invariant()
            ks.fail_at = None
            ks.calls = []
            interrupted.append((fail_at, ks))
        # Every step kept the invariant; now each state is repaired, by a
        # run after PENDING_GRACE (before it, a mark may be a run's that
        # is still going: see test_fresh_mark_of_another_run_kept).
        self.useFixture(
            fixtures.MonkeyPatch(
                'mfa_osc.account.PENDING_GRACE', datetime.timedelta(0)
            )
        )
        for fail_at, ks in interrupted:
            status = get_status(ks)
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
                self.assertRaises(errors.WorkflowError, do_enroll, ks)
                client = as_keystone(ks)
                enforce_flow.enforce(client, ks.get_user('u1'))
                account = mfa_account.load_account(client, 'u1')
                if not account.recovery_ids or account.pending:
                    recovery_flow.regenerate(client, account)
            else:
                result, _ = do_enroll(ks)
                self.assertTrue(result.enforced)
            status = get_status(ks)
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
        self.assertEqual(['laptop'], [r.split(' ')[0] for r in result.removed])
        self.assertEqual(['phone'], [r.split(' ')[0] for r in result.left])
        self.assertEqual(9, len(ks.totp_creds('u1')))
        self.assertEqual(ENFORCED, ks.options('u1'))

    def test_remove_last_restores_rules_before(self) -> None:
        ks = FakeKeystone()
        # NOTE: with mapped enabled, [["password", "mapped"]] alone would
        # refuse the password alone: rules the invariant calls locked out.
        ks.enabled = METHODS | {'mapped'}
        before = {
            'multi_factor_auth_rules': [['password'], ['password', 'mapped']],
            'multi_factor_auth_enabled': True,
        }
        ks.users['u1']['options'] = copy.deepcopy(before)
        _, secret = do_enroll(ks)
        self.assertEqual(
            [['password', 'totp'], ['password', 'mapped']],
            ks.options('u1')['multi_factor_auth_rules'],
        )
        result = do_remove(ks, all_devices=True, proof=totp.passcode(secret))
        self.assertTrue(result.last)
        self.assertEqual({}, ks.creds)
        self.assertEqual(before, ks.options('u1'))
        self.assertEqual(True, result.flag)

    def test_remove_last_restores_flag_false(self) -> None:
        ks = FakeKeystone()
        before = {
            'multi_factor_auth_rules': [['password', 'totp']],
            'multi_factor_auth_enabled': False,
        }
        ks.users['u1']['options'] = copy.deepcopy(before)
        _, secret = do_enroll(ks)
        do_remove(ks, all_devices=True, proof=totp.passcode(secret))
        self.assertEqual(before, ks.options('u1'))

    def test_remove_last_without_rules_before(self) -> None:
        ks = FakeKeystone()
        _, secret = do_enroll(ks)
        result = do_remove(ks, device='phone', proof=totp.passcode(secret))
        self.assertTrue(result.last)
        # The flag unset again, not false: as it was.
        self.assertIsNone(result.flag)
        self.assertEqual({}, ks.options('u1'))
        self.assertEqual({}, ks.creds)

    def test_remove_with_recovery_code_uses_it_up(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        do_enroll(ks, name='laptop')
        do_remove(ks, device='laptop', proof=first.recovery_codes[0])
        self.assertEqual(8, len(ks.totp_creds('u1')))
        self.assertEqual(7, len(ks.book('u1')['recovery_codes']))
        self.assertRaises(
            errors.PasscodeRefused,
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
            errors.PasscodeRefused,
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
            errors.NeedsAdministrator, do_remove, ks, all_devices=True
        )
        self.assertIn('openstack mfa remove --user u1 --all', str(exc))
        self.assertEqual(before, ks.creds)

    def test_unknown_device(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        exc = self.assertRaises(errors.NotFound, do_remove, ks, device='nope')
        self.assertIn('phone', str(exc))

    def test_remove_unusable_credential(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        ks.add_totp('u1', 'not base32', 'bad')
        status = get_status(ks)
        self.assertIn('bad', status.unverified_credentials)
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
        result = do_remove(ks, device='bad')
        self.assertFalse(result.last)
        self.assertNotIn('bad', ks.creds)
        self.assertEqual(ENFORCED, ks.options('u1'))

    def test_locked_out_reset_without_proof(self) -> None:
        ks = FakeKeystone()
        ks.users['u2']['options'] = copy.deepcopy(ENFORCED)
        self.assertEqual(
            mfa_rules.STATE_LOCKED_OUT, get_status(ks, 'u2').state
        )
        result = do_remove(ks, 'u2', all_devices=True)
        self.assertTrue(result.last)
        self.assertEqual({}, ks.options('u2'))

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
            get_status(ks)
            try:
                do_remove(ks, all_devices=True)
            except errors.NotFound:
                # Only when nothing at all is left to finish.
                self.assertEqual({}, ks.creds, f'step {fail_at}')
            self.assertEqual({}, ks.creds, f'step {fail_at}')
            self.assertEqual({}, ks.options('u1'), f'step {fail_at}')
            do_enroll(ks)
            ks.check_invariant()
            self.assertEqual(mfa_rules.STATE_ENFORCED, get_status(ks).state)


class TestRecoveryCodes(base.BaseTestCase):
    def test_regenerate_replaces(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        account = mfa_account.load_account(as_keystone(ks), 'u1')
        codes = recovery_flow.regenerate(as_keystone(ks), account, count=4)
        self.assertEqual(4, len(codes))
        blobs = {c['blob'] for c in ks.totp_creds('u1')}
        self.assertEqual(5, len(blobs))
        for old in first.recovery_codes:
            self.assertNotIn(recovery.secret(recovery.normalize(old)), blobs)
        for new in codes:
            self.assertIn(recovery.secret(recovery.normalize(new)), blobs)
        self.assertEqual(4, len(ks.book('u1')['recovery_codes']))

    def test_regenerate_count_bounds(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        account = mfa_account.load_account(as_keystone(ks), 'u1')
        for count in (0, recovery.MAX_COUNT + 1):
            self.assertRaises(
                errors.WorkflowError,
                recovery_flow.regenerate,
                as_keystone(ks),
                account,
                count=count,
            )

    def test_regenerate_needs_a_device(self) -> None:
        ks = FakeKeystone()
        account = mfa_account.load_account(as_keystone(ks), 'u2')
        self.assertRaises(
            errors.WorkflowError,
            recovery_flow.regenerate,
            as_keystone(ks),
            account,
        )

    def test_regenerate_never_deletes_a_device(self) -> None:
        # A bookkeeping edited to call the device a recovery code too.
        ks = FakeKeystone()
        result, _ = do_enroll(ks)
        book_id = next(
            c['id'] for c in ks.creds.values() if c['type'] == 'mfa-osc'
        )
        data = ks.book('u1')
        data['recovery_codes'].append(result.device_id)
        ks.creds[book_id]['blob'] = json.dumps(data)
        account = mfa_account.load_account(as_keystone(ks), 'u1')
        recovery_flow.regenerate(as_keystone(ks), account, count=2)
        self.assertIn(result.device_id, ks.creds)
        self.assertEqual(3, len(ks.totp_creds('u1')))

    def test_interrupted_regenerate_at_every_step(self) -> None:
        def regenerate(ks: FakeKeystone) -> list[str]:
            account = mfa_account.load_account(as_keystone(ks), 'u1')
            return recovery_flow.regenerate(as_keystone(ks), account, count=3)

        ks = FakeKeystone()
        do_enroll(ks)
        ks.calls = []
        regenerate(ks)
        steps = len(ks.calls)
        interrupted: list[tuple[int, FakeKeystone]] = []
        for fail_at in range(1, steps + 1):
            ks = FakeKeystone()
            do_enroll(ks)
            ks.calls = []
            ks.fail_at = fail_at
            self.assertRaises(Boom, regenerate, ks)
            ks.check_invariant()
            ks.fail_at = None
            interrupted.append((fail_at, ks))
        self.useFixture(
            fixtures.MonkeyPatch(
                'mfa_osc.account.PENDING_GRACE', datetime.timedelta(0)
            )
        )
        for fail_at, ks in interrupted:
            status = get_status(ks)
            self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
            # The device is intact and nothing looks hand-made.
            self.assertEqual(
                ['mfa-osc'],
                [d['origin'] for d in status.devices],
                f'step {fail_at}',
            )
            codes = regenerate(ks)
            status = get_status(ks)
            self.assertEqual(3, status.recovery_codes_left, f'step {fail_at}')
            self.assertEqual(
                1 + 3, len(ks.totp_creds('u1')), f'step {fail_at}'
            )
            self.assertEqual(
                [], status.unverified_credentials, f'step {fail_at}'
            )
            blobs = {c['blob'] for c in ks.totp_creds('u1')}
            for code in codes:
                self.assertIn(recovery.secret(recovery.normalize(code)), blobs)

    def test_use_up(self) -> None:
        ks = FakeKeystone()
        first, _ = do_enroll(ks)
        code = first.recovery_codes[3]
        client = as_keystone(ks)
        self.assertEqual(
            7, mfa_account.use_up_recovery_code(client, 'u1', code)
        )
        # A used code is gone: using it up again finds nothing to delete,
        # and says so instead of counting it used.
        ks.calls = []
        self.assertRaises(
            mfa_account.NotFound,
            mfa_account.use_up_recovery_code,
            client,
            'u1',
            code,
        )
        self.assertNotIn('delete_credential', ks.calls)
        self.assertNotIn('update_credential', ks.calls)
        status = get_status(ks)
        self.assertEqual(7, status.recovery_codes_left)
        self.assertEqual([], status.warnings)


class TestStatusAudit(base.BaseTestCase):
    def test_status_warnings(self) -> None:
        ks = FakeKeystone()
        ks.allow_weaker = True
        ks.add_totp('u2', totp.generate_secret())
        data = get_status(ks, 'u2', is_self=False)
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
        data = get_status(ks, 'u2', is_self=True)
        self.assertEqual(mfa_rules.STATE_LOCKED_OUT, data.state)
        self.assertFalse(data.application_credentials_allowed)
        self.assertTrue(data.session_used_totp)

    def test_status_flag_false_and_ignored_methods(self) -> None:
        ks = FakeKeystone()
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['password', 'totp']],
            'multi_factor_auth_enabled': False,
        }
        data = get_status(ks, 'u2', is_self=False)
        self.assertFalse(data.mfa_enabled)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, data.state)
        self.assertTrue(any('is false' in w for w in data.warnings))
        ks.users['u2']['options'] = {
            'multi_factor_auth_rules': [['password', 'oauth1']],
        }
        data = get_status(ks, 'u2', is_self=False)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, data.state)
        self.assertTrue(any('oauth1' in w for w in data.warnings))

    def test_status_clock_skew(self) -> None:
        ks = FakeKeystone()
        ks.clock_skew = 42.04
        data = get_status(ks)
        self.assertEqual(42.0, data.clock_skew_seconds)
        self.assertTrue(any('clock' in w for w in data.warnings))

    def test_columns(self) -> None:
        self.assertEqual('id', status_flow.columns(status_flow.AuditRow)[0])
        ks = FakeKeystone()
        data = get_status(ks)
        self.assertEqual(
            len(status_flow.columns(status_flow.Status)),
            len(status_flow.values(data)),
        )

    def test_audit_fixed_requests(self) -> None:
        ks = FakeKeystone()
        do_enroll(ks)
        for n in range(50):
            ks.users[f'x{n}'] = {
                'id': f'x{n}',
                'name': f'x{n}',
                'domain_id': 'default',
            }
        ks = copy.copy(ks)
        ks._methods_known = False
        ks.calls = []
        rows = status_flow.audit(as_keystone(ks), 'Default')
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
