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


"""Horizon with Keystone behind mfa-osc's guard, in a real browser.

The guard refuses a covered person a scoped token from a sign-in
without a second factor (403 ``policy``) and lets the unscoped one
through: Horizon's sign-in walks them through the set-up and a code, and
they land in the dashboard. Each step is checked with real sign-ins; a
code is never given twice (the guard takes one once).
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlparse

from mfa_osc import client as mfa_client
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import policy as policy_flow
from tests.horizon import base

MAX_FAILURES = 3

SERVERS = base.ModuleHorizon(
    guard=True,
    config={
        'mfa_guard': {
            'max_failures': str(MAX_FAILURES),
            # NOTE: long: the lock here ends only when an administrator
            # ends it.
            'lockout_duration': '900',
            # NOTE: a policy set by a test applies at once.
            'policy_cache_time': '0',
        }
    },
)


class TestGuardedSignIn(base.HorizonTestCase):
    servers = SERVERS

    def admin_client(self) -> mfa_client.MFAClient:
        return mfa_client.MFAClient(self.keystone.admin_session())

    def covered_member(self) -> local_keystone.KeystoneUser:
        """A member that a policy of Default in force covers: the policy
        names a role of this test's own, which only this member holds
        (the other tests' users and administrators are not covered)."""
        user = self.make_user()
        api = self.keystone.admin_adapter()
        role = f'mfa-covered-{secrets.token_hex(4)}'
        role_id = api.post('/roles', json={'role': {'name': role}}).json()[
            'role'
        ]['id']
        api.put(f'/projects/{user.project_id}/users/{user.id}/roles/{role_id}')
        client = self.admin_client()
        policy_flow.set_policy(client, 'Default', roles=[role])
        self.addCleanup(policy_flow.unset, client, 'Default')
        return user

    def test_covered_user_without_device_is_walked_through_set_up(
        self,
    ) -> None:
        user = self.covered_member()
        # The guard: no scoped token from the password alone, an unscoped
        # one (for the set-up) still.
        refused = self.password_sign_in(user.id, user.password)
        self.assertEqual(403, refused.status_code, refused.text)
        self.assertEqual(
            'policy', refused.json()['error']['mfa_guard']['reason']
        )
        self.assertEqual(201, self.unscoped_password_status(user))

        # Password: sent to the set-up, not to Horizon's error.
        self.submit_sign_in(user)
        self.wait_for_path('/settings/mfa/')
        self.wait_for('#mfa-status')
        self.assertIn(
            'Your domain requires multi-factor sign-in',
            ' '.join(self.alerts()),
        )
        self.assertNotIn('not authorized', self.page_text())
        # Not skipped: another page leads back.
        self.open('/project/')
        self.wait_for_path('/settings/mfa/')
        self.wait_for('#mfa-status')

        # The set-up, with the unscoped token.
        self.type_into('#mfa-enroll-start input[name=name]', 'phone')
        self.submit('#mfa-enroll-start')
        self.wait_for('img#mfa-qr')
        self.find('#mfa-cant-scan summary').click()
        secret = self.find('#mfa-secret').text.replace(' ', '')
        self.assertEqual(secret, totp.normalize_secret(secret))
        self.type_into('#id_passcode', self.good_code(secret))
        self.submit('#mfa-enroll-finish')
        self.assertTrue(self.wait_for('#mfa-recovery-codes').text.split())
        self.assertNotIn(secret, self.session_text())

        # Then a code (another one: the guard takes a code once), and
        # the dashboard.
        old = self.find('html')
        self.find('#mfa-continue').click()
        self.wait_for_path('/settings/mfa/continue/')
        self.assertNotEqual(old.id, self.find('html').id)
        self.screenshot('sign-in-guarded-code')
        self.type_into(
            '#mfa-continue-form input[name=passcode]', self.bad_code(secret)
        )
        self.submit('#mfa-continue-form')
        self.assertIn('That code was not accepted', ' '.join(self.alerts()))
        self.wait_for_path('/settings/mfa/continue/')
        self.type_into(
            '#mfa-continue-form input[name=passcode]', self.good_code(secret)
        )
        self.submit('#mfa-continue-form')
        self.wait_for_path('/project/')
        self.open('/project/api_access/')
        self.wait_for('body')
        self.assertEqual(
            '/project/api_access/', urlparse(self.driver.current_url).path
        )
        self.assertNotIn('Traceback', self.driver.page_source)
        self.assertNotIn(secret, self.session_text())

        # The account: a scoped token needs the code, which the password
        # and a code give; a code alone never; never locked out.
        self.assertEqual(403, self.password_status(user))
        self.assertEqual(
            201, self.password_and_code_status(user, self.good_code(secret))
        )
        self.assert_invariant(user)

    def test_locked_user_is_shown_locked_and_unlocked(self) -> None:
        """A member whose TOTP sign-in the guard locked (wrong codes):
        the table says until when; the row action ``unlock`` ends it and
        the member signs in with the password and a code."""
        user = self.make_user()
        secret = totp.generate_secret()
        self.enroll_in_process(user.id, secret)
        near = {
            totp.passcode(secret, time.time() + 30 * k) for k in range(-3, 4)
        }
        wrong = [
            code
            for code in (f'{n:06d}' for n in range(1000000))
            if code not in near
        ][: MAX_FAILURES + 1]
        statuses = [self.password_and_code_status(user, c) for c in wrong]
        self.assertEqual(429, statuses[-1], statuses)
        code = self.good_code(secret)
        self.assertEqual(429, self.password_and_code_status(user, code))
        self.give_back(secret, code)

        admin = self.admin_user()
        self.browser_sign_in(admin)
        self.driver.add_cookie(
            {'name': 'API_RESULT_PAGE_SIZE', 'value': '1000'}
        )
        self.open('/identity/mfa/')
        self.wait_for('table#mfa_users')
        lock = self.find(f'#mfa_users__row__{user.id} td.mfa-lock').text
        self.assertRegex(lock, r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.screenshot('admin-locked')

        self.click_row_action('mfa_users', user.id, 'unlock')
        self.assertNotIn('Traceback', self.driver.page_source)
        self.assertEqual(
            '', self.find(f'#mfa_users__row__{user.id} td.mfa-lock').text
        )
        self.assertEqual(
            201, self.password_and_code_status(user, self.good_code(secret))
        )
        self.assert_invariant(user)
