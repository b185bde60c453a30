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


"""Horizon's TOTP sign-in step, which also takes a recovery code.

A drop-in for ``openstack_auth.plugin.totp.TotpPlugin`` in Horizon's
``AUTHENTICATION_PLUGINS`` (first, as Horizon's own must be): a 6-digit
code from the app signs in exactly as Horizon's plugin does; a recovery
code (``XXXX-XXXX-XXXX-XXXX``, shown by Settings -> Multi-factor or
``openstack mfa enroll``) signs in once in its place, as ``openstack
--os-recovery-code`` does. Keystone has no recovery codes: each is one
more ``totp`` credential of the account (:mod:`mfa_osc.recovery`), so the
current passcode of the secret derived from the code is what Keystone
checks, and the credential is deleted as soon as Keystone has accepted it.
NOTE: a code must never work twice, so a code that cannot be used up
cancels the sign-in (its token revoked), as mfa-osc's own auth plugin
does.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from openstack_auth import exceptions as auth_exceptions
from openstack_auth import utils as auth_utils
from openstack_auth.plugin import totp as horizon_totp

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc.client import tokens

LOG = logging.getLogger(__name__)

#: Where the plugin notes, on the keystoneauth auth it made, the recovery
#: code it stands for (never logged).
_CODE_ATTRIBUTE = '_mfa_osc_recovery_code'


class TotpPlugin(horizon_totp.TotpPlugin):
    """Horizon's TOTP step; a recovery code works once in place of a
    code from the app."""

    # NOTE: each step in redact.forgotten_after: the recovery code and the
    # account's secrets it registers are not kept in memory for the life
    # of Horizon's process (as pages.forgets_secrets does for the views).

    def get_plugin(self, passcode: str | None = None, **kwargs: Any) -> Any:
        with redact.forgotten_after():
            return self._plugin(passcode, **kwargs)

    def _plugin(self, passcode: str | None, **kwargs: Any) -> Any:
        code = None
        if passcode and recovery.looks_like(passcode):
            try:
                code = recovery.normalize(passcode)
            except recovery.InvalidRecoveryCode:
                code = None
            else:
                passcode = recovery.passcode(code)
        auth = super().get_plugin(passcode=passcode, **kwargs)
        if auth is not None and code is not None:
            setattr(auth, _CODE_ATTRIBUTE, code)
        return auth

    def get_access_info(self, keystone_auth: Any, session: Any = None) -> Any:
        ref = super().get_access_info(keystone_auth, session=session)
        code = getattr(keystone_auth, _CODE_ATTRIBUTE, None)
        if code:
            with redact.forgotten_after():
                self._use_up(keystone_auth, ref, code, session)
        return ref

    def _use_up(
        self, keystone_auth: Any, ref: Any, code: str, session: Any
    ) -> None:
        session = session or auth_utils.get_session()
        auth_url = str(keystone_auth.auth_url)
        token = str(ref.auth_token or '')
        user_id = str(ref.user_id)
        client = mfa_client.MFAClient.for_token(
            session, auth_url, token, user_id
        )
        try:
            left = mfa_account.use_up_recovery_code(client, user_id, code)
        except Exception as exc:
            with contextlib.suppress(Exception):
                tokens.revoke(session, auth_url, token)
            LOG.warning(
                'User %s: a recovery code was accepted but could not be '
                'used up (%s); the sign-in was cancelled.',
                user_id,
                type(exc).__name__,
            )
            raise auth_exceptions.KeystoneAuthException(
                'The recovery code was accepted but could not be used up, '
                'so the sign-in was cancelled. Try again.'
            ) from None
        LOG.info(
            'User %s signed in with a recovery code, now used up; %d left.',
            user_id,
            left,
        )
