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

"""One sign-in's state and what each of its paths uses.

:class:`Attempt` is one sign-in of the plugin on a session: each request
(the plugin's :meth:`~mfa_osc.auth.plugin.MultiFactor.send`), the TOTP
method for a code, computed again for Keystone's time where this plugin
computed it from a secret (the clock of :mod:`mfa_osc.auth.clock`), the
unscoped retry that tells a missing role from a wrong code, and the
errors for a refused code or rules this sign-in cannot meet. The paths
through a sign-in use it: :mod:`mfa_osc.auth.sign_in` (the first
request), :mod:`mfa_osc.auth.receipt` (a receipt answered with a
passcode) and :mod:`mfa_osc.auth.guard_answers` (the guard's refusals).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from keystoneauth1 import access
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.v3 import base
from keystoneauth1.identity.v3 import receipt as v3_receipt
from keystoneauth1.identity.v3 import totp as v3_totp

from mfa_osc import identity
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.auth import refusals

if TYPE_CHECKING:
    from mfa_osc.auth.plugin import MultiFactor


class ComputedTOTP(v3_totp.TOTPMethod):
    """A passcode this plugin computed from a secret (``--os-totp-secret``,
    a recovery code), which it can compute again for Keystone's time."""

    def __init__(self, *, passcode: str, secret: str, **user: Any) -> None:
        super().__init__(passcode=passcode, **user)
        self.secret = secret


class Attempt:
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

    def send(self, methods: list[base.AuthMethod]) -> access.AccessInfoV3:
        return self.plugin.send(self.session, methods)

    def skew(self) -> float | None:
        return self.plugin.cache.skew

    def unscoped(self, sent: list[base.AuthMethod]) -> access.AccessInfoV3:
        """The same methods, sent unscoped (which the guard's policy lets
        through: it is what setting a device up needs)."""
        with self.plugin.without_scope():
            return self.send(sent)

    # -- the code sent, by Keystone's clock --------------------------------

    def totp_method(self, code: str, source: str = '') -> v3_totp.TOTPMethod:
        """The TOTP method for ``code`` (which came from ``source``).

        A code computed here from a secret is computed for Keystone's time
        once that is known: this machine's clock may be minutes off.
        Passcodes typed from a phone, or printed by a passcode command,
        are as their own clocks made them.
        """
        secret = self.sources.secret_of(source)
        if secret is None:
            return v3_totp.TOTPMethod(passcode=code, **self.plugin.user())
        if self.skew() is not None:
            code = self.at_keystone_time(secret)
        return ComputedTOTP(passcode=code, secret=secret, **self.plugin.user())

    def at_keystone_time(self, secret: str) -> str:
        code = totp.passcode(secret, clock.server_now(self.skew()))
        redact.register(code)
        return code

    def again_at_keystone_time(
        self, method: v3_totp.TOTPMethod
    ) -> v3_totp.TOTPMethod | None:
        """After a refusal that measured the clock: ``method``'s code for
        Keystone's time, if this plugin computed it and it differs."""
        if not isinstance(method, ComputedTOTP) or self.skew() is None:
            return None
        code = self.at_keystone_time(method.secret)
        if code == method.passcode:
            return None
        return ComputedTOTP(
            passcode=code, secret=method.secret, **self.plugin.user()
        )

    def answer_by_keystone_clock(
        self,
        needs: ksa_exc.MissingAuthMethods,
        method: v3_totp.TOTPMethod,
        recovering: str | None,
    ) -> access.AccessInfoV3 | None:
        """The password was right and a code computed here was not, by a
        clock that is off: answer the receipt with the code of Keystone's
        time (the password is not sent again). None if that is no help."""
        again = self.again_at_keystone_time(method)
        if again is None or refusals.receipt_expired_by_clock(
            needs, self.skew()
        ):
            return None
        try:
            ref = self.send(
                [v3_receipt.ReceiptMethod(receipt=needs.receipt or ''), again]
            )
        except exceptions.GuardRefusal:
            raise
        except ksa_exc.ClientException:
            return None
        self.sources.sent_recovery = recovering
        return ref

    # -- the errors --------------------------------------------------------

    def refused(
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

    def unsatisfiable(
        self, needs: ksa_exc.MissingAuthMethods
    ) -> exceptions.UnsatisfiableRules:
        """Keystone wants methods this sign-in does not use."""
        return refusals.unsatisfiable(needs, self.plugin.methods)

    def try_unscoped(self, sent: list[base.AuthMethod]) -> None:
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
                ref = self.send(sent)
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
