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

"""The unlock workflow: a TOTP lock in force ends, nothing else changes."""

from __future__ import annotations

import datetime
from typing import Any

from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc import totp
from mfa_osc.workflows import errors
from mfa_osc.workflows import unlock as unlock_flow
from tests.unit.workflows import fakes


def iso(seconds_from_now: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=seconds_from_now
    )
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def mark(seconds_from_now: float) -> dict[str, str]:
    """A lock mark as the guard writes it, ending that far from now."""
    return {'since': iso(-60), 'until': iso(seconds_from_now)}


class UnlockTestCase(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.ks = fakes.FakeKeystone()
        self.ks.users['u2']['options'] = dict(fakes.ENFORCED)
        self.ks.add_totp('u2', totp.generate_secret())
        self.ks.clock_skew = 0.0

    def unlock(self, name: str = 'bob') -> unlock_flow.UnlockResult:
        client = fakes.as_keystone(self.ks)
        user = unlock_flow.find_user(client, name, None)
        self.ks.calls = []
        return unlock_flow.unlock(client, user)

    def record(self) -> dict[str, Any]:
        return self.ks.users['u2']


class TestUnlock(UnlockTestCase):
    def test_a_lock_in_force_is_ended_on_the_record(self) -> None:
        self.record()['mfa_osc_lock'] = mark(600)
        result = self.unlock()
        self.assertTrue(result.ended)
        assert result.until is not None
        self.assertIsNone(self.record()['mfa_osc_lock'])
        self.assertAlmostEqual(
            600,
            (
                result.until - datetime.datetime.now(datetime.UTC)
            ).total_seconds(),
            delta=5,
        )
        # NOTE: one PATCH; the rules and credentials are as they were.
        self.assertEqual(['update_user_options'], self.ks.calls)
        self.assertEqual(fakes.ENFORCED, self.ks.options('u2'))
        self.assertEqual(1, len(self.ks.totp_creds('u2')))

    def test_by_id_too(self) -> None:
        self.record()['mfa_osc_lock'] = mark(600)
        self.assertTrue(self.unlock('u2').ended)
        self.assertIsNone(self.record()['mfa_osc_lock'])

    def test_an_expired_mark_is_no_lock_and_stays(self) -> None:
        expired = mark(-1)
        self.record()['mfa_osc_lock'] = expired
        result = self.unlock()
        self.assertFalse(result.ended)
        self.assertEqual([], self.ks.calls)
        self.assertEqual(expired, self.record()['mfa_osc_lock'])

    def test_no_mark_or_a_null_one_is_no_lock(self) -> None:
        self.assertFalse(self.unlock().ended)
        self.record()['mfa_osc_lock'] = None
        self.assertFalse(self.unlock().ended)
        self.assertEqual([], self.ks.calls)

    def test_keystones_clock_decides(self) -> None:
        # This machine's clock 120 s ahead of Keystone's: a lock ending in
        # 60 s by this clock still has 180 s to go by Keystone's.
        self.record()['mfa_osc_lock'] = mark(-60)
        self.ks.clock_skew = 120.0
        self.assertTrue(self.unlock().ended)
        # 120 s behind: a lock ending in 60 s by this clock is over.
        self.record()['mfa_osc_lock'] = mark(60)
        self.ks.clock_skew = -120.0
        self.assertFalse(self.unlock().ended)
        self.assertEqual([], self.ks.calls)

    def test_a_mark_with_no_readable_end_is_ended(self) -> None:
        # NOTE: the guard ends a lock when its mark goes, never by the
        # mark's until: one that cannot be read may hold.
        self.record()['mfa_osc_lock'] = {'since': iso(-60), 'until': 'soon'}
        result = self.unlock()
        self.assertTrue(result.ended)
        self.assertIsNone(result.until)
        self.assertIsNone(self.record()['mfa_osc_lock'])


class TestRefusals(UnlockTestCase):
    def test_a_non_administrator_gets_one_sentence(self) -> None:
        locked = mark(600)
        self.record()['mfa_osc_lock'] = locked
        self.ks.admin = False
        exc = self.assertRaises(errors.NeedsAdministrator, self.unlock)
        self.assertEqual(
            "Ending a TOTP lock needs an administrator: Keystone's policy "
            '(identity:update_user) refused to change the record of user '
            'bob for the signed-in user; run `openstack mfa unlock --user '
            "u2` with an administrator's credentials.",
            str(exc),
        )
        self.assertEqual(locked, self.record()['mfa_osc_lock'])

    def test_a_refused_read_gets_the_same_sentence(self) -> None:
        def forbidden(*args: Any, **kwargs: Any) -> Any:
            raise mfa_client.Forbidden('Keystone refused (HTTP 403).')

        self.ks.find_users = forbidden  # type: ignore[method-assign]
        exc = self.assertRaises(errors.NeedsAdministrator, self.unlock)
        self.assertIn('(identity:get_user, identity:list_users)', str(exc))
        self.assertIn('refused to read user bob', str(exc))
        self.assertIn('`openstack mfa unlock --user bob`', str(exc))

    def test_no_such_user_is_one_sentence(self) -> None:
        exc = self.assertRaises(errors.NotFound, self.unlock, 'nobody')
        self.assertEqual(
            "There is no user 'nobody': `openstack user list` lists the "
            'users, to give one of their names or IDs with --user.',
            str(exc),
        )

    def test_keystone_failing_says_to_run_it_again(self) -> None:
        self.record()['mfa_osc_lock'] = mark(600)
        client = fakes.as_keystone(self.ks)
        user = unlock_flow.find_user(client, 'bob', None)
        self.ks.calls = []
        self.ks.fail_at = 1
        exc = self.assertRaises(
            errors.WorkflowError, unlock_flow.unlock, client, user
        )
        self.assertEqual(
            'Keystone did not change the record of user bob (no answer), so '
            'its TOTP lock was not ended; run `openstack mfa unlock --user '
            'u2` again when Keystone answers.',
            str(exc),
        )
