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

"""One sign-in with a password and a passcode, request by request.

Without a passcode given up front the password goes alone. A user
without MFA rules is signed in by that one request. For a user whose rules
want TOTP, Keystone answers 401 with an auth receipt; the passcode (from
the passcode command or the prompt) then finishes the sign-in with the
receipt, without the password again. With a passcode or a TOTP secret
given up front, password and passcode go in one request; if that is
refused, the password alone tells whether the code was needed, right or
wrong. For a user Keystone asked for a code before (the record beside
the cache), the code is asked first and sent with the password.

Keystone's clock is the one that counts (:mod:`mfa_osc.auth.clock`): the
receipt's expiry is judged by it, and a code computed here from a secret
(``totp_secret``, a recovery code) is computed again for Keystone's time
once a refusal's ``Date`` has told how far this machine's clock is off.
Each request is the plugin's (:meth:`MultiFactor.send
<mfa_osc.auth.plugin.MultiFactor.send>`); each refusal's wording is in
:mod:`mfa_osc.auth.refusals`.

Behind mfa-osc's guard (:mod:`mfa_osc.auth.guarded`), its own refusals are
no wrong password or passcode, and no path retries them as one: a lock
ends the sign-in; a passcode used already is asked again at the prompt,
waited out for a passcode command (or a TOTP secret's code: the next
window by Keystone's clock, once) and said in one sentence for a code
given up front; the domain's policy refusing the password alone is
answered with a second factor where there is a way to one (an exempt
command goes on unscoped, which the guard lets through).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from typing import Any

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import password as v3_password
from keystoneauth1.identity.v3 import receipt as v3_receipt
from keystoneauth1.identity.v3 import totp as v3_totp

from mfa_osc import identity
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import hooks
from mfa_osc.auth import refusals
from mfa_osc.auth import sources

if TYPE_CHECKING:
    from mfa_osc.auth.plugin import MultiFactor

# NOTE: the plugin's logger: its warnings are the plugin's whichever part
# says them, under the one name a program configures.
LOG = logging.getLogger('mfa_osc.auth.plugin')

PROMPT_ATTEMPTS = refusals.PROMPT_ATTEMPTS


class ComputedTOTP(v3_totp.TOTPMethod):
    """A passcode this plugin computed from a secret (``--os-totp-secret``,
    a recovery code), which it can compute again for Keystone's time."""

    def __init__(self, *, passcode: str, secret: str, **user: Any) -> None:
        super().__init__(passcode=passcode, **user)
        self.secret = secret


