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

"""When Keystone does not say its [auth] methods, no MFA rule is written.

mfa-osc reads the methods a cloud enables from Keystone's answer to a
sign-in with a method no Keystone has (``error.identity.methods``). A
rule naming only methods the cloud does not enable lets every sign-in in
before Keystone 28, so when that answer is unreadable (here: the tests'
proxy answers the probe with JSON that is not Keystone's), every command
that would write rules refuses with one sentence and changes nothing;
the audit still reads.
"""

from __future__ import annotations

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base

REFUSED = 'Keystone did not say which auth methods it enables'


class TestMethodsUnknown(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()
        self.admin = self.env(auth_url=self.proxy.auth_url)

    def code_alone_user(self) -> tuple[local_keystone.KeystoneUser, str]:
        """A hand-made TOTP credential and no rules: the code alone signs
        in, which ``enforce`` would guard."""
        user, secret = self.make_totp_user()
        self.assertEqual(201, self.totp_alone_status(user.id, secret))
        return user, secret

    def probe_at(self, *args: str) -> int:
        """The number of the request that reads the enabled methods (the
        second sign-in request: the first is the command's own)."""
        self.proxy.reset()
        self.openstack(*args, env=self.admin)
        posts = [
            n
            for n, (method, path) in enumerate(self.proxy.requests, 1)
            if method == 'POST' and path.split('?')[0].endswith('/tokens')
        ]
        self.assertGreaterEqual(len(posts), 2, self.proxy.requests)
        return posts[1]

    def assert_refused(self, *args: str, at: int) -> None:
        self.proxy.reset(fail_at=at, mode='json-list')
        result = self.openstack(*args, env=self.admin, expect_fail=True)
        self.assertEqual(1, result.returncode, result.describe())
        self.assertTrue(result.stderr.startswith(REFUSED), result.describe())
        self.assertIn('no MFA rules were changed', result.stderr)
        self.assertNotIn('Traceback', result.stderr)

    def test_enforce_user_refuses(self) -> None:
        other, _ = self.code_alone_user()
        at = self.probe_at('mfa', 'enforce', '--user', other.id)
        user, secret = self.code_alone_user()

        self.assert_refused('mfa', 'enforce', '--user', user.id, at=at)

        self.assertEqual({}, self.user_record(user.id)['options'])
        # As before: not weaker, not changed (the command said so).
        self.assertEqual(201, self.totp_alone_status(user.id, secret))

    def code_alone_domain(self) -> tuple[str, str]:
        """A domain of this test's own (other tests' users, whatever
        their rules, are never in its runs) with a code-alone user."""
        api = self.keystone.admin_adapter()
        name, domain_id = self.make_domain('methods')
        user_id = api.post(
            '/users',
            json={'user': {'name': 'carol', 'domain_id': domain_id}},
        ).json()['user']['id']
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user_id, secret)
        self.assertEqual(201, self.totp_alone_status(user_id, secret))
        return name, user_id

    def test_enforce_all_refuses_and_audit_reads(self) -> None:
        domain, user_id = self.code_alone_domain()
        scope = ('--domain', domain)
        at = self.probe_at('mfa', 'enforce', '--all', '--dry-run', *scope)

        for args in (
            ('mfa', 'enforce', '--all', '--dry-run', *scope),
            ('mfa', 'enforce', '--all', *scope),
        ):
            self.assert_refused(*args, at=at)
        self.assertEqual({}, self.user_record(user_id)['options'])

        at = self.probe_at('mfa', 'audit', *scope)
        self.proxy.reset(fail_at=at, mode='json-list')
        rows = self.openstack_json('mfa', 'audit', *scope, env=self.admin)
        states = {row['id']: row['state'] for row in rows}
        self.assertEqual('code alone signs in', states[user_id])
