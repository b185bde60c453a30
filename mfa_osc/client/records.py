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

"""Typed records of what Keystone returns, parsed at the boundary.

Callers never see Keystone's JSON field names: a user or credential is a
frozen dataclass built by ``from_json``, which raises
:class:`~mfa_osc.client.errors.Malformed` for an answer that is not one.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
import datetime
import json
from typing import Any
from typing import Protocol

from mfa_osc.client.errors import Malformed

#: Keystone credential type of a TOTP device or recovery code.
TOTP_TYPE = 'totp'
#: Keystone credential type of the per-user bookkeeping (no secrets).
BOOK_TYPE = 'mfa-osc'

#: The user record's extra attribute that marks a revocation of the
#: user's older tokens still to be done: the time the rules were
#: tightened. Set in the same PATCH as the rules, cleared once Keystone
#: revoked the tokens; lists of users return it, so every run sees it.
REVOKE_KEY = 'mfa_osc_revoke'

#: The user record's extra attribute by which mfa-osc's guard
#: (:mod:`mfa_osc.guard`) marks a lock of the user's TOTP sign-in:
#: ``{"since": ISO, "until": ISO}``, written when the lock starts and left
#: in place when it expires. Removing it (null) ends the lock at once;
#: lists of users return it, as every extra attribute.
LOCK_KEY = 'mfa_osc_lock'

#: Keystone's default ``[DEFAULT] max_db_limit``: no list answer holds
#: more rows than this, and Keystone 30 does not always flag the cut.
KEYSTONE_MAX_ROWS = 1000


@dataclasses.dataclass(frozen=True)
class User:
    """A Keystone user record, as the MFA code needs it."""

    id: str
    name: str | None
    domain_id: str | None
    enabled: bool
    options: Mapping[str, Any]
    #: The federation protocols the user signs in with (a shadow user's
    #: ``federated`` attribute; ``GET /v3/users/{id}`` has it, lists do
    #: not).
    federated: tuple[str, ...] = ()
    #: :data:`REVOKE_KEY`: when a revocation of the user's older tokens
    #: became due that has not happened yet; None when none is due.
    revoke_due: str | None = None
    #: :data:`LOCK_KEY`: the guard's mark of a TOTP lock, in force or
    #: expired; None when the record has none.
    totp_lock: TotpLock | None = None

    @classmethod
    def from_json(cls, data: object) -> User:
        if not isinstance(data, Mapping) or not isinstance(
            data.get('id'), str
        ):
            raise Malformed(
                'Keystone answered with a user record that has no ID; '
                'check that the auth URL points at Keystone.'
            )
        options = data.get('options')
        name = data.get('name')
        domain = data.get('domain_id')
        due = data.get(REVOKE_KEY)
        return cls(
            id=data['id'],
            name=name if isinstance(name, str) else None,
            domain_id=domain if isinstance(domain, str) else None,
            enabled=data.get('enabled') is not False,
            options=dict(options) if isinstance(options, Mapping) else {},
            federated=_protocols(data.get('federated')),
            revoke_due=str(due) if due else None,
            totp_lock=TotpLock.from_json(data.get(LOCK_KEY)),
        )


@dataclasses.dataclass(frozen=True)
class TotpLock:
    """The guard's mark of a lock of a user's TOTP sign-in.

    The lock is in force while ``until`` is ahead of Keystone's clock;
    the mark stays on the record after that. A mark whose ``until``
    cannot be read (written by hand) has ``until`` None and counts as in
    force: the guard ends a lock when its mark goes, never by its
    ``until``, so only removing the mark says for sure that it is over.
    """

    since: str | None
    until: datetime.datetime | None

    @classmethod
    def from_json(cls, data: object) -> TotpLock | None:
        """The mark of a user record's :data:`LOCK_KEY`; None when it is
        absent or null."""
        if data is None:
            return None
        mark = data if isinstance(data, Mapping) else {}
        since = mark.get('since')
        return cls(
            since=since if isinstance(since, str) else None,
            until=_utc(mark.get('until')),
        )

    def in_force(self, now: datetime.datetime) -> bool:
        """Whether the lock holds at ``now`` (aware, Keystone's clock)."""
        return self.until is None or self.until > now


def _utc(value: object) -> datetime.datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive ones are UTC);
    None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _protocols(federated: object) -> tuple[str, ...]:
    """The protocol IDs of a user record's ``federated`` attribute."""
    found: list[str] = []
    for idp in federated if isinstance(federated, list) else []:
        protocols = idp.get('protocols') if isinstance(idp, Mapping) else None
        for item in protocols if isinstance(protocols, list) else []:
            value = (
                item.get('protocol_id') if isinstance(item, Mapping) else None
            )
            if isinstance(value, str) and value not in found:
                found.append(value)
    return tuple(found)


