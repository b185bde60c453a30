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


"""Settings -> Multi-factor in a real browser, against a real Keystone.

Each test signs a person in through Horizon's own sign-in page, uses the
page as they would, and checks the account against Keystone with real
sign-ins after each step: never weaker, never locked out.
"""

from __future__ import annotations

import base64

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
import segno
from selenium.webdriver.common.by import By

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import errors as workflow_errors
from tests.horizon import base

#: Horizon as doc/source/admin/horizon.rst sets it up, the stock User
#: Credentials panel (a TOTP credential with no rules) hidden.
SERVERS = base.ModuleHorizon(optional=('_5081_mfa_hide_user_credentials',))


class TestSettingsMultiFactor(base.HorizonTestCase):
    servers = SERVERS

    def start_enroll(self, name: str) -> tuple[str, str]:
        """From the status page to the QR code: the secret and the URI,
        read from the "can't scan" control, checked against the image."""
        self.open('/settings/mfa/')
        self.type_into('#mfa-enroll-start input[name=name]', name)
        self.submit('#mfa-enroll-start')
        qr = self.wait_for('img#mfa-qr')
        self.screenshot('enroll-qr')
        self.find('#mfa-cant-scan summary').click()
        secret = self.find('#mfa-secret').text.replace(' ', '')
        uri = self.find('#mfa-uri').text
        self.screenshot('enroll-cant-scan')
        self.assertEqual(secret, totp.normalize_secret(secret))
        self.assertTrue(uri.startswith('otpauth://totp/'), uri)
        self.assertIn(f'secret={secret}', uri)
        # The image is a QR code of that very URI, module by module.
        expected = [
            [bool(m) for m in row] for row in segno.make(uri, error='m').matrix
        ]
        self.assertEqual(
            expected, base.qr_matrix(str(qr.get_attribute('src')))
        )
        # Nowhere else: not in the URL, not in the (signed, readable)
        # session cookie.
        self.assertNotIn(secret, self.driver.current_url)
        self.assertNotIn(secret, self.session_text())
        headers = self.response_headers('/settings/mfa/enroll/')
        self.assertEqual('no-store', headers.get('cache-control'))
        return secret, uri

    def finish_enroll(self, secret: str) -> None:
        self.type_into('#id_passcode', totp.passcode(secret))
        self.submit('#mfa-enroll-finish')

    def user_client(
        self, user: local_keystone.KeystoneUser
    ) -> mfa_client.MFAClient:
        """mfa-osc's client signed in as ``user`` with the password."""
        auth = v3.Password(
            auth_url=self.keystone.auth_url,
            user_id=user.id,
            password=user.password,
            project_id=user.project_id,
        )
        return mfa_client.MFAClient(ks_session.Session(auth=auth))

    def user_record_of(
        self, user: local_keystone.KeystoneUser
    ) -> mfa_client.User:
        return mfa_account.resolve_user(self.user_client(user), None)

    def recovery_codes(self) -> list[str]:
        """The codes the page shows, checked against its download."""
        shown = self.wait_for('#mfa-recovery-codes').text.split()
        link = self.find('#mfa-recovery-download').get_attribute('href')
        prefix = 'data:text/plain;charset=utf-8;base64,'
        self.assertTrue(str(link).startswith(prefix), link)
        saved = base64.b64decode(str(link)[len(prefix) :]).decode()
        self.assertEqual(shown, saved.split())
        return shown

    def test_enroll_sign_in_recover_and_remove(self) -> None:
        """A person who may set their own rules (admin role, Keystone's
        default policy): enroll from the browser, MFA enforced; sign in
        again through Horizon's TOTP step; new recovery codes with a
        recovery code; sign in once with a recovery code; remove the
        device with a code; back as before."""
        user = self.admin_user()
        self.browser_sign_in(user)
        self.open('/settings/mfa/')
        self.wait_for('#mfa-no-devices')
        self.screenshot('status-no-device')

        secret, _uri = self.start_enroll('phone')
        # Nothing changed in Keystone while the QR code is shown.
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual(201, self.password_status(user))

        self.finish_enroll(secret)
        codes = self.recovery_codes()
        self.screenshot('enroll-recovery-codes')
        self.assertEqual(recovery.DEFAULT_COUNT, len(codes))
        self.assertIn('MFA is enforced', self.find('#mfa-enrolled').text)
        headers = self.response_headers('/settings/mfa/enroll/')
        self.assertEqual('no-store', headers.get('cache-control'))
        log = self.horizon.log()
        for value in [secret, *codes]:
            self.assertNotIn(value, log)
            self.assertNotIn(value, self.session_text())

        # Keystone: the password alone no longer signs in, the password
        # and a code do, a code alone does not.
        self.assertEqual(401, self.password_status(user))
        self.assertEqual(
            201, self.password_and_code_status(user, self.good_code(secret))
        )
        self.assertEqual(401, self.totp_alone_status(user.id, secret))
        self.assert_invariant(user)

        # Out, and back in through Horizon's own TOTP step.
        self.browser_sign_out()
        self.browser_sign_in(user, secret)
        self.open('/settings/mfa/')
        devices = self.wait_for('#mfa-devices')
        self.assertIn('phone', devices.text)
        self.assertIn('Enforced', self.find('#mfa-enforced').text)
        self.assertEqual(
            str(recovery.DEFAULT_COUNT), self.find('#mfa-recovery-left').text
        )
        self.screenshot('status-enrolled')

        # New recovery codes, proved with one of the old ones.
        self.type_into('#mfa-recovery-new input[name=proof]', codes[0])
        self.submit('#mfa-recovery-new')
        new_codes = self.recovery_codes()
        self.assertEqual(recovery.DEFAULT_COUNT, len(new_codes))
        self.assertFalse(set(codes) & set(new_codes))
        headers = self.response_headers('/settings/mfa/recovery/')
        self.assertEqual('no-store', headers.get('cache-control'))
        self.assert_invariant(user)

        # Signed in once with a recovery code at Horizon's TOTP step: the
        # code is used up, and the same code is refused the next time.
        self.browser_sign_out()
        self.browser_sign_in(user, code=new_codes[0].lower())
        self.open('/settings/mfa/')
        self.assertEqual(
            str(recovery.DEFAULT_COUNT - 1),
            self.wait_for('#mfa-recovery-left').text,
        )
        self.assert_invariant(user)
        self.browser_sign_out()
        self.submit_sign_in(user, code=new_codes[0])
        self.assertIn('/auth/', self.driver.current_url)
        self.browser_sign_in(user, secret)

        # Remove the device with a current code: as before enrolling.
        self.open('/settings/mfa/')
        form = 'form.mfa-remove'
        self.type_into(f'{form} input[name=proof]', self.good_code(secret))
        self.submit(form)
        self.wait_for('#mfa-no-devices')
        self.assertTrue(
            any('no TOTP device is left' in a for a in self.alerts()),
            self.alerts(),
        )
        self.assertEqual(201, self.password_status(user))
        self.assertEqual([], self.credentials(user.id))
        self.assert_invariant(user)
        # No secret and no recovery code in any line Horizon logged (at
        # DEBUG: keystoneauth's requests included).
        log = self.horizon.log()
        for value in [secret, *codes, *new_codes]:
            self.assertNotIn(value, log)
            self.assertNotIn(value.replace('-', ''), log)

    def test_wrong_code_changes_nothing(self) -> None:
        """A wrong code: the page says so and keeps the QR code; nothing
        is made in Keystone; the right code then enrolls. A wrong code to
        remove the device removes nothing."""
        user = self.admin_user()
        self.browser_sign_in(user)
        secret, _uri = self.start_enroll('phone')
        self.type_into('#id_passcode', self.bad_code(secret))
        self.submit('#mfa-enroll-finish')
        self.wait_for('img#mfa-qr')
        self.assertTrue(
            any('not enrolled' in a for a in self.alerts()), self.alerts()
        )
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual(201, self.password_status(user))
        self.find('#mfa-cant-scan summary').click()
        self.assertEqual(
            secret, self.find('#mfa-secret').text.replace(' ', '')
        )
        self.finish_enroll(secret)
        self.recovery_codes()
        self.assertEqual(401, self.password_status(user))
        self.assert_invariant(user)

        # A wrong code to remove the device: one sentence, nothing removed.
        self.open('/settings/mfa/')
        form = 'form.mfa-remove'
        self.type_into(f'{form} input[name=proof]', self.bad_code(secret))
        self.submit(form)
        self.wait_for('#mfa-devices')
        alerts = ' '.join(self.alerts())
        self.assertIn('Keystone refused the passcode', alerts)
        self.assertNotIn('Traceback', self.driver.page_source)
        self.assertEqual(
            1 + recovery.DEFAULT_COUNT, len(self.credentials(user.id))
        )
        self.assertEqual(401, self.password_status(user))

    def test_settings_list_multi_factor_not_user_credentials(self) -> None:
        """The panel is under Settings, the stock User Credentials panel
        (its hand-made TOTP path) is gone."""
        user = self.make_user()
        self.browser_sign_in(user)
        self.open('/settings/')
        nav = self.wait_for('a[href="/settings/mfa/"]')
        self.assertEqual(
            'Multi-factor', nav.get_attribute('textContent').strip()
        )
        self.assertEqual(
            [],
            self.driver.find_elements(
                By.CSS_SELECTOR, 'a[href="/settings/credentials/"]'
            ),
        )
        self.open('/settings/credentials/')
        # Django's 404: no such page any more.
        self.assertIn('not found', self.driver.title.lower())

    def test_member_without_rules_is_told_what_an_administrator_runs(
        self,
    ) -> None:
        """Keystone's default policy: a member may not set their own MFA
        rules; without rules a device would let the code alone sign in,
        so the page says what the workflow says and nothing changes."""
        user = self.make_user()
        self.browser_sign_in(user)
        self.open('/settings/mfa/')
        self.type_into('#mfa-enroll-start input[name=name]', 'phone')
        self.submit('#mfa-enroll-start')
        self.wait_for('#mfa-status')
        alerts = ' '.join(self.alerts())
        # The page says exactly what the workflow says (the same sentence
        # `openstack mfa enroll` prints), asked here as the user.
        expected = self.assertRaises(
            workflow_errors.NeedsAdministrator,
            enroll_plan.prepare,
            self.user_client(user),
            self.user_record_of(user),
            name='phone',
        )
        self.assertIn(str(expected), alerts)
        self.assertIn(f'openstack mfa enroll --user {user.id}', alerts)
        self.assertNotIn('Traceback', self.driver.page_source)
        self.screenshot('enroll-needs-administrator')
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual(201, self.password_status(user))

    def test_member_with_guard_rules_enrolls_and_an_administrator_enforces(
        self,
    ) -> None:
        """A member whose administrator set guard rules first (a code
        alone refused): the device is enrolled and verified, the page
        says an administrator enforces it, and the code alone still
        does not sign in. Once enforced, the page refuses to remove the
        last device, with the workflow's sentence."""
        user = self.make_user()
        methods = local_keystone.AUTH_METHODS.split(',')
        self.keystone.set_mfa_rules(user.id, mfa_rules.guard_rules(methods))
        self.browser_sign_in(user)
        secret, _uri = self.start_enroll('phone')
        self.finish_enroll(secret)
        self.recovery_codes()
        note = self.find('#mfa-needs-admin').text
        self.screenshot('enroll-administrator-enforces')
        self.assertIn(f'openstack mfa enforce --user {user.id}', note)
        self.assertEqual(401, self.totp_alone_status(user.id, secret))
        self.assertEqual(201, self.password_status(user))
        self.assert_invariant(user)

        # The administrator enforces; the member may not remove the last
        # device (the rules would need relaxing): the workflow's sentence,
        # and nothing changes.
        self.keystone.set_mfa_rules(user.id, [['password', 'totp']])
        self.open('/settings/mfa/')
        form = 'form.mfa-remove'
        self.type_into(f'{form} input[name=proof]', self.good_code(secret))
        self.submit(form)
        self.wait_for('#mfa-devices')
        alerts = ' '.join(self.alerts())
        self.assertIn('This is the last device', alerts)
        self.assertIn(f'openstack mfa remove --user {user.id} --all', alerts)
        self.assertEqual(401, self.password_status(user))
        self.assert_invariant(user)
