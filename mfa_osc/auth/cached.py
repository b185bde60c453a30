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
uses), reuses it for the same scope and rescopes it for another.
"""

from __future__ import annotations

import base64
import hashlib
import json

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import token as v3_token

from mfa_osc import identity
from mfa_osc.auth import cache

#: A cached token this close to expiry (seconds) is not reused.
CACHE_MARGIN = 120


class CachedSignIn(base.Auth):
    """Reuse, rescope and store the token of an MFA sign-in."""

    #: The token of the last sign-in with a second factor, which later
    #: commands reuse or rescope instead of asking again.
    _mfa_ref: access.AccessInfoV3 | None = None
    _mfa_scope: str | None = None
    token_cache: bool = True
    methods: tuple[str, ...] = ()
    user_id: str | None = None
    username: str | None = None
    user_domain_id: str | None = None
    user_domain_name: str | None = None
    #: Requests sent to ``/auth/tokens`` by the last sign-in.
    sign_in_requests: int = 0

    def _scope_key(self) -> str:
        return json.dumps(
            [
                self.project_id,
                self.project_name,
                self.project_domain_id,
                self.project_domain_name,
                self.domain_id,
                self.domain_name,
                self.system_scope,
                self.trust_id,
                self.unscoped,
            ]
        )

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

    def _forget(self) -> None:
        self._mfa_ref = self._mfa_scope = None
        cache_id = self.get_unscoped_cache_id()
        if self.token_cache and cache_id:
            cache.delete(cache_id)

    def _from_cache(
        self, session: ks_session.Session
    ) -> access.AccessInfoV3 | None:
        """The cached MFA token for this scope, or one rescoped from it."""
        if self._mfa_ref is None and self.token_cache:
            cache_id = self.get_unscoped_cache_id()
            entry = cache.load(cache_id) if cache_id else None
            if entry is not None:
                try:
                    self.set_unscoped_auth_state(json.dumps(entry))
                except (ValueError, KeyError, TypeError):
                    self._forget()
        ref = self._mfa_ref
        if ref is None or not ref.auth_token:
            return None
        if ref.will_expire_soon(CACHE_MARGIN):
            self._forget()
            return None
        try:
            if self._mfa_scope == self._scope_key():
                return self._validate(session, ref.auth_token)
            self.sign_in_requests += 1
            self.auth_methods = [v3_token.TokenMethod(token=ref.auth_token)]
            try:
                return super().get_auth_ref(session)
            finally:
                self.auth_methods = []
        except (ksa_exc.Unauthorized, ksa_exc.NotFound, ksa_exc.Forbidden):
            # NOTE: revoked (password changed, signed out) or expired
            # early: sign in afresh.
            self._forget()
            return None

    def _validate(
        self, session: ks_session.Session, token_id: str
    ) -> access.AccessInfoV3:
        """GET /v3/auth/tokens: is the cached token still good?"""
        resp = session.get(
            identity.tokens_url(self.auth_url),
            headers={
                'X-Auth-Token': token_id,
                'X-Subject-Token': token_id,
                'Accept': 'application/json',
            },
            authenticated=False,
            log=False,
        )
        return access.AccessInfoV3(auth_token=token_id, body=resp.json())

    def invalidate(self) -> bool:
        # NOTE: keystoneauth calls this on a 401 from a service: the cached
        # token was refused, so the next sign-in must not reuse it.
        if self._mfa_ref is not None:
            self._forget()
        return super().invalidate()

    def get_unscoped_cache_id_elements(self) -> dict[str, str | None]:
        return {
            'auth_url': self.auth_url.rstrip('/'),
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
            }
        )

    def set_unscoped_auth_state(self, data: str | None) -> None:
        if not data:
            self._mfa_ref = self._mfa_scope = None
            return
        parsed = json.loads(data)
        ref = access.create(
            body=parsed['body'], auth_token=parsed['auth_token']
        )
        if not isinstance(ref, access.AccessInfoV3):
            raise ValueError('not an identity v3 token')
        self._mfa_ref, self._mfa_scope = ref, parsed.get('scope')

    def get_cache_id_elements(self) -> dict[str, str | None]:
        # NOTE: who and where, never a password or passcode: a cache keyed
        # by a passcode never hits, as it changes every 30 seconds.
        return {
            'auth_url': self.auth_url,
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
