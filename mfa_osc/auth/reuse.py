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

"""When the cached token serves a command, and when Keystone is asked.

The plugin (:mod:`mfa_osc.auth.plugin`) asks :class:`Reuse` first, at
each sign-in: the token kept in its cache (:mod:`mfa_osc.auth.cached`)
for this scope serves as it is while Keystone confirmed it recently
(:data:`cached.CONFIRM_WINDOW`), else one rescope POST confirms it, or
gets a token for a new scope. A token Keystone no longer takes, or of
another user than the one named, is forgotten: the plugin signs in
afresh. A token Keystone takes on no role of the scope asked for is kept.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import token as v3_token

from mfa_osc.auth import cache
from mfa_osc.auth import cached
from mfa_osc.auth import exceptions

if TYPE_CHECKING:
    from mfa_osc.auth.plugin import MultiFactor

# NOTE: the plugin's logger: its warnings are the plugin's whichever part
# says them, under the one name a program configures.
LOG = logging.getLogger('mfa_osc.auth.plugin')


class NotAToken(ksa_exc.InvalidResponse):
    """Keystone answered a token request with something else."""


#: Keystone's answers for a token revoked or expired.
GONE = (ksa_exc.Unauthorized, ksa_exc.NotFound)

#: Seconds waited after finding the cached token gone, before a fresh
#: sign-in: the granularity of Keystone's revocation check.
REVOCATION_SECOND = 1.0


def forget_gone(cached_token: cached.TokenCache) -> None:
    """Forget a cached token Keystone called gone; return once a new
    sign-in cannot land in the second of its revocation.

    NOTE: Keystone compares a token's issue time, in whole seconds, with a
    revocation's: a token issued in the same second as a revocation of its
    user (an administrator's, a password change) counts as revoked too, and
    fails at its first use. The revocation came before Keystone's answer,
    so a sign-in a second after that answer is clear of it. Only on this
    rare path: a revoked cached token.
    """
    cached_token.forget()
    time.sleep(REVOCATION_SECOND)


class Reuse:
    """The cached token of ``plugin``, on ``session``."""

    def __init__(
        self, plugin: MultiFactor, session: ks_session.Session
    ) -> None:
        self.plugin = plugin
        self.session = session
        self.cache = plugin.cache

    def token(self) -> access.AccessInfoV3 | None:
        """The cached MFA token for this scope, or one rescoped from it.

        No request while the token is confirmed
        (:data:`cached.CONFIRM_WINDOW`); one rescope POST past that, or
        for a new scope.
        """
        self.cache.load()
        ref = self.cache.ref
        if ref is None or not ref.auth_token:
            return None
        if self.cache.expires_soon(ref, cached.CACHE_MARGIN):
            self.cache.forget()
            return None
        key = self.plugin.scope_key()
        found = self.cache.candidate(key)
        if found is not None:
            token, confirmed = found
            if 0 <= time.time() - confirmed < cached.CONFIRM_WINDOW:
                return token
        # NOTE: confirmed with a token-method POST for this scope, not a
        # validation GET: Keystone caches validations (the token's user
        # and project records with them), so a GET can carry the names of
        # before a rename for as long as its cache lasts; a new token is
        # scoped by today's names.
        return self._rescope(key)

    def _rescope(self, key: str) -> access.AccessInfoV3 | None:
        ref = self.cache.ref
        assert ref is not None and ref.auth_token
        try:
            new = self.plugin.send(
                self.session, [v3_token.TokenMethod(token=ref.auth_token)]
            )
        except (ksa_exc.InvalidResponse, KeyError, TypeError):
            # NOTE: keystoneauth reads the answer's header and body without
            # a check: KeyError, TypeError on one that is not a token.
            raise self._not_a_token() from None
        except (ksa_exc.Unauthorized, ksa_exc.NotFound, ksa_exc.Forbidden):
            try:
                checked = self.validate(ref.auth_token)
            except (*GONE, NotAToken):
                # NOTE: revoked (password changed, signed out) or expired
                # early: sign in afresh. An answer that is not a token
                # counts as gone too: a fresh sign-in replaces it.
                forget_gone(self.cache)
                return None
            if not self._matches_user(checked):
                self.cache.forget()
                return None
            # NOTE: the token is good, the scope is not: keep the cache.
            self.cache.confirm(checked)
            raise self.plugin.no_role(checked) from None
        if not cache.is_token(new._data):
            raise self._not_a_token()
        if not self._matches_user(new):
            # NOTE: the user was renamed (and another may have taken the
            # name): never hand out their token.
            self.cache.forget()
            return None
        self.cache.keep_scoped(key, new)
        return new

    def _not_a_token(self) -> exceptions.MFAError:
        """Keystone answered the rescope with something not a token."""
        return exceptions.MFAError(
            f'The server at {self.plugin.auth_url} did not answer the '
            'sign-in with a Keystone token. Check that the auth URL '
            '(--os-auth-url, OS_AUTH_URL or auth_url in clouds.yaml) is the '
            'Identity v3 '
            'endpoint, or try again later: the cached sign-in is kept, so '
            'the next command does not ask for a passcode again.'
        )

    def validate(self, token_id: str) -> access.AccessInfoV3:
        """GET /v3/auth/tokens: is the cached token still good?

        :raises NotAToken: the answer (a 2xx) is not a token.
        """
        # NOTE: imported here: a token within its confirmation window is
        # never checked, and keystoneauth loads the plugin at every start.
        from mfa_osc.client import errors as client_errors
        from mfa_osc.client import tokens

        try:
            resp = tokens.validate(
                self.session, self.plugin.auth_url, token_id
            )
        except client_errors.ClientError as exc:
            self.cache.saw(exc.response)
            # NOTE: keystoneauth's error, as it was: a keystoneauth plugin
            # hands its callers (openstacksdk, OSC) errors of their kind.
            raise (exc.original or exc) from None
        self.cache.saw(resp)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not cache.is_token(body):
            LOG.warning(
                'The server at %s did not answer the check of the cached '
                'sign-in with a Keystone token; it is not used.',
                self.plugin.auth_url,
            )
            raise NotAToken(response=resp)
        return access.AccessInfoV3(auth_token=token_id, body=body)

    def _matches_user(self, ref: access.AccessInfoV3) -> bool:
        """Whether a token is of the user this sign-in names, today."""
        # NOTE: read with .get: a body without the user's name or domain
        # (keystoneauth would raise KeyError) is of no user named here.
        user = cached.token_user(ref)
        domain = user.get('domain')
        domain = domain if isinstance(domain, dict) else {}
        if self.plugin.user_id:
            return bool(user.get('id') == self.plugin.user_id)
        if self.plugin.username and user.get('name') != self.plugin.username:
            return False
        if self.plugin.user_domain_id:
            return bool(domain.get('id') == self.plugin.user_domain_id)
        if self.plugin.user_domain_name:
            return bool(domain.get('name') == self.plugin.user_domain_name)
        return True
