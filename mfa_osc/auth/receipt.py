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

"""A passcode asked for once Keystone wants one, and sent.

Keystone's auth receipt (a 401 to the password alone, for a user whose
rules want TOTP) is answered with a passcode from the passcode command
or the prompt, without the password again (:func:`answer`). Where the
password was accepted already (the MFA guard refusing it alone for the
domain's policy) the passcode goes with it (:func:`with_passcode`), and
so does the first code of a device set up at sign-in
(:func:`with_new_device`). At the prompt a typo or a refused code is
asked again, :data:`~mfa_osc.auth.refusals.PROMPT_ATTEMPTS` tries in
all; a passcode the guard says was used already is asked again at the
prompt, and for the passcode command the next 30-second window is
waited for (by Keystone's clock) and the command run again, once.
"""

from __future__ import annotations

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import password as v3_password
from keystoneauth1.identity.v3 import receipt as v3_receipt
from keystoneauth1.identity.v3 import totp as v3_totp

from mfa_osc import redact
from mfa_osc.auth import attempt
from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import refusals
from mfa_osc.auth import sources

PROMPT_ATTEMPTS = refusals.PROMPT_ATTEMPTS


def answer(
    at: attempt.Attempt,
    needs: ksa_exc.MissingAuthMethods,
    tries_used: int = 0,
    *,
    waited: bool = False,
) -> access.AccessInfoV3:
    """Answer an auth receipt with a passcode."""
    done = set(needs.methods)
    rules = needs.required_auth_methods or []
    can_finish = 'totp' in at.plugin.methods and any(
        set(rule) - done <= {'totp'} for rule in rules
    )
    if not can_finish:
        raise at.unsatisfiable(needs) from None
    return with_passcode(at, needs, tries_used, waited=waited)


def with_passcode(
    at: attempt.Attempt,
    needs: ksa_exc.MissingAuthMethods | None,
    tries_used: int = 0,
    *,
    password: v3_password.PasswordMethod | None = None,
    waited: bool = False,
) -> access.AccessInfoV3:
    """Get a passcode (command or prompt) and send it, with the receipt
    ``needs`` (or with ``password``, which Keystone accepted already).

    ``tries_used``: the prompt's tries used before the receipt;
    ``waited``: the next window was waited for already.
    """
    return _Passcodes(at, needs, tries_used, password, waited).send()


def with_new_device(at: attempt.Attempt, code: str) -> access.AccessInfoV3:
    """Sign in again with the password and ``code``, a current passcode
    of the device set up just now (the policy's set-up at sign-in, the
    plugin's own check's or the guard's refusal's); a passcode used
    already is asked again (at the prompt, or the passcode command's)
    with the password."""
    redact.register(code)
    at.plugin.cache.record_totp(True)
    password = at.plugin.password_method()
    try:
        return at.send(
            [
                password,
                v3_totp.TOTPMethod(passcode=code, **at.plugin.user()),
            ]
        )
    except exceptions.PasscodeReplayed:
        # NOTE: the set-up's own check signs in with the code when the
        # account has no MFA rules yet (a user who may not set their
        # own): the guard then counts it used. The next one, typed.
        sources.tell(guarded.REPLAYED_AT_PROMPT)
        return with_passcode(at, None, password=password)


class _Passcodes:
    """The tries of one :func:`with_passcode`."""

    def __init__(
        self,
        at: attempt.Attempt,
        needs: ksa_exc.MissingAuthMethods | None,
        tries_used: int,
        password: v3_password.PasswordMethod | None,
        waited: bool,
    ) -> None:
        self.at = at
        self.needs = needs
        self.password = password
        self.waited = waited
        #: The prompt's try under way (0 is the first).
        self.attempt = tries_used

    @property
    def last(self) -> bool:
        return self.attempt + 1 == PROMPT_ATTEMPTS

    def send(self) -> access.AccessInfoV3:
        while self.attempt < PROMPT_ATTEMPTS:
            got = self._passcode()
            if got is None:
                self.attempt += 1
                continue
            origin, code = got
            sent = self._methods(code, origin)
            try:
                return self.at.send(sent)
            except ksa_exc.MissingAuthMethods as more:
                raise self.at.unsatisfiable(more) from None
            except exceptions.PasscodeReplayed:
                self._replayed(origin)
                continue
            except ksa_exc.Unauthorized as exc:
                error = self._refused(exc, sent, origin)
            self._ask_again(error, origin)
        raise AssertionError('unreachable')

    def _passcode(self) -> tuple[str, str] | None:
        """Where the code comes from and the code; None for a prompt
        answer that is no code (the prompt said so)."""
        given = self.at.sources
        if given.passcode_command:
            return 'command', given.command_passcode()
        typed = given.prompted(self.attempt)
        if typed is None:
            return None
        return 'prompt', typed

    def _methods(self, code: str, origin: str) -> list[base.AuthMethod]:
        """The receipt (or the password) and the code."""
        sent: list[base.AuthMethod] = []
        if self.needs is not None:
            # NOTE: by Keystone's clock (the receipt's answer measured
            # it): a machine clock minutes fast must not end a sign-in
            # Keystone would accept.
            if refusals.receipt_expired_by_clock(self.needs, self.at.skew()):
                raise refusals.receipt_expired()
            sent.append(
                v3_receipt.ReceiptMethod(receipt=self.needs.receipt or '')
            )
        elif self.password is not None:
            sent.append(self.password)
        sent.append(self.at.totp_method(code, origin))
        return sent

    def _replayed(self, origin: str) -> None:
        """The guard says the code signed in already: the command's next
        window (once), or the prompt's next try; else the error."""
        if origin == 'command' and not self.waited:
            self.waited = True
            guarded.wait_for_next_window(self.at.skew())
            return
        if origin == 'command' or self.last:
            raise guarded.replayed_again(origin) from None
        sources.tell(guarded.REPLAYED_AT_PROMPT)
        self.attempt += 1

    def _refused(
        self,
        exc: ksa_exc.Unauthorized,
        sent: list[base.AuthMethod],
        origin: str,
    ) -> exceptions.MFAError:
        """The error for a refused code (an expired receipt's, a missing
        role's, raised here)."""
        if self.needs is not None and refusals.receipt_expired_by_clock(
            self.needs, self.at.skew()
        ):
            raise refusals.receipt_expired() from None
        self.at.try_unscoped(sent)
        return self.at.refused(
            exc,
            origin,
            None if self.needs is None and self.password is None else True,
        )

    def _ask_again(self, error: exceptions.MFAError, origin: str) -> None:
        """A wrong code at the prompt with tries left is asked again;
        else ``error`` is raised."""
        if (
            origin != 'prompt'
            or self.last
            or not isinstance(error, exceptions.PasscodeRejected)
        ):
            raise error
        what = 'recovery code' if self.at.sources.sent_recovery else 'passcode'
        sources.tell(
            f'That {what} was not accepted; enter the current code, or a '
            'recovery code.' + error.hint
        )
        self.attempt += 1
