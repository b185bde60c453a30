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

"""The guard's request logic: lockout, replay and the domain policy.

Only ``POST /v3/auth/tokens`` and the requests making a delegation
(:data:`mfa_osc.guard.request.DELEGATIONS`) are looked at (their paths as
Keystone routes them: repeated slashes, dot segments and a trailing slash
do not hide them); every other request goes to Keystone untouched and
unbuffered. A token request's body is read (at most
:data:`mfa_osc.guard.request.MAX_BODY` bytes; a bigger one is refused
with 400) and handed to Keystone again as it came. Keystone's answer is
buffered, so that a refusal can replace it whole: a token the guard
refuses never leaves the server.

A request is TOTP-bearing when ``auth.identity.methods`` holds ``totp``.
Its user is the one Keystone's TOTP method checks the passcode of
(``auth.identity.totp.user``: a ``name`` with its ``domain``, which wins
over an ``id`` as in Keystone, or an ``id``); a name is resolved to the
user's ID in process, so both spellings count together, and an unknown
user is counted under its name. For such a request, before Keystone sees
it:

1. a lock of the user refuses it (429, ``Retry-After``); a lock whose
   mark an administrator removed from the user record (``openstack mfa
   unlock``) is over;
2. a passcode that signed the user in already is refused (401), without
   being counted: it is remembered as long as Keystone accepts it;
3. the try is counted (the store's ``add`` then ``incr``: concurrent tries
   cannot overtake the count), unless the same passcode was tried in the
   same 30-second window already (its answer cannot differ); past
   ``max_failures`` the user is locked and the request refused.

Then Keystone answers: a token (201) gives the tries back and uses the
passcode up; any other answer (a wrong code, or a receipt: a good code
tested alone is a try too) keeps the count and leaves the passcode
usable. Requests without ``totp`` are never counted nor locked out.

Last, any token (201) is judged by the domain policy
(:mod:`mfa_osc.guard.policy`): a refused one is replaced by 403 and
revoked. A request making a delegation (an EC2 credential, a trust, an
application credential, an OAuth 1.0a access token) is judged by the
token making it (``X-Auth-Token``, validated in process), before Keystone
sees it: a refused one gets 403 and makes nothing; the unscoped token a
covered user still gets (to set a device up) makes no delegation.

A check that cannot decide (memcached, Redis or Keystone's database
unreadable, a token it cannot read) refuses with 503; nothing is logged of a
request's body, passcode, password or token.

NOTE: one module of some 590 lines, on purpose: the order of these checks
on one request is the guard's security argument, and it reads in one
place. What stands on its own is beside it: what a request holds
(:mod:`~mfa_osc.guard.request`), the refusals
(:mod:`~mfa_osc.guard.answers`), the policy's verdict
(:mod:`~mfa_osc.guard.policy`), the stores (:mod:`~mfa_osc.guard.store`)
and Keystone's reads and writes (:mod:`~mfa_osc.guard.keystone`).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import datetime
import hashlib
import io
import json
import logging
import math
import traceback
from typing import Any
from typing import Protocol

from mfa_osc.guard import answers
from mfa_osc.guard import policy
from mfa_osc.guard import request
from mfa_osc.guard import store as guard_store

LOG = logging.getLogger(__name__)

KEY_PREFIX = 'mfa_guard'
#: Seconds of a TOTP window (Keystone's, RFC 6238's default).
TOTP_STEP = 30

StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclasses.dataclass(frozen=True)
class Settings:
    """The guard's settings (``[mfa_guard]``, and what it reads of
    ``[totp]``)."""

    #: Wrong passcodes allowed; the next one locks.
    max_failures: int = 6
    #: Seconds a lock lasts (and the window tries are counted in).
    lockout_duration: int = 1800
    replay_protection: bool = True
    #: Seconds a used passcode is remembered: as long as Keystone takes it.
    replay_window: int = 90
    #: Seconds a domain's policy is kept per process.
    policy_cache_time: int = 60
    #: User IDs or names the domain policy never refuses.
    policy_exempt_users: frozenset[str] = frozenset()


class Directory(Protocol):
    """What the guard reads and writes in Keystone (in process)."""

    def user_id_by_name(
        self, name: str, domain_id: str | None, domain_name: str | None
    ) -> str | None:
        """The user's ID; None when the user or the domain is unknown."""
        ...

    def user_id(self, user_id: str) -> str | None:
        """The user's ID as Keystone spells it; None when unknown."""
        ...

    def lock_mark(self, user_id: str) -> object:
        """The user record's lock mark (None when absent)."""
        ...

    def set_lock_mark(self, user_id: str, mark: dict[str, str]) -> None: ...

    def domain_policy(self, domain_id: str) -> object:
        """The domain's stored policy (None when absent)."""
        ...

    def revoke_token(self, token_id: str) -> None: ...

    def token(self, token_id: str) -> Mapping[str, Any] | None:
        """A valid token as Keystone would show it (``methods``, ``user``
        with its domain, the scope's key, ``roles``, ``OS-TRUST:trust``,
        ``OS-OAUTH1``); None when Keystone does not take it."""
        ...


