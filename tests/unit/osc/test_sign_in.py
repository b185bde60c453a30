#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The set-up at sign-in: the passcode it hands back to the plugin."""

from __future__ import annotations

import io
import time
from typing import Any
from unittest import mock

from oslotest import base

from mfa_osc import totp
from mfa_osc.auth import policy as mfa_policy
from mfa_osc.osc import sign_in
from mfa_osc.workflows import errors as workflow_errors

SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
#: This machine's clock runs six minutes (twelve windows) fast.
SKEW = 360.0


class TestEnrollAtSignIn(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client = mock.Mock(clock_skew=SKEW)
        self.client.get_user.return_value = mock.Mock(
            name='alice', domain_id='default'
        )
        self.result = mock.Mock(
            device_name='phone',
            device_id='c1',
            recovery_codes=[],
            admin_command=None,
        )
        patches: list[Any] = [
            mock.patch.object(
                sign_in.mfa_client.MFAClient,
                'for_token',
                return_value=self.client,
            ),
            mock.patch.object(sign_in.enroll_plan, 'prepare'),
            mock.patch.object(
                sign_in.enroll_flow, 'enroll', return_value=self.result
            ),
            mock.patch.object(sign_in.common, 'issuer', return_value='x'),
            mock.patch.object(sign_in.common, 'show_new_device'),
            mock.patch.object(sign_in.common, 'app_passcodes'),
            mock.patch.object(
                sign_in.totp, 'generate_secret', return_value=SECRET
            ),
            mock.patch.object(sign_in.sys, 'stderr', io.StringIO()),
        ]
        for patch in patches:
            patch.start()
            self.addCleanup(patch.stop)
        self.ref = mock.Mock(
            auth_token='t', user_id='u1', user_domain_name='Default'
        )

    def test_passcode_for_keystones_time(self) -> None:
        code = sign_in.enroll_at_sign_in(mock.Mock(), self.ref, 'http://k/v3')
        now = time.time()
        # NOTE: the code of Keystone's time, twelve windows behind this
        # machine's; the local code would be refused.
        self.assertIn(
            code,
            {totp.passcode(SECRET, now - SKEW - d) for d in (0.0, 1.0)},
        )
        self.assertNotEqual(totp.passcode(SECRET, now), code)

    def test_unfinished_set_up_says_so_without_naming_a_policy(
        self,
    ) -> None:
        sign_in.enroll_flow.enroll.side_effect = workflow_errors.WouldLockOut(
            'no code was checked'
        )
        exc = self.assertRaises(
            mfa_policy.PolicyRequired,
            sign_in.enroll_at_sign_in,
            mock.Mock(),
            self.ref,
            'http://k/v3',
        )
        # NOTE: also shown where the policy could not be read at all.
        self.assertEqual(
            'The MFA set-up at sign-in did not finish: no code was checked',
            str(exc),
        )
