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

"""The token-cache half of the ``v3multifactor`` plugin.

A mixin of :class:`mfa_osc.auth.plugin.MultiFactor`: it keeps the token of
a sign-in with a second factor (in :mod:`mfa_osc.auth.cache` and through
keystoneauth's unscoped-state hooks, which openstacksdk's keyring cache
uses), reuses it for the same scope and rescopes it for another. A
token's expiry is judged by Keystone's clock: the skew measured from the
``Date`` of Keystone's latest answer is kept with the token, since a
command served from the cache sends no request to measure it again.

The module is longer than the others (about 500 lines): it is one mixin
whose methods share the cached state (load, reuse, rescope, confirm,
invalidate, the keyring hooks); split, the checks that keep another
user's token or an entry of another shape out would be spread over
several files.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from collections.abc import Mapping
import contextlib
import hashlib
import json
import logging
import math
import time
from typing import Any
from typing import cast

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import token as v3_token

from mfa_osc import identity
from mfa_osc.auth import cache
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.auth import options as auth_options

LOG = logging.getLogger(__name__)

#: A cached token this close to expiry (seconds) is not reused.
CACHE_MARGIN = 120
#: A cached token that Keystone confirmed this recently (seconds) is used
#: without asking Keystone again; past this, one validation GET confirms it.
CONFIRM_WINDOW = 300

_SCOPE_ATTRS = (
    'project_id',
    'project_name',
    'project_domain_id',
    'project_domain_name',
    'domain_id',
    'domain_name',
    'system_scope',
    'trust_id',
)
_GONE = (ksa_exc.Unauthorized, ksa_exc.NotFound)


class _NotAToken(ksa_exc.InvalidResponse):
    """Keystone answered a token request with something else."""


def _user(ref: access.AccessInfoV3) -> Mapping[str, Any]:
    """The token's ``user``, or an empty dict."""
    body = ref._data if isinstance(ref._data, dict) else {}
    token = body.get('token')
    user = token.get('user') if isinstance(token, dict) else None
    return user if isinstance(user, dict) else {}


def _same_scope(a: access.AccessInfoV3, b: access.AccessInfoV3) -> bool:
    return (a.project_id, a.domain_id, a.system, a.trust_id) == (
        b.project_id,
        b.domain_id,
        b.system,
        b.trust_id,
    )


