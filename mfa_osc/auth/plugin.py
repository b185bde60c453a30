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

Without a passcode given up front the plugin sends the password alone. A
user without MFA rules is signed in by that one request. For a user whose
rules want TOTP, Keystone answers 401 with an auth receipt; the plugin then
gets a passcode (from the passcode command or a prompt) and finishes the
sign-in with the receipt, without the password again. With a passcode or a
TOTP secret given up front, password and passcode go in one request.

Its halves live beside it: where the passcode comes from in
:mod:`mfa_osc.auth.passcodes`, the token cache in :mod:`mfa_osc.auth.cached`,
and the wording of each refusal in :mod:`mfa_osc.auth.refusals`. What is
left here (about 700 lines, over the package's 400 on purpose) is the
sign-in itself: one decision tree over one plugin's state (up front, as
recorded, password first then the receipt, the prompt's retries, the
unscoped retry that tells a wrong code from a missing role, a code
computed here answered again for Keystone's time), which reads best in
one place.

Keystone's clock is the one that counts (:mod:`mfa_osc.auth.clock`): the
receipt's expiry is judged by it, and a code the plugin computes from a
secret (``totp_secret``, a recovery code) is computed for Keystone's time
once an answer's ``Date`` has told how far this machine's clock is off.
"""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
import logging
from typing import Any
from typing import ClassVar

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import password as v3_password
from keystoneauth1.identity.v3 import receipt as v3_receipt
from keystoneauth1.identity.v3 import totp as v3_totp

from mfa_osc import identity
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.auth import cached
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.auth import options as auth_options
from mfa_osc.auth import passcodes
from mfa_osc.auth import refusals
from mfa_osc.auth import sources
from mfa_osc.auth.options import DEFAULT_METHODS  # noqa: F401
from mfa_osc.auth.options import METHOD_ALIASES  # noqa: F401
from mfa_osc.auth.options import parse_auth_methods
from mfa_osc.auth.options import parse_flag

LOG = logging.getLogger(__name__)

#: How many times a person may retype a refused passcode at the prompt.
PROMPT_ATTEMPTS = refusals.PROMPT_ATTEMPTS


def token_methods(ref: access.AccessInfo) -> list[str]:
    """The methods a token was obtained with (``token.methods``)."""
    return identity.token_methods(
        ref._data if isinstance(ref._data, dict) else None
    )


class _ComputedTOTP(v3_totp.TOTPMethod):
    """A passcode this plugin computed from a secret (``--os-totp-secret``,
    a recovery code), which it can compute again for Keystone's time."""

    def __init__(self, *, passcode: str, secret: str, **user: Any) -> None:
        super().__init__(passcode=passcode, **user)
        self.secret = secret


class MultiFactor(passcodes.PasscodeSources, cached.CachedSignIn, base.Auth):
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
        self.methods = parse_auth_methods(auth_methods)
        self.user_id = user_id
        self.username = username
        self.user_domain_id = user_domain_id
        self.user_domain_name = user_domain_name
        self.password = password
        self.passcode = passcode
        self.totp_secret = totp_secret
        self.passcode_command = passcode_command
        self.recovery_code = recovery_code
        self.token_cache = parse_flag(token_cache)
        self.prompt = prompt
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
        #: The (bare) recovery code the passcode in flight was computed
        #: from, used up once the sign-in succeeds.
        self._sent_recovery: str | None = None
        self._said_not_needed = False
        #: Prompt answers used up before the first request (the record
        #: path), counted in the tries the person has.
        self._tries_used = 0
        #: The token of the last sign-in with a second factor, which later
        #: commands reuse or rescope instead of asking again.
        self._mfa_ref: access.AccessInfoV3 | None = None
        self._mfa_scope: str | None = None
        self._confirmed = 0.0
        self._scoped: dict[str, dict[str, Any]] | None = {}
        self._session: ks_session.Session | None = None
        #: Requests sent to ``/auth/tokens`` by the last sign-in.
        self.sign_in_requests = 0

    # -- the methods, as the in-tree plugin shows them ----------------------

    @property
    def auth_methods(self) -> list[base.AuthMethod]:
        """The methods of the request in flight, or those configured.

        Outside a request this lists, as keystoneauth's own
        ``v3multifactor`` does, one method object per configured method
        (``[0].username``, ``[1].passcode``), for code written for it.
        """
        sending = self.__dict__.get('_sending')
        if sending:
            return list(sending)
        user = {
            'user_id': getattr(self, 'user_id', None),
            'username': getattr(self, 'username', None),
            'user_domain_id': getattr(self, 'user_domain_id', None),
            'user_domain_name': getattr(self, 'user_domain_name', None),
        }
        declared: list[base.AuthMethod] = []
        for method in self.methods:
            if method == 'password':
                declared.append(
                    v3_password.PasswordMethod(
                        password=getattr(self, 'password', None) or '', **user
                    )
                )
            elif method == 'totp':
                declared.append(
                    v3_totp.TOTPMethod(
                        passcode=getattr(self, 'passcode', None) or '', **user
                    )
                )
        return declared

    @auth_methods.setter
    def auth_methods(self, value: list[base.AuthMethod]) -> None:
        self.__dict__['_sending'] = list(value)

    # -- what the user is -------------------------------------------------

    def _user(self) -> dict[str, str | None]:
        return {
            'user_id': self.user_id,
            'username': self.username,
            'user_domain_id': self.user_domain_id,
            'user_domain_name': self.user_domain_name,
        }

    def _password_method(self) -> v3_password.PasswordMethod:
        if self.password is None and self.prompt:
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
            password=self.password, **self._user()
        )

    def _totp_method(self, code: str, source: str = '') -> v3_totp.TOTPMethod:
        """The TOTP method for ``code`` (which came from ``source``).

        A code computed here from a secret is computed for Keystone's time
        once that is known: this machine's clock may be minutes off.
        Passcodes typed from a phone, or printed by a passcode command,
        are as their own clocks made them.
        """
        secret = self._computed_from(source)
        if secret is None:
            return v3_totp.TOTPMethod(passcode=code, **self._user())
        if self._skew is not None:
            code = self._at_keystone_time(secret)
        return _ComputedTOTP(passcode=code, secret=secret, **self._user())

    def _computed_from(self, source: str) -> str | None:
        """The secret the code from ``source`` was computed from, if any."""
        if self._sent_recovery and source in ('recovery_code', 'prompt'):
            return recovery.secret(self._sent_recovery)
        if source == 'totp_secret' and self.totp_secret:
            return totp.normalize_secret(self.totp_secret)
        return None

    def _at_keystone_time(self, secret: str) -> str:
        code = totp.passcode(secret, clock.server_now(self._skew))
        redact.register(code)
        return code

    def _again_at_keystone_time(
        self, method: v3_totp.TOTPMethod
    ) -> v3_totp.TOTPMethod | None:
        """After a refusal that measured the clock: ``method``'s code for
        Keystone's time, if this plugin computed it and it differs."""
        if not isinstance(method, _ComputedTOTP) or self._skew is None:
            return None
        code = self._at_keystone_time(method.secret)
        if code == method.passcode:
            return None
        return _ComputedTOTP(
            passcode=code, secret=method.secret, **self._user()
        )

    def _answer_by_keystone_clock(
        self,
        session: ks_session.Session,
        needs: ksa_exc.MissingAuthMethods,
        method: v3_totp.TOTPMethod,
        recovering: str | None,
    ) -> access.AccessInfoV3 | None:
        """The password was right and a code computed here was not, by a
        clock that is off: answer the receipt with the code of Keystone's
        time (the password is not sent again). None if that is no help."""
        again = self._again_at_keystone_time(method)
        if again is None or refusals.receipt_expired_by_clock(
            needs, self._skew
        ):
            return None
        try:
            ref = self._send(
                session,
                [v3_receipt.ReceiptMethod(receipt=needs.receipt or ''), again],
            )
        except ksa_exc.ClientException:
            return None
        self._sent_recovery = recovering
        return ref

    # -- the sign-in ------------------------------------------------------

    def get_auth_ref(self, session: ks_session.Session) -> access.AccessInfoV3:
        self.sign_in_requests = 0
        self.fresh_second_factor = False
        ref = self._from_cache(session)
        if ref is not None:
            return ref
        self._sent_recovery = None
        try:
            ref = self._sign_in(session)
        except ksa_exc.SSLError as exc:
            raise exceptions.TLSNotVerified(
                f'{exc} The TLS certificate of {self.auth_url} was not '
                "verified: give the cloud's CA certificate with --os-cacert, "
                'OS_CACERT or cacert in clouds.yaml (openstacksdk: cacert=).'
            ) from exc
        if 'totp' not in token_methods(ref):
            ref = self._apply_policy(session, ref)
        if 'totp' in token_methods(ref):
            if self._sent_recovery:
                self._use_up_recovery_code(session, ref, self._sent_recovery)
            self.fresh_second_factor = True
            self._remember(ref, self._scope_key())
        return ref

    def _apply_policy(
        self, session: ks_session.Session, ref: access.AccessInfoV3
    ) -> access.AccessInfoV3:
        """A domain's MFA policy, after a sign-in without a second factor.

        When a device was set up just now, sign in again with its code so
        the command carries on with a token that carries ``totp``.
        """
        # NOTE: imported here: a sign-in with a second factor never needs
        # it.
        from mfa_osc.auth import policy as mfa_policy

        code = mfa_policy.check(session, ref, self.auth_url)
        if code is None:
            return ref
        redact.register(code)
        self._record_totp(True)
        return self._send(
            session, [self._password_method(), self._totp_method(code)]
        )

    def _sign_in(self, session: ks_session.Session) -> access.AccessInfoV3:
        upfront = self._upfront_passcode() if 'totp' in self.methods else None
        if self.methods == ('totp',):
            if upfront is None:
                return self._finish_with_passcode(session, None)
            code, source = upfront
            method = self._totp_method(code, source)
            try:
                try:
                    return self._send(session, [method])
                except ksa_exc.Unauthorized:
                    # NOTE: no password is sent, so trying the code of
                    # Keystone's time (the refusal's Date) costs nothing.
                    again = self._again_at_keystone_time(method)
                    if again is None:
                        raise
                return self._send(session, [again])
            except ksa_exc.MissingAuthMethods as needs:
                raise self._unsatisfiable(needs) from None
            except ksa_exc.Unauthorized as exc:
                raise self._refused(exc, source, None) from None
        if upfront is not None:
            return self._sign_in_up_front(session, *upfront)
        if 'totp' in self.methods and self._recorded_totp():
            first = self._passcode_first()
            if first is not None:
                return self._sign_in_as_recorded(session, *first)
        try:
            ref = self._send(session, [self._password_method()])
        except ksa_exc.MissingAuthMethods as needs:
            self._record_totp(True)
            return self._continue(session, needs)
        except ksa_exc.Unauthorized as exc:
            raise refusals.password_refused(exc) from None
        self._record_totp(False)
        return ref

    def _passcode_first(self) -> tuple[str, str] | None:
        """A passcode from the command or the prompt, before any request.

        Only for a user whom Keystone asked for one before (the record
        beside the cache); None when there is no way to get one here.
        """
        if self.passcode_command:
            try:
                return self._command_passcode(), 'command'
            except exceptions.PasscodeCommandFailed:
                # NOTE: maybe no device any more (the record is stale): the
                # password alone tells; if Keystone asks, the command runs
                # again and its error stands.
                return None
        if not (self.prompt and sources.terminal_attached()):
            return None
        self._password_method()  # NOTE: the password prompt comes first
        for attempt in range(PROMPT_ATTEMPTS):
            code = self._prompted_passcode(attempt, blank_ok=True)
            if code == '':
                # NOTE: an empty answer: no code at hand (a device removed
                # since); the password alone first, as for anyone.
                return None
            if code is not None:
                self._tries_used = attempt + 1
                return code, 'prompt'
        return None

    def _sign_in_as_recorded(
        self, session: ks_session.Session, code: str, source: str
    ) -> access.AccessInfoV3:
        """Password and passcode in one request, as Keystone asked before.

        If the record is stale (no rules or no device any more), the
        password alone tells, with one more request, and the record is
        corrected.
        """
        password = self._password_method()
        method = self._totp_method(code, source)
        recovering = self._sent_recovery
        try:
            return self._send(session, [password, method])
        except ksa_exc.MissingAuthMethods as needs:
            raise self._unsatisfiable(needs) from None
        except ksa_exc.Unauthorized as exc:
            refused = exc
        try:
            ref = self._send(session, [password])
        except ksa_exc.MissingAuthMethods as needs:
            fixed = self._answer_by_keystone_clock(
                session, needs, method, recovering
            )
            if fixed is not None:
                return fixed
            if source == 'prompt' and self._tries_used < PROMPT_ATTEMPTS:
                # NOTE: the password was right, the code was not: ask
                # again, with the receipt, for the tries left.
                sources.tell('That passcode was not accepted.')
                return self._continue(session, needs, self._tries_used)
            self._try_unscoped(session, [password, method])
            raise self._refused(refused, source, True) from None
        except ksa_exc.Unauthorized as exc:
            raise refusals.password_refused(
                exc, ' (also when sent without the passcode)'
            ) from None
        self._record_totp(False)
        return ref

    def _sign_in_up_front(
        self, session: ks_session.Session, code: str, source: str
    ) -> access.AccessInfoV3:
        """Password and passcode in one request; the password alone if the
        passcode turns out not to be needed."""
        password = self._password_method()
        method = self._totp_method(code, source)
        recovering = self._sent_recovery
        try:
            return self._send(session, [password, method])
        except ksa_exc.MissingAuthMethods as needs:
            raise self._unsatisfiable(needs) from None
        except ksa_exc.Unauthorized as exc:
            refused = exc
        # NOTE: Keystone does not say which of the two it refused, and a
        # user without a TOTP device (a shared openrc, a CI job serving
        # several accounts) must not fail for a code it does not need. The
        # password alone tells: signed in (no code needed), a receipt (the
        # password is right, the code is not) or 401 (the password is
        # wrong). One more request, on failures only.
        self._sent_recovery = None
        try:
            ref = self._send(session, [password])
        except ksa_exc.MissingAuthMethods as needs:
            # NOTE: a code computed here by a clock that is off (the
            # refusal's Date tells): the receipt, with the code of
            # Keystone's time, signs in.
            fixed = self._answer_by_keystone_clock(
                session, needs, method, recovering
            )
            if fixed is not None:
                return fixed
            self._try_unscoped(session, [password, method])
            raise self._refused(refused, source, True) from None
        except ksa_exc.Unauthorized as exc:
            raise refusals.password_refused(
                exc, ' (also when sent without the passcode)'
            ) from None
        self._not_needed(source, refusals.enabled_methods(refused))
        return ref

    def _not_needed(self, source: str, enabled: list[str] | None) -> None:
        """Say once that a code given up front was not used."""
        if not self._said_not_needed:
            self._said_not_needed = True
            LOG.warning(
                '%s', refusals.not_needed(source, self._given(source), enabled)
            )

    def _send(
        self, session: ks_session.Session, methods: list[base.AuthMethod]
    ) -> access.AccessInfoV3:
        """POST /v3/auth/tokens with these methods."""
        self.auth_methods = methods
        self.sign_in_requests += 1
        try:
            return self._post_auth(session)
        finally:
            self.auth_methods = []

    def _refused(
        self,
        exc: ksa_exc.Unauthorized,
        source: str,
        password_ok: bool | None,
    ) -> exceptions.MFAError:
        """The error for a refused passcode, saying what to do next."""
        return refusals.passcode_refused(
            exc,
            source,
            '' if source in ('command', 'prompt') else self._given(source),
            recovering=bool(self._sent_recovery) or source == 'recovery_code',
            password_ok=password_ok,
        )

    def _continue(
        self,
        session: ks_session.Session,
        needs: ksa_exc.MissingAuthMethods,
        tries_used: int = 0,
    ) -> access.AccessInfoV3:
        """Answer an auth receipt with a passcode."""
        done = set(needs.methods)
        rules = needs.required_auth_methods or []
        can_finish = 'totp' in self.methods and any(
            set(rule) - done <= {'totp'} for rule in rules
        )
        if not can_finish:
            raise self._unsatisfiable(needs) from None
        return self._finish_with_passcode(session, needs, tries_used)

    def _unsatisfiable(
        self, needs: ksa_exc.MissingAuthMethods
    ) -> exceptions.UnsatisfiableRules:
        """Keystone wants methods this sign-in does not use."""
        return refusals.unsatisfiable(needs, self.methods)

    def _finish_with_passcode(
        self,
        session: ks_session.Session,
        needs: ksa_exc.MissingAuthMethods | None,
        tries_used: int = 0,
    ) -> access.AccessInfoV3:
        """Get a passcode (command or prompt) and send it, with the receipt.

        At the prompt, a typo or a refused code is asked again,
        :data:`PROMPT_ATTEMPTS` tries in all (``tries_used`` of them before
        the receipt), and a recovery code is taken as well as a passcode.
        """
        for attempt in range(tries_used, PROMPT_ATTEMPTS):
            last = attempt + 1 == PROMPT_ATTEMPTS
            if self.passcode_command:
                origin = 'command'
                code = self._command_passcode()
            else:
                origin = 'prompt'
                typed = self._prompted_passcode(attempt)
                if typed is None:
                    continue
                code = typed
            sent: list[base.AuthMethod] = []
            if needs is not None:
                # NOTE: by Keystone's clock (the receipt's answer measured
                # it): a machine clock minutes fast must not end a sign-in
                # Keystone would accept.
                if refusals.receipt_expired_by_clock(needs, self._skew):
                    raise refusals.receipt_expired()
                sent.append(
                    v3_receipt.ReceiptMethod(receipt=needs.receipt or '')
                )
            sent.append(self._totp_method(code, origin))
            try:
                return self._send(session, sent)
            except ksa_exc.MissingAuthMethods as more:
                raise self._unsatisfiable(more) from None
            except ksa_exc.Unauthorized as exc:
                if needs is not None and refusals.receipt_expired_by_clock(
                    needs, self._skew
                ):
                    raise refusals.receipt_expired() from None
                self._try_unscoped(session, sent)
                error = self._refused(
                    exc, origin, None if needs is None else True
                )
            if (
                origin != 'prompt'
                or last
                or not isinstance(error, exceptions.PasscodeRejected)
            ):
                raise error
            what = 'recovery code' if self._sent_recovery else 'passcode'
            sources.tell(
                f'That {what} was not accepted; enter the current code, or a '
                'recovery code.' + error.hint
            )
        raise AssertionError('unreachable')

    def _try_unscoped(
        self, session: ks_session.Session, sent: list[base.AuthMethod]
    ) -> None:
        """After a refused scoped sign-in: was it the scope, not the code?

        Keystone answers 401 alike for a wrong passcode and for a project
        the user has no role on (or that does not exist). The same methods
        sent unscoped tell, with one more request on that failure only: if
        they sign in, the token is kept (the next command rescopes it, no
        passcode) and the error says what is wrong.
        """
        if not self._scoped_request():
            return
        with self._without_scope():
            try:
                ref = self._send(session, sent)
            except ksa_exc.ClientException:
                return
            key = self._scope_key()
        if 'totp' in token_methods(ref):
            self._remember(ref, key)
        raise self._no_role(ref)

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
        self.recovery_code = self._sent_recovery = None
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
