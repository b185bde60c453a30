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

"""An in-memory Keystone for the workflow tests, checking the invariant.

It fakes :class:`mfa_osc.client.Keystone`, the protocol the workflows
call: the fake holds users' options and credentials the way Keystone does
and, after every change, asserts that the account is neither weaker (a
usable TOTP credential while Keystone lets a TOTP code alone sign in) nor
locked out (rules Keystone reads as refusing the password alone, and no
usable TOTP credential). The rules are read as Keystone reads them
(:class:`mfa_osc.rules.MFAOptions`, unset flag = on, methods the cloud
does not enable dropped). It can fail the Nth request, so each workflow is
interrupted at every step in turn. Helpers run enroll, remove and status
on it as the commands do.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
import copy
import itertools
import json
import time
from typing import Any

from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import errors
from mfa_osc.workflows import proof as proof_flow
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
        #: ``time.monotonic()`` of the last revocation (as the client's),
        #: made ``revocation_age`` seconds old: by default a second ago, so
        #: that no test waits out Keystone's second (the tests of that
        #: wait set it to 0).
        self.revoked_at: float | None = None
        self.revocation_age = 1.0
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
        self.revoked_at = time.monotonic() - self.revocation_age
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


def passcodes_of(secret: str) -> errors.PasscodeSource:
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
    plan = enroll_plan.prepare(
        client, user, name=name, allow_weaker=allow_weaker, adopt=adopt
    )
    if adopt is not None:
        secret = ks.creds[adopt]['blob']
    secret = secret or totp.generate_secret()
    result = enroll_flow.enroll(
        client,
        plan,
        secret=None if adopt is not None else secret,
        passcodes=passcodes or passcodes_of(secret),
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


def crowded(users: int = 50) -> FakeKeystone:
    """A Keystone with an enrolled user (``u1``) and ``users`` more, whose
    enabled methods are not read yet, and no calls counted so far."""
    ks = FakeKeystone()
    do_enroll(ks)
    for n in range(users):
        ks.users[f'x{n}'] = {
            'id': f'x{n}',
            'name': f'x{n}',
            'domain_id': 'default',
        }
    ks = copy.copy(ks)
    ks._methods_known = False
    ks.calls = []
    return ks
