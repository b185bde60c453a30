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

"""The token cache of the ``v3multifactor`` plugin, a part it holds.

:class:`TokenCache` keeps the token of a sign-in with a second factor and
the tokens rescoped from it, in :mod:`mfa_osc.auth.cache` (one file per
cloud and user) and in the state of keystoneauth's unscoped-state hooks,
which openstacksdk's keyring cache uses. It also keeps Keystone's clock:
the skew measured from the ``Date`` of Keystone's latest answer is kept
with the token, since a command served from the cache sends no request
to measure it again. Which token serves a command, and when Keystone is
asked, is :mod:`mfa_osc.auth.reuse`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import json
import math
import time
from typing import Any

from keystoneauth1 import access

from mfa_osc.auth import cache
from mfa_osc.auth import clock

#: A cached token this close to expiry (seconds) is not reused.
CACHE_MARGIN = 120
#: A cached token that Keystone confirmed this recently (seconds) is used
#: without asking Keystone again; past this, one validation GET confirms it.
CONFIRM_WINDOW = 300


def token_user(ref: access.AccessInfoV3) -> Mapping[str, Any]:
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


class TokenCache:
    """The MFA token, the tokens rescoped from it, and Keystone's clock.

    :param enabled: whether tokens are kept on disk (``token_cache``).
    :param cache_id: the plugin's unscoped cache id (who and where), read
        when the cache is: the file it names.
    :param auth_url: the plugin's auth URL, kept in the stored state.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        cache_id: Callable[[], str | None],
        auth_url: Callable[[], str],
    ) -> None:
        self.enabled = enabled
        self._cache_id = cache_id
        self._auth_url = auth_url
        #: The token of the last sign-in with a second factor, which later
        #: commands reuse or rescope instead of asking again, and the scope
        #: key it was asked for.
        self.ref: access.AccessInfoV3 | None = None
        self.scope: str | None = None
        #: When Keystone last confirmed the MFA token (time.time()).
        self.confirmed = 0.0
        #: Tokens rescoped from the MFA token, by scope key:
        #: ``auth_token``, ``body`` and ``confirmed``.
        self.scoped: dict[str, dict[str, Any]] = {}
        #: Seconds this machine's clock is ahead of Keystone's, from the
        #: ``Date`` of Keystone's latest answer that had one; None while
        #: unknown.
        self.skew: float | None = None

    # -- Keystone's clock -------------------------------------------------

    def saw(self, response: Any, issued_at: object = None) -> None:
        """Measure the clock again from a response of Keystone's: its
        ``Date``, else the time of issue of what it has just issued."""
        skew = clock.skew_of(response)
        if skew is None:
            skew = clock.skew_since(issued_at)
        if skew is not None:
            self.skew = skew

    def expires_soon(self, ref: access.AccessInfo, seconds: float) -> bool:
        """Whether a token expires within ``seconds``, by Keystone's clock
        (a machine clock an hour fast would find every token expired)."""
        return clock.expires_soon(ref, seconds, self.skew)

    # -- the tokens -------------------------------------------------------

    def remember(self, ref: access.AccessInfoV3, scope: str) -> None:
        """Keep a fresh MFA token (for ``scope``) and store it."""
        self.ref, self.scope = ref, scope
        self.confirmed = time.time()
        self.scoped = {}
        self.store()

    def confirm(self, ref: access.AccessInfoV3) -> None:
        """Keystone has just confirmed the MFA token (``ref``, as read)."""
        self.ref, self.confirmed = ref, time.time()
        self.store()

    def forget(self) -> None:
        """Drop the MFA token, here and on disk."""
        self.ref = self.scope = None
        self.scoped = {}
        self.confirmed = 0.0
        cache_id = self._cache_id()
        if self.enabled and cache_id:
            cache.delete(cache_id)

    def load(self) -> None:
        """Read the stored MFA token, if none is held yet."""
        if self.ref is None and self.enabled:
            cache_id = self._cache_id()
            entry = cache.load(cache_id) if cache_id else None
            if entry is not None:
                try:
                    self.set_state(json.dumps(entry))
                except (ValueError, KeyError, TypeError):
                    self.forget()

    def store(self) -> None:
        state = self.state()
        cache_id = self._cache_id()
        if self.enabled and state and cache_id:
            try:
                cache.save(cache_id, json.loads(state))
            except OSError:
                # NOTE: a cache that cannot be written costs a prompt
                # later; it must not fail the command now.
                pass

    def candidate(self, key: str) -> tuple[access.AccessInfoV3, float] | None:
        """The cached token for scope ``key``, and when it was confirmed."""
        if self.ref is not None and key == self.scope:
            return self.ref, self.confirmed
        entry = self.scoped.get(key)
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
            if isinstance(ref, access.AccessInfoV3) and not self.expires_soon(
                ref, CACHE_MARGIN
            ):
                return ref, confirmed
        except (KeyError, TypeError, ValueError):
            pass
        self.scoped.pop(key, None)
        return None

    def keep_scoped(self, key: str, ref: access.AccessInfoV3) -> None:
        """Keep a token rescoped (or confirmed) for scope ``key``."""
        mfa = self.ref
        if key == self.scope and mfa is not None and _same_scope(mfa, ref):
            self.confirmed = time.time()
        else:
            if key == self.scope:
                # NOTE: the name now means another project (renamed).
                self.scope = None
            self.scoped[key] = {
                'auth_token': ref.auth_token,
                'body': ref._data,
                'confirmed': time.time(),
            }
        self.store()

    # -- the record of a user Keystone asks for TOTP ----------------------

    def recorded_totp(self) -> bool:
        """Whether an earlier sign-in here was asked for TOTP."""
        cache_id = self._cache_id()
        return bool(self.enabled and cache_id and cache.needs_totp(cache_id))

    def record_totp(self, needed: bool) -> None:
        cache_id = self._cache_id()
        if self.enabled and cache_id and needed != self.recorded_totp():
            cache.set_needs_totp(cache_id, needed)

    # -- the state of keystoneauth's unscoped-state hooks -----------------

    def state(self) -> str | None:
        """The MFA token and what goes with it, as JSON; None without."""
        if self.ref is None:
            return None
        return json.dumps(
            {
                'auth_url': self._auth_url(),
                'auth_token': self.ref.auth_token,
                'body': self.ref._data,
                'scope': self.scope,
                'confirmed': self.confirmed,
                'scopes': self.scoped,
                'skew': self.skew,
            }
        )

    def set_state(self, data: str | None) -> None:
        """Install a state of :meth:`state`.

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
            self.ref = self.scope = None
            self.scoped = {}
            self.confirmed = 0.0
            return
        self.ref, self.scope = ref, parsed.get('scope')
        self.confirmed = float(parsed.get('confirmed') or 0)
        self.scoped = dict(parsed.get('scopes') or {})
        skew = parsed.get('skew')
        if (
            isinstance(skew, int | float)
            and not isinstance(skew, bool)
            and math.isfinite(skew)
        ):
            # NOTE: the clock as last measured: a command served from the
            # cache sends no request to measure it again.
            self.skew = float(skew)
