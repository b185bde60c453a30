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

"""The ``v3multifactor`` auth plugin: password and TOTP, adaptively.

:class:`MultiFactor` is a keystoneauth v3 plugin that holds its parts, as
keystoneauth's own ``v3multifactor`` holds its methods: where the passcode
comes from (``sources``, :mod:`mfa_osc.auth.passcodes`) and the token
cache (``cache``, :mod:`mfa_osc.auth.cached`). Here are its options and
state, keystoneauth's hooks (``get_auth_ref``, ``invalidate``, the cache
ids and the unscoped state that openstacksdk's keyring cache uses) and
each request to ``/v3/auth/tokens`` (:meth:`MultiFactor.send`). At each
sign-in the cached token is tried first (:mod:`mfa_osc.auth.reuse`), then
a sign-in with a password and a passcode (:mod:`mfa_osc.auth.sign_in`),
then, without a second factor, the domain's MFA policy
(:mod:`mfa_osc.auth.policy`).

keystoneauth and openstacksdk reach the plugin only through the methods of
its one class, so those stay here; the work each part does is in the
modules it holds.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from collections.abc import Iterator
import contextlib
import hashlib
import json
import logging
from typing import Any
from typing import ClassVar
from typing import cast

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import password as v3_password
from keystoneauth1.identity.v3 import totp as v3_totp

from mfa_osc import identity
from mfa_osc import redact
from mfa_osc.auth import cached
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import options as auth_options
from mfa_osc.auth import passcodes
from mfa_osc.auth import refusals
from mfa_osc.auth import reuse
from mfa_osc.auth import sources
from mfa_osc.auth.options import DEFAULT_METHODS  # noqa: F401
from mfa_osc.auth.options import METHOD_ALIASES  # noqa: F401
from mfa_osc.auth.options import parse_auth_methods
from mfa_osc.auth.options import parse_flag

LOG = logging.getLogger(__name__)

#: How many times a person may retype a refused passcode at the prompt.
PROMPT_ATTEMPTS = refusals.PROMPT_ATTEMPTS

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


def token_methods(ref: access.AccessInfo) -> list[str]:
    """The methods a token was obtained with (``token.methods``)."""
    return identity.token_methods(
        ref._data if isinstance(ref._data, dict) else None
    )


class MultiFactor(base.Auth):
    """Sign in with a password and a TOTP passcode, asking only if needed.

    :param auth_url: Identity service endpoint for authentication.
    :param auth_methods: methods to use, Keystone or loader names, as a list
        or a comma-separated string. Default: password and totp.
    :param password: the user's password (prompted for on a terminal).
    :param passcode: the current 6-digit code.
    :param totp_secret: a base32 TOTP secret to compute the code from.
    :param passcode_command: a command that prints the code.
    :param recovery_code: a recovery code, used once in place of the app.
    :param token_cache: reuse the token of a sign-in with a second factor
        in later commands (a file cache). Default: on.
    :param prompt: whether the plugin may prompt on a terminal.

    The user and scope parameters are those of ``v3password``.
    """

    #: Signing in asks a person for a passcode, so keeping the token saves
    #: an interaction, not just a round trip (openstacksdk's keyring cache
    #: keys on this).
    interactive_unscoped_auth: ClassVar[bool] = True

    def __init__(
        self,
        auth_url: str,
        *,
        auth_methods: str | Iterable[str] | None = None,
        user_id: str | None = None,
        username: str | None = None,
        user_domain_id: str | None = None,
        user_domain_name: str | None = None,
        password: str | None = None,
        passcode: str | None = None,
        totp_secret: str | None = None,
        passcode_command: str | None = None,
        recovery_code: str | None = None,
        token_cache: bool | str | None = True,
        prompt: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(auth_url, [], **kwargs)
        #: The methods configured, Keystone's names (``password``, ``totp``).
        self.methods = parse_auth_methods(auth_methods)
        self.user_id = user_id
        self.username = username
        self.user_domain_id = user_domain_id
        self.user_domain_name = user_domain_name
        self.password = password
        #: Where the passcode comes from.
        self.sources = passcodes.PasscodeSources(
            passcode=passcode,
            totp_secret=totp_secret,
            passcode_command=passcode_command,
            recovery_code=recovery_code,
            prompt=prompt,
        )
        #: The token of the last sign-in with a second factor, the tokens
        #: rescoped from it, and Keystone's clock.
        self.cache = cached.TokenCache(
            enabled=parse_flag(token_cache),
            cache_id=self.get_unscoped_cache_id,
            auth_url=lambda: self.auth_url,
        )
        # NOTE: this package's code is about to run: from now on no log
        # record of this process shows a secret it knows of.
        redact.install()
        redact.register(password, passcode, totp_secret, recovery_code)
        redact.register(*auth_options.command_secrets(passcode_command))
        #: Whether the last sign-in of this process proved a second factor
        #: to Keystone (a passcode or recovery code it accepted), as opposed
        #: to a token from the cache. Commands that need fresh proof of a
        #: device may take this as it.
        self.fresh_second_factor = False
        #: Whether this plugin has said that a code given up front was not
        #: needed (it says so once).
        self.said_not_needed = False
        #: Requests sent to ``/auth/tokens`` by the last sign-in.
        self.sign_in_requests = 0
        #: Whether Keystone's last answer to a token request came through
        #: mfa-osc's guard, which holds the domain's MFA policy on the
        #: server (:mod:`mfa_osc.auth.guarded`).
        self.server_enforced = False
        #: The session of the last sign-in, for :meth:`invalidate`.
        self._session: ks_session.Session | None = None
        #: keystoneauth sends ``auth_methods``; outside a request they are,
        #: as keystoneauth's own ``v3multifactor`` shows them, one method
        #: per configured method (``[0].username``, ``[1].passcode``), for
        #: code written for it. :meth:`send` sets those of each request.
        self.auth_methods: list[base.AuthMethod] = self.configured_methods()

    # -- the methods --------------------------------------------------------

    def user(self) -> dict[str, str | None]:
        """Who signs in, as the methods name the user."""
        return {
            'user_id': self.user_id,
            'username': self.username,
            'user_domain_id': self.user_domain_id,
            'user_domain_name': self.user_domain_name,
        }

    def configured_methods(self) -> list[base.AuthMethod]:
        """One method object per configured method, as the in-tree
        ``v3multifactor`` has them."""
        declared: list[base.AuthMethod] = []
        for method in self.methods:
            if method == 'password':
                declared.append(
                    v3_password.PasswordMethod(
                        password=self.password or '', **self.user()
                    )
                )
            elif method == 'totp':
                declared.append(
                    v3_totp.TOTPMethod(
                        passcode=self.sources.passcode or '', **self.user()
                    )
                )
        return declared

    def password_method(self) -> v3_password.PasswordMethod:
        """The password method; the password is prompted for if need be."""
        if self.password is None and self.sources.prompt:
            self.password = sources.prompt('Password: ')
            redact.register(self.password)
            if self.password is None and sources.terminal_attached():
                sources.tell('')  # NOTE: end the prompt's line
                raise exceptions.PromptCancelled(
                    'No password entered: the prompt was closed (Ctrl-D). '
                    'Run the command again and type the password.'
                )
        if not self.password:
            raise exceptions.NoPassword(
                'No password: give it with '
                + auth_options.ways_to_give('password')
                + (
                    ', or run the command on a terminal to be prompted.'
                    if auth_options.in_openstack_cli()
                    else ', or run the program on a terminal to be prompted.'
                )
            )
        return v3_password.PasswordMethod(
            password=self.password, **self.user()
        )

    # -- the requests -------------------------------------------------------

    def send(
        self, session: ks_session.Session, methods: list[base.AuthMethod]
    ) -> access.AccessInfoV3:
        """POST /v3/auth/tokens with these methods."""
        self.sign_in_requests += 1
        self.auth_methods = methods
        try:
            return self._post_auth(session)
        finally:
            self.auth_methods = self.configured_methods()

    def _post_auth(self, session: ks_session.Session) -> access.AccessInfoV3:
        """keystoneauth's POST /v3/auth/tokens, its response's clock read."""
        recording = clock.Recording(session)
        try:
            ref = super().get_auth_ref(cast(ks_session.Session, recording))
        except ksa_exc.MissingAuthMethods as needs:
            # NOTE: a receipt is no HttpError; it was issued just now.
            self.cache.saw(
                needs.response, clock.receipt_issued_at(needs.response)
            )
            raise
        except ksa_exc.HttpError as exc:
            self.cache.saw(exc.response)
            self.server_enforced = guarded.enforced(exc.response)
            # NOTE: the guard's own refusals (a lock, a used passcode, the
            # domain's policy) are no wrong password or passcode: they are
            # raised as such, so that no path retries them as one.
            refusal = guarded.refusal(
                exc.response, self.user_id or self.username
            )
            if refusal is not None:
                raise refusal from None
            raise
        issued = ref._data.get('token') if isinstance(ref._data, dict) else {}
        self.cache.saw(
            recording.response,
            issued.get('issued_at') if isinstance(issued, dict) else None,
        )
        self.server_enforced = guarded.enforced(recording.response)
        return ref

    # -- the sign-in --------------------------------------------------------

    def get_auth_ref(self, session: ks_session.Session) -> access.AccessInfoV3:
        self.sign_in_requests = 0
        self.fresh_second_factor = False
        self._session = session
        ref = reuse.Reuse(self, session).token()
        if ref is not None:
            return ref
        # NOTE: imported here: a command the cache serves never needs it.
        from mfa_osc.auth import attempt
        from mfa_osc.auth import sign_in

        self.sources.sent_recovery = None
        try:
            ref = sign_in.run(attempt.Attempt(self, session))
        except ksa_exc.SSLError as exc:
            raise exceptions.TLSNotVerified(
                f'{exc} The TLS certificate of {self.auth_url} was not '
                "verified: give the cloud's CA certificate with --os-cacert, "
                'OS_CACERT or cacert in clouds.yaml (openstacksdk: cacert=).'
            ) from exc
        if 'totp' not in token_methods(ref):
            ref = self._apply_policy(session, ref)
        if 'totp' in token_methods(ref):
            recovering = self.sources.sent_recovery
            if recovering:
                self._use_up_recovery_code(session, ref, recovering)
            self.fresh_second_factor = True
            self.cache.remember(ref, self.scope_key())
        return ref

    def _apply_policy(
        self, session: ks_session.Session, ref: access.AccessInfoV3
    ) -> access.AccessInfoV3:
        """A domain's MFA policy, after a sign-in without a second factor.

        When a device was set up just now, sign in again with its code so
        the command carries on with a token that carries ``totp``. Behind
        mfa-osc's guard (:attr:`server_enforced`) a policy the check cannot
        read is the server's to judge.
        """
        # NOTE: imported here: a sign-in with a second factor never needs
        # it.
        from mfa_osc.auth import policy as mfa_policy

        code = mfa_policy.check(
            session, ref, self.auth_url, server_enforced=self.server_enforced
        )
        if code is None:
            return ref
        from mfa_osc.auth import attempt
        from mfa_osc.auth import receipt

        return receipt.with_new_device(attempt.Attempt(self, session), code)

    def _use_up_recovery_code(
        self, session: ks_session.Session, ref: access.AccessInfoV3, code: str
    ) -> None:
        """Delete the credential of the recovery code just signed in with.

        A code must never work twice: if it cannot be used up, the token
        it bought is revoked and the sign-in fails.
        """
        from mfa_osc import account as mfa_account
        from mfa_osc import client as mfa_client
        from mfa_osc.client import tokens

        token = ref.auth_token or ''
        as_user = mfa_client.MFAClient.for_token(
            session, self.auth_url, token, str(ref.user_id)
        )
        self.sources.used_up()
        try:
            left = mfa_account.use_up_recovery_code(
                as_user, str(ref.user_id), code
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                tokens.revoke(session, self.auth_url, token)
            raise exceptions.MFAError(
                'The recovery code was accepted but could not be used up, so '
                f'the sign-in was cancelled ({exc}). Try again.'
            ) from None
        LOG.warning(
            'Signed in with a recovery code, which is now used up; %d '
            'recovery code%s left. Enroll a new device with `openstack mfa '
            'enroll --name NAME`, then remove the lost one with `openstack '
            'mfa remove --device NAME`.',
            left,
            's' if left != 1 else '',
        )

    def no_role(
        self, ref: access.AccessInfoV3 | None = None
    ) -> exceptions.NoRoleOnScope:
        """The user is signed in, but not on the scope asked for."""
        name = cached.token_user(ref).get('name') if ref is not None else None
        return refusals.no_role(self, name)

    def forget_needs_totp(self) -> None:
        """This account has no TOTP device any more (removed just now).

        The next sign-in sends the password first again, instead of asking
        for a code up front as the record of earlier sign-ins says.
        """
        self.cache.record_totp(False)

    # -- the scope ----------------------------------------------------------

    def scope_key(self) -> str:
        """The scope asked for, as the cache keys tokens by it."""
        return json.dumps(
            [getattr(self, name) for name in _SCOPE_ATTRS] + [self.unscoped]
        )

    def scoped_request(self) -> bool:
        """Whether this sign-in asks for a scope (not unscoped/default)."""
        return any(getattr(self, name) for name in _SCOPE_ATTRS)

    @contextlib.contextmanager
    def without_scope(self) -> Iterator[None]:
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

    # -- the cached token ---------------------------------------------------

    def _needs_reauthenticate(self) -> bool:
        # NOTE: keystoneauth's own judges the token's expiry by this
        # machine's clock: the same, by Keystone's.
        if not self.auth_ref:
            return True
        if not self.reauthenticate:
            return False
        return self.cache.expires_soon(
            self.auth_ref,
            clock.renewal_margin(self.auth_ref, self.MIN_TOKEN_LIFE_SECONDS),
        )

    def invalidate(self) -> bool:
        # NOTE: keystoneauth calls this on a 401 from any service, for any
        # reason (a wrong --original-password too). Forget the token only
        # if Keystone says it is gone; if it still accepts it, keep it and
        # let the service's own error reach the user (no retry).
        current = self.auth_ref
        session = self._session
        if (
            self.cache.ref is not None
            and session is not None
            and current is not None
            and current.auth_token
        ):
            try:
                reuse.Reuse(self, session).validate(current.auth_token)
            except (*reuse.GONE, reuse.NotAToken):
                # NOTE: an answer that is not a token counts as gone: the
                # request is sent again after a fresh sign-in.
                reuse.forget_gone(self.cache)
            except ksa_exc.ClientException:
                return False
            else:
                return False
        return super().invalidate()

    # -- keystoneauth's cache hooks (openstacksdk's keyring cache) ----------

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
        return self.cache.state()

    def set_unscoped_auth_state(self, data: str | None) -> None:
        """Install a state of :meth:`get_unscoped_auth_state` (one of any
        other shape counts as absent)."""
        self.cache.set_state(data)

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
