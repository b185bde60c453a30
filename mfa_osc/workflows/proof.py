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

"""Proof that the signed-in user holds a device: a passcode or a code."""

from __future__ import annotations

from collections.abc import Callable

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.workflows import errors


def when_due(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    *,
    is_self: bool,
    has_device: bool,
    fresh: bool,
    given: str | None,
    ask: Callable[[], str],
) -> str | None:
    """The proof rule of a command that weakens one's own account.

    A command on yourself, when the account has a device, asks for fresh
    proof (a passcode or a recovery code) unless this very command's
    sign-in took a code Keystone accepted (``fresh``). NOTE: a cached
    token proves nothing about the person at the keyboard now (it may be
    an hour old); a code that just signed in does, and asking again adds
    nothing. A code ``given`` on the command line is checked (a recovery
    code used up) even then. An administrator acting on another user's
    account is not asked: Keystone's policy already decides that.

    ``ask`` obtains the proof when none was given (a prompt, or an error
    that says how to give one). Returns what :func:`verify` returns, or
    None when no proof was due.
    """
    if not (is_self and has_device and (given or not fresh)):
        return None
    return verify(client, account, given or ask(), fresh=fresh)


def verify(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    proof: str,
    *,
    fresh: bool = False,
) -> str | None:
    """Check a passcode or a recovery code against Keystone.

    Uses the session's token plus the passcode (methods ``token`` and
    ``totp``). Returns the id of the recovery-code credential used (the
    caller deletes it) or None for a device passcode.

    Behind Keystone's MFA guard a passcode signs in once: a passcode this
    very command's sign-in took (``fresh``: the same code given to both,
    or printed by the passcode command again) is refused as used. That
    sign-in is the proof then; otherwise the refusal says to give the
    next code.
    """
    redact.register(proof)
    if recovery.looks_like(proof):
        code = recovery.normalize(proof)
        matches = recovery.matching(
            code, account.totp, exclude=account.book.devices
        )
        if not matches:
            raise errors.PasscodeRefused(
                'That recovery code is not valid for this account (each '
                'code works once); use another code or a current passcode.'
            )
        if not client.check_totp_with_token(
            account.user_id, recovery.passcode(code)
        ):
            raise errors.PasscodeRefused(
                'Keystone refused the recovery code.'
                + errors.clock_hint(client)
            )
        return matches[0]
    try:
        passcode = totp.normalize_passcode(proof)
    except totp.InvalidPasscode as exc:
        raise errors.PasscodeRefused(str(exc)) from exc
    try:
        accepted = client.check_totp_with_token(account.user_id, passcode)
    except mfa_client.PasscodeUsed as exc:
        if fresh:
            # NOTE: a code Keystone accepted moments ago for this command's
            # own sign-in: the person holds the device.
            return None
        raise errors.PasscodeRefused(str(exc)) from None
    if not accepted:
        raise errors.PasscodeRefused(
            'Keystone refused the passcode; use the current code of one of '
            'your devices, or a recovery code.' + errors.clock_hint(client)
        )
    return None