class CachedSignIn(base.Auth):
    """Reuse, rescope and store the token of an MFA sign-in."""

    #: The token of the last sign-in with a second factor, which later
    #: commands reuse or rescope instead of asking again.
    _mfa_ref: access.AccessInfoV3 | None = None
    _mfa_scope: str | None = None
    #: When Keystone last confirmed the MFA token (time.time()).
    _confirmed: float = 0.0
    #: Tokens rescoped from the MFA token, by scope key: ``auth_token``,
    #: ``body`` and ``confirmed``.
    _scoped: dict[str, dict[str, Any]] | None = None
    _session: ks_session.Session | None = None
    token_cache: bool = True
    methods: tuple[str, ...] = ()
    user_id: str | None = None
    username: str | None = None
    user_domain_id: str | None = None
    user_domain_name: str | None = None
    #: Requests sent to ``/auth/tokens`` by the last sign-in.
    sign_in_requests: int = 0
    #: Seconds this machine's clock is ahead of Keystone's, from the
    #: ``Date`` of Keystone's latest answer that had one (kept with the
    #: cached token); None while unknown.
    _skew: float | None = None

    # -- Keystone's clock -------------------------------------------------

    def _saw(self, response: Any, issued_at: object = None) -> None:
        """Measure the clock again from a response of Keystone's: its
        ``Date``, else the time of issue of what it has just issued."""
        skew = clock.skew_of(response)
        if skew is None:
            skew = clock.skew_since(issued_at)
        if skew is not None:
            self._skew = skew

    def _post_auth(self, session: ks_session.Session) -> access.AccessInfoV3:
        """keystoneauth's POST /v3/auth/tokens, its response's clock read."""
        recording = clock.Recording(session)
        try:
            ref = super().get_auth_ref(cast(ks_session.Session, recording))
        except ksa_exc.MissingAuthMethods as needs:
            # NOTE: a receipt is no HttpError; it was issued just now.
            self._saw(needs.response, clock.receipt_issued_at(needs.response))
            raise
        except ksa_exc.HttpError as exc:
            self._saw(exc.response)
            raise
        issued = ref._data.get('token') if isinstance(ref._data, dict) else {}
        self._saw(
            recording.response,
            issued.get('issued_at') if isinstance(issued, dict) else None,
        )
        return ref

    def _expires_soon(self, ref: access.AccessInfo, seconds: float) -> bool:
        """Whether a token expires within ``seconds``, by Keystone's clock
        (a machine clock an hour fast would find every token expired)."""
        return clock.expires_soon(ref, seconds, self._skew)

    def _needs_reauthenticate(self) -> bool:
        # NOTE: keystoneauth's own judges the token's expiry by this
        # machine's clock: the same, by Keystone's.
        if not self.auth_ref:
            return True
        if not self.reauthenticate:
            return False
        return self._expires_soon(self.auth_ref, self.MIN_TOKEN_LIFE_SECONDS)

    def _scope_key(self) -> str:
        return json.dumps(
            [getattr(self, name) for name in _SCOPE_ATTRS] + [self.unscoped]
        )

    def _scoped_request(self) -> bool:
        """Whether this sign-in asks for a scope (not unscoped/default)."""
        return any(getattr(self, name) for name in _SCOPE_ATTRS)

    @contextlib.contextmanager
    def _without_scope(self) -> Iterator[None]:
        """Send the next request unscoped."""
        saved = {name: getattr(self, name) for name in _SCOPE_ATTRS}
        unscoped = self.unscoped
        for name in _SCOPE_ATTRS:
            setattr(self, name, None)
        self.unscoped = True
        try:
            yield
        finally:
            for name, value in saved.items():
                setattr(self, name, value)
            self.unscoped = unscoped

    def _remember(self, ref: access.AccessInfoV3, scope: str) -> None:
        """Keep a fresh MFA token (for ``scope``) and store it."""
        self._mfa_ref, self._mfa_scope = ref, scope
        self._confirmed = time.time()
        self._scoped = {}
        self._store()

    def _store(self) -> None:
        state = self.get_unscoped_auth_state()
        cache_id = self.get_unscoped_cache_id()
        if self.token_cache and state and cache_id:
            try:
                cache.save(cache_id, json.loads(state))
            except OSError:
                # NOTE: a cache that cannot be written costs a prompt
                # later; it must not fail the command now.
                pass

    def _recorded_totp(self) -> bool:
        """Whether an earlier sign-in here was asked for TOTP."""
        cache_id = self.get_unscoped_cache_id()
        return bool(
            self.token_cache and cache_id and cache.needs_totp(cache_id)
        )

    def forget_needs_totp(self) -> None:
        """This account has no TOTP device any more (removed just now).

        The next sign-in sends the password first again, instead of asking
        for a code up front as the record of earlier sign-ins says.
        """
        self._record_totp(False)

    def _record_totp(self, needed: bool) -> None:
        cache_id = self.get_unscoped_cache_id()
        if self.token_cache and cache_id and needed != self._recorded_totp():
            cache.set_needs_totp(cache_id, needed)

    def _forget(self) -> None:
        self._mfa_ref = self._mfa_scope = None
        self._scoped = {}
        self._confirmed = 0.0
        cache_id = self.get_unscoped_cache_id()
        if self.token_cache and cache_id:
            cache.delete(cache_id)

    def _matches_user(self, ref: access.AccessInfoV3) -> bool:
        """Whether a token is of the user this sign-in names, today."""
        # NOTE: read with .get: a body without the user's name or domain
        # (keystoneauth would raise KeyError) is of no user named here.
        user = _user(ref)
        domain = user.get('domain')
        domain = domain if isinstance(domain, dict) else {}
        if self.user_id:
            return bool(user.get('id') == self.user_id)
        if self.username and user.get('name') != self.username:
            return False
        if self.user_domain_id:
            return bool(domain.get('id') == self.user_domain_id)
        if self.user_domain_name:
            return bool(domain.get('name') == self.user_domain_name)
        return True

    def _load(self) -> None:
        if self._mfa_ref is None and self.token_cache:
            cache_id = self.get_unscoped_cache_id()
            entry = cache.load(cache_id) if cache_id else None
            if entry is not None:
                try:
                    self.set_unscoped_auth_state(json.dumps(entry))
                except (ValueError, KeyError, TypeError):
                    self._forget()

    def _candidate(self, key: str) -> tuple[access.AccessInfoV3, float] | None:
        """The cached token for scope ``key``, and when it was confirmed."""
        if self._mfa_ref is not None and key == self._mfa_scope:
            return self._mfa_ref, self._confirmed
        entry = (self._scoped or {}).get(key)
        if entry is None:
            return None
        # NOTE: an entry of any other shape (a file written by hand, or by
        # another version) counts as absent: rescoped again, never a crash.
        ref: access.AccessInfo | None = None
        try:
            if cache.is_cached_token(entry):
                ref = access.create(
                    body=entry['body'], auth_token=entry['auth_token']
                )
                confirmed = float(entry.get('confirmed') or 0)
            if isinstance(ref, access.AccessInfoV3) and not self._expires_soon(
                ref, CACHE_MARGIN
            ):
                return ref, confirmed
        except (KeyError, TypeError, ValueError):
            pass
        (self._scoped or {}).pop(key, None)
        return None

    def _keep_scoped(self, key: str, ref: access.AccessInfoV3) -> None:
        mfa = self._mfa_ref
        if (
            key == self._mfa_scope
            and mfa is not None
            and _same_scope(mfa, ref)
        ):
            self._confirmed = time.time()
        else:
            if key == self._mfa_scope:
                # NOTE: the name now means another project (renamed).
                self._mfa_scope = None
            if self._scoped is None:
                self._scoped = {}
            self._scoped[key] = {
                'auth_token': ref.auth_token,
                'body': ref._data,
                'confirmed': time.time(),
            }
        self._store()

    def _from_cache(
        self, session: ks_session.Session
    ) -> access.AccessInfoV3 | None:
        """The cached MFA token for this scope, or one rescoped from it.

        No request while the token is confirmed (:data:`CONFIRM_WINDOW`);
        one validation GET past that; one rescope POST for a new scope.
        """
        self._session = session
        self._load()
        ref = self._mfa_ref
        if ref is None or not ref.auth_token:
            return None
        if self._expires_soon(ref, CACHE_MARGIN):
            self._forget()
            return None
        key = self._scope_key()
        found = self._candidate(key)
        if found is not None:
            token, confirmed = found
            if 0 <= time.time() - confirmed < CONFIRM_WINDOW:
                return token
        # NOTE: confirmed with a token-method POST for this scope, not a
        # validation GET: Keystone caches validations (the token's user
        # and project records with them), so a GET can carry the names of
        # before a rename for as long as its cache lasts; a new token is
        # scoped by today's names.
        return self._rescope(session, key)

    def _rescope(
        self, session: ks_session.Session, key: str
    ) -> access.AccessInfoV3 | None:
        ref = self._mfa_ref
        assert ref is not None and ref.auth_token
        self.sign_in_requests += 1
        self.auth_methods = [v3_token.TokenMethod(token=ref.auth_token)]
        try:
            new = self._post_auth(session)
        except (ksa_exc.InvalidResponse, KeyError, TypeError):
            # NOTE: keystoneauth reads the answer's header and body without
            # a check: KeyError, TypeError on one that is not a token.
            raise self._not_a_token() from None
        except (ksa_exc.Unauthorized, ksa_exc.NotFound, ksa_exc.Forbidden):
            try:
                checked = self._validate(session, ref.auth_token)
            except (*_GONE, _NotAToken):
                # NOTE: revoked (password changed, signed out) or expired
                # early: sign in afresh. An answer that is not a token
                # counts as gone too: a fresh sign-in replaces it.
                self._forget()
                return None
            if not self._matches_user(checked):
                self._forget()
                return None
            # NOTE: the token is good, the scope is not: keep the cache.
            self._mfa_ref, self._confirmed = checked, time.time()
            self._store()
            raise self._no_role(checked) from None
        finally:
            self.auth_methods = []
        if not cache.is_token(new._data):
            raise self._not_a_token()
        if not self._matches_user(new):
            # NOTE: the user was renamed (and another may have taken the
            # name): never hand out their token.
            self._forget()
            return None
        self._keep_scoped(key, new)
        return new

    def _no_role(
        self, ref: access.AccessInfoV3 | None = None
    ) -> exceptions.NoRoleOnScope:
        """The user is signed in, but not on the scope asked for."""
        if self.project_id or self.project_name:
            what = 'project ' + str(self.project_id or self.project_name)
            domain = self.project_domain_id or self.project_domain_name
            if self.project_name and domain:
                what += f' (domain {domain})'
        elif self.domain_id or self.domain_name:
            what = 'domain ' + str(self.domain_id or self.domain_name)
        elif self.system_scope:
            what = f'system scope {self.system_scope}'
        else:
            what = 'the trust ' + str(self.trust_id)
        who = (_user(ref).get('name') if ref is not None else None) or (
            self.username or self.user_id or 'this user'
        )
        # NOTE: in the words of the program at hand: OSC's flags, or
        # openstacksdk's arguments (which clouds.yaml keys share).
        names = (
            '--os-project-name, --os-project-domain-name'
            if auth_options.in_openstack_cli()
            else 'project_name=, project_domain_name= or their clouds.yaml '
            'keys'
        )
        return exceptions.NoRoleOnScope(
            f'Signed in as {who}, but {who} has no role on {what}, or there '
            f'is no such project or domain: check the name and its domain '
            f'({names}), or ask an administrator for a role on it. The '
            'sign-in is kept: the next command does not ask for a passcode '
            'again.'
        )

    def _not_a_token(self) -> exceptions.MFAError:
        """Keystone answered the rescope with something not a token."""
        return exceptions.MFAError(
            f'The server at {self.auth_url} did not answer the sign-in with '
            'a Keystone token. Check that the auth URL (--os-auth-url, '
            'OS_AUTH_URL or auth_url in clouds.yaml) is the Identity v3 '
            'endpoint, or try again later: the cached sign-in is kept, so '
            'the next command does not ask for a passcode again.'
        )

    def _validate(
        self, session: ks_session.Session, token_id: str
    ) -> access.AccessInfoV3:
        """GET /v3/auth/tokens: is the cached token still good?

        :raises _NotAToken: the answer (a 2xx) is not a token.
        """
        # NOTE: imported here: a token within its confirmation window is
        # never checked, and keystoneauth loads this plugin at every start.
        from mfa_osc.client import errors as client_errors
        from mfa_osc.client import tokens

        try:
            resp = tokens.validate(session, self.auth_url, token_id)
        except client_errors.ClientError as exc:
            self._saw(exc.response)
            # NOTE: keystoneauth's error, as it was: a keystoneauth plugin
            # hands its callers (openstacksdk, OSC) errors of their kind.
            raise (exc.original or exc) from None
        self._saw(resp)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not cache.is_token(body):
            LOG.warning(
                'The server at %s did not answer the check of the cached '
                'sign-in with a Keystone token; it is not used.',
                self.auth_url,
            )
            raise _NotAToken(response=resp)
        return access.AccessInfoV3(auth_token=token_id, body=body)

    def invalidate(self) -> bool:
        # NOTE: keystoneauth calls this on a 401 from any service, for any
        # reason (a wrong --original-password too). Forget the token only
        # if Keystone says it is gone; if it still accepts it, keep it and
        # let the service's own error reach the user (no retry).
        current = self.auth_ref
        session = self._session
        if (
            self._mfa_ref is not None
            and session is not None
            and current is not None
            and current.auth_token
        ):
            try:
                self._validate(session, current.auth_token)
            except (*_GONE, _NotAToken):
                # NOTE: an answer that is not a token counts as gone: the
                # request is sent again after a fresh sign-in.
                self._forget()
            except ksa_exc.ClientException:
                return False
            else:
                return False
        return super().invalidate()

    def get_unscoped_cache_id_elements(self) -> dict[str, str | None]:
        return {
            'auth_url': identity.identity_url(self.auth_url),
            'multifactor_user_id': self.user_id,
            'multifactor_username': self.username,
            'multifactor_user_domain_id': self.user_domain_id,
            'multifactor_user_domain_name': self.user_domain_name,
        }

    def get_unscoped_cache_id(self) -> str | None:
        hasher = hashlib.sha256()
        for key, value in sorted(
            self.get_unscoped_cache_id_elements().items()
        ):
            if value is not None:
                hasher.update(f'{key}\0{value}\0'.encode())
        return base64.b64encode(hasher.digest()).decode('ascii')

    def get_unscoped_auth_state(self) -> str | None:
        if self._mfa_ref is None:
            return None
        return json.dumps(
            {
                'auth_url': self.auth_url,
                'auth_token': self._mfa_ref.auth_token,
                'body': self._mfa_ref._data,
                'scope': self._mfa_scope,
                'confirmed': self._confirmed,
                'scopes': self._scoped or {},
                'skew': self._skew,
            }
        )

    def set_unscoped_auth_state(self, data: str | None) -> None:
        """Install a state of :meth:`get_unscoped_auth_state`.

        NOTE: a state of any other shape (openstacksdk's keyring holds what
        an older version, or anyone, wrote) counts as absent, as a file of
        the cache does: the next sign-in asks afresh, and never fails on it
        (openstacksdk calls this without a ``try``).
        """
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        ref = None
        if isinstance(parsed, dict) and cache.well_formed(parsed):
            ref = access.create(
                body=parsed['body'], auth_token=parsed['auth_token']
            )
        if not isinstance(parsed, dict) or not isinstance(
            ref, access.AccessInfoV3
        ):
            self._mfa_ref = self._mfa_scope = None
            self._scoped = {}
            self._confirmed = 0.0
            return
        self._mfa_ref, self._mfa_scope = ref, parsed.get('scope')
        self._confirmed = float(parsed.get('confirmed') or 0)
        self._scoped = dict(parsed.get('scopes') or {})
        skew = parsed.get('skew')
        if (
            isinstance(skew, int | float)
            and not isinstance(skew, bool)
            and math.isfinite(skew)
        ):
            # NOTE: the clock as last measured: a command served from the
            # cache sends no request to measure it again.
            self._skew = float(skew)

    def get_cache_id_elements(self) -> dict[str, str | None]:
        # NOTE: who and where, never a password or passcode: a cache keyed
        # by a passcode never hits, as it changes every 30 seconds.
        return {
            'auth_url': identity.identity_url(self.auth_url),
            'domain_id': self.domain_id,
            'domain_name': self.domain_name,
            'project_id': self.project_id,
            'project_name': self.project_name,
            'project_domain_id': self.project_domain_id,
            'project_domain_name': self.project_domain_name,
            'trust_id': self.trust_id,
            'system_scope': self.system_scope,
            'multifactor_methods': ','.join(self.methods),
            'multifactor_user_id': self.user_id,
            'multifactor_username': self.username,
            'multifactor_user_domain_id': self.user_domain_id,
            'multifactor_user_domain_name': self.user_domain_name,
        }
