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

"""Rolling MFA out: enforcement that takes effect at once (issue 14).

On the real Keystone, through the real ``openstack`` command: tightening
a user's rules revokes their older tokens (``DELETE
/v3/users/{id}/tokens``), application credentials keep signing in, and
enforcing yourself ends cleanly.
"""

from __future__ import annotations

import datetime
import os
import time

import openstack
import requests

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base

#: Today's guard rules on the test Keystone: every way in but the code.
GUARD = mfa_rules.guard_rules(local_keystone.AUTH_METHODS.split(','))


class TestSessionsEnded(mfa_base.MFATestCase):
    def enrolled_not_enforced(self, user: local_keystone.KeystoneUser) -> str:
        """A verified device, and guard rules (a password alone signs in)."""
        secret = totp.generate_secret()
        self.enroll_in_process(user.id, secret, keep_sessions=True)
        self.keystone.set_mfa_rules(user.id, GUARD)
        return secret

    def test_enforce_revokes_older_tokens_app_creds_keep_working(
        self,
    ) -> None:
        user = self.make_user()
        self.enrolled_not_enforced(user)
        app = self.make_app_cred(user.id, user.password)
        # An openstacksdk connection on the application credential, open
        # (signed in) before the rules are tightened.
        conn = openstack.connect(
            auth_type='v3applicationcredential',
            auth={
                'auth_url': self.keystone.auth_url,
                'application_credential_id': app['id'],
                'application_credential_secret': app['secret'],
            },
            identity_interface='public',
        )
        self.addCleanup(conn.close)
        sdk_token = conn.session.get_token()
        self.assertEqual(200, self.token_status(sdk_token))
        old = self.password_token(user.id, user.password)
        self.assertEqual(200, self.token_status(old))

        result = self.openstack_json(
            'mfa', 'enforce', '--user', user.id, env=self.env()
        )

        self.assertEqual('enforced', result['action'])
        self.assertEqual('ended', result['sessions'])
        # The password-only session ends now, not when it expires.
        self.assertEqual(404, self.token_status(old))
        self.assertEqual(401, self.password_status(user))
        # Application credentials still sign in, and the open connection
        # signs in again on its next request.
        self.assertEqual(404, self.token_status(sdk_token))
        # NOTE: Keystone compares a token's issue time, in whole seconds,
        # with the revocation's: a token issued in the same second as the
        # revocation counts as revoked too. A client signing in again a
        # second later is served.
        time.sleep(1.1)
        self.assertEqual(201, self.app_cred_status(app))
        self.assertEqual(user.id, conn.identity.get_user(user.id).id)
        self.assertNotEqual(sdk_token, conn.session.get_token())

    def test_keep_sessions(self) -> None:
        user = self.make_user()
        self.enrolled_not_enforced(user)
        old = self.password_token(user.id, user.password)
        result = self.openstack_json(
            'mfa',
            'enforce',
            '--user',
            user.id,
            '--keep-sessions',
            env=self.env(),
        )
        self.assertEqual('kept (--keep-sessions)', result['sessions'])
        self.assertEqual(200, self.token_status(old))
        self.assertEqual(401, self.password_status(user))

    def test_administrator_enroll_revokes(self) -> None:
        user = self.make_user()
        old = self.password_token(user.id, user.password)
        secret = totp.generate_secret()
        secret_file = os.path.join(self.home, 'secret')
        with open(secret_file, 'w') as f:
            f.write(secret)
        result = self.openstack_json(
            'mfa',
            'enroll',
            '--user',
            user.id,
            '--secret-file',
            secret_file,
            '--passcode',
            self.good_code(secret),
            '--recovery-codes',
            '0',
            env=self.env(),
        )
        self.assertTrue(result['enforced'])
        self.assertEqual('ended', result['sessions'])
        self.assertEqual(404, self.token_status(old))
        self.assert_invariant(user)

    def test_enforce_yourself_finishes_cleanly(self) -> None:
        admin = self.admin_user()
        secret = self.enrolled_not_enforced(admin)
        env = self.env(admin, secret)
        # NOTE: the token cache on: the next command finds the revoked
        # token cached, and signs in afresh.
        env.pop('OS_TOKEN_CACHE')
        self.openstack('token', 'issue', env=env)
        result = self.openstack('mfa', 'enforce', '-f', 'json', env=env)
        self.assertNotIn('Traceback', result.stderr)
        self.assertIn('"sessions": "ended"', result.stdout)
        issued = self.openstack_json('token', 'issue', env=env)
        self.assertEqual(200, self.token_status(issued['id']))
        self.assertEqual(401, self.password_status(admin))


