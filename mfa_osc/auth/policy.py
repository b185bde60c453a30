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

"""The MFA policy check after a sign-in without TOTP.

``v3multifactor`` calls :func:`check` after a sign-in whose token lacks
``totp``. A domain's MFA policy is the domain's ``mfa_policy`` attribute,
which every user of the domain reads with their own token (``GET
/v3/domains/{id}``). The answer is cached for a day in a file beside the
token cache (``policy-check.state``, 0600): per cloud and user, the date
checked, the policy and whether a device was seen, no secret and no
token; so a user whom no policy covers pays at most one small request per
day.

A covered user who has a device (verified by mfa-osc, or hand-made) is
left alone: enforcing its rules is an administrator's ``mfa enforce``.
Whether there is one costs one request (the user's own credentials), only
for covered users, until one is seen. For a covered user without one:

* before the deadline, a warning (one line on standard error in OSC) with
  the deadline and the command to run;
* after it (or with none), on a terminal, the enrollment the OSC layer
  registered (:mod:`mfa_osc.auth.hooks`) is offered; it returns a
  passcode of the new device, with which the plugin signs in again, so
  that the command carries on with a token that carries ``totp``;
  without a terminal, or without one registered (openstacksdk, Ansible),
  :class:`PolicyRequired`, naming the command to run.

A refusal or a failure to read the policy is never "no policy", and it is
never cached: only a 200 answer (a policy, or none) is kept for the day.
A token that cannot read the user's own domain (Keystone answers 403 to
a token scoped to a project of another domain, as with LDAP or identity
provider user domains, and to an unscoped token), a 5xx or a network
error leave the check unable to decide. Then the user's own credentials
tell (any token of the user may read them): a user with a device is left
alone, as a covered user with a device always is; without one (or when
that read fails too) the policy is treated as possibly required: on a
terminal the same set-up is offered, elsewhere :class:`PolicyUnreadable`
says what happened and what to do (set up a device with ``openstack mfa
enroll`` and sign in with it, or scope the sign-in to a project of one's
own domain). An unscoped sign-in is no exception: it cannot read the
domain, so it is judged the same way (``mfa enroll`` and ``mfa status``
stay exempt, and the plugin's own unscoped retry after a refused scoped
sign-in carries ``totp`` or fails, so never reaches the check).

The plugin never imports the workflows: the OSC layer passes the
enrollment in. It also says which commands are exempt (``openstack mfa
enroll`` and ``mfa status``), so that no one is ever stuck. This is the
client carrying the policy out: Keystone enforces only the users' rules.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
from pathlib import Path
import sys
from typing import Any
from typing import TextIO

from keystoneauth1 import access
from keystoneauth1 import session as ks_session

from mfa_osc import identity
from mfa_osc import policy_record
from mfa_osc import terminal
from mfa_osc.auth import exceptions
from mfa_osc.auth import hooks
from mfa_osc.auth import private_files
from mfa_osc.client import errors as client_errors
from mfa_osc.client import tokens

LOG = logging.getLogger(__name__)

STATE_FILE = 'policy-check.state'
COMMAND = 'openstack mfa enroll'


class PolicyRequired(exceptions.MFAError):
    """A domain's MFA policy requires a device this user does not have."""


class PolicyUnreadable(PolicyRequired):
    """The domain's MFA policy could not be read with this token, and the
    user has no device: the policy may require one."""


class _Unreadable(Exception):
    """The policy could not be read; ``why`` says how, in words."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _today() -> datetime.date:
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
    :raises _Unreadable: any other answer, or none.
    """
    domain_id = ref.user_domain_id
    if not domain_id:
        raise _Unreadable('the token names no domain of the user')
    try:
        domain = tokens.read_domain(
            session, auth_url, str(ref.auth_token), domain_id
        )
    except client_errors.Forbidden:
        raise _Unreadable(_why_forbidden(ref)) from None
    except client_errors.ClientError as exc:
        if exc.status is not None:
            raise _Unreadable(f'Keystone answered HTTP {exc.status}') from None
        if isinstance(exc, client_errors.Malformed):
            raise _Unreadable('the answer was not a domain') from None
        raise _Unreadable(_failed(exc.original or exc)) from None
    except Exception as exc:  # noqa: BLE001
        raise _Unreadable(_failed(exc)) from None
    return _parse(domain.get(policy_record.KEY))


def _failed(exc: Exception) -> str:
    # NOTE: the class only: a message may carry more than the user should
    # see (never a token here, but keep it short).
    return f'the request failed ({type(exc).__name__})'


class _Checked:
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


