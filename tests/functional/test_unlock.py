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

"""``openstack mfa unlock`` on any Keystone: the mark on the user record.

The guard marks a lock on the user record (``mfa_osc_lock``) and ends it
when the mark goes; the command is a read and a PATCH of that record
through Keystone's own API and policy, so it runs against every Keystone
release the suite runs (2024.1 included, where no guard runs): the mark
is written here by hand, as the guard writes it. The guard's side (the
lock refused, then ended at once) is tests/functional/test_guard_admin.py.
"""

from __future__ import annotations

import datetime
from typing import Any

from tests.functional import base


def _iso_z(moment: datetime.datetime) -> str:
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


class TestUnlock(base.FunctionalTestCase):
    def set_mark(self, user_id: str, until: datetime.datetime) -> None:
        """The guard's lock mark, as it writes it, by an administrator."""
        since = until - datetime.timedelta(minutes=30)
        response = self.keystone.admin_adapter().patch(
            f'/users/{user_id}',
            json={
                'user': {
                    'mfa_osc_lock': {
                        'since': _iso_z(since),
                        'until': _iso_z(until),
                    }
                }
            },
        )
        self.assertEqual(200, response.status_code, response.text)

    def mark(self, user_id: str) -> Any:
        api = self.keystone.admin_adapter()
        return api.get(f'/users/{user_id}').json()['user'].get('mfa_osc_lock')

    def test_a_lock_in_force_is_ended(self) -> None:
        user = self.make_user()
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        until = now + datetime.timedelta(minutes=20)
        self.set_mark(user.id, until)

        result = self.openstack(
            'mfa', 'unlock', '--user', user.name, env=self.keystone.os_env()
        )
        shown = _iso_z(until).replace('T', ' ').replace('Z', ' UTC')
        self.assertEqual(
            f'Ended the TOTP lock of {user.name} (it would have lasted until '
            f'{shown}).\n',
            result.stderr,
        )
        self.assertIsNone(self.mark(user.id))

    def test_no_lock_and_a_lock_past_its_end_change_nothing(self) -> None:
        fresh = self.make_user()
        past = self.make_user()
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        self.set_mark(past.id, now - datetime.timedelta(minutes=5))
        before = self.mark(past.id)

        for user in (fresh, past):
            result = self.openstack(
                'mfa', 'unlock', '--user', user.id,
                env=self.keystone.os_env(),
            )  # fmt: skip
            self.assertEqual(
                f"{user.name}'s TOTP sign-in is not locked; nothing was "
                'changed.\n',
                result.stderr,
            )
        self.assertIsNone(self.mark(fresh.id))
        self.assertEqual(before, self.mark(past.id))

    def test_a_user_may_not_unlock(self) -> None:
        user = self.make_user()
        other = self.make_user()
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        self.set_mark(other.id, now + datetime.timedelta(minutes=20))

        result = self.openstack(
            'mfa', 'unlock', '--user', other.id,
            env=self.keystone.os_env(user), expect_fail=True,
        )  # fmt: skip
        self.assertNotEqual(0, result.returncode)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(1, len(result.stderr.strip().splitlines()))
        self.assertIsNotNone(self.mark(other.id))