class DomainCase(mfa_base.MFATestCase):
    """A domain of the test's own (other tests' users are never touched),
    and users in it with a project each."""

    def setUp(self) -> None:
        super().setUp()
        self.api = self.keystone.admin_adapter()
        self.domain, self.domain_id = self.make_domain('policy')

    def user(
        self, name: str, role: str | None = None
    ) -> local_keystone.KeystoneUser:
        """A user of the domain with ``role`` (member) on a project."""
        return self.domain_user(
            self.domain, self.domain_id, name, role or 'member'
        )

    def audit(self) -> dict[str, dict[str, object]]:
        rows = self.openstack_json(
            'mfa', 'audit', '--domain', self.domain, env=self.env()
        )
        return {str(r['name']): r for r in rows}


class TestPolicy(DomainCase):
    """``policy set|show|unset`` and the audit."""

    def test_set_show_unset_guard_and_audit(self) -> None:
        boss = self.user('boss', role='admin')
        worker = self.user('worker')
        shown = self.openstack_json(
            'mfa', 'policy', 'show', '--domain', self.domain, env=self.env()
        )
        self.assertEqual(
            {'required': False, 'deadline': None, 'roles': []}, shown
        )
        # Admin accounts first.
        result = self.openstack_json(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            '--role', 'admin', env=self.env(),
        )  # fmt: skip
        self.assertEqual(1, result['users_guarded'])
        self.assertEqual(GUARD, self.user_record(boss.id)['options'][
            'multi_factor_auth_rules'
        ])  # fmt: skip
        self.assertNotIn(
            'multi_factor_auth_rules', self.user_record(worker.id)['options']
        )
        rows = self.audit()
        self.assertTrue(rows['boss']['policy'])
        self.assertEqual('not enrolled, overdue', rows['boss']['compliance'])
        self.assertFalse(rows['worker']['policy'])
        self.assertIsNone(rows['worker']['compliance'])
        if self.guarded:
            # NOTE: the server is the line: past the deadline the guard
            # refuses boss a scoped token of the password alone, and lets
            # an unscoped one through (to set a device up).
            self.assertEqual(403, self.password_status(boss))
            self.assertEqual(201, self.unscoped_password_status(boss))
        else:
            self.assertEqual(201, self.password_status(boss))

        # Then everyone, with a deadline.
        deadline = (
            datetime.datetime.now(datetime.UTC).date()
            + datetime.timedelta(days=30)
        ).isoformat()
        self.openstack_json(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            '--deadline', deadline, env=self.env(),
        )  # fmt: skip
        shown = self.openstack_json(
            'mfa', 'policy', 'show', '--domain', self.domain, env=self.env()
        )
        self.assertEqual(
            {'required': True, 'deadline': deadline, 'roles': []}, shown
        )
        # A user reads the policy of their own domain, cannot change it.
        token = self.password_sign_in(worker.id, worker.password).headers[
            'X-Subject-Token'
        ]
        url = f'{self.keystone.auth_url}/domains/{self.domain_id}'
        mine = requests.get(url, headers={'X-Auth-Token': token}, timeout=30)
        self.assertEqual(200, mine.status_code)
        self.assertEqual(deadline, mine.json()['domain']['mfa_policy'][
            'deadline'
        ])  # fmt: skip
        patched = requests.patch(
            url,
            json={'domain': {'mfa_policy': None}},
            headers={'X-Auth-Token': token},
            timeout=30,
        )
        self.assertEqual(403, patched.status_code)

        # Each compliance state in the audit.
        enrolled = self.user('enrolled')
        secret = totp.generate_secret()
        self.enroll_in_process(enrolled.id, secret)
        self.keystone.set_mfa_rules(enrolled.id, GUARD)
        added = self.user('added')  # after `policy set`
        rows = self.audit()
        self.assertEqual(
            'not enrolled, 30 days left', rows['worker']['compliance']
        )
        self.assertEqual(deadline, rows['worker']['deadline'])
        self.assertEqual(
            'enrolled, not enforced', rows['enrolled']['compliance']
        )
        # `enforce --all` enforces the enrolled and guards the new user.
        changed = self.openstack_json(
            'mfa', 'enforce', '--all', '--domain', self.domain,
            env=self.env(),
        )  # fmt: skip
        self.assertEqual(
            {('enrolled', 'enforce'), ('added', 'guard rules')},
            {(r['name'], r['action']) for r in changed},
        )
        rows = self.audit()
        self.assertEqual(
            'enrolled and enforced', rows['enrolled']['compliance']
        )
        for user in (boss, worker, enrolled, added):
            self.assert_invariant(user)

        self.openstack(
            'mfa', 'policy', 'unset', '--domain', self.domain, env=self.env()
        )
        rows = self.audit()
        self.assertFalse(rows['worker']['policy'])


