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
<mfa_osc.auth.plugin.MultiFactor.send>`), through the sign-in's
:class:`~mfa_osc.auth.attempt.Attempt`; each refusal's wording is in
:mod:`mfa_osc.auth.refusals`. Here is the first request and the paths
with a code sent beside the password; a receipt is answered in
:mod:`mfa_osc.auth.receipt`.

Behind mfa-osc's guard (:mod:`mfa_osc.auth.guarded`), its own refusals are
no wrong password or passcode, and no path retries them as one: each is
answered in :mod:`mfa_osc.auth.guard_answers`.
"""

from __future__ import annotations

import logging

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1.identity.v3 import password as v3_password
from keystoneauth1.identity.v3 import totp as v3_totp

from mfa_osc.auth import attempt
from mfa_osc.auth import exceptions
from mfa_osc.auth import guard_answers
from mfa_osc.auth import hooks
from mfa_osc.auth import receipt
from mfa_osc.auth import refusals
from mfa_osc.auth import sources

# NOTE: the plugin's logger: its warnings are the plugin's whichever part
# says them, under the one name a program configures.
LOG = logging.getLogger('mfa_osc.auth.plugin')

PROMPT_ATTEMPTS = refusals.PROMPT_ATTEMPTS


def run(at: attempt.Attempt) -> access.AccessInfoV3:
    """Sign in: the token, or the error that says what to do next."""
    methods = at.plugin.methods
    upfront = at.sources.upfront() if 'totp' in methods else None
    if methods == ('totp',):
        return _totp_alone(at, upfront)
    if upfront is not None:
        return _up_front(at, *upfront)
    if 'totp' in methods and at.plugin.cache.recorded_totp():
        first = _passcode_first(at)
        if first is not None:
            return _as_recorded(at, *first)
    try:
        ref = at.send([at.plugin.password_method()])
    except ksa_exc.MissingAuthMethods as needs:
        at.plugin.cache.record_totp(True)
        return receipt.answer(at, needs)
    except ksa_exc.Unauthorized as exc:
        raise refusals.password_refused(exc) from None
    except exceptions.GuardPolicyRefused as refused:
        return guard_answers.policy_refused(at, refused)
    at.plugin.cache.record_totp(False)
    return ref


def _totp_alone(
    at: attempt.Attempt, upfront: tuple[str, str] | None
) -> access.AccessInfoV3:
    """The methods are TOTP alone: the code is all that is sent."""
    if upfront is None:
        return receipt.with_passcode(at, None)
    code, source = upfront
    method = at.totp_method(code, source)
    try:
        try:
            return at.send([method])
        except ksa_exc.Unauthorized:
            # NOTE: no password is sent, so trying the code of
            # Keystone's time (the refusal's Date) costs nothing.
            again = at.again_at_keystone_time(method)
            if again is None:
                raise
        return at.send([again])
    except ksa_exc.MissingAuthMethods as needs:
        raise at.unsatisfiable(needs) from None
    except exceptions.PasscodeReplayed:
        return guard_answers.replayed_up_front(at, [], source)
    except ksa_exc.Unauthorized as exc:
        raise at.refused(exc, source, None) from None


def _passcode_first(at: attempt.Attempt) -> tuple[str, str] | None:
    """A passcode from the command or the prompt, before any request.

    Only for a user whom Keystone asked for one before (the record
    beside the cache); None when there is no way to get one here.
    """
    if at.sources.passcode_command:
        try:
            return at.sources.command_passcode(), 'command'
        except exceptions.PasscodeCommandFailed:
            # NOTE: maybe no device any more (the record is stale): the
            # password alone tells; if Keystone asks, the command runs
            # again and its error stands.
            return None
    if not (at.sources.prompt and sources.terminal_attached()):
        return None
    at.plugin.password_method()  # NOTE: the password prompt first
    for tried in range(PROMPT_ATTEMPTS):
        code = at.sources.prompted(tried, blank_ok=True)
        if code == '':
            # NOTE: an empty answer: no code at hand (a device removed
            # since); the password alone first, as for anyone.
            return None
        if code is not None:
            at.tries_used = tried + 1
            return code, 'prompt'
    return None


def _as_recorded(
    at: attempt.Attempt, code: str, source: str
) -> access.AccessInfoV3:
    """Password and passcode in one request, as Keystone asked before.

    If the record is stale (no rules or no device any more), the
    password alone tells, with one more request, and the record is
    corrected.
    """
    password = at.plugin.password_method()
    method = at.totp_method(code, source)
    recovering = at.sources.sent_recovery
    refused: ksa_exc.Unauthorized | None = None
    try:
        return at.send([password, method])
    except ksa_exc.MissingAuthMethods as needs:
        raise at.unsatisfiable(needs) from None
    except exceptions.PasscodeReplayed:
        # NOTE: a good code, used already (by another sign-in in its
        # window): the next one, with the receipt the password earns.
        guard_answers.before_next_code(at, source)
    except ksa_exc.Unauthorized as exc:
        refused = exc
    return _recorded_password_alone(
        at, password, method, source, recovering, refused
    )


def _recorded_password_alone(
    at: attempt.Attempt,
    password: v3_password.PasswordMethod,
    method: v3_totp.TOTPMethod,
    source: str,
    recovering: str | None,
    refused: ksa_exc.Unauthorized | None,
) -> access.AccessInfoV3:
    """The password alone, after the recorded path's code (from
    ``source``; ``recovering``: the recovery code it was) was refused
    (``refused``) or used already (None)."""
    try:
        ref = at.send([password])
    except ksa_exc.MissingAuthMethods as needs:
        if refused is None:
            return guard_answers.next_code(at, needs, source)
        fixed = at.answer_by_keystone_clock(needs, method, recovering)
        if fixed is not None:
            return fixed
        if source == 'prompt' and at.tries_used < PROMPT_ATTEMPTS:
            # NOTE: the password was right, the code was not: ask
            # again, with the receipt, for the tries left.
            sources.tell('That passcode was not accepted.')
            return receipt.answer(at, needs, at.tries_used)
        at.try_unscoped([password, method])
        raise at.refused(refused, source, True) from None
    except ksa_exc.Unauthorized as exc:
        raise refusals.password_refused(
            exc, ' (also when sent without the passcode)'
        ) from None
    except exceptions.GuardPolicyRefused as policy:
        if refused is not None and not hooks.registered.exempt:
            raise at.refused(refused, source, True) from None
        return guard_answers.policy_refused(at, policy)
    at.plugin.cache.record_totp(False)
    return ref


def _up_front(
    at: attempt.Attempt, code: str, source: str
) -> access.AccessInfoV3:
    """Password and passcode in one request; the password alone if the
    passcode turns out not to be needed."""
    password = at.plugin.password_method()
    method = at.totp_method(code, source)
    recovering = at.sources.sent_recovery
    try:
        return at.send([password, method])
    except ksa_exc.MissingAuthMethods as needs:
        raise at.unsatisfiable(needs) from None
    except exceptions.PasscodeReplayed:
        return guard_answers.replayed_up_front(at, [password], source)
    except ksa_exc.Unauthorized as exc:
        refused = exc
    # NOTE: Keystone does not say which of the two it refused, and a
    # user without a TOTP device (a shared openrc, a CI job serving
    # several accounts) must not fail for a code it does not need. The
    # password alone tells: signed in (no code needed), a receipt (the
    # password is right, the code is not) or 401 (the password is
    # wrong). One more request, on failures only.
    at.sources.sent_recovery = None
    try:
        ref = at.send([password])
    except ksa_exc.MissingAuthMethods as needs:
        # NOTE: a code computed here by a clock that is off (the
        # refusal's Date tells): the receipt, with the code of
        # Keystone's time, signs in.
        fixed = at.answer_by_keystone_clock(needs, method, recovering)
        if fixed is not None:
            return fixed
        at.try_unscoped([password, method])
        raise at.refused(refused, source, True) from None
    except ksa_exc.Unauthorized as exc:
        raise refusals.password_refused(
            exc, ' (also when sent without the passcode)'
        ) from None
    except exceptions.GuardPolicyRefused:
        # NOTE: the password is right and the policy wants a second
        # factor: the code given was not accepted, which is what to fix
        # (an exempt command goes on unscoped).
        if hooks.registered.exempt:
            return at.unscoped([password])
        raise at.refused(refused, source, True) from None
    _not_needed(at, source, refusals.enabled_methods(refused))
    return ref


def _not_needed(
    at: attempt.Attempt, source: str, enabled: list[str] | None
) -> None:
    """Say once (per plugin) that a code given up front was not used."""
    if not at.plugin.said_not_needed:
        at.plugin.said_not_needed = True
        LOG.warning(
            '%s',
            refusals.not_needed(source, at.sources.given(source), enabled),
        )