@dataclasses.dataclass(frozen=True)
class Credential:
    """A Keystone credential (its blob may be a secret: never log it)."""

    id: str
    user_id: str | None
    type: str
    blob: str

    @classmethod
    def from_json(cls, data: object) -> Credential:
        if not isinstance(data, Mapping) or not isinstance(
            data.get('id'), str
        ):
            raise Malformed(
                'Keystone answered with a credential that has no ID; '
                'check that the auth URL points at Keystone.'
            )
        user_id = data.get('user_id')
        blob = data.get('blob')
        return cls(
            id=data['id'],
            user_id=user_id if isinstance(user_id, str) else None,
            type=str(data.get('type') or ''),
            blob=blob if isinstance(blob, str) else '',
        )


@dataclasses.dataclass(frozen=True)
class AppCredential:
    """A Keystone application credential of the signed-in user.

    ``secret`` is set only in the answer to its creation (Keystone keeps a
    hash): it is a secret, never logged, and out of ``repr``.
    """

    id: str
    name: str
    description: str
    project_id: str | None
    #: Aware UTC; None: it never expires.
    expires_at: datetime.datetime | None
    unrestricted: bool
    #: Role names (or IDs where Keystone gave no name).
    roles: tuple[str, ...]
    secret: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: object) -> AppCredential:
        if not isinstance(data, Mapping) or not isinstance(
            data.get('id'), str
        ):
            raise Malformed(
                'Keystone answered with an application credential that has '
                'no ID; check that the auth URL points at Keystone.'
            )
        roles = data.get('roles')
        names = tuple(
            str(r.get('name') or r.get('id'))
            for r in (roles if isinstance(roles, list) else [])
            if isinstance(r, Mapping) and (r.get('name') or r.get('id'))
        )
        secret = data.get('secret')
        project = data.get('project_id')
        return cls(
            id=data['id'],
            name=str(data.get('name') or ''),
            description=str(data.get('description') or ''),
            project_id=project if isinstance(project, str) else None,
            expires_at=_utc(data.get('expires_at')),
            unrestricted=data.get('unrestricted') is True,
            roles=names,
            secret=secret if isinstance(secret, str) and secret else None,
        )


class AppCredentials(Protocol):
    """What the sessions of ``mfa exec --session`` need of Keystone:
    the signed-in user's own application credentials."""

    clock_skew: float | None

    def current_user_id(self) -> str: ...
    def get_user(self, user_id: str) -> User: ...
    def enabled_methods(self) -> frozenset[str] | None: ...
    def create_app_credential(
        self,
        user_id: str,
        *,
        name: str,
        description: str,
        expires_at: datetime.datetime,
        roles: Sequence[str] = (),
    ) -> AppCredential: ...
    def list_app_credentials(self, user_id: str) -> list[AppCredential]: ...
    def delete_app_credential(
        self, user_id: str, app_credential_id: str
    ) -> None: ...


class Keystone(Protocol):
    """What the account model and the workflows need of Keystone.

    :class:`MFAClient` is the real one; unit tests pass an in-memory one.
    """

    clock_skew: float | None
    truncated: list[str]
    #: ``time.monotonic()`` of the last revocation of a user's tokens.
    revoked_at: float | None

    def current_user_id(self) -> str: ...
    def current_methods(self) -> list[str]: ...
    def auth_url(self) -> str | None: ...
    def enabled_methods(self) -> frozenset[str] | None: ...
    def federation_protocols(self) -> frozenset[str]: ...
    def get_user(self, user_id: str) -> User: ...
    def find_users(
        self, name: str, domain_id: str | None = None
    ) -> list[User]: ...
    def list_users(self, domain_id: str | None = None) -> list[User]: ...
    def token_domain_id(self, name_or_id: str) -> str | None: ...
    def find_domain_id(self, name_or_id: str) -> str: ...
    def domain_enabled(self, domain_id: str) -> bool | None: ...
    def update_user_options(
        self,
        user_id: str,
        options: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> User: ...
    def can_update_user(self, user: User) -> bool: ...
    def revoke_user_tokens(self, user_id: str) -> bool: ...
    def list_credentials(
        self,
        user_id: str | None = None,
        type: str | None = None,
        owners: Iterable[str] | None = None,
        cut: list[str] | None = None,
    ) -> list[Credential]: ...
    def create_credential(
        self, user_id: str, type: str, blob: str
    ) -> Credential: ...
    def update_credential(self, credential_id: str, blob: str) -> None: ...
    def delete_credential(self, credential_id: str) -> None: ...
    def find_role_ids(self, name: str) -> list[str]: ...
    def role_assignments(
        self, role_id: str, include_names: bool = False
    ) -> list[dict[str, Any]]: ...
    def get_domain_extra(self, domain_id: str, key: str) -> Any: ...
    def set_domain_extra(
        self, domain_id: str, key: str, value: Any
    ) -> None: ...
    def check_totp_alone(self, user_id: str, passcode: str) -> bool: ...
    def check_totp_with_token(self, user_id: str, passcode: str) -> bool: ...


def dump_blob(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(',', ':'))
