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

"""Sessions: a job that outlives the token of one MFA sign-in.

A token lasts Keystone's ``[token] expiration`` (an hour by default) and a
token made from a token keeps its parent's expiry, so no MFA sign-in lasts
longer. ``openstack mfa exec --session 8h`` creates, with the MFA token,
an application credential for the token's project that Keystone itself
ends at a time (``expires_at``), restricted (``unrestricted: false``: it
cannot make more credentials) and holding the token's roles or fewer; the
job signs in again with it whenever its token expires. It is deleted when
the job ends; one an ``exec`` killed by SIGKILL left behind ends at its
expiry, and a later ``exec`` deletes it once no process holds it.

mfa-osc knows its own by name (:data:`PREFIX`) and description (host and
process). Whether a process still holds one is the caller's to say (a
lock file the job holds, see :mod:`mfa_osc.osc.lent`): this module reads
and writes Keystone only.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import dataclasses
import datetime
import re

from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc.client import records as app_records
from mfa_osc.workflows import errors

#: The name of every application credential a session is made of.
PREFIX = 'mfa-osc-session-'
#: The longest session without ``--max-session``.
DEFAULT_CEILING = datetime.timedelta(hours=24)
#: The shortest session: a job shorter than a token needs none.
SHORTEST = datetime.timedelta(minutes=1)

_DURATION = re.compile(
    r'(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?'
)
_HOLDER = re.compile(r' on (?P<host>[A-Za-z0-9._-]+) \(pid (?P<pid>\d+)\)')
_UNSAFE = re.compile(r'[^A-Za-z0-9.-]+')


class SessionRefused(errors.WorkflowError):
    """No session can be made for this sign-in; nothing was created."""


def parse_duration(text: str) -> datetime.timedelta:
    """``8h``, ``90m``, ``2h30m``, ``1d`` as a timedelta; ValueError
    (a whole sentence) for anything else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(
            f'{text!r} is not a duration: give hours and minutes such as '
            '8h, 90m or 2h30m.'
        )
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return datetime.timedelta(
        days=parts['d'],
        hours=parts['h'],
        minutes=parts['m'],
        seconds=parts['s'],
    )


def shown(duration: datetime.timedelta) -> str:
    """A duration as :func:`parse_duration` reads it (``2h30m``)."""
    seconds = int(duration.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f'{hours}h' if hours else '') + (f'{minutes}m' if minutes else '')
    return text + (f'{seconds}s' if seconds or not text else '')


def check_duration(
    duration: datetime.timedelta, ceiling: datetime.timedelta
) -> str | None:
    """Why ``duration`` is refused (a sentence), or None."""
    if duration < SHORTEST:
        return (
            f'A session of {shown(duration)} is too short: give at least '
            f'{shown(SHORTEST)}, or run the job with `openstack mfa exec` '
            'and no --session.'
        )
    if duration > ceiling:
        return (
            f'A session of {shown(duration)} is longer than the ceiling of '
            f'{shown(ceiling)}: give a shorter one, or raise the ceiling '
            f'with --max-session {shown(duration)}.'
        )
    return None


def keystone_now(client: app_records.AppCredentials) -> datetime.datetime:
    """Now by Keystone's clock (the skew of its latest ``Date``)."""
    skew = client.clock_skew or 0.0
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=skew
    )


def _host(host: str) -> str:
    return _UNSAFE.sub('-', host).strip('-')[:40] or 'host'


@dataclasses.dataclass(frozen=True)
class Request:
    """What a session is asked to be."""

    duration: datetime.timedelta
    #: ``exec`` (ended with the job) or ``export`` (left to expire).
    verb: str
    host: str
    pid: int
    #: The token's project (a session needs one).
    project_id: str | None
    #: The token's roles: ``(id, name)``.
    token_roles: Sequence[tuple[str, str]]
    #: ``--role``: names or IDs (empty: the token's roles).
    roles: Sequence[str] = ()


def role_ids(request: Request) -> list[str]:
    """The IDs of ``--role`` among the token's roles (empty: all of
    them, Keystone's default); refused for a role the token lacks."""
    chosen: list[str] = []
    for wanted in request.roles:
        found = [
            rid for rid, name in request.token_roles if wanted in (rid, name)
        ]
        if not found:
            have = ', '.join(sorted(n for _, n in request.token_roles))
            raise SessionRefused(
                f'The sign-in has no role {wanted!r} on its project (it has: '
                f'{have or "none"}): give --role with one of those, or none '
                'for all of them.'
            )
        chosen.extend(r for r in found if r not in chosen)
    return chosen