def _policy_for(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: _Checked,
    today: datetime.date,
    *,
    fresh: bool = False,
) -> tuple[dict[str, Any] | None, bool]:
    """The policy of the user's domain, read at most once a day (or now,
    with ``fresh``), and whether it was read now.

    :raises _Unreadable: it could not be read (nothing is stored then).
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


def _covers(policy: dict[str, Any], ref: access.AccessInfoV3) -> bool:
    roles = set(policy.get('roles') or [])
    # NOTE: the token's roles on its scope: a policy for admins only
    # covers a member's sign-in on a project where they are admin.
    return not roles or bool(roles & set(ref.role_names or []))


def _device_seen(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: _Checked,
    today: datetime.date,
) -> bool:
    """Whether the user has a device; once seen, remembered for the day."""
    if checked.entry.get('device') == today.isoformat():
        return True
    # NOTE: imported here: only a covered user's sign-in gets this far.
    from mfa_osc import account as mfa_account
    from mfa_osc import client as mfa_client

    user = mfa_client.User(
        str(ref.user_id), ref.username, ref.user_domain_id, True, {}
    )
    try:
        client = mfa_client.MFAClient.for_token(
            session, auth_url, str(ref.auth_token), str(ref.user_id)
        )
        account = mfa_account.account_from(
            user, client.list_credentials(user_id=user.id)
        )
    except Exception:  # noqa: BLE001
        # NOTE: unknown: treated as no device, so the user is reminded (or
        # offered a set-up, which reads the account again) rather than let
        # through against the policy.
        return False
    if not account.devices:
        return False
    checked.store(device=today.isoformat())
    return True


def _domain(ref: access.AccessInfoV3) -> str:
    # NOTE: read with .get: a token body without the domain's name
    # (keystoneauth would raise KeyError) still names its ID.
    body = ref._data if isinstance(ref._data, dict) else {}
    token = body.get('token')
    user = token.get('user') if isinstance(token, dict) else None
    domain = user.get('domain') if isinstance(user, dict) else None
    name = domain.get('name') if isinstance(domain, dict) else None
    return (
        f'{name} ({ref.user_domain_id})' if name else str(ref.user_domain_id)
    )


def _set_up_or_refuse(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: _Checked,
    today: datetime.date,
    *,
    offer: str,
    refusal: PolicyRequired,
    stderr: TextIO | None,
    stdin: TextIO | None,
) -> str:
    """The policy requires (or may require) a device the user lacks: on a
    terminal with a set-up registered, offer it; otherwise refuse."""
    enroll = hooks.registered.enroll
    if enroll is not None and terminal.is_terminal(stdin or sys.stdin):
        stderr = stderr or sys.stderr
        stderr.write(
            offer + ': set up a device now, then your command carries on.\n'
        )
        stderr.flush()
        code = enroll(session, ref, auth_url)
        if code is not None:
            checked.store(device=today.isoformat())
            return code
    raise refusal


def _undecided(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: _Checked,
    today: datetime.date,
    why: str,
    *,
    has_device: bool | None = None,
    stderr: TextIO | None,
    stdin: TextIO | None,
) -> str | None:
    """The policy could not be read: a user with a device is let through
    (as a covered user with one is), anyone else is not.

    ``has_device``: None when not read yet.
    """
    if has_device is None:
        has_device = _device_seen(session, ref, auth_url, checked, today)
    if has_device:
        return None
    return _set_up_or_refuse(
        session,
        ref,
        auth_url,
        checked,
        today,
        offer=(
            f'The MFA policy of your domain could not be read with this '
            f'token ({why}), so MFA may be required'
        ),
        refusal=PolicyUnreadable(
            f'This sign-in could not read the MFA policy of your domain '
            f'{_domain(ref)} with this token ({why}), so it cannot tell '
            'whether MFA is required, and this account has no device: set '
            f'one up with `{COMMAND}` on a terminal and sign in with it, or '
            'sign in scoped to a project of your own domain.'
        ),
        stderr=stderr,
        stdin=stdin,
    )


def check(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    *,
    today: datetime.date | None = None,
    directory: Path | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> str | None:
    """After a sign-in: carry out the domain's MFA policy, if any.

    Returns a passcode of a device enrolled here, with which the caller
    signs in again; None when the sign-in stands as it is.

    :raises PolicyRequired: the policy requires a device the user lacks.
    :raises PolicyUnreadable: the policy could not be read and the user
        has no device.
    """
    if 'totp' in identity.token_methods(
        ref._data if isinstance(ref._data, dict) else None
    ):
        return None
    if hooks.registered.exempt:
        return None
    today = today or _today()
    checked = _Checked(
        directory or private_files.cache_dir(), auth_url, str(ref.user_id)
    )
    try:
        policy, read_now = _policy_for(session, ref, auth_url, checked, today)
    except _Unreadable as exc:
        return _undecided(
            session,
            ref,
            auth_url,
            checked,
            today,
            exc.why,
            stderr=stderr,
            stdin=stdin,
        )
    if policy is None or not _covers(policy, ref):
        return None
    if _device_seen(session, ref, auth_url, checked, today):
        return None
    # NOTE: a covered user without a device, who is told something at
    # every sign-in anyway, reads the policy again each time: a deadline
    # brought forward, or a policy lifted, applies at once for them.
    if not read_now:
        try:
            policy, _ = _policy_for(
                session, ref, auth_url, checked, today, fresh=True
            )
        except _Unreadable as exc:
            return _undecided(
                session, ref, auth_url, checked, today, exc.why,
                has_device=False, stderr=stderr, stdin=stdin,
            )  # fmt: skip
        if policy is None or not _covers(policy, ref):
            return None
    deadline = policy.get('deadline')
    if deadline and today < datetime.date.fromisoformat(deadline):
        # NOTE: a warning, not a write: openstacksdk and Ansible users get
        # it where their logging sends warnings (OSC: one line on stderr).
        LOG.warning(
            "MFA is required for your account from %s (your domain's "
            'policy): set up a device now with `%s`.',
            deadline,
            COMMAND,
        )
        return None
    since = f' since {deadline}' if deadline else ''
    return _set_up_or_refuse(
        session,
        ref,
        auth_url,
        checked,
        today,
        offer=f"Your domain's policy requires MFA{since}",
        refusal=PolicyRequired(
            f"Your domain's policy requires MFA{since} and this account "
            f'has no device: run `{COMMAND}` on a terminal (`openstack mfa '
            'status` shows where the account stands).'
        ),
        stderr=stderr,
        stdin=stdin,
    )
