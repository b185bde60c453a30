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


"""The set-up at sign-in, in a real browser against a real Keystone.

A domain's MFA policy in force covers a person with no device: after the
password, Horizon sends them to Settings -> Multi-factor, page after
page, until they have set one up; then the dashboard opens, and the
account needs the code from then on (checked with real sign-ins).
"""

from __future__ import annotations

from mfa_osc import client as mfa_client
from mfa_osc import totp
from mfa_osc.workflows import policy as policy_flow
from tests.horizon import base

SERVERS = base.ModuleHorizon()


class TestSetUpAtSignIn(base.HorizonTestCase):
    servers = SERVERS

    def test_covered_user_past_the_deadline_is_walked_through_set_up(
        self,
    ) -> None:
        # A person who may set their own rules (admin role on their
        # project), so the set-up also enforces; the policy (on this
        # module's own Keystone) is in force at once, as past a deadline.
        user = self.admin_user()
        client = mfa_client.MFAClient(self.keystone.admin_session())
        policy_flow.set_policy(client, 'Default')
        self.addCleanup(policy_flow.unset, client, 'Default')
        self.assertEqual(201, self.password_status(user))

        self.browser_sign_in(user)
        self.wait_for_path('/settings/mfa/')
        self.wait_for('#mfa-status')
        alerts = ' '.join(self.alerts())
        self.assertIn('Your domain requires multi-factor sign-in', alerts)
        self.screenshot('sign-in-set-up-required')
        # Not skipped: another page leads back to the set-up.
        self.open('/project/')
        self.wait_for_path('/settings/mfa/')
        self.wait_for('#mfa-status')

        self.type_into('#mfa-enroll-start input[name=name]', 'phone')
        self.submit('#mfa-enroll-start')
        self.wait_for('img#mfa-qr')
        self.find('#mfa-cant-scan summary').click()
        secret = self.find('#mfa-secret').text.replace(' ', '')
        self.assertEqual(secret, totp.normalize_secret(secret))
        self.type_into('#id_passcode', self.good_code(secret))
        self.submit('#mfa-enroll-finish')
        codes = self.wait_for('#mfa-recovery-codes').text.split()
        self.assertTrue(codes)
        self.assertIn('MFA is enforced', self.find('#mfa-enrolled').text)

        # The dashboard opens now, and stays open.
        old = self.find('html')
        self.find('#mfa-continue').click()
        self.wait_for_path('/project/')
        self.assertNotEqual(old.id, self.find('html').id)
        self.open('/project/api_access/')
        self.wait_for('body')
        self.assertTrue(
            self.driver.current_url.startswith(self.horizon.url + '/project/'),
            self.driver.current_url,
        )
        self.assertNotIn('Traceback', self.driver.page_source)

        # The account: the password alone is refused, the password and a
        # code sign in.
        self.assertEqual(401, self.password_status(user))
        self.assertEqual(
            201, self.password_and_code_status(user, self.good_code(secret))
        )
        self.assert_invariant(user)

    def test_an_uncovered_person_goes_straight_to_the_dashboard(
        self,
    ) -> None:
        """A policy for a role the person does not hold."""
        client = mfa_client.MFAClient(self.keystone.admin_session())
        user = self.make_user()
        role = f'mfa-only-{user.name}'
        self.keystone.admin_adapter().post(
            '/roles', json={'role': {'name': role}}
        )
        policy_flow.set_policy(client, 'Default', roles=[role])
        self.addCleanup(policy_flow.unset, client, 'Default')
        self.browser_sign_in(user)
        self.wait_for_path('/project/')
        self.open('/project/api_access/')
        self.wait_for_path('/project/api_access/')