def admits_sessions(
    client: app_records.AppCredentials, user_id: str
) -> mfa_rules.MFAOptions:
    """The account's MFA options, when they let an application
    credential sign in; :class:`SessionRefused` naming the rules and the
    administrator's command when they do not."""
    user = client.get_user(user_id)
    options = mfa_rules.MFAOptions.of(user.options, client.enabled_methods())
    if not options.app_creds_allowed:
        raise SessionRefused(
            "Your account's MFA rules "
            f'({mfa_rules.text(options.effective)}) do not let an '
            'application credential sign in, so a session could not: an '
            'administrator runs `openstack mfa enforce --user '
            f'{user_id} --application-credentials` to allow it, or run jobs '
            'shorter than a token with `openstack mfa exec` and no '
            '--session.'
        )
    return options


def name_of(request: Request, until: datetime.datetime) -> str:
    return (
        f'{PREFIX}{_host(request.host)}-{until:%Y%m%dT%H%M%SZ}-{request.pid}'
    )


def description_of(
    request: Request, now: datetime.datetime, until: datetime.datetime
) -> str:
    ending = (
        'deleted when the job ends'
        if request.verb == 'exec'
        else 'left to expire; `openstack mfa session end` ends it'
    )
    return (
        f'Session of `openstack mfa {request.verb} --session '
        f'{shown(request.duration)}` on {_host(request.host)} (pid '
        f'{request.pid}), made {now:%Y-%m-%dT%H:%M:%SZ}, expires '
        f'{until:%Y-%m-%dT%H:%M:%SZ}; {ending}.'
    )


def start(
    client: app_records.AppCredentials, request: Request
) -> app_records.AppCredential:
    """Check, then create the session's application credential.

    Nothing is created when a check refuses: no project, a ``--role`` the
    token lacks, rules that keep application credentials out, or a policy
    that forbids creating them (Keystone's 403).
    """
    if not request.project_id:
        raise SessionRefused(
            'A session is an application credential, which belongs to a '
            'project, and this sign-in has none: sign in to a project '
            '(--os-project-name or OS_PROJECT_NAME) and run the command '
            'again.'
        )
    roles = role_ids(request)
    user_id = client.current_user_id()
    admits_sessions(client, user_id)
    # NOTE: after a request (the user record): Keystone's Date has set the
    # clock skew, and expires_at is by Keystone's clock.
    now = keystone_now(client).replace(microsecond=0)
    until = now + request.duration
    try:
        return client.create_app_credential(
            user_id,
            name=name_of(request, until),
            description=description_of(request, now, until),
            expires_at=until,
            roles=roles,
        )
    except mfa_client.Forbidden as exc:
        raise SessionRefused(
            "This cloud's policy does not let you create application "
            f'credentials ({exc}), so no session can be made: run jobs '
            'shorter than a token with `openstack mfa exec` and no '
            "--session, or ask the cloud's operators for an application "
            'credential.'
        ) from exc


def ours(credential: app_records.AppCredential) -> bool:
    """Whether mfa-osc made ``credential`` for a session."""
    return credential.name.startswith(
        PREFIX
    ) and 'Session of `openstack mfa' in (credential.description)


def holder(credential: app_records.AppCredential) -> tuple[str, int] | None:
    """The host and process that made a session, from its description."""
    match = _HOLDER.search(credential.description)
    if match is None:
        return None
    return match['host'], int(match['pid'])


@dataclasses.dataclass
class Sweep:
    #: Sessions deleted: expired, or left by a job that has ended.
    removed: list[str] = dataclasses.field(default_factory=list)
    #: Sessions still live: ``(name, expires_at)``.
    live: list[app_records.AppCredential] = dataclasses.field(
        default_factory=list
    )


def sweep(
    client: app_records.AppCredentials,
    user_id: str,
    host: str,
    held: Callable[[str], bool | None],
    *,
    remove: bool = True,
) -> Sweep:
    """Find the user's sessions; delete those that are expired, and
    those of ``exec`` on this host that no process holds any more.

    ``held(id)`` says whether a process still holds a session (None: no
    record of it here, which leaves it to its expiry). One list request,
    and one delete per session removed.
    """
    result = Sweep()
    now = keystone_now(client)
    for credential in client.list_app_credentials(user_id):
        if not ours(credential):
            continue
        expired = (
            credential.expires_at is not None and credential.expires_at <= now
        )
        made = holder(credential)
        orphaned = (
            made is not None
            and made[0] == _host(host)
            and 'mfa exec --session' in credential.description
            and held(credential.id) is False
        )
        if remove and (expired or orphaned):
            client.delete_app_credential(user_id, credential.id)
            result.removed.append(credential.id)
        elif not expired:
            result.live.append(credential)
    return result


#: Keystone's policies of the application-credential API (its default:
#: the owner or an administrator, ``admin_or_owner``).
LIST_POLICY = 'identity:list_application_credentials'
DELETE_POLICY = 'identity:delete_application_credential'


