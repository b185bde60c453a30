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
"""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
import logging
import time
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
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.auth import cached
from mfa_osc.auth import exceptions
from mfa_osc.auth import sources
from mfa_osc.auth.options import DEFAULT_METHODS  # noqa: F401
from mfa_osc.auth.options import METHOD_ALIASES  # noqa: F401
from mfa_osc.auth.options import PASSCODE_SOURCES_HELP
from mfa_osc.auth.options import parse_auth_methods
from mfa_osc.auth.options import parse_flag

LOG = logging.getLogger(__name__)

#: How many times a person may retype a refused passcode at the prompt.
PROMPT_ATTEMPTS = 3


def revoke_token(
    session: ks_session.Session, auth_url: str, token: str
) -> None:
    """Revoke a token with itself (a user may revoke their own)."""
    session.delete(
        identity.tokens_url(auth_url),
        headers={'X-Auth-Token': token, 'X-Subject-Token': token},
        authenticated=False,
        log=False,
    )


def token_methods(ref: access.AccessInfo) -> list[str]:
    """The methods a token was obtained with (``token.methods``)."""
    return identity.token_methods(
        ref._data if isinstance(ref._data, dict) else None
    )


def clock_skew(response: Any) -> float | None:
    """Seconds this machine's clock is ahead of the response's ``Date``."""
    headers = getattr(response, 'headers', None) or {}
    return totp.clock_skew(headers.get('Date'))


def _enabled_methods(error: ksa_exc.HttpError) -> list[str] | None:
    """The methods Keystone lists as enabled in a 401 body, if any."""
    if error.response is None:
        return None
    try:
        body = error.response.json()
        methods = body['error']['identity']['methods']
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return [str(m) for m in methods] if isinstance(methods, list) else None


def _expired(needs: ksa_exc.MissingAuthMethods) -> bool:
    """Whether an auth receipt has expired by this machine's clock."""
    return (
        bool(needs.expires_at) and needs.expires_at.timestamp() < time.time()
    )


