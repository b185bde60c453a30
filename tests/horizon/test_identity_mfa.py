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


"""Identity -> Multi-factor in a real browser, against a real Keystone.

An administrator signs in through Horizon's own sign-in page; each change
the page makes is checked against Keystone with real sign-ins (never
weaker, never locked out).
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from mfa_osc import account as mfa_account
from mfa_osc import all_accounts
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import policy as policy_flow
from tests.horizon import base

SERVERS = base.ModuleHorizon()

ROW = 'tr[id^="mfa_users__row__"]'


class TestIdentityMultiFactor(base.HorizonTestCase):
    servers = SERVERS

    def admin_client(self) -> mfa_client.MFAClient:
        return mfa_client.MFAClient(self.keystone.admin_session())

    def all_user_ids(self) -> set[str]:
        return {u.id for u in self.admin_client().list_users()}

    def enrolled_member(
        self, user: local_keystone.KeystoneUser | None = None
    ) -> tuple[local_keystone.KeystoneUser, str]:
        """A member (a new one by default) who enrolled a device
        themselves (guard rules first, as Keystone's default policy
        wants): ``enrolled, not enforced``."""
        user = user or self.make_user()
        methods = local_keystone.AUTH_METHODS.split(',')
        self.keystone.set_mfa_rules(user.id, mfa_rules.guard_rules(methods))
        client = mfa_client.MFAClient(self.user_session(user))
        secret = totp.generate_secret()
        plan = enroll_plan.prepare(
            client, mfa_account.resolve_user(client, None), name='phone'
        )
        enroll_flow.enroll(
            client,
            plan,
            secret=secret,
            passcodes=lambda attempt, hint: (
                self.good_code(secret) if attempt == 0 else None
            ),
        )
        return user, secret

    def user_session(
        self, user: local_keystone.KeystoneUser
    ) -> ks_session.Session:
        auth = v3.Password(
            auth_url=self.keystone.auth_url,
            user_id=user.id,
            password=user.password,
            project_id=user.project_id,
        )
        return ks_session.Session(
            auth=auth, verify=self.keystone.ca_path or True
        )

    def admin_in_browser(self, page_size: int) -> local_keystone.KeystoneUser:
        admin = self.admin_user()
        self.browser_sign_in(admin)
        # Horizon's own page size (Settings -> User Settings keeps it in
        # this cookie).
        self.driver.add_cookie(
            {'name': 'API_RESULT_PAGE_SIZE', 'value': str(page_size)}
        )
        return admin

    def shown_ids(self) -> list[str]:
        self.wait_for('table#mfa_users')
        return [
            str(row.get_attribute('id')).split('__row__', 1)[1]
            for row in self.driver.find_elements(By.CSS_SELECTOR, ROW)
        ]

    def page_link(self, text: str) -> object | None:
        for link in self.driver.find_elements(
            By.CSS_SELECTOR, 'table#mfa_users a[href^="?marker="]'
        ):
            if text in str(link.text):
                return link
        return None

    def follow(self, link: object) -> None:
        old = self.find('html')
        link.click()  # type: ignore[attr-defined]
        WebDriverWait(self.driver, base.WAIT).until(
            expected_conditions.staleness_of(old)
        )

    def submit_with(self, button_css: str) -> None:
        """Click a form's submit button and wait for the next page."""
        old = self.find('html')
        self.find(button_css).click()
        WebDriverWait(self.driver, base.WAIT).until(
            expected_conditions.staleness_of(old)
        )

    def cell(self, user_id: str, column: str) -> str:
        return str(
            self.find(f'#mfa_users__row__{user_id} td.mfa-{column}').text
        ).strip()

    def click_action(self, user_id: str, action: str) -> None:
        """A row action, by Horizon's id (those past the first are in the
        row's drop-down menu: clicked as the menu's item would be)."""
        element = self.find(f'#mfa_users__row_{user_id}__action_{action}')
        old = self.find('html')
        self.driver.execute_script('arguments[0].click()', element)
        if action == 'reset':
            confirm = self.wait_for('.modal .btn-danger')
            WebDriverWait(self.driver, base.WAIT).until(
                expected_conditions.element_to_be_clickable(confirm)
            )
            confirm.click()
        WebDriverWait(self.driver, base.WAIT).until(
            expected_conditions.staleness_of(old)
        )
        self.wait_for('table#mfa_users')

    def test_audit_pages_and_csv_hold_every_user(self) -> None:
        """Two users a page: walking the Next links shows every user of
        Keystone once, Prev goes back; the CSV holds every user too."""
        member, _secret = self.enrolled_member()
        self.make_user()
        self.make_user()
        self.admin_in_browser(page_size=2)
        everyone = self.all_user_ids()
        self.open('/identity/mfa/')
        pages = [self.shown_ids()]
        self.screenshot('admin-audit')
        states = {}
        while True:
            if member.id in pages[-1]:
                states = {
                    c: self.cell(member.id, c) for c in ('state', 'devices')
                }
            link = self.page_link('Next')
            if link is None:
                break
            self.follow(link)
            pages.append(self.shown_ids())
            self.assertLessEqual(len(pages), len(everyone), 'pages loop')
        self.assertGreaterEqual(len(pages), 2)
        self.assertTrue(all(0 < len(p) <= 2 for p in pages), pages)
        seen = [i for p in pages for i in p]
        self.assertEqual(len(seen), len(set(seen)), 'a user shown twice')
        self.assertEqual(everyone, set(seen))
        # Prev: the page before the last one, as it was.
        back = self.page_link('Prev')
        self.assertIsNotNone(back)
        self.follow(back)
        self.assertEqual(pages[-2], self.shown_ids())

        # The enrolled member's row, as the audit reads the account.
        self.assertEqual(
            {'state': mfa_rules.STATE_NOT_ENFORCED, 'devices': '1'}, states
        )

        # The CSV, with the browser's session: every user, once.
        cookies = {c['name']: c['value'] for c in self.driver.get_cookies()}
        answer = requests.get(
            self.horizon.url + '/identity/mfa/audit.csv',
            cookies=cookies,
            timeout=base.WAIT,
        )
        self.assertEqual(200, answer.status_code, answer.text[:500])
        self.assertEqual('no-store', answer.headers.get('Cache-Control'))
        self.assertIn('attachment', answer.headers['Content-Disposition'])
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        self.assertEqual(
            ['id', 'name', 'domain_id', 'devices'],
            list(rows[0].keys())[:4],
        )
        ids = [r['id'] for r in rows]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(everyone, set(ids))
        mine = next(r for r in rows if r['id'] == member.id)
        self.assertEqual(mfa_rules.STATE_NOT_ENFORCED, mine['state'])

    def test_enforce_then_reset_with_row_actions(self) -> None:
        """The row action enforce: the password alone is refused, the
        password and a code sign in. Reset: the device is gone and the
        password alone signs in again."""
        member, secret = self.enrolled_member()
        self.assertEqual(201, self.password_status(member))
        self.admin_in_browser(page_size=1000)
        self.open('/identity/mfa/')
        self.assertIn(member.id, self.shown_ids())

        self.click_action(member.id, 'enforce')
        self.assertNotIn('Traceback', self.driver.page_source)
        self.assertEqual(
            mfa_rules.STATE_ENFORCED, self.cell(member.id, 'state')
        )
        self.screenshot('admin-enforced')
        self.assertEqual(401, self.password_status(member))
        self.assertEqual(
            201,
            self.password_and_code_status(member, self.good_code(secret)),
        )
        self.assert_invariant(member)

        self.click_action(member.id, 'reset')
        self.assertNotIn('Traceback', self.driver.page_source)
        self.assertEqual('0', self.cell(member.id, 'devices'))
        self.assertEqual(
            [],
            [
                c
                for c in self.credentials(member.id)
                if c.get('type') == mfa_client.TOTP_TYPE
            ],
        )
        self.assertEqual(201, self.password_status(member))
        self.assert_invariant(member)

    def test_domain_policy_with_a_deadline_set_and_unset(self) -> None:
        """A domain of its own (a policy on Default would cover the
        administrator and every other test's users): the policy set with
        a deadline is the one Keystone stores, and removed."""
        adapter = self.keystone.admin_adapter()
        name = f'mfa-horizon-{uuid.uuid4().hex[:8]}'
        domain_id = adapter.post(
            '/domains', json={'domain': {'name': name}}
        ).json()['domain']['id']
        user = adapter.post(
            '/users',
            json={
                'user': {
                    'name': 'carol',
                    'domain_id': domain_id,
                    'password': 'pw-' + uuid.uuid4().hex,
                }
            },
        ).json()['user']
        client = self.admin_client()
        self.admin_in_browser(page_size=20)
        deadline = (
            datetime.datetime.now(datetime.UTC).date()
            + datetime.timedelta(days=30)
        ).isoformat()
        self.open(f'/identity/mfa/policy/?domain={name}')
        self.wait_for('#mfa-policy-none')
        self.type_into('#mfa-policy-form input[name=deadline]', deadline)
        self.submit_with('#mfa-policy-set')
        self.assertEqual(deadline, self.wait_for('#mfa-policy-deadline').text)
        self.assertNotIn('Traceback', self.driver.page_source)
        self.screenshot('admin-policy')
        stored = policy_flow.read(client, domain_id)
        assert stored is not None
        self.assertTrue(stored.required)
        self.assertEqual(deadline, stored.deadline)
        self.assertEqual([], stored.roles)
        # The user it covers has no device: guard rules, the password
        # still signs in (policy set's own order).
        self.assertIn(
            user['id'],
            policy_flow.covered_ids(
                client, stored, all_accounts.load_all(client, domain_id)
            ),
        )

        self.submit_with('#mfa-policy-unset')
        self.wait_for('#mfa-policy-none')
        self.assertIsNone(policy_flow.read(client, domain_id))

    def test_enforce_for_a_domain(self) -> None:
        """Enforce for a domain of two members with a verified device and
        one without: the dry run changes nothing; then the two need their
        password and a code, and the third still signs in with the
        password alone (never locked out)."""
        name, domain_id = self.make_domain('mfa-horizon-enforce')
        first, first_secret = self.enrolled_member(
            self.domain_user(name, domain_id, role='member')
        )
        second, second_secret = self.enrolled_member(
            self.domain_user(name, domain_id, role='member')
        )
        bare = self.domain_user(name, domain_id, role='member')
        for user in (first, second, bare):
            self.assertEqual(201, self.password_status(user))
        self.admin_in_browser(page_size=20)
        self.open('/identity/mfa/')
        self.wait_for('#mfa-domain-enforce-link').click()
        self.wait_for_path('/identity/mfa/enforce/')
        self.type_into('#mfa-domain-enforce-form input[name=domain]', name)

        # The dry run: what would change, and nothing changes.
        self.submit_with('#mfa-domain-dry-run')
        summary = self.wait_for('#mfa-domain-summary').text
        self.assertIn(f'Dry run for domain {name}, nothing was', summary)
        self.assertIn('MFA would be enforced for 2 user(s)', summary)
        self.assertIn('1 user(s) needed no change', summary)
        self.assertEqual(
            {first.id: 'enforce', second.id: 'enforce'}, self.domain_rows()
        )
        for user in (first, second, bare):
            self.assertEqual(201, self.password_status(user))

        # The run.
        self.submit_with('#mfa-domain-enforce')
        summary = self.wait_for('#mfa-domain-summary').text
        self.assertNotIn('Traceback', self.driver.page_source)
        self.assertIn(f'Domain {name}: MFA enforced for 2 user(s)', summary)
        self.assertIn('1 user(s) needed no change', summary)
        self.assertIn(summary, ' '.join(self.alerts()))
        self.assertEqual(
            {first.id: 'enforce', second.id: 'enforce'}, self.domain_rows()
        )
        for user in (first, second):
            cell = self.find(f'#mfa-domain-row-{user.id} td.mfa-result')
            self.assertEqual('done', cell.text)
        self.screenshot('admin-domain-enforced')

        # Real sign-ins: the enrolled need the code, the other does not.
        for user, secret in ((first, first_secret), (second, second_secret)):
            self.assertEqual(401, self.password_status(user))
            self.assertEqual(
                201,
                self.password_and_code_status(user, self.good_code(secret)),
            )
            self.assert_invariant(user)
        self.assertEqual(201, self.password_status(bare))
        self.assert_invariant(bare)

        # Again: nothing left to do.
        self.submit_with('#mfa-domain-enforce')
        summary = self.wait_for('#mfa-domain-summary').text
        self.assertIn('3 user(s) needed no change', summary)
        self.assertEqual({}, self.domain_rows())

    def domain_rows(self) -> dict[str, str]:
        """The rows of a domain's run: user ID to action."""
        return {
            str(row.get_attribute('id')).removeprefix('mfa-domain-row-'): (
                row.find_element(By.CSS_SELECTOR, 'td.mfa-action').text
            )
            for row in self.driver.find_elements(
                By.CSS_SELECTOR, 'tr[id^="mfa-domain-row-"]'
            )
        }

    def test_member_has_no_such_panel(self) -> None:
        member = self.make_user()
        self.browser_sign_in(member)
        self.open('/identity/')
        self.wait_for('body')
        self.assertEqual(
            [],
            self.driver.find_elements(
                By.CSS_SELECTOR, 'a[href$="/identity/mfa/"]'
            ),
        )
        self.open('/identity/mfa/')
        self.wait_for('body')
        self.assertEqual(
            [], self.driver.find_elements(By.CSS_SELECTOR, 'table#mfa_users')
        )
        # Nor its CSV or policy page, asked for by URL with the session.
        cookies = {c['name']: c['value'] for c in self.driver.get_cookies()}
        for path in ('/identity/mfa/audit.csv', '/identity/mfa/policy/'):
            answer = requests.get(
                self.horizon.url + path,
                cookies=cookies,
                timeout=base.WAIT,
                allow_redirects=False,
            )
            self.assertNotEqual(200, answer.status_code, path)
            self.assertNotIn(
                'text/csv', answer.headers.get('Content-Type', '')
            )