def made_by(credential: app_records.AppCredential) -> str:
    """``exec`` (ended with its job) or ``export`` (left to expire)."""
    if 'mfa exec --session' in credential.description:
        return 'exec'
    if 'mfa export --session' in credential.description:
        return 'export'
    return 'unknown'


@dataclasses.dataclass(frozen=True)
class Listed:
    """A session as ``openstack mfa session list`` shows it."""

    credential: app_records.AppCredential
    #: ``exec`` or ``export``.
    made_by: str
    #: The host that made it (from its description), or ''.
    host: str
    #: ``live``, ``expired``, or ``left behind`` (an ``exec`` of this
    #: host that no process holds any more).
    state: str


def _whose(user_label: str | None) -> str:
    return 'your' if user_label is None else f"user {user_label}'s"


def _list_option(user_label: str | None) -> str:
    return '' if user_label is None else f' --user {user_label}'


def _ours_of(
    client: app_records.AppCredentials,
    user_id: str,
    user_label: str | None,
) -> list[app_records.AppCredential]:
    """All of the user's application credentials (one request); a 403 is
    one sentence naming Keystone's policy."""
    try:
        return client.list_app_credentials(user_id)
    except mfa_client.Forbidden as exc:
        raise SessionRefused(
            f"Keystone's policy {LIST_POLICY} does not let you read "
            f'{_whose(user_label)} application credentials (HTTP 403), so '
            'their sessions cannot be listed or ended: an administrator '
            "(the admin role) reads any user's, and you read your own "
            'without --user.'
        ) from exc


def listing(
    client: app_records.AppCredentials,
    user_id: str,
    host: str,
    held: Callable[[str], bool | None],
    user_label: str | None = None,
) -> list[Listed]:
    """The sessions mfa-osc made for ``user_id``, and only those (one
    request). ``user_label`` names another user in refusals (None: the
    signed-in user); ``held`` as :func:`sweep` takes it."""
    found = _ours_of(client, user_id, user_label)
    now = keystone_now(client)
    rows = []
    for credential in found:
        if not ours(credential):
            continue
        made = holder(credential)
        by = made_by(credential)
        if credential.expires_at is not None and credential.expires_at <= now:
            state = 'expired'
        elif (
            by == 'exec'
            and made is not None
            and made[0] == _host(host)
            and held(credential.id) is False
        ):
            state = 'left behind'
        else:
            state = 'live'
        rows.append(Listed(credential, by, made[0] if made else '', state))
    return rows


def _chosen(
    found: Sequence[app_records.AppCredential],
    wanted: Sequence[str],
    user_label: str | None,
) -> list[app_records.AppCredential]:
    """The sessions named by ``wanted`` (names or IDs); refused, before
    anything is deleted, for one that is not there or not a session."""
    chosen: list[app_records.AppCredential] = []
    for word in wanted:
        matches = [c for c in found if word in (c.id, c.name)]
        if not matches:
            raise SessionRefused(
                f'There is no session {word!r} among {_whose(user_label)} '
                'application credentials: `openstack mfa session list'
                f'{_list_option(user_label)}` lists them, to give one of '
                'their names or IDs. Nothing was ended.'
            )
        mine = [c for c in matches if ours(c)]
        if not mine:
            raise SessionRefused(
                f'The application credential {word!r} is not a session '
                'that mfa-osc made, and `openstack mfa session end` ends '
                'only those: it was left alone, as was every other '
                '(`openstack application credential delete` deletes one of '
                'your own).'
            )
        chosen.extend(c for c in mine if c not in chosen)
    return chosen


def end(
    client: app_records.AppCredentials,
    user_id: str,
    wanted: Sequence[str] = (),
    *,
    everything: bool = False,
    user_label: str | None = None,
) -> list[app_records.AppCredential]:
    """Delete the sessions named in ``wanted`` (names or IDs), or all of
    them (``everything``); those ended.

    Only the application credentials mfa-osc made for sessions
    (:func:`ours`): any other is refused by name and never deleted. All
    names are checked (one list request) before the first delete.
    """
    found = _ours_of(client, user_id, user_label)
    if everything:
        chosen = [c for c in found if ours(c)]
    else:
        chosen = _chosen(found, wanted, user_label)
    gone: list[app_records.AppCredential] = []
    for credential in chosen:
        try:
            client.delete_app_credential(user_id, credential.id)
        except mfa_client.Forbidden as exc:
            before = f' ({len(gone)} ended before it)' if gone else ''
            raise SessionRefused(
                f"Keystone's policy {DELETE_POLICY} does not let you delete "
                f'{_whose(user_label)} application credentials (HTTP 403), '
                f'so the session {credential.name} was not ended{before}: '
                "an administrator (the admin role) ends another user's "
                'sessions, and a session cannot end sessions (its '
                'restricted application credential may not delete any), so '
                'sign in with MFA, not with the session, to end your own.'
            ) from exc
        gone.append(credential)
    return gone