class MultiFactor(cached.CachedSignIn, base.Auth):
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
        #: The token of the last sign-in with a second factor, which later
        #: commands reuse or rescope instead of asking again.
        self._mfa_ref: access.AccessInfoV3 | None = None
        self._mfa_scope: str | None = None
        #: Requests sent to ``/auth/tokens`` by the last sign-in.
        self.sign_in_requests = 0

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
        if not self.password:
            raise exceptions.NoPassword(
                'No password: give it with --os-password, OS_PASSWORD or '
                'auth.password in clouds.yaml, or run the command on a '
                'terminal to be prompted.'
            )
        return v3_password.PasswordMethod(
            password=self.password, **self._user()
        )

    def _totp_method(self, code: str) -> v3_totp.TOTPMethod:
        return v3_totp.TOTPMethod(passcode=code, **self._user())

    # -- where the passcode comes from ------------------------------------

    def _upfront_passcode(self) -> str | None:
        """The passcode given directly or computed from a secret, if any."""
        if self.recovery_code:
            try:
                bare = recovery.normalize(self.recovery_code)
            except recovery.InvalidRecoveryCode as exc:
                raise exceptions.PasscodeFormatError(
                    f'{exc} It came from --os-recovery-code or '
                    'OS_RECOVERY_CODE.'
                ) from None
            return recovery.passcode(bare)
        if self.passcode:
            return self._checked(self.passcode)
        if self.totp_secret:
            try:
                secret = totp.normalize_secret(self.totp_secret)
            except totp.InvalidSecret as exc:
                raise exceptions.SecretFormatError(
                    f'{exc} It came from --os-totp-secret or OS_TOTP_SECRET.'
                ) from None
            code = totp.passcode(secret)
            redact.register(code)
            return code
        return None

    def _later_passcode(self, attempt: int) -> tuple[str, str]:
        """A passcode from the command or the prompt, and which it was."""
        if self.passcode_command:
            return self._checked(sources.run_command(self.passcode_command)), (
                'command'
            )
        if self.prompt:
            text = 'Passcode: ' if attempt == 0 else 'Passcode (try again): '
            code = sources.prompt(text)
            if code is not None:
                return self._checked(code), 'prompt'
        raise exceptions.NoPasscodeSource(
            'This account needs a TOTP passcode and none was given: '
            + PASSCODE_SOURCES_HELP
            + '.'
        )

    @staticmethod
    def _checked(code: str) -> str:
        redact.register(code)
        try:
            clean = totp.normalize_passcode(code)
        except totp.InvalidPasscode as exc:
            raise exceptions.PasscodeFormatError(str(exc)) from None
        redact.register(clean)
        return clean

    # -- the sign-in ------------------------------------------------------

    def get_auth_ref(self, session: ks_session.Session) -> access.AccessInfoV3:
        self.sign_in_requests = 0
        ref = self._from_cache(session)
        if ref is not None:
            return ref
        ref = self._sign_in(session)
        if self.recovery_code and 'totp' in token_methods(ref):
            self._use_up_recovery_code(session, ref)
        if 'totp' in token_methods(ref):
            self._mfa_ref, self._mfa_scope = ref, self._scope_key()
            self._store()
        return ref

    def _sign_in(self, session: ks_session.Session) -> access.AccessInfoV3:
        upfront = self._upfront_passcode() if 'totp' in self.methods else None
        if self.methods == ('totp',):
            if upfront is None:
                return self._finish_with_passcode(session, None)
            return self._send(session, [self._totp_method(upfront)], True)
        if upfront is not None:
            return self._send(
                session,
                [self._password_method(), self._totp_method(upfront)],
                True,
            )
        try:
            return self._send(session, [self._password_method()], False)
        except ksa_exc.MissingAuthMethods as needs:
            return self._continue(session, needs)

    def _send(
        self,
        session: ks_session.Session,
        methods: list[base.AuthMethod],
        with_passcode: bool,
    ) -> access.AccessInfoV3:
        """POST /v3/auth/tokens with these methods, errors made clear."""
        self.auth_methods = methods
        self.sign_in_requests += 1
        try:
            return super().get_auth_ref(session)
        except ksa_exc.MissingAuthMethods:
            raise
        except ksa_exc.Unauthorized as exc:
            if with_passcode:
                self._explain_totp_failure(exc, methods)
            raise
        finally:
            self.auth_methods = []

    def _explain_totp_failure(
        self, exc: ksa_exc.Unauthorized, methods: list[base.AuthMethod]
    ) -> None:
        enabled = _enabled_methods(exc)
        if enabled is not None and 'totp' not in enabled:
            raise exceptions.TOTPNotEnabled(
                'This cloud does not accept TOTP passcodes: its Keystone '
                'enables only the methods {}. The operator must add totp to '
                '[auth] methods in keystone.conf (MFA rules naming totp are '
                'not enforced until then).'.format(', '.join(enabled))
            ) from None
        hint = totp.describe_skew(clock_skew(exc.response))
        if self.recovery_code:
            raise exceptions.PasscodeRejected(
                'Keystone refused the sign-in: the password is wrong, or the '
                'recovery code was mistyped or already used (each works '
                'once). Check `openstack mfa status` after signing in with '
                'a device, or ask an administrator to reset MFA.' + hint,
                hint=hint,
            ) from None
        with_password = any(
            isinstance(m, v3_password.PasswordMethod) for m in methods
        )
        what = (
            'the password or the passcode is wrong'
            if with_password
            else 'the passcode is wrong'
        )
        raise exceptions.PasscodeRejected(
            f'Keystone refused the sign-in: {what}. Passcodes change every '
            '30 seconds; use the current one from the authenticator app.'
            + hint,
            hint=hint,
        ) from None

    def _continue(
        self, session: ks_session.Session, needs: ksa_exc.MissingAuthMethods
    ) -> access.AccessInfoV3:
        """Answer an auth receipt with a passcode."""
        done = set(needs.methods)
        rules = needs.required_auth_methods or []
        can_finish = 'totp' in self.methods and any(
            set(rule) - done <= {'totp'} for rule in rules
        )
        if not can_finish:
            raise exceptions.UnsatisfiableRules(
                'Keystone accepted {} but the MFA rules of this account want '
                'one of: {}; v3multifactor here may use only {}. Sign in '
                'with methods that satisfy a rule (--os-auth-methods), or '
                'ask an administrator to check the rules.'.format(
                    '+'.join(sorted(done)),
                    mfa_rules.text(rules),
                    '+'.join(self.methods),
                )
            ) from None
        return self._finish_with_passcode(session, needs)

    def _finish_with_passcode(
        self,
        session: ks_session.Session,
        needs: ksa_exc.MissingAuthMethods | None,
    ) -> access.AccessInfoV3:
        for attempt in range(PROMPT_ATTEMPTS):
            code, origin = self._later_passcode(attempt)
            sent: list[base.AuthMethod] = []
            if needs is not None:
                if _expired(needs):
                    raise self._receipt_expired()
                sent.append(
                    v3_receipt.ReceiptMethod(receipt=needs.receipt or '')
                )
            sent.append(self._totp_method(code))
            try:
                return self._send(session, sent, True)
            except exceptions.PasscodeRejected as exc:
                if needs is not None and _expired(needs):
                    raise self._receipt_expired() from None
                if origin != 'prompt' or attempt + 1 == PROMPT_ATTEMPTS:
                    raise
                sources.tell(
                    'That passcode was not accepted; enter the current code.'
                    + exc.hint
                )
        raise AssertionError('unreachable')

    @staticmethod
    def _receipt_expired() -> exceptions.ReceiptExpired:
        return exceptions.ReceiptExpired(
            'The password was accepted but the passcode came too late: '
            "Keystone's auth receipt expired (it lasts 5 minutes by "
            'default). Run the command again and enter the passcode sooner.'
        )

    def _use_up_recovery_code(
        self, session: ks_session.Session, ref: access.AccessInfoV3
    ) -> None:
        """Delete the credential of the recovery code just signed in with.

        A code must never work twice: if it cannot be used up, the token
        it bought is revoked and the sign-in fails.
        """
        from keystoneauth1 import token_endpoint

        from mfa_osc import account as mfa_account
        from mfa_osc import client as mfa_client

        token = ref.auth_token or ''
        as_user = ks_session.Session(
            auth=token_endpoint.Token(
                identity.identity_url(self.auth_url), token
            ),
            verify=session.verify,
            cert=session.cert,
        )
        code = str(self.recovery_code)
        self.recovery_code = None
        try:
            left = mfa_account.use_up_recovery_code(
                mfa_client.MFAClient(as_user), str(ref.user_id), code
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                revoke_token(session, self.auth_url, token)
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
