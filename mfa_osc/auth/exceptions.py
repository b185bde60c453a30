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

"""Errors the auth plugin raises.

Each is a keystoneauth ``AuthorizationFailure``, so OSC, openstacksdk and
any keystoneauth caller treat them as a failed sign-in and print the message
alone. Every message says what went wrong and what to do next, and none
holds a password, passcode, secret or token.
"""

from __future__ import annotations

from keystoneauth1 import exceptions


class MFAError(exceptions.AuthorizationFailure):
    """Base class of mfa-osc sign-in errors."""


class PasscodeFormatError(MFAError):
    """A passcode that is not 6 digits, caught before any request."""


class SecretFormatError(MFAError):
    """A TOTP secret that is not base32, caught before any request."""


class NoPasscodeSource(MFAError):
    """Keystone wants a passcode and there is no way to get one."""


class NoPassword(MFAError):
    """Keystone wants a password and there is no way to get one."""


class PromptCancelled(MFAError):
    """The person closed the prompt (Ctrl-D) without an answer."""


class PasswordRejected(MFAError, exceptions.Unauthorized):
    """Keystone refused the password.

    Also a keystoneauth ``Unauthorized`` (HTTP 401), as the in-tree
    ``v3password`` raises, so that callers that catch that keep working.
    """


class PasscodeCommandFailed(MFAError):
    """The passcode command failed or printed no passcode."""


class _Refused(MFAError, exceptions.Unauthorized):
    """A refusal that is also keystoneauth's ``Unauthorized`` (HTTP 401),
    as the in-tree plugins raise, its message kept as it is written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # NOTE: HttpError adds " (HTTP 401)"; the message says more.
        self.message = message
        self.args = (message,)


class PasscodeRejected(_Refused):
    """Keystone refused the passcode (or, in one request, the password).

    Also a keystoneauth ``Unauthorized``, as the in-tree
    ``v3multifactor`` raises for a refused passcode.
    """

    def __init__(self, message: str, hint: str = '') -> None:
        super().__init__(message)
        #: A sentence about this machine's clock, or ''.
        self.hint = hint


class TOTPNotEnabled(MFAError):
    """The cloud's Keystone does not accept the ``totp`` method."""


class ReceiptExpired(MFAError):
    """The auth receipt expired before the passcode was sent."""


class UnsatisfiableRules(MFAError):
    """The user's MFA rules need a method this plugin cannot supply."""


class TLSNotVerified(MFAError):
    """Keystone's TLS certificate could not be verified."""


class NoRoleOnScope(_Refused):
    """Signed in, but the user has no role on the scope asked for.

    Also a keystoneauth ``Unauthorized``: Keystone answers 401 for such a
    scope, which the in-tree plugins raise as that.
    """


class GuardRefusal(MFAError):
    """Keystone's MFA guard (served in front of Keystone, see
    :mod:`mfa_osc.auth.guarded`) refused the sign-in itself."""


class TOTPLocked(GuardRefusal):
    """The guard locked the account's TOTP sign-in after too many wrong
    passcodes (HTTP 429): never retried."""


class PasscodeReplayed(GuardRefusal):
    """The guard refused a passcode that signed this user in already
    (HTTP 401): a passcode works once."""


class GuardPolicyRefused(GuardRefusal):
    """The guard refused a token without a second factor: the domain's
    MFA policy requires one (HTTP 403)."""

    def __init__(self, message: str, deadline: str | None = None) -> None:
        super().__init__(message)
        #: The policy's deadline (YYYY-MM-DD), or None.
        self.deadline = deadline


class GuardUnavailable(GuardRefusal):
    """The guard could not decide, so it refused (HTTP 503)."""
