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

"""The set-up at sign-in that a domain's MFA policy asks for.

:mod:`mfa_osc.osc.plugin` registers :func:`enroll_at_sign_in` with
:mod:`mfa_osc.auth.policy` at every start of ``openstack``; the sign-in
plugin calls it, on a terminal, for a user whom a policy covers after its
deadline and who has no device. It is ``openstack mfa enroll`` with its
defaults, run as the user with the token just issued: the same checks
(guard rules must be on, or nothing changes), a QR code, a live code
checked here and by Keystone, recovery codes shown once. It returns a
current passcode of the new device, with which the plugin signs in again.
"""

from __future__ import annotations

import sys

from keystoneauth1 import access
from keystoneauth1 import session as ks_session

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.auth import clock
from mfa_osc.auth import policy as mfa_policy
from mfa_osc.osc import common
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import errors as workflow_errors


def enroll_at_sign_in(
    session: ks_session.Session, ref: access.AccessInfoV3, auth_url: str
) -> str | None:
    """Enroll a device now; a current passcode of it, or None."""
    out = sys.stderr
    client = mfa_client.MFAClient.for_token(
        session, auth_url, str(ref.auth_token), str(ref.user_id)
    )
    try:
        user = client.get_user(str(ref.user_id))
        plan = enroll_plan.prepare(client, user, name=None)
        secret = totp.generate_secret()
        redact.register(secret)
        label = f'{user.name}@{ref.user_domain_name or user.domain_id}'
        uri = totp.provisioning_uri(secret, label, common.issuer(client, None))
        redact.register(uri)
        # NOTE: the key as text too, for a terminal that cannot show the
        # QR code (the set-up was not asked for with --no-qr here).
        common.show_new_device(out, plan.name, secret, uri, text=True)
        result = enroll_flow.enroll(
            client, plan, secret=secret, passcodes=common.app_passcodes(out)
        )
    except workflow_errors.ERRORS as exc:
        raise mfa_policy.PolicyRequired(
            f'The MFA set-up at sign-in did not finish: {exc}'
        ) from exc
    out.write(f'Enrolled device {result.device_name} ({result.device_id}).\n')
    if result.recovery_codes:
        out.write(
            'Recovery codes, shown once: store them safely. Each signs in '
            'once, with the password, instead of a passcode.\n'
        )
        for code in result.recovery_codes:
            out.write(f'  {code}\n')
    if result.admin_command:
        out.write(
            'MFA is not enforced yet: this account may not set its own MFA '
            f'rules. An administrator runs: {result.admin_command}\n'
        )
    out.flush()
    # NOTE: the code for Keystone's time, which counts: on a machine whose
    # clock runs minutes fast the local one is refused.
    return totp.passcode(secret, clock.server_now(client.clock_skew))
