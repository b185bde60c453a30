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

"""The user's domain's MFA policy at sign-in: read with the new token
(``GET /v3/domains/{id}``), at most once a day per cloud and user, and
kept in ``policy-check.state`` beside the token cache (0600; the date
checked, the policy and whether a device was seen, no secret and no
token). Only a 200 answer is kept; any other answer, or none, is
:class:`Unreadable`, never "no policy". :mod:`mfa_osc.auth.policy`
decides what the policy asks of the sign-in.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
from pathlib import Path
from typing import Any

from keystoneauth1 import access
from keystoneauth1 import session as ks_session

from mfa_osc import policy_record
from mfa_osc.auth import private_files
from mfa_osc.client import errors as client_errors
from mfa_osc.client import tokens

STATE_FILE = 'policy-check.state'


class Unreadable(Exception):
    """The policy could not be read; ``why`` says how, in words."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def today_utc() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def _key(auth_url: str | None, user_id: str) -> str:
    # NOTE: names the cloud and user without storing either in clear.
    text = f'{auth_url or ""}\n{user_id}'
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]


def _load(directory: Path) -> dict[str, Any]:
    data = private_files.read_state(STATE_FILE, directory)
    return data if isinstance(data, dict) else {}


def _store(directory: Path, state: dict[str, Any]) -> None:
    """Write the state; a failure only costs a request later."""
    with contextlib.suppress(OSError):
        private_files.write_state(STATE_FILE, state, directory)


def _parse(value: object) -> dict[str, Any] | None:
    """The policy as stored, reduced to what the check needs (and what
    ``policy-check.state`` keeps of it)."""
    record = policy_record.parse(value)
    if record is None:
        return None
    return {'deadline': record.deadline, 'roles': list(record.roles)}


def _why_forbidden(ref: access.AccessInfoV3) -> str:
    """Why Keystone refused the token the user's own domain, in words."""
    if ref.project_id and ref.project_domain_id != ref.user_domain_id:
        return (
            'Keystone answered 403: the token is scoped to project '
            f'{ref.project_id} of domain {ref.project_domain_id}, not to a '
            'project of your own domain'
        )
    if not (ref.project_id or ref.domain_id or ref.system):
        return 'Keystone answered 403: the token is unscoped'
    return 'Keystone answered 403'


def _read_policy(
    session: ks_session.Session, ref: access.AccessInfoV3, auth_url: str
) -> dict[str, Any] | None:
    """One GET of the user's own domain, with the new token.

    :returns: the policy, or None when the domain has none (a 200).
    :raises Unreadable: any other answer, or none.
    """
    domain_id = ref.user_domain_id
    if not domain_id:
        raise Unreadable('the token names no domain of the user')
    try:
        domain = tokens.read_domain(
            session, auth_url, str(ref.auth_token), domain_id
        )
    except client_errors.Forbidden:
        raise Unreadable(_why_forbidden(ref)) from None
    except client_errors.ClientError as exc:
        if exc.status is not None:
            raise Unreadable(f'Keystone answered HTTP {exc.status}') from None
        if isinstance(exc, client_errors.Malformed):
            raise Unreadable('the answer was not a domain') from None
        raise Unreadable(_failed(exc.original or exc)) from None
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(_failed(exc)) from None
    return _parse(domain.get(policy_record.KEY))


def _failed(exc: Exception) -> str:
    # NOTE: the class only: a message may carry more than the user should
    # see (never a token here, but keep it short).
    return f'the request failed ({type(exc).__name__})'


class Checked:
    """This user's entry of ``policy-check.state``: read once per check."""

    def __init__(self, directory: Path, auth_url: str, user_id: str):
        self.directory = directory
        self.state = _load(directory)
        self.key = _key(auth_url, user_id)

    @property
    def entry(self) -> dict[str, Any]:
        entry = self.state.get(self.key)
        return entry if isinstance(entry, dict) else {}

    def store(self, **values: Any) -> None:
        self.state[self.key] = {**self.entry, **values}
        _store(self.directory, self.state)


def policy_for(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: Checked,
    today: datetime.date,
    *,
    fresh: bool = False,
) -> tuple[dict[str, Any] | None, bool]:
    """The policy of the user's domain, read at most once a day (or now,
    with ``fresh``), and whether it was read now.

    :raises Unreadable: it could not be read (nothing is stored then).
    """
    entry = checked.entry
    if not fresh and entry.get('checked') == today.isoformat():
        policy = entry.get('policy')
        return (policy if isinstance(policy, dict) else None), False
    # NOTE: only a 200 answer is kept for the day: a refusal or a failure
    # cached as "no policy" would let every sign-in of the day through.
    policy = _read_policy(session, ref, auth_url)
    # NOTE: a new day's answer starts afresh (no device seen yet today).
    checked.state[checked.key] = {}
    checked.store(checked=today.isoformat(), policy=policy)
    return policy, True