@dataclasses.dataclass(frozen=True)
class _User:
    """A TOTP-bearing request's user: the counting key, and the ID when
    known."""

    key: str
    user_id: str | None
    shown: str

    @property
    def logged(self) -> str:
        """The user as logged: the ID, or a digest of an unknown name
        (people type passwords into the user name field)."""
        if self.user_id is not None:
            return self.user_id
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:12]
        return f'unknown ({digest})'

    def storage_key(self, kind: str, *more: str) -> str:
        digest = hashlib.sha256(
            '\0'.join((self.key, *more)).encode()
        ).hexdigest()
        return f'{KEY_PREFIX}:{kind}:{digest}'


def _until(lock: Mapping[str, Any]) -> datetime.datetime:
    """The end of a stored lock."""
    return datetime.datetime.strptime(
        lock['until'], '%Y-%m-%dT%H:%M:%SZ'
    ).replace(tzinfo=datetime.UTC)


def _where(exc: BaseException) -> str:
    """Where an exception was raised, without its message (which may
    quote a value)."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    place = f' at {last.filename}:{last.lineno}' if last else ''
    return f'{type(exc).__name__}{place}'


class Guard:
    """The WSGI application that guards Keystone's ``app``."""

    def __init__(
        self,
        app: WSGIApp,
        settings: Settings,
        store: guard_store.Store,
        directory: Directory,
        now: Callable[[], datetime.datetime] | None = None,
        policies: policy.PolicyCache | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.store = store
        self.directory = directory
        self._now = now or (lambda: datetime.datetime.now(datetime.UTC))
        self.policies = policies or policy.PolicyCache(
            settings.policy_cache_time
        )

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        what = None
        if not request.is_token_request(environ):
            what = request.delegation(environ)
            if what is None:
                return self.app(environ, start_response)
        failure = None
        try:
            if what is None:
                answer = self._handle(environ)
            else:
                answer = self._delegating(environ, what)
        except Exception as exc:
            failure = _where(exc)
            answer = answers.unavailable('an internal error')
        if failure is not None:
            # NOTE: logged outside the except block: oslo.log appends the
            # exception being handled, message and all, to an error
            # logged inside one, and a message may quote a value.
            LOG.error(
                'MFA guard: a %s request failed (%s); refused with 503.',
                'token' if what is None else 'delegation',
                failure,
            )
        start_response(answer.status, answer.headers)
        return [answer.body]

    # -- one token request ------------------------------------------------

    def _handle(self, environ: dict[str, Any]) -> answers.Answer:
        body = request.read_body(environ, request.MAX_BODY)
        if body is None:
            return answers.too_large(request.MAX_BODY)
        user_payload = request.totp_user(body)
        user, failure = None, None
        if user_payload is not None:
            try:
                user = self._identify(user_payload)
            except Exception as exc:
                failure = _where(exc)
        if failure is not None:
            LOG.error(
                'MFA guard: the user of a TOTP sign-in could not be looked '
                'up (%s); refused with 503.',
                failure,
            )
            return answers.unavailable("Keystone's user lookup failed")
        if user is None:
            # NOTE: no passcode is checked by Keystone without a user it
            # can find in the request: nothing to count.
            return self._police(self._forward(environ, body))
        assert user_payload is not None
        try:
            return self._guarded(environ, body, user, user_payload)
        except guard_store.StoreError as exc:
            failure = str(exc)
        LOG.error(
            'MFA guard: the shared state cannot be used (%s); a TOTP sign-in '
            'is refused with 503.',
            failure,
        )
        return answers.unavailable(f'{self.store.name} cannot be reached')

    def _identify(self, payload: Mapping[str, Any]) -> _User | None:
        """The request's user, as Keystone's TOTP method finds it."""
        name = payload.get('name')
        if name:
            domain = payload.get('domain')
            if not isinstance(domain, dict):
                return None
            domain_id, domain_name = domain.get('id'), domain.get('name')
            if not domain_id and not domain_name:
                return None
            user_id = self.directory.user_id_by_name(
                str(name),
                None if domain_name else str(domain_id),
                str(domain_name) if domain_name else None,
            )
            if user_id is not None:
                return _User(user_id, user_id, user_id)
            where = f'name={domain_name}' if domain_name else domain_id
            return _User(f'unknown:{where}:{name}', None, str(name))
        given = payload.get('id')
        if not given:
            return None
        # NOTE: the ID as Keystone stores it, not as sent: on MySQL's
        # usual collations an ID in capitals, or with trailing spaces,
        # finds the same user, and each spelling would be counted apart.
        user_id = self.directory.user_id(str(given))
        if user_id is not None:
            return _User(user_id, user_id, user_id)
        return _User(f'unknown:{given}', None, str(given))

    def _guarded(
        self,
        environ: dict[str, Any],
        body: bytes,
        user: _User,
        payload: Mapping[str, Any],
    ) -> answers.Answer:
        lock = self.store.get(user.storage_key('lock'))
        if lock is not None and self._still_locked(user, lock):
            return self._locked(user, lock)
        fail_key = user.storage_key('fail')
        used_key = None
        if self.settings.replay_protection:
            used_key = user.storage_key(
                'used', request.passcode_digest(payload)
            )
            if not self.store.add(used_key, '1', self.settings.replay_window):
                return answers.replayed()
        if self._tries(user, payload, fail_key) > self.settings.max_failures:
            self._release(used_key)
            return self._lock(user)
        try:
            answer = self._forward(environ, body)
        except Exception:
            self._release(used_key)
            raise
        if answer.status.startswith('201'):
            self.store.delete(fail_key)
        else:
            self._release(used_key)
        return self._police(answer)

    def _release(self, used_key: str | None) -> None:
        """Leave a passcode usable: it signed no one in."""
        if used_key is not None:
            self.store.delete(used_key)

    def _tries(
        self, user: _User, payload: Mapping[str, Any], fail_key: str
    ) -> int:
        """The user's tries so far, this one counted unless it repeats a
        code in its window (:meth:`_first_try`)."""
        if self._first_try(user, payload):
            return self._count(fail_key)
        return int(self.store.get(fail_key) or 0)

    def _first_try(self, user: _User, payload: Mapping[str, Any]) -> bool:
        """Whether this passcode is tried for the first time in this TOTP
        window (atomically: the store's ``add``).

        NOTE: the same passcode sent again within its 30-second window
        learns nothing new (Keystone's answer to it cannot change within
        the window), so it is not counted again: the ``v3multifactor``
        plugin sends a refused code once more, unscoped, to tell a wrong
        code from a missing role on the project, and that must not count
        as a second wrong code. A code tried again in a later window is a
        new guess and counts.
        """
        window = int(self._now().timestamp()) // TOTP_STEP
        key = user.storage_key(
            'tried', request.passcode_digest(payload), str(window)
        )
        return self.store.add(key, '1', 2 * TOTP_STEP)

    def _count(self, fail_key: str) -> int:
        """Count one try (``add`` then ``incr``: concurrent tries cannot
        overtake the count); the count so far."""
        settings = self.settings
        self.store.add(fail_key, '0', settings.lockout_duration)
        count = self.store.incr(fail_key)
        if count is None:  # expired between the two calls
            self.store.add(fail_key, '1', settings.lockout_duration)
            count = 1
        return count

    # -- the lock ---------------------------------------------------------

    def _still_locked(self, user: _User, raw: str) -> bool:
        """False when the lock's time is over, or an administrator ended a
        marked lock (and then the lock and the count are removed).

        NOTE: the store's expiry alone is not the end: a marked lock is
        stored again when its mark is written, a little after ``since``,
        and would outlive its ``until`` by that much (Redis, measured).
        """
        lock = json.loads(raw)
        if self._now() >= _until(lock):
            self.store.delete(user.storage_key('lock'))
            return False
        if not lock.get('marked') or user.user_id is None:
            return True
        mark = self.directory.lock_mark(user.user_id)
        if isinstance(mark, dict) and mark.get('since') == lock['since']:
            return True
        self.store.delete(user.storage_key('lock'))
        self.store.delete(user.storage_key('fail'))
        LOG.info(
            'MFA guard: the TOTP lock of user %s was ended on its record.',
            user.user_id,
        )
        return False

    def _lock(self, user: _User) -> answers.Answer:
        duration = self.settings.lockout_duration
        now = self._now()
        since = answers.iso_z(now)
        until = answers.iso_z(now + datetime.timedelta(seconds=duration))
        lock = {'since': since, 'until': until, 'marked': False}
        lock_key = user.storage_key('lock')
        if not self.store.add(lock_key, json.dumps(lock), duration):
            # NOTE: a concurrent try locked first: its lock counts.
            return self._locked(user, self.store.get(lock_key))
        self.store.delete(user.storage_key('fail'))
        LOG.warning(
            'MFA guard: TOTP sign-in of user %s locked until %s after %d '
            'wrong passcodes.',
            user.logged,
            until,
            self.settings.max_failures,
        )
        if user.user_id is not None:
            failure = None
            try:
                self.directory.set_lock_mark(
                    user.user_id, {'since': since, 'until': until}
                )
            except Exception as exc:
                failure = _where(exc)
            if failure is None:
                lock['marked'] = True
                # NOTE: the time left, not the whole duration again: the
                # mark took a while to write.
                left = math.ceil((_until(lock) - self._now()).total_seconds())
                self.store.set(lock_key, json.dumps(lock), max(1, left))
            else:
                # NOTE: a read-only identity backend (LDAP): the lock then
                # lasts lockout_duration, and no one can end it early.
                LOG.warning(
                    'MFA guard: the lock of user %s could not be marked on '
                    'its record (%s); it ends at %s.',
                    user.user_id,
                    failure,
                    until,
                )
        return self._locked(user, json.dumps(lock))

    def _locked(self, user: _User, raw: str | None) -> answers.Answer:
        now = self._now()
        until = now + datetime.timedelta(
            seconds=self.settings.lockout_duration
        )
        if raw is not None:
            until = _until(json.loads(raw))
        retry_after = max(1, math.ceil((until - now).total_seconds()))
        return answers.locked(user.shown, until, retry_after)

    # -- Keystone's answer --------------------------------------------------

    def _forward(self, environ: dict[str, Any], body: bytes) -> answers.Answer:
        """Keystone's whole answer to the request (with the body given
        back to it)."""
        environ['wsgi.input'] = io.BytesIO(body)
        environ['CONTENT_LENGTH'] = str(len(body))
        environ.pop('wsgi.input_terminated', None)
        environ.pop('HTTP_TRANSFER_ENCODING', None)
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: object = None,
        ) -> Callable[[bytes], object]:
            started[:] = [(status, list(headers))]
            return chunks.append

        result = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError('Keystone gave no answer')
        status, headers = started[0]
        return answers.Answer(
            status, [*headers, answers.HEADER], b''.join(chunks)
        )

    def _police(self, answer: answers.Answer) -> answers.Answer:
        """Keystone's answer, or the policy's refusal of its token."""
        if not answer.status.startswith('201'):
            return answer
        token = json.loads(answer.body)['token']
        refused = self._judge(token, None)
        if refused is None:
            return answer
        if refused.status.startswith('403'):
            self._revoke(answer)
        return refused

    def _delegating(
        self, environ: dict[str, Any], what: str
    ) -> answers.Answer:
        """Keystone's answer to a request making ``what`` (a delegation),
        or the policy's refusal of the token making it."""
        body = request.read_body(environ, request.MAX_BODY)
        if body is None:
            return answers.too_large(request.MAX_BODY)
        if request.path(environ) == request.CREDENTIALS_PATH and not (
            request.is_ec2_credential(body)
        ):
            return self._forward(environ, body)
        token_id = environ.get('HTTP_X_AUTH_TOKEN')
        token = None
        if token_id:
            token = self.directory.token(str(token_id))
        if token is None:
            # NOTE: Keystone refuses a request without a valid token.
            return self._forward(environ, body)
        refused = self._judge(token, what)
        return refused or self._forward(environ, body)

    def _judge(
        self, token: Mapping[str, Any], what: str | None
    ) -> answers.Answer | None:
        """The policy's answer to a token (making ``what``, a delegation,
        or signing in when None): None when it passes."""
        domain_id = policy.domain_to_check(
            token, self.settings.policy_exempt_users, what is not None
        )
        if domain_id is None:
            return None
        stored: object = None
        failure: str | None = None
        try:
            stored = self.policies.get(domain_id, self.directory.domain_policy)
        except Exception as exc:
            failure = _where(exc)
        if failure is not None:
            LOG.error(
                'MFA guard: the policy of domain %s could not be read (%s); '
                'a sign-in is refused with 503.',
                domain_id,
                failure,
            )
            return answers.unavailable("the domain's policy cannot be read")
        refusal = policy.judge(token, stored, self._now().date())
        if refusal is None:
            return None
        user_id = token.get('user', {}).get('id')
        if what is None:
            LOG.info(
                'MFA guard: a token of user %s without a second factor was '
                "refused by its domain's policy.",
                user_id,
            )
            return answers.policy(refusal.deadline)
        LOG.info(
            'MFA guard: user %s was refused making %s with a token without '
            "a second factor, by its domain's policy.",
            user_id,
            what,
        )
        return answers.delegation_refused(what, refusal.deadline)

    def _revoke(self, answer: answers.Answer) -> None:
        """Revoke a refused token (it was never handed out: best effort)."""
        token_id = next(
            (
                value
                for name, value in answer.headers
                if name.lower() == 'x-subject-token'
            ),
            None,
        )
        if token_id is None:
            return
        failure = None
        try:
            self.directory.revoke_token(token_id)
        except Exception as exc:
            failure = _where(exc)
        if failure is not None:
            LOG.warning(
                'MFA guard: a refused token could not be revoked (%s); it '
                'was not handed out.',
                failure,
            )
