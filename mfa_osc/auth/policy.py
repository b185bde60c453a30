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

"""The MFA policy check after a sign-in without TOTP (issue 14).

``v3multifactor`` calls :func:`check` after a sign-in whose token lacks
``totp``. A domain's MFA policy is the domain's ``mfa_policy`` attribute,
which every user of the domain reads with their own token (``GET
/v3/domains/{id}``). The answer is cached for a day in a file beside the
token cache (``policy-check.state``, 0600): per cloud and user, the date
checked and the policy, no secret and no token; so a user whom no policy
covers pays at most one small request per day.

For a covered user:

* before the deadline, one line on standard error with the deadline and
  the command to run;
* after it (or with none), on a terminal, the enrollment the OSC layer
  registered (:func:`register`) is offered, and the command carries on;
  without a terminal, or without one registered, :class:`PolicyRequired`,
  naming the command to run.

The plugin never imports the workflows: the OSC layer passes the
enrollment in. It also says which commands are exempt (``openstack mfa
enroll`` and ``mfa status``), so that no one is ever stuck. This is the
client carrying the policy out: Keystone enforces only the users' rules.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import datetime
import hashlib
import json
import os
from pathlib import Path
import sys
import tempfile
from typing import Any
from typing import TextIO

from keystoneauth1 import access
from keystoneauth1 import session as ks_session

from mfa_osc import identity
from mfa_osc.auth import cache
from mfa_osc.auth import exceptions

#: The domain's extra attribute (mfa_osc.workflows.policy.POLICY_KEY).
POLICY_KEY = 'mfa_policy'
STATE_FILE = 'policy-check.state'
COMMAND = 'openstack mfa enroll'

#: Offered on a terminal after the deadline: (session, the token's
#: AccessInfo) -> True once a device is enrolled.
Enroll = Callable[[ks_session.Session, access.AccessInfoV3], bool]


class PolicyRequired(exceptions.MFAError):
    """A domain's MFA policy requires a device this user does not have."""


_registered: dict[str, Any] = {'enroll': None, 'exempt': False}


def register(enroll: Enroll | None, *, exempt: bool = False) -> None:
    """What the OSC layer passes in: the enrollment to offer on a
    terminal, and whether the running command is exempt from the check
    (``mfa enroll``, ``mfa status``)."""
    _registered['enroll'] = enroll
    _registered['exempt'] = exempt


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def _key(auth_url: str | None, user_id: str) -> str:
    # NOTE: names the cloud and user without storing either in clear.
    text = f'{auth_url or ""}\n{user_id}'
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]


def _load(directory: Path) -> dict[str, Any]:
    try:
        data = cache._read(directory / STATE_FILE)
    except (OSError, ValueError, cache.UnsafeCache):
        return {}
    return data if isinstance(data, dict) else {}


def _store(directory: Path, state: dict[str, Any]) -> None:
    """Write the state atomically, 0600; a failure only costs a request."""
    try:
        cache._ensure_dir(directory)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-')
    except (OSError, cache.UnsafeCache):
        return
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            json.dump(state, handle)
        os.replace(tmp, directory / STATE_FILE)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _parse(value: object) -> dict[str, Any] | None:
    """The policy as stored, reduced to what the check needs."""
    if not isinstance(value, dict) or not value.get('required'):
        return None
    deadline = value.get('deadline')
    try:
        day = (
            datetime.date.fromisoformat(deadline).isoformat()
            if isinstance(deadline, str)
            else None
        )
    except ValueError:
        day = None
    roles = value.get('roles')
    return {
        'deadline': day,
        'roles': [str(r) for r in roles] if isinstance(roles, list) else [],
    }


def _read_policy(
    session: ks_session.Session, ref: access.AccessInfoV3, auth_url: str
) -> dict[str, Any] | None:
    """One GET of the user's own domain, with the new token."""
    domain_id = ref.user_domain_id
    if not domain_id:
        return None
    try:
        path = '/domains/' + identity.path_id(domain_id, 'domain ID')
        response = session.get(
            identity.identity_url(auth_url) + path,
            headers={'X-Auth-Token': str(ref.auth_token)},
            authenticated=False,
            raise_exc=False,
        )
        if response.status_code != 200:
            return None
        domain = response.json().get('domain')
    except Exception:  # noqa: BLE001
        # NOTE: the check must never break a sign-in that worked.
        return None
    return _parse(domain.get(POLICY_KEY) if isinstance(domain, dict) else None)


def policy_for(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    *,
    today: datetime.date | None = None,
    directory: Path | None = None,
) -> dict[str, Any] | None:
    """The policy of the user's domain, read at most once a day."""
    today = today or _today()
    directory = directory or cache.cache_dir()
    state = _load(directory)
    key = _key(auth_url, str(ref.user_id))
    entry = state.get(key)
    if isinstance(entry, dict) and entry.get('checked') == today.isoformat():
        policy = entry.get('policy')
        return policy if isinstance(policy, dict) else None
    policy = _read_policy(session, ref, auth_url)
    state[key] = {'checked': today.isoformat(), 'policy': policy}
    _store(directory, state)
    return policy


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, 'isatty', None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


def check(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    *,
    today: datetime.date | None = None,
    directory: Path | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> None:
    """After a sign-in: carry out the domain's MFA policy, if any."""
    if 'totp' in identity.token_methods(
        ref._data if isinstance(ref._data, dict) else None
    ):
        return
    if _registered['exempt']:
        return
    policy = policy_for(
        session, ref, auth_url, today=today, directory=directory
    )
    if policy is None:
        return
    roles = set(policy.get('roles') or [])
    if roles and not roles & set(ref.role_names or []):
        # NOTE: the token's roles on its scope: a policy for admins only
        # covers a member's sign-in on a project where they are admin.
        return
    today = today or _today()
    stderr = stderr or sys.stderr
    deadline = policy.get('deadline')
    if deadline and today < datetime.date.fromisoformat(deadline):
        stderr.write(
            f'MFA is required for your account from {deadline} (your '
            f"domain's policy): set up a device now with `{COMMAND}`.\n"
        )
        return
    enroll: Enroll | None = _registered['enroll']
    if enroll is not None and _is_terminal(stdin or sys.stdin):
        stderr.write(
            "Your domain's policy requires MFA"
            + (f' since {deadline}' if deadline else '')
            + ': set up a device now, then your command carries on.\n'
        )
        if enroll(session, ref):
            return
    raise PolicyRequired(
        "Your domain's policy requires MFA"
        + (f' since {deadline}' if deadline else '')
        + f' and this account has no device: run `{COMMAND}` on a '
        'terminal (`openstack mfa status` shows where the account stands).'
    )
