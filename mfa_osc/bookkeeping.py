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

"""mfa-osc's bookkeeping credential of a user, as stored: no secret.

One ``mfa-osc`` credential per user holds device names, which
credentials are recovery codes, the fingerprints of secrets whose
verification is under way (so that the leftovers of an interrupted run
are told apart from hand-made devices), and the MFA options the user had
before enrolling. Its parse reads at most a bounded amount of a blob the
user may have edited; :mod:`mfa_osc.account` judges it against the
credentials Keystone holds.
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
import datetime
import hashlib
import json
from typing import Any

from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules

BOOK_VERSION = 2
#: At most this many names and fingerprints are read from a bookkeeping
#: blob (a crafted one must not cost memory or time).
_BOOK_LIMIT = 256
#: How long a pending mark belongs to an enrollment that may still be
#: running. A run holds its mark from just before its credential is made
#: until its last write: seconds, or a few prompts. Only older marks are
#: leftovers of an interrupted run, to be deleted; a younger one may be
#: another run's device, under verification right now.
PENDING_GRACE = datetime.timedelta(minutes=15)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _young(when: str | None) -> bool:
    """Whether a mark's time is within :data:`PENDING_GRACE` of now."""
    if not when:
        return False
    try:
        at = datetime.datetime.strptime(when, '%Y-%m-%dT%H:%M:%SZ')
    except ValueError:
        return False
    age = datetime.datetime.now(datetime.UTC) - at.replace(tzinfo=datetime.UTC)
    return age < PENDING_GRACE


def fingerprint(secret: str) -> str:
    """A one-way name of a secret, kept while its device is verified."""
    digest = hashlib.sha256(b'mfa-osc pending device\0' + secret.encode())
    return digest.hexdigest()[:32]


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v for v in value[:_BOOK_LIMIT] if isinstance(v, str)]


@dataclasses.dataclass
class Before:
    """The MFA options a user had before the first enrollment."""

    flag: bool | None
    rules: mfa_rules.Rules

    @classmethod
    def from_json(cls, data: object) -> Before | None:
        if not isinstance(data, Mapping):
            return None
        rules = mfa_rules.parse(data.get('rules'))
        if 'flag' in data:
            flag = data.get('flag')
            return cls(flag if isinstance(flag, bool) else None, rules)
        # NOTE: version 1 kept `enabled` read as `bool(option)`, which
        # cannot tell unset from false: unset (Keystone reads it as on)
        # is the reading that never turns rules off by restoring them.
        enabled = data.get('enabled')
        return cls(None if enabled is not True else True, rules)

    def to_json(self) -> dict[str, Any]:
        return {'flag': self.flag, 'rules': self.rules}


@dataclasses.dataclass
class Book:
    """The ``mfa-osc`` bookkeeping credential of a user (no secrets)."""

    credential_id: str | None = None
    #: credential id -> ``{"name": ..., "created_at": ...}``.
    devices: dict[str, dict[str, str]] = dataclasses.field(
        default_factory=dict
    )
    recovery_codes: list[str] = dataclasses.field(default_factory=list)
    pending: list[str] = dataclasses.field(default_factory=list)
    before: Before | None = None
    #: fingerprint -> when it was marked (books of before have none).
    pending_at: dict[str, str] = dataclasses.field(default_factory=dict)

    def mark(self, *fingerprints: str) -> None:
        """Mark secrets whose verification starts now."""
        when = now()
        for value in fingerprints:
            if value not in self.pending:
                self.pending.append(value)
            self.pending_at[value] = when

    def merged(self, other: Book) -> Book:
        """This book with what ``other`` adds (this one wins on a name)."""
        devices = {**other.devices, **self.devices}
        codes = list(dict.fromkeys(self.recovery_codes + other.recovery_codes))
        pending = list(dict.fromkeys(self.pending + other.pending))
        return Book(
            credential_id=self.credential_id or other.credential_id,
            devices=devices,
            recovery_codes=[c for c in codes if c not in devices],
            pending=pending,
            pending_at={**other.pending_at, **self.pending_at},
            before=self.before or other.before,
        )

    def fresh_marks(self) -> set[str]:
        """Marks younger than :data:`PENDING_GRACE`: a run may hold them."""
        return {m for m in self.pending if _young(self.pending_at.get(m))}

    @classmethod
    def from_credential(cls, credential: mfa_client.Credential) -> Book:
        try:
            data = json.loads(credential.blob or '{}')
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        devices: dict[str, dict[str, str]] = {}
        raw = data.get('devices')
        if isinstance(raw, dict):
            for key, info in list(raw.items())[:_BOOK_LIMIT]:
                if not isinstance(info, dict):
                    continue
                devices[str(key)] = {
                    k: v
                    for k, v in info.items()
                    if k in ('name', 'created_at') and isinstance(v, str)
                }
        before = data.get('rules_before')
        raw_at = data.get('pending_at')
        pending_at = (
            {
                str(k): v
                for k, v in list(raw_at.items())[:_BOOK_LIMIT]
                if isinstance(v, str)
            }
            if isinstance(raw_at, dict)
            else {}
        )
        return cls(
            credential_id=credential.id,
            devices=devices,
            recovery_codes=[
                c
                for c in _strings(data.get('recovery_codes'))
                if c not in devices
            ],  # fmt: skip
            pending=_strings(data.get('pending')),
            pending_at=pending_at,
            before=Before.from_json(before),
        )

    def blob(self) -> str:
        return mfa_client.dump_blob(
            {
                'version': BOOK_VERSION,
                'devices': self.devices,
                'recovery_codes': self.recovery_codes,
                'pending': self.pending,
                'pending_at': {
                    k: v
                    for k, v in self.pending_at.items()
                    if k in self.pending
                },
                'rules_before': self.before.to_json() if self.before else None,
            }
        )
