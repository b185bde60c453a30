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

"""``mfa remove`` of the last device shuts no way in the account had
before enrolling (issue 20, item 1, for remove): at every request of the
removal, so also when it is interrupted between any two, each method
that signed in alone before still does, except the code alone."""

from __future__ import annotations

import copy
from typing import Any

from oslotest import base

from mfa_osc import rules as mfa_rules
from tests.unit.workflows import fakes as fake

#: The fake cloud with federation (``mapped`` and a protocol of its own
#: name), ``external`` (Kerberos, X.509) and ``oauth1`` enabled.
METHODS = fake.METHODS | {'mapped', 'openid', 'external', 'oauth1'}

#: What each sign-in may use alone, the code and a rescope aside.
WAYS = sorted(METHODS - mfa_rules.NOT_GUARDED)

#: The MFA options before the first enrollment, by shape.
SHAPES: dict[str, dict[str, Any]] = {
    'none': {},
    'flag off': {
        mfa_rules.ENABLED_OPTION: False,
        mfa_rules.RULES_OPTION: [['password', 'totp']],
    },
    'flag on, no rules': {mfa_rules.ENABLED_OPTION: True},
    'password only': {mfa_rules.RULES_OPTION: [['password']]},
    'password or mapped': {
        mfa_rules.RULES_OPTION: [['password'], ['mapped']],
    },
    'guard of an earlier release': {
        mfa_rules.RULES_OPTION: [['password'], ['application_credential']],
        mfa_rules.ENABLED_OPTION: True,
    },
    "today's guard": {
        mfa_rules.RULES_OPTION: mfa_rules.guard_rules(METHODS),
        mfa_rules.ENABLED_OPTION: True,
    },
    'code alone or password': {
        mfa_rules.RULES_OPTION: [['totp'], ['password']],
    },
}

FEDERATED = [
    {
        'idp_id': 'idp',
        'protocols': [{'protocol_id': 'mapped', 'unique_id': 'carol'}],
    }
]


def ways_in(ks: fake.FakeKeystone, user_id: str) -> set[str]:
    options = mfa_rules.MFAOptions.of(
        ks.users[user_id].get('options'), ks.enabled
    )
    return {m for m in WAYS if options.signs_in(m)}


class TestRemoveKeepsWaysIn(base.BaseTestCase):
    def _check(self, shape: str, federated: bool, device: bool) -> None:
        ks = fake.FakeKeystone()
        ks.enabled = frozenset(METHODS)
        ks.users['u2']['options'] = copy.deepcopy(SHAPES[shape])
        if federated:
            ks.users['u2']['federated'] = copy.deepcopy(FEDERATED)
        before = ways_in(ks, 'u2')
        fake.do_enroll(ks, 'u2')
        seen: list[tuple[str, set[str]]] = []
        update = ks.update_user_options

        def watch(
            user_id: str,
            options: dict[str, Any],
            *,
            extra: dict[str, Any] | None = None,
        ) -> Any:
            was = ks.options(user_id)
            done = update(user_id, options, extra=extra)
            if ks.options(user_id) != was:
                # NOTE: not the no-op PATCH that asks whether the rules
                # may be changed, which leaves MFA as it is.
                seen.append((str(ks.options(user_id)), ways_in(ks, user_id)))
            return done

        ks.update_user_options = watch  # type: ignore[method-assign]
        result = fake.do_remove(
            ks,
            'u2',
            device='phone' if device else None,
            all_devices=not device,
        )
        self.assertTrue(result.last)
        self.assertEqual([], ks.totp_creds('u2'))
        where = f'{shape}, federated: {federated}'
        self.assertTrue(seen, where)
        for options, ways in seen:
            # NOTE: the state after each request is what an interruption
            # after it leaves.
            self.assertLessEqual(before, ways, f'{where}: {options}')
        self.assertLessEqual(before, ways_in(ks, 'u2'), where)

    def test_every_shape(self) -> None:
        for shape in SHAPES:
            for federated in (False, True):
                self._check(shape, federated, device=False)
        self._check('none', True, device=True)

    def test_interrupted_relaxed_state_keeps_federated_sign_in(self) -> None:
        ks = fake.FakeKeystone()
        ks.enabled = frozenset(METHODS)
        ks.users['u2']['federated'] = copy.deepcopy(FEDERATED)
        fake.do_enroll(ks, 'u2')
        ks.calls = []
        # NOTE: the first credential deleted, after the rules were relaxed.
        plan_calls = fake.FakeKeystone()
        plan_calls.enabled = ks.enabled
        fake.do_enroll(plan_calls, 'u2')
        plan_calls.calls = []
        fake.do_remove(plan_calls, 'u2', all_devices=True)
        ks.fail_at = plan_calls.calls.index('delete_credential') + 1
        self.assertRaises(
            fake.Boom, fake.do_remove, ks, 'u2', all_devices=True
        )
        options = mfa_rules.MFAOptions.of(
            ks.users['u2'].get('options'), ks.enabled
        )
        self.assertTrue(options.signs_in('mapped'))
        self.assertTrue(options.signs_in('openid'))
        self.assertTrue(options.signs_in('external'))
        self.assertTrue(options.signs_in('password'))
        self.assertFalse(options.signs_in('totp'))
        self.assertTrue(ks.totp_creds('u2'))
