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

"""``enforce --all`` on the in-memory Keystone that checks the invariant."""

from __future__ import annotations

from oslotest import base

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import bulk
from tests.unit import test_workflows as fake

GUARD = [['password'], ['application_credential']]


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
    return ks


class TestEnforceAll(base.BaseTestCase):
    def test_plan_and_dry_run(self) -> None:
        ks = cloud()
        before = {u: dict(r.get('options') or {}) for u, r in ks.users.items()}
        rows = bulk.enforce_all(fake.as_keystone(ks), dry_run=True)
        self.assertEqual(
            [('bob', bulk.ACTION_ENFORCE), ('carol', bulk.ACTION_GUARD)],
            [(r.name, r.action) for r in rows],
        )
        self.assertEqual({bulk.RESULT_PLANNED}, {r.result for r in rows})
        self.assertNotIn('update_user_options', ks.calls)
        after = {u: dict(r.get('options') or {}) for u, r in ks.users.items()}
        self.assertEqual(before, after)

    def test_enforces_and_guards_then_nothing(self) -> None:
        ks = cloud()
        rows = bulk.enforce_all(fake.as_keystone(ks))
        self.assertEqual({bulk.RESULT_DONE}, {r.result for r in rows})
        self.assertEqual(2, ks.calls.count('update_user_options'))
        status = fake.get_status(ks, 'u2')
        self.assertEqual(mfa_rules.STATE_ENFORCED, status.state)
        self.assertEqual(
            [['password', 'totp'], ['application_credential']],
            ks.users['u2']['options'][mfa_rules.RULES_OPTION],
        )
        self.assertEqual(
            GUARD, ks.users['u3']['options'][mfa_rules.RULES_OPTION]
        )
        self.assertNotIn('options', ks.users['u4'])
        ks.calls = []
        self.assertEqual([], bulk.enforce_all(fake.as_keystone(ks)))
        self.assertNotIn('update_user_options', ks.calls)

    def test_no_application_credentials(self) -> None:
        ks = cloud()
        bulk.enforce_all(fake.as_keystone(ks), application_credentials=False)
        self.assertEqual(
            [['password', 'totp']],
            ks.users['u2']['options'][mfa_rules.RULES_OPTION],
        )

    def test_interrupted_everywhere_then_rerun(self) -> None:
        total = len(bulk.enforce_all(fake.as_keystone(cloud()), dry_run=True))
        for fail_at in range(1, 12):
            ks = cloud()
            ks.fail_at = fail_at
            try:
                rows = bulk.enforce_all(fake.as_keystone(ks))
            except fake.Boom:
                rows = []
            # The fake asserts never weaker, never locked out, after every
            # change; a failed change is reported, not hidden.
            ks.check_invariant()
            ks.fail_at = None
            failed = [r for r in rows if r.failed]
            done = [r for r in rows if not r.failed]
            self.assertLessEqual(len(done), total)
            if rows:
                self.assertEqual(total, len(rows))
            rerun = bulk.enforce_all(fake.as_keystone(ks))
            self.assertEqual(total - len(done), len(rerun), fail_at)
            self.assertLessEqual(len(failed), len(rerun))
            self.assertEqual([], bulk.enforce_all(fake.as_keystone(ks)))

    def test_progress(self) -> None:
        seen: list[tuple[int, int]] = []
        bulk.enforce_all(
            fake.as_keystone(cloud()),
            progress=lambda done, total: seen.append((done, total)),
        )
        self.assertEqual([(1, 2), (2, 2)], seen)
