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

"""Where the ``v3multifactor`` plugin's passcode comes from.

:class:`PasscodeSources` is a part the plugin holds (``plugin.sources``).
In the plugin's order: a recovery code, a passcode or a TOTP secret given
up front; then, only once Keystone has asked for a code (or an earlier
sign-in recorded that it does), the passcode command or the ``Passcode:``
prompt, which also takes a recovery code and forgives a typo
(:data:`refusals.PROMPT_ATTEMPTS` tries). Every value read is registered
with :mod:`mfa_osc.redact` before anything else is done with it. Where
each is read from is in :mod:`mfa_osc.auth.sources`.
"""

from __future__ import annotations

from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.auth import exceptions
from mfa_osc.auth import options as auth_options
from mfa_osc.auth import refusals
from mfa_osc.auth import sources


class PasscodeSources:
    """Read the passcode from the source the user gave."""

    def __init__(
        self,
        *,
        passcode: str | None = None,
        totp_secret: str | None = None,
        passcode_command: str | None = None,
        recovery_code: str | None = None,
        prompt: bool = True,
    ) -> None:
        self.passcode = passcode
        self.totp_secret = totp_secret
        self.passcode_command = passcode_command
        self.recovery_code = recovery_code
        #: Whether the plugin may prompt on a terminal (for the password
        #: too).
        self.prompt = prompt
        #: The (bare) recovery code the passcode in flight was computed
        #: from, used up once the sign-in succeeds.
        self.sent_recovery: str | None = None

    def secret_of(self, source: str) -> str | None:
        """The secret the code from ``source`` was computed from, if any
        (a TOTP secret or a recovery code): such a code can be computed
        again for Keystone's time."""
        if self.sent_recovery and source in ('recovery_code', 'prompt'):
            return recovery.secret(self.sent_recovery)
        if source == 'totp_secret' and self.totp_secret:
            return totp.normalize_secret(self.totp_secret)
        return None

    def used_up(self) -> None:
        """The recovery code signed in with is used up: never sent again."""
        self.recovery_code = self.sent_recovery = None

    def given(self, source: str) -> str:
        """Where an option came from (``OS_PASSCODE``...), for messages."""
        return auth_options.given_as(source, getattr(self, source, None))

    def upfront(self) -> tuple[str, str] | None:
        """The passcode given up front, and the option it came from."""
        if self.recovery_code:
            try:
                bare = recovery.normalize(self.recovery_code)
            except recovery.InvalidRecoveryCode as exc:
                raise exceptions.PasscodeFormatError(
                    f'{exc} It came from {self.given("recovery_code")}.'
                ) from None
            self.sent_recovery = bare
            return recovery.passcode(bare), 'recovery_code'
        if self.passcode:
            try:
                return self._checked(self.passcode), 'passcode'
            except exceptions.PasscodeFormatError as exc:
                raise exceptions.PasscodeFormatError(
                    f'{exc} It came from {self.given("passcode")}.'
                ) from None
        if self.totp_secret:
            try:
                secret = totp.normalize_secret(self.totp_secret)
            except totp.InvalidSecret as exc:
                raise exceptions.SecretFormatError(
                    f'{exc} It came from {self.given("totp_secret")}.'
                ) from None
            code = totp.passcode(secret)
            redact.register(code)
            return code, 'totp_secret'
        return None

    def command_passcode(self) -> str:
        command = str(self.passcode_command)
        given = self.given('passcode_command')
        printed = sources.run_command(command, given)
        redact.register(printed)
        try:
            return self._checked(printed)
        except exceptions.PasscodeFormatError:
            program = (command.split() or [command])[0]
            raise exceptions.PasscodeCommandFailed(
                f'The passcode command {program!r} did not print a 6-digit '
                'passcode as the last word of its last line; run it by hand '
                f'to see what it prints, and check {given}.'
            ) from None

    def _ask(self, attempt: int) -> str:
        """An answer typed at the ``Passcode:`` prompt."""
        answer = None
        if self.prompt:
            text = 'Passcode: ' if attempt == 0 else 'Passcode (try again): '
            answer = sources.prompt(text)
            if answer is None and sources.terminal_attached():
                sources.tell('')  # NOTE: end the prompt's line
                raise exceptions.PromptCancelled(
                    'No passcode entered: the prompt was closed (Ctrl-D), so '
                    'the sign-in stopped. Run the command again and type '
                    'the current 6-digit code, or one of your recovery codes.'
                )
        if answer is None:
            raise exceptions.NoPasscodeSource(
                'This account needs a TOTP passcode and none was given: '
                + auth_options.passcode_sources_help()
                + '.'
            )
        return answer

    def prompted(self, attempt: int, blank_ok: bool = False) -> str | None:
        """The passcode typed at try ``attempt``; None after a typo.

        A typo (not 6 digits, not a recovery code) is said on the terminal
        and uses up the try; on the last try it ends the sign-in. With
        ``blank_ok``, an empty answer is '' (no code at hand).
        """
        answer = self._ask(attempt)
        if blank_ok and not answer.strip():
            return ''
        try:
            return self._typed(answer)
        except exceptions.PasscodeFormatError as exc:
            if attempt + 1 == refusals.PROMPT_ATTEMPTS:
                raise exceptions.PasscodeFormatError(
                    f'{exc} ({refusals.PROMPT_ATTEMPTS} tries used; run the '
                    'command again.)'
                ) from None
            sources.tell(f'{exc} You may also type a recovery code.')
            return None

    def _typed(self, answer: str) -> str:
        """The passcode of a prompt answer: a code, or a recovery code."""
        redact.register(answer)
        self.sent_recovery = None
        if recovery.looks_like(answer):
            try:
                bare = recovery.normalize(answer)
            except recovery.InvalidRecoveryCode as exc:
                raise exceptions.PasscodeFormatError(str(exc)) from None
            self.sent_recovery = bare
            return recovery.passcode(bare)
        return self._checked(answer)

    @staticmethod
    def _checked(code: str) -> str:
        redact.register(code)
        try:
            clean = totp.normalize_passcode(code)
        except totp.InvalidPasscode as exc:
            raise exceptions.PasscodeFormatError(str(exc)) from None
        redact.register(clean)
        return clean