class SignIn:
    """One sign-in of ``plugin`` on ``session``, from first request to
    token (or to the error that says what to do next)."""

    def __init__(
        self, plugin: MultiFactor, session: ks_session.Session
    ) -> None:
        self.plugin = plugin
        self.session = session
        self.sources = plugin.sources
        #: Prompt answers used up before the first request (the record
        #: path), counted in the tries the person has.
        self.tries_used = 0

    # -- the methods sent -------------------------------------------------

    def _send(self, methods: list[base.AuthMethod]) -> access.AccessInfoV3:
        return self.plugin.send(self.session, methods)

    def _skew(self) -> float | None:
        return self.plugin.cache.skew

    def _totp_method(self, code: str, source: str = '') -> v3_totp.TOTPMethod:
        """The TOTP method for ``code`` (which came from ``source``).

        A code computed here from a secret is computed for Keystone's time
        once that is known: this machine's clock may be minutes off.
        Passcodes typed from a phone, or printed by a passcode command,
        are as their own clocks made them.
        """
        secret = self.sources.secret_of(source)
        if secret is None:
            return v3_totp.TOTPMethod(passcode=code, **self.plugin.user())
        if self._skew() is not None:
            code = self._at_keystone_time(secret)
        return ComputedTOTP(passcode=code, secret=secret, **self.plugin.user())

    def _at_keystone_time(self, secret: str) -> str:
        code = totp.passcode(secret, clock.server_now(self._skew()))
        redact.register(code)
        return code

    def _again_at_keystone_time(
        self, method: v3_totp.TOTPMethod
    ) -> v3_totp.TOTPMethod | None:
        """After a refusal that measured the clock: ``method``'s code for
        Keystone's time, if this plugin computed it and it differs."""
        if not isinstance(method, ComputedTOTP) or self._skew() is None:
            return None
        code = self._at_keystone_time(method.secret)
        if code == method.passcode:
            return None
        return ComputedTOTP(
            passcode=code, secret=method.secret, **self.plugin.user()
        )

    def _answer_by_keystone_clock(
        self,
        needs: ksa_exc.MissingAuthMethods,
        method: v3_totp.TOTPMethod,
        recovering: str | None,
    ) -> access.AccessInfoV3 | None:
        """The password was right and a code computed here was not, by a
        clock that is off: answer the receipt with the code of Keystone's
        time (the password is not sent again). None if that is no help."""
        again = self._again_at_keystone_time(method)
        if again is None or refusals.receipt_expired_by_clock(
            needs, self._skew()
        ):
            return None
        try:
            ref = self._send(
                [v3_receipt.ReceiptMethod(receipt=needs.receipt or ''), again]
            )
        except exceptions.GuardRefusal:
            raise
        except ksa_exc.ClientException:
            return None
        self.sources.sent_recovery = recovering
        return ref

    # -- the ways through -------------------------------------------------

    def run(self) -> access.AccessInfoV3:
        """Sign in: the token, or the error that says what to do next."""
        methods = self.plugin.methods
        upfront = self.sources.upfront() if 'totp' in methods else None
        if methods == ('totp',):
            return self._totp_alone(upfront)
        if upfront is not None:
            return self._up_front(*upfront)
        if 'totp' in methods and self.plugin.cache.recorded_totp():
            first = self._passcode_first()
            if first is not None:
                return self._as_recorded(*first)
        try:
            ref = self._send([self.plugin.password_method()])
        except ksa_exc.MissingAuthMethods as needs:
            self.plugin.cache.record_totp(True)
            return self._continue(needs)
        except ksa_exc.Unauthorized as exc:
            raise refusals.password_refused(exc) from None
        except exceptions.GuardPolicyRefused as refused:
            return self._policy_refused(refused)
        self.plugin.cache.record_totp(False)
        return ref

    def _totp_alone(
        self, upfront: tuple[str, str] | None
    ) -> access.AccessInfoV3:
        """The methods are TOTP alone: the code is all that is sent."""
        if upfront is None:
            return self._finish_with_passcode(None)
        code, source = upfront
        method = self._totp_method(code, source)
        try:
            try:
                return self._send([method])
            except ksa_exc.Unauthorized:
                # NOTE: no password is sent, so trying the code of
                # Keystone's time (the refusal's Date) costs nothing.
                again = self._again_at_keystone_time(method)
                if again is None:
                    raise
            return self._send([again])
        except ksa_exc.MissingAuthMethods as needs:
            raise self._unsatisfiable(needs) from None
        except exceptions.PasscodeReplayed:
            return self._replayed_up_front([], source)
        except ksa_exc.Unauthorized as exc:
            raise self._refused(exc, source, None) from None

    def _passcode_first(self) -> tuple[str, str] | None:
        """A passcode from the command or the prompt, before any request.

        Only for a user whom Keystone asked for one before (the record
        beside the cache); None when there is no way to get one here.
        """
        if self.sources.passcode_command:
            try:
                return self.sources.command_passcode(), 'command'
            except exceptions.PasscodeCommandFailed:
                # NOTE: maybe no device any more (the record is stale): the
                # password alone tells; if Keystone asks, the command runs
                # again and its error stands.
                return None
        if not (self.sources.prompt and sources.terminal_attached()):
            return None
        self.plugin.password_method()  # NOTE: the password prompt first
        for attempt in range(PROMPT_ATTEMPTS):
            code = self.sources.prompted(attempt, blank_ok=True)
            if code == '':
                # NOTE: an empty answer: no code at hand (a device removed
                # since); the password alone first, as for anyone.
                return None
            if code is not None:
                self.tries_used = attempt + 1
                return code, 'prompt'
        return None

    def _as_recorded(self, code: str, source: str) -> access.AccessInfoV3:
        """Password and passcode in one request, as Keystone asked before.

        If the record is stale (no rules or no device any more), the
        password alone tells, with one more request, and the record is
        corrected.
        """
        password = self.plugin.password_method()
        method = self._totp_method(code, source)
        recovering = self.sources.sent_recovery
        refused: ksa_exc.Unauthorized | None = None
        try:
            return self._send([password, method])
        except ksa_exc.MissingAuthMethods as needs:
            raise self._unsatisfiable(needs) from None
        except exceptions.PasscodeReplayed:
            # NOTE: a good code, used already (by another sign-in in its
            # window): the next one, with the receipt the password earns.
            self._before_next_code(source)
        except ksa_exc.Unauthorized as exc:
            refused = exc
        try:
            ref = self._send([password])
        except ksa_exc.MissingAuthMethods as needs:
            if refused is None:
                return self._next_code(needs, source)
            fixed = self._answer_by_keystone_clock(needs, method, recovering)
            if fixed is not None:
                return fixed
            if source == 'prompt' and self.tries_used < PROMPT_ATTEMPTS:
                # NOTE: the password was right, the code was not: ask
                # again, with the receipt, for the tries left.
                sources.tell('That passcode was not accepted.')
                return self._continue(needs, self.tries_used)
            self._try_unscoped([password, method])
            raise self._refused(refused, source, True) from None
        except ksa_exc.Unauthorized as exc:
            raise refusals.password_refused(
                exc, ' (also when sent without the passcode)'
            ) from None
        except exceptions.GuardPolicyRefused as policy:
            if refused is not None and not hooks.registered.exempt:
                raise self._refused(refused, source, True) from None
            return self._policy_refused(policy)
        self.plugin.cache.record_totp(False)
        return ref

    def _up_front(self, code: str, source: str) -> access.AccessInfoV3:
        """Password and passcode in one request; the password alone if the
        passcode turns out not to be needed."""
        password = self.plugin.password_method()
        method = self._totp_method(code, source)
        recovering = self.sources.sent_recovery
        try:
            return self._send([password, method])
        except ksa_exc.MissingAuthMethods as needs:
            raise self._unsatisfiable(needs) from None
        except exceptions.PasscodeReplayed:
            return self._replayed_up_front([password], source)
        except ksa_exc.Unauthorized as exc:
            refused = exc
        # NOTE: Keystone does not say which of the two it refused, and a
        # user without a TOTP device (a shared openrc, a CI job serving
        # several accounts) must not fail for a code it does not need. The
        # password alone tells: signed in (no code needed), a receipt (the
        # password is right, the code is not) or 401 (the password is
        # wrong). One more request, on failures only.
        self.sources.sent_recovery = None
        try:
            ref = self._send([password])
        except ksa_exc.MissingAuthMethods as needs:
            # NOTE: a code computed here by a clock that is off (the
            # refusal's Date tells): the receipt, with the code of
            # Keystone's time, signs in.
            fixed = self._answer_by_keystone_clock(needs, method, recovering)
            if fixed is not None:
                return fixed
            self._try_unscoped([password, method])
            raise self._refused(refused, source, True) from None
        except ksa_exc.Unauthorized as exc:
            raise refusals.password_refused(
                exc, ' (also when sent without the passcode)'
            ) from None
        except exceptions.GuardPolicyRefused:
            # NOTE: the password is right and the policy wants a second
            # factor: the code given was not accepted, which is what to fix
            # (an exempt command goes on unscoped).
            if hooks.registered.exempt:
                return self._unscoped([password])
            raise self._refused(refused, source, True) from None
        self._not_needed(source, refusals.enabled_methods(refused))
        return ref

    def _not_needed(self, source: str, enabled: list[str] | None) -> None:
        """Say once (per plugin) that a code given up front was not used."""
        if not self.plugin.said_not_needed:
            self.plugin.said_not_needed = True
            LOG.warning(
                '%s',
                refusals.not_needed(
                    source, self.sources.given(source), enabled
                ),
            )

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
            ''
            if source in ('command', 'prompt')
            else self.sources.given(source),
            recovering=bool(self.sources.sent_recovery)
            or source == 'recovery_code',
            password_ok=password_ok,
        )

    def _continue(
        self,
        needs: ksa_exc.MissingAuthMethods,
        tries_used: int = 0,
        *,
        waited: bool = False,
    ) -> access.AccessInfoV3:
        """Answer an auth receipt with a passcode."""
        done = set(needs.methods)
        rules = needs.required_auth_methods or []
        can_finish = 'totp' in self.plugin.methods and any(
            set(rule) - done <= {'totp'} for rule in rules
        )
        if not can_finish:
            raise self._unsatisfiable(needs) from None
        return self._finish_with_passcode(needs, tries_used, waited=waited)

    def _unsatisfiable(
        self, needs: ksa_exc.MissingAuthMethods
    ) -> exceptions.UnsatisfiableRules:
        """Keystone wants methods this sign-in does not use."""
        return refusals.unsatisfiable(needs, self.plugin.methods)

    def _finish_with_passcode(
        self,
        needs: ksa_exc.MissingAuthMethods | None,
        tries_used: int = 0,
        *,
        password: v3_password.PasswordMethod | None = None,
        waited: bool = False,
    ) -> access.AccessInfoV3:
        """Get a passcode (command or prompt) and send it, with the receipt
        (or with ``password``, which Keystone accepted already).

        At the prompt, a typo or a refused code is asked again,
        :data:`PROMPT_ATTEMPTS` tries in all (``tries_used`` of them before
        the receipt), and a recovery code is taken as well as a passcode.
        A passcode the MFA guard says was used already is asked again at
        the prompt; from the passcode command, the next 30-second window is
        waited for (by Keystone's clock) and the command run again, once
        (``waited``: done already).
        """
        attempt = tries_used
        while attempt < PROMPT_ATTEMPTS:
            last = attempt + 1 == PROMPT_ATTEMPTS
            if self.sources.passcode_command:
                origin = 'command'
                code = self.sources.command_passcode()
            else:
                origin = 'prompt'
                typed = self.sources.prompted(attempt)
                if typed is None:
                    attempt += 1
                    continue
                code = typed
            sent: list[base.AuthMethod] = []
            if needs is not None:
                # NOTE: by Keystone's clock (the receipt's answer measured
                # it): a machine clock minutes fast must not end a sign-in
                # Keystone would accept.
                if refusals.receipt_expired_by_clock(needs, self._skew()):
                    raise refusals.receipt_expired()
                sent.append(
                    v3_receipt.ReceiptMethod(receipt=needs.receipt or '')
                )
            elif password is not None:
                sent.append(password)
            sent.append(self._totp_method(code, origin))
            try:
                return self._send(sent)
            except ksa_exc.MissingAuthMethods as more:
                raise self._unsatisfiable(more) from None
            except exceptions.PasscodeReplayed:
                if origin == 'command' and not waited:
                    waited = True
                    guarded.wait_for_next_window(self._skew())
                    continue
                if origin == 'command' or last:
                    raise guarded.replayed_again(origin) from None
                sources.tell(guarded.REPLAYED_AT_PROMPT)
                attempt += 1
                continue
            except ksa_exc.Unauthorized as exc:
                if needs is not None and refusals.receipt_expired_by_clock(
                    needs, self._skew()
                ):
                    raise refusals.receipt_expired() from None
                self._try_unscoped(sent)
                error = self._refused(
                    exc,
                    origin,
                    None if needs is None and password is None else True,
                )
            if (
                origin != 'prompt'
                or last
                or not isinstance(error, exceptions.PasscodeRejected)
            ):
                raise error
            what = (
                'recovery code' if self.sources.sent_recovery else 'passcode'
            )
            sources.tell(
                f'That {what} was not accepted; enter the current code, or a '
                'recovery code.' + error.hint
            )
            attempt += 1
        raise AssertionError('unreachable')

    # -- the MFA guard's answers (mfa_osc.auth.guarded) ---------------------

    def _replayed_up_front(
        self, lead: list[base.AuthMethod], source: str
    ) -> access.AccessInfoV3:
        """A passcode given up front signed in already: a TOTP secret's is
        computed again for the next window (once); any other cannot be
        read again, and the error says to give the next one."""
        secret = (
            self.sources.secret_of(source) if source == 'totp_secret' else None
        )
        if secret is None:
            raise guarded.replayed_fixed(
                self.sources.given(source),
                recovering=bool(self.sources.sent_recovery)
                or source == 'recovery_code',
            )
        guarded.wait_for_next_window(self._skew())
        again = ComputedTOTP(
            passcode=self._at_keystone_time(secret),
            secret=secret,
            **self.plugin.user(),
        )
        try:
            return self._send([*lead, again])
        except exceptions.PasscodeReplayed:
            raise guarded.replayed_again(
                source, self.sources.given(source)
            ) from None
        except ksa_exc.Unauthorized as exc:
            raise self._refused(exc, source, None) from None

    def _before_next_code(self, source: str) -> None:
        """A code from the command or the prompt signed in already: say so
        (and, for the command, wait for its next window)."""
        if source == 'command':
            guarded.wait_for_next_window(self._skew())
        else:
            sources.tell(guarded.REPLAYED_AT_PROMPT)

    def _next_code(
        self, needs: ksa_exc.MissingAuthMethods, source: str
    ) -> access.AccessInfoV3:
        """The receipt, answered with the code after a used one."""
        if source == 'command':
            return self._continue(needs, waited=True)
        if self.tries_used >= PROMPT_ATTEMPTS:
            raise guarded.replayed_again(source)
        return self._continue(needs, self.tries_used)

    def _unscoped(self, sent: list[base.AuthMethod]) -> access.AccessInfoV3:
        """The same methods, sent unscoped (which the guard's policy lets
        through: it is what setting a device up needs)."""
        with self.plugin.without_scope():
            return self._send(sent)

    def _policy_refused(
        self, refused: exceptions.GuardPolicyRefused
    ) -> access.AccessInfoV3:
        """The guard refused a token of the password alone: the domain's
        policy wants a second factor.

        An exempt command (``mfa enroll``, ``mfa status``) goes on with an
        unscoped token; else a passcode from the command signs in with the
        password; on a terminal with the set-up registered, a user without
        a device (read with an unscoped token, which the guard lets
        through) is offered it, as the plugin's own check does; a user
        with one, or without the set-up, is asked for a passcode at the
        prompt; elsewhere :class:`~mfa_osc.auth.policy.PolicyRequired`.
        """
        # NOTE: imported here: only a refused sign-in needs it.
        from mfa_osc.auth import policy as mfa_policy

        password = self.plugin.password_method()
        if hooks.registered.exempt:
            return self._unscoped([password])
        if self.sources.passcode_command:
            ref = self._finish_with_passcode(None, password=password)
            self.plugin.cache.record_totp(True)
            return ref
        on_terminal = sources.terminal_attached()
        since = f' since {refused.deadline}' if refused.deadline else ''
        if on_terminal and hooks.registered.enroll is not None:
            unscoped = self._unscoped([password])
            auth_url = self.plugin.auth_url
            if not mfa_policy.has_device(self.session, unscoped, auth_url):
                code = mfa_policy.offer_set_up(
                    self.session,
                    unscoped,
                    auth_url,
                    offer=f"Your domain's policy requires MFA{since}",
                    refusal=mfa_policy.PolicyRequired(str(refused)),
                )
                return self.with_new_device(code)
        if not (self.sources.prompt and on_terminal):
            raise mfa_policy.PolicyRequired(str(refused)) from None
        sources.tell(
            f"Your domain's policy requires MFA{since}: enter a passcode of "
            'your device.'
        )
        ref = self._finish_with_passcode(None, password=password)
        self.plugin.cache.record_totp(True)
        return ref

    def with_new_device(self, code: str) -> access.AccessInfoV3:
        """Sign in again with the password and ``code``, a current passcode
        of the device set up just now (the policy's set-up at sign-in)."""
        redact.register(code)
        self.plugin.cache.record_totp(True)
        password = self.plugin.password_method()
        try:
            return self._send(
                [
                    password,
                    v3_totp.TOTPMethod(passcode=code, **self.plugin.user()),
                ]
            )
        except exceptions.PasscodeReplayed:
            # NOTE: the set-up's own check signs in with the code when the
            # account has no MFA rules yet (a user who may not set their
            # own): the guard then counts it used. The next one, typed.
            sources.tell(guarded.REPLAYED_AT_PROMPT)
            return self._finish_with_passcode(None, password=password)

    def _try_unscoped(self, sent: list[base.AuthMethod]) -> None:
        """After a refused scoped sign-in: was it the scope, not the code?

        Keystone answers 401 alike for a wrong passcode and for a project
        the user has no role on (or that does not exist). The same methods
        sent unscoped tell, with one more request on that failure only: if
        they sign in, the token is kept (the next command rescopes it, no
        passcode) and the error says what is wrong.
        """
        plugin = self.plugin
        if not plugin.scoped_request():
            return
        with plugin.without_scope():
            try:
                ref = self._send(sent)
            except exceptions.GuardRefusal:
                raise
            except ksa_exc.ClientException:
                return
            key = plugin.scope_key()
        if 'totp' in identity.token_methods(
            ref._data if isinstance(ref._data, dict) else None
        ):
            plugin.cache.remember(ref, key)
        raise plugin.no_role(ref)
