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

"""``mfa remove`` of the last device shuts no way in (issue 20, item 1).

Removing the last device relaxes the rules first (the code alone is
refused while the credentials are deleted), then restores the rules from
before enrolling. The relaxed rules were an earlier release's fixed guard,
``[["password"], ["application_credential"]]``, which refuses federated
and ``external`` sign-ins: a removal that stopped after it (a Keystone
error, Ctrl-C) left those users locked out. Measured by real sign-ins.
"""

from __future__ import annotations

from mfa_osc import totp
from tests.functional import test_account_shapes as shapes


class TestRemoveKeepsWaysIn(shapes.ShapesCase):
    def test_federated_and_external_users(self) -> None:
        fed = self.mapped_status(f'fed-rm-{self.domain}', with_id=True)
        assert isinstance(fed, str), fed
        ext_id, ext_password = self.local_user(f'ext-rm-{self.domain}')
        users = [
            shapes.Shape('federated', fed, None, federated=True),
            shapes.Shape('external', ext_id, ext_password, external=True),
        ]
        before = self.measure(users)
        self.assertEqual({'mapped': 201}, before['federated'])
        self.assertEqual(201, before['external']['external'])
        for user in users:
            secret = totp.generate_secret()
            self.openstack(
                'mfa', 'enroll', '--user', user.user_id, '--secret', secret,
                '--passcode', self.good_code(secret), env=self.env(),
            )  # fmt: skip
        # The federated user, who has no password, still signs in: MFA
        # enforced keeps a rule for their protocol.
        self.assertEqual({'mapped': 201}, self.measure(users[:1])['federated'])

        # The removal stops after relaxing the rules: Keystone fails every
        # DELETE (the credentials stay, the code alone is refused).
        proxy = self.start_proxy()
        proxy.fail_match = ('DELETE', '')
        for user in users:
            failed = self.openstack(
                'mfa', 'remove', '--user', user.user_id, '--all', '--yes',
                env=self.env(auth_url=proxy.auth_url), check=False,
            )  # fmt: skip
            self.assertNotEqual(0, failed.returncode, failed.describe())
            self.assertNotIn('Traceback', failed.stderr)
            self.assertTrue(self.credentials(user.user_id))
        self.assert_same_ways_but_the_code(
            before, self.measure(users), 'mfa remove (stopped)'
        )

        # Run again, the removal ends with the rules from before.
        for user in users:
            self.openstack(
                'mfa', 'remove', '--user', user.user_id, '--all', '--yes',
                env=self.env(),
            )  # fmt: skip
            self.assertEqual([], self.credentials(user.user_id))
        self.assert_same_ways_but_the_code(
            before, self.measure(users), 'mfa remove'
        )
