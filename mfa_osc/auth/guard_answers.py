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

"""What a sign-in does with the refusals of mfa-osc's guard.

:mod:`mfa_osc.auth.guarded` reads the guard's answers and words them;
here a sign-in answers them. A passcode used already is asked again at
the prompt, waited out for a passcode command (or a TOTP secret's code:
the next window by Keystone's clock, once) and said in one sentence for
a code given up front. The domain's policy refusing the password alone
is answered with a second factor where there is a way to one: an exempt
command goes on unscoped (which the guard lets through), a passcode
command or the prompt signs in with the password, and a user without a
device is offered the set-up and signed in again with its first code
(:func:`mfa_osc.auth.receipt.with_new_device`).
A lock ends the sign-in (no path here retries it).
"""

from __future__ import annotations

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1.identity.v3 import base

from mfa_osc.auth import attempt
from mfa_osc.auth import exceptions
from mfa_osc.auth import guarded
from mfa_osc.auth import hooks
from mfa_osc.auth import receipt
from mfa_osc.auth import refusals
from mfa_osc.auth import sources


def replayed_up_front(
    at: attempt.Attempt, lead: list[base.AuthMethod], source: str
) -> access.AccessInfoV3:
    """A passcode given up front signed in already: a TOTP secret's is
    computed again for the next window (once), sent after ``lead``; any
    other cannot be read again, and the error says to give the next one."""
    secret = at.sources.secret_of(source) if source == 'totp_secret' else None
    if secret is None:
        raise guarded.replayed_fixed(
            at.sources.given(source),
            recovering=bool(at.sources.sent_recovery)
            or source == 'recovery_code',
        )
    guarded.wait_for_next_window(at.skew())
    again = attempt.ComputedTOTP(
        passcode=at.at_keystone_time(secret),
        secret=secret,
        **at.plugin.user(),
    )
    try:
        return at.send([*lead, again])
    except exceptions.PasscodeReplayed:
        raise guarded.replayed_again(
            source, at.sources.given(source)
        ) from None
    except ksa_exc.Unauthorized as exc:
        raise at.refused(exc, source, None) from None


def before_next_code(at: attempt.Attempt, source: str) -> None:
    """A code from the command or the prompt signed in already: say so
    (and, for the command, wait for its next window)."""
    if source == 'command':
        guarded.wait_for_next_window(at.skew())
    else:
        sources.tell(guarded.REPLAYED_AT_PROMPT)


def next_code(
    at: attempt.Attempt, needs: ksa_exc.MissingAuthMethods, source: str
) -> access.AccessInfoV3:
    """The receipt, answered with the code after a used one."""
    if source == 'command':
        return receipt.answer(at, needs, waited=True)
    if at.tries_used >= refusals.PROMPT_ATTEMPTS:
        raise guarded.replayed_again(source)
    return receipt.answer(at, needs, at.tries_used)


def policy_refused(
    at: attempt.Attempt, refused: exceptions.GuardPolicyRefused
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

    password = at.plugin.password_method()
    if hooks.registered.exempt:
        return at.unscoped([password])
    if at.sources.passcode_command:
        ref = receipt.with_passcode(at, None, password=password)
        at.plugin.cache.record_totp(True)
        return ref
    on_terminal = sources.terminal_attached()
    since = f' since {refused.deadline}' if refused.deadline else ''
    if on_terminal and hooks.registered.enroll is not None:
        unscoped = at.unscoped([password])
        auth_url = at.plugin.auth_url
        if not mfa_policy.has_device(at.session, unscoped, auth_url):
            code = mfa_policy.offer_set_up(
                at.session,
                unscoped,
                auth_url,
                offer=f"Your domain's policy requires MFA{since}",
                refusal=mfa_policy.PolicyRequired(str(refused)),
            )
            return receipt.with_new_device(at, code)
    if not (at.sources.prompt and on_terminal):
        raise mfa_policy.PolicyRequired(str(refused)) from None
    sources.tell(
        f"Your domain's policy requires MFA{since}: enter a passcode of "
        'your device.'
    )
    ref = receipt.with_passcode(at, None, password=password)
    at.plugin.cache.record_totp(True)
    return ref
