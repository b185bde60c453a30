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
/v3/domains/{id}``), at most once a day
(:mod:`mfa_osc.auth.policy_read`): a user whom no policy covers pays at
most one small request per day.

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
Where Keystone is served behind mfa-osc's guard (the token's answer says
``OpenStack-MFA-Guard: 1``), the server holds the policy too: a token it
handed out was judged by it, so where the policy cannot be read here the
server's decision stands (and where it can, the warnings and the set-up
are as above). The guard's own refusal of a password alone is answered
in :mod:`mfa_osc.auth.guard_answers`.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
import sys
from typing import Any
from typing import TextIO

from keystoneauth1 import access
from keystoneauth1 import session as ks_session

from mfa_osc import identity
from mfa_osc import terminal
from mfa_osc.auth import exceptions
from mfa_osc.auth import hooks
from mfa_osc.auth import policy_read
from mfa_osc.auth import private_files

LOG = logging.getLogger(__name__)

COMMAND = 'openstack mfa enroll'


class PolicyRequired(exceptions.MFAError):
    """A domain's MFA policy requires a device this user does not have."""


class PolicyUnreadable(PolicyRequired):
    """The domain's MFA policy could not be read with this token, and the
    user has no device: the policy may require one."""


def _covers(policy: dict[str, Any], ref: access.AccessInfoV3) -> bool:
    roles = set(policy.get('roles') or [])
    # NOTE: the token's roles on its scope: a policy for admins only
    # covers a member's sign-in on a project where they are admin.
    return not roles or bool(roles & set(ref.role_names or []))


def has_device(
    session: ks_session.Session, ref: access.AccessInfoV3, auth_url: str
) -> bool:
    """Whether the user of ``ref`` has a device (one request with the
    token: the user's own credentials); False when that cannot be read."""
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
    return bool(account.devices)


def _device_seen(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: policy_read.Checked,
    today: datetime.date,
) -> bool:
    """Whether the user has a device; once seen, remembered for the day."""
    if checked.entry.get('device') == today.isoformat():
        return True
    if not has_device(session, ref, auth_url):
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


def offer_set_up(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    *,
    offer: str,
    refusal: PolicyRequired,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> str:
    """On a terminal with a set-up registered, offer it (``offer`` says
    why): a current passcode of the device enrolled; otherwise, or when
    none was, ``refusal`` is raised."""
    enroll = hooks.registered.enroll
    if enroll is not None and terminal.is_terminal(stdin or sys.stdin):
        stderr = stderr or sys.stderr
        stderr.write(
            offer + ': set up a device now, then your command carries on.\n'
        )
        stderr.flush()
        code = enroll(session, ref, auth_url)
        if code is not None:
            return code
    raise refusal


def _set_up_or_refuse(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: policy_read.Checked,
    today: datetime.date,
    *,
    offer: str,
    refusal: PolicyRequired,
    stderr: TextIO | None,
    stdin: TextIO | None,
) -> str:
    """The policy requires (or may require) a device the user lacks: on a
    terminal with a set-up registered, offer it; otherwise refuse."""
    code = offer_set_up(
        session,
        ref,
        auth_url,
        offer=offer,
        refusal=refusal,
        stderr=stderr,
        stdin=stdin,
    )
    checked.store(device=today.isoformat())
    return code


def _undecided(
    session: ks_session.Session,
    ref: access.AccessInfoV3,
    auth_url: str,
    checked: policy_read.Checked,
    today: datetime.date,
    why: str,
    *,
    has_device: bool | None = None,
    server_enforced: bool = False,
    stderr: TextIO | None,
    stdin: TextIO | None,
) -> str | None:
    """The policy could not be read: a user with a device is let through
    (as a covered user with one is), anyone else is not, unless the
    server holds the policy itself (``server_enforced``).

    ``has_device``: None when not read yet.
    """
    if server_enforced:
        # NOTE: the token came through mfa-osc's guard, which judged it by
        # the domain's policy before handing it out: the server decided,
        # and a sign-in it let through stands.
        LOG.debug(
            'The MFA policy of domain %s could not be read (%s); the MFA '
            'guard on the server let this sign-in through.',
            ref.user_domain_id,
            why,
        )
        return None
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
    server_enforced: bool = False,
) -> str | None:
    """After a sign-in: carry out the domain's MFA policy, if any.

    Returns a passcode of a device enrolled here, with which the caller
    signs in again; None when the sign-in stands as it is.
    ``server_enforced``: the token's answer came through mfa-osc's guard
    (``OpenStack-MFA-Guard: 1``), which holds the policy on the server:
    where the policy cannot be read here, the server's decision stands.

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
    today = today or policy_read.today_utc()
    checked = policy_read.Checked(
        directory or private_files.cache_dir(), auth_url, str(ref.user_id)
    )
    try:
        policy, read_now = policy_read.policy_for(
            session, ref, auth_url, checked, today
        )
    except policy_read.Unreadable as exc:
        return _undecided(
            session,
            ref,
            auth_url,
            checked,
            today,
            exc.why,
            server_enforced=server_enforced,
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
            policy, _ = policy_read.policy_for(
                session, ref, auth_url, checked, today, fresh=True
            )
        except policy_read.Unreadable as exc:
            return _undecided(
                session, ref, auth_url, checked, today, exc.why,
                has_device=False, server_enforced=server_enforced,
                stderr=stderr, stdin=stdin,
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
