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

"""The in-memory Keystone of the bulk and policy tests: four users in
two domains, each in a different state."""

from __future__ import annotations

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from tests.unit.workflows import fakes as fake

#: Today's guard rules: one rule per way in but the code.
GUARD = mfa_rules.guard_rules(fake.METHODS)


class Cloud(fake.FakeKeystone):
    """The fake, where carol's account was weak before we came: the
    invariant for her is "no weaker than that" (guard rules, or as was)."""

    def check_invariant(self) -> None:
        carol = self.users.get('u3')
        if carol is not None and not carol.get('options'):
            self.users.pop('u3')
            try:
                super().check_invariant()
            finally:
                self.users['u3'] = carol
            return
        super().check_invariant()


def cloud() -> fake.FakeKeystone:
    """alice enrolled and enforced, bob enrolled not enforced, carol with
    a hand-made code-alone credential, dave with nothing."""
    ks = Cloud()
    ks.users['u3'] = {'id': 'u3', 'name': 'carol', 'domain_id': 'default'}
    ks.users['u4'] = {'id': 'u4', 'name': 'dave', 'domain_id': 'other'}
    fake.do_enroll(ks, 'u1')
    fake.do_enroll(ks, 'u2')
    ks.users['u2']['options'] = {
        mfa_rules.RULES_OPTION: GUARD,
        mfa_rules.ENABLED_OPTION: True,
    }
    ks.creds['hand'] = {
        'id': 'hand',
        'user_id': 'u3',
        'type': 'totp',
        'blob': totp.generate_secret(),
    }
    ks.calls = []
    ks.revoked = []
    return ks