class TestPolicyInput(DomainCase):
    """Issue 20, items 11 and 12."""

    def test_empty_or_past_deadline_refused(self) -> None:
        for value in ('', '2025-03-31'):
            result = self.openstack(
                'mfa', 'policy', 'set', '--domain', self.domain,
                '--required', '--deadline', value, env=self.env(),
                expect_fail=True,
            )  # fmt: skip
            self.assertNotIn('Traceback', result.stderr)
            self.assertIn('Nothing was changed', result.stderr)
            self.assertIn('--deadline now', result.stderr)
        shown = self.openstack_json(
            'mfa', 'policy', 'show', '--domain', self.domain, env=self.env()
        )
        self.assertFalse(shown['required'])
        self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            '--deadline', 'now', env=self.env(),
        )  # fmt: skip
        shown = self.openstack_json(
            'mfa', 'policy', 'show', '--domain', self.domain, env=self.env()
        )
        self.assertEqual(
            {'required': True, 'deadline': None, 'roles': []}, shown
        )

    def test_a_covered_user_shows_their_own_domain(self) -> None:
        worker = self.user('worker')
        deadline = (
            datetime.datetime.now(datetime.UTC).date()
            + datetime.timedelta(days=30)
        ).isoformat()
        self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            '--deadline', deadline, env=self.env(),
        )  # fmt: skip
        env = self.env(worker)
        env['OS_USER_DOMAIN_NAME'] = self.domain
        env['OS_PROJECT_DOMAIN_NAME'] = self.domain
        env.pop('OS_USER_DOMAIN_ID', None)
        env.pop('OS_PROJECT_DOMAIN_ID', None)
        shown = self.openstack_json(
            'mfa', 'policy', 'show', '--domain', self.domain, env=env
        )
        self.assertEqual(deadline, shown['deadline'])

    def test_set_on_your_own_domain_warns(self) -> None:
        boss = self.user('boss', role='admin')
        env = self.env(boss)
        env['OS_USER_DOMAIN_NAME'] = self.domain
        env['OS_PROJECT_DOMAIN_NAME'] = self.domain
        env.pop('OS_USER_DOMAIN_ID', None)
        env.pop('OS_PROJECT_DOMAIN_ID', None)
        result = self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            env=env,
        )  # fmt: skip
        self.assertIn('the policy covers you', result.stderr)
        other = self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            env=self.env(),
        )  # fmt: skip
        self.assertNotIn('covers you', other.stderr)
