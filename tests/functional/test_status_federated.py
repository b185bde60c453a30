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

"""``mfa status`` of a federated user whose rules refuse their protocol
(issue 20): ``locked out``, with a warning that says so and names the
command that repairs it, whether the user is given by name or by ID."""

from __future__ import annotations

import re

from mfa_osc import rules as mfa_rules
from tests.functional import test_account_shapes as shapes


class TestFederatedLockedOut(shapes.ShapesCase):
    def test_earlier_guard_named_and_repaired(self) -> None:
        user_id = self.mapped_status(f'fed-st-{self.domain}', with_id=True)
        assert isinstance(user_id, str), user_id
        name = self.api.get(f'/users/{user_id}').json()['user']['name']
        self.set_rules(user_id, mfa_rules.LEGACY_GUARD_RULES, True)
        self.assertEqual(401, self.mapped_status(name))

        for who in (['--user', user_id], ['--user', name, '--user-domain',
                                          self.domain]):  # fmt: skip
            status = self.openstack_json('mfa', 'status', *who, env=self.env())
            self.assertEqual(mfa_rules.STATE_LOCKED_OUT, status['state'], who)
            said = status['warnings'][0]
            self.assertIn('refuse mapped', said)
            self.assertNotIn('TOTP credential', said)
        match = re.search(r'`(openstack mfa enforce --user \S+)`', said)
        assert match is not None, said
        self.openstack(*match.group(1).split()[1:], env=self.env())
        self.assertEqual(201, self.mapped_status(name))
        status = self.openstack_json(
            'mfa', 'status', '--user', user_id, env=self.env()
        )
        self.assertNotEqual(mfa_rules.STATE_LOCKED_OUT, status['state'])
