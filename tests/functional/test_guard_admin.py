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

"""An administrator and a lock of the guard: ``mfa status``, ``mfa audit``
and ``mfa unlock`` against Keystone behind the guard.

One Keystone for the module (``LocalKeystone(guard=True)``: two uWSGI
processes, a real memcached) with ``[mfa_guard] max_failures = 3`` and a
lock of an hour, which no test outlasts: a lock here ends only by
``openstack mfa unlock``. Wrong passcodes go straight to Keystone with
``requests``; the commands are the real ``openstack`` CLI.
"""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import requests

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base

MAX_FAILURES = 3
LOCKOUT = 3600
RULES = [['password', 'totp'], ['application_credential']]

#: The module's Keystone behind the guard.
guarded_keystone = base.ModuleKeystone(
    guard=True,
    config={
        'mfa_guard': {
            'max_failures': str(MAX_FAILURES),
            'lockout_duration': str(LOCKOUT),
        }
    },
)


class GuardAdminTestCase(base.FunctionalTestCase):
    def setUp(self) -> None:
        # NOTE: this module's Keystone stands in for the shared one (not
        # started at all here): FunctionalTestCase's setUp takes it from
        # get_keystone, before oslotest's temporary directories.
        keystone = guarded_keystone()
        with mock.patch.object(base, 'get_keystone', return_value=keystone):
            super().setUp()

    # -- straight to Keystone

    def with_code(
        self, user: local_keystone.KeystoneUser, passcode: str
    ) -> requests.Response:
        """A password and passcode sign-in, on a new connection."""
        identity: dict[str, Any] = {
            'methods': ['password', 'totp'],
            'password': {'user': {'id': user.id, 'password': user.password}},
            'totp': {'user': {'id': user.id, 'passcode': passcode}},
        }
        return requests.post(
            self.keystone.auth_url + '/auth/tokens',
            json={'auth': {'identity': identity}},
            timeout=60,
        )

    @staticmethod
    def wrong_codes(secret: str, count: int) -> list[str]:
        """Codes of no window near now."""
        near = {
            totp.passcode(secret, time.time() + 30 * k) for k in range(-3, 4)
        }
        codes = (f'{n:06d}' for n in range(1000000))
        return [code for code in codes if code not in near][:count]

    def locked_user(self) -> tuple[local_keystone.KeystoneUser, str]:
        """A user with a TOTP device and MFA rules, locked by the guard
        after max_failures wrong passcodes (the next try is refused, 429):
        the user and the device's secret."""
        user = self.make_user(rules=RULES)
        secret = totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        *wrong, last = self.wrong_codes(secret, MAX_FAILURES + 1)
        for code in wrong:
            response = self.with_code(user, code)
            self.assertEqual(401, response.status_code, response.text)
        self.assert_locked(self.with_code(user, last))
        return user, secret

    def assert_locked(self, response: requests.Response) -> None:
        self.assertEqual(429, response.status_code, response.text)
        self.assertEqual(
            'locked', response.json()['error']['mfa_guard']['reason']
        )

    def mark(self, user_id: str) -> Any:
        """The guard's mark on the user record (as an administrator)."""
        api = self.keystone.admin_adapter()
        return api.get(f'/users/{user_id}').json()['user'].get('mfa_osc_lock')

    def admin(self) -> dict[str, str]:
        return self.keystone.os_env()


class TestUnlock(GuardAdminTestCase):
    def test_status_audit_and_unlock(self) -> None:
        user, secret = self.locked_user()
        until = self.mark(user.id)['until']
        shown = until.replace('T', ' ').replace('Z', ' UTC')

        result = self.openstack(
            'mfa', 'status', '--user', user.name, '-f', 'json',
            env=self.admin(),
        )  # fmt: skip
        status = json.loads(result.stdout)
        self.assertEqual(
            (True, until),
            (status['totp_locked'], status['totp_locked_until']),
        )
        self.assertEqual('enforced', status['state'])
        self.assertIn(
            'TOTP sign-in is locked after too many wrong passcodes, until '
            f"{shown} (Keystone's clock)",
            result.stderr,
        )
        self.assertIn(f'`openstack mfa unlock --user {user.id}`',
                      result.stderr)  # fmt: skip

        rows = self.openstack_json(
            'mfa', 'audit', '--domain', 'Default', env=self.admin()
        )
        (row,) = [r for r in rows if r['id'] == user.id]
        self.assertEqual(
            (True, until), (row['totp_locked'], row['totp_locked_until'])
        )
        # NOTE: a user without a lock is not shown locked; the columns
        # before the lock's are those the audit always had, in order.
        (admin,) = [r for r in rows if r['name'] == 'admin']
        self.assertEqual(
            (False, None), (admin['totp_locked'], admin['totp_locked_until'])
        )
        self.assertEqual(
            ['id', 'name', 'domain_id', 'devices', 'recovery_codes_left',
             'unverified', 'state', 'admin', 'policy', 'deadline',
             'compliance', 'totp_locked', 'totp_locked_until'],
            list(row),
        )  # fmt: skip
        csv_out = self.openstack(
            'mfa', 'audit', '--domain', 'Default', '-f', 'csv',
            '-c', 'ID', '-c', 'totp_locked_until', env=self.admin(),
        ).stdout  # fmt: skip
        self.assertIn(f'"{user.id}","{until}"', csv_out)

        # The right code is refused while the lock holds.
        self.assert_locked(self.with_code(user, totp.passcode(secret)))

        ended = self.openstack(
            'mfa', 'unlock', '--user', user.name, env=self.admin()
        )
        self.assertEqual(
            f'Ended the TOTP lock of {user.name} (it would have lasted until '
            f'{shown}).\n',
            ended.stderr,
        )
        self.assertEqual('', ended.stdout)
        self.assertIsNone(self.mark(user.id))

        # At once, on either process: the right code signs in.
        signed_in = self.with_code(user, totp.passcode(secret))
        self.assertEqual(201, signed_in.status_code, signed_in.text)

        again = self.openstack(
            'mfa', 'unlock', '--user', user.id, env=self.admin()
        )
        self.assertEqual(
            f"{user.name}'s TOTP sign-in is not locked; nothing was "
            'changed.\n',
            again.stderr,
        )
        after = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=self.admin()
        )
        self.assertEqual(
            (False, None),
            (after['totp_locked'], after['totp_locked_until']),
        )

    def test_a_user_who_may_not_read_users_is_refused(self) -> None:
        user, secret = self.locked_user()
        member = self.make_user()
        result = self.openstack(
            'mfa', 'unlock', '--user', user.name,
            env=self.keystone.os_env(member), expect_fail=True,
        )  # fmt: skip
        self.assertEqual(
            "Ending a TOTP lock needs an administrator: Keystone's policy "
            '(identity:get_user, identity:list_users) refused to read user '
            f'{user.name} for the signed-in user; run `openstack mfa unlock '
            f"--user {user.name}` with an administrator's credentials.\n",
            result.stderr,
        )
        self.assertIsNotNone(self.mark(user.id))
        self.assert_locked(self.with_code(user, totp.passcode(secret)))

    def test_a_reader_who_may_not_update_users_is_refused(self) -> None:
        # NOTE: the system reader role reads every user (the lock shows)
        # and may not update one (identity:update_user).
        user, secret = self.locked_user()
        reader = self.make_user()
        api = self.keystone.admin_adapter()
        role = api.get('/roles?name=reader').json()['roles'][0]['id']
        api.put(f'/system/users/{reader.id}/roles/{role}')
        env = self.keystone.os_env(reader)
        for name in ('OS_PROJECT_NAME', 'OS_PROJECT_DOMAIN_NAME'):
            env.pop(name, None)
        env['OS_SYSTEM_SCOPE'] = 'all'
        status = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=env
        )
        self.assertTrue(status['totp_locked'])
        result = self.openstack(
            'mfa', 'unlock', '--user', user.id, env=env, expect_fail=True
        )
        self.assertEqual(
            "Ending a TOTP lock needs an administrator: Keystone's policy "
            '(identity:update_user) refused to change the record of user '
            f'{user.name} for the signed-in user; run `openstack mfa unlock '
            f"--user {user.id}` with an administrator's credentials.\n",
            result.stderr,
        )
        self.assertIsNotNone(self.mark(user.id))
        self.assert_locked(self.with_code(user, totp.passcode(secret)))

    def test_no_such_user_is_one_sentence(self) -> None:
        result = self.openstack(
            'mfa', 'unlock', '--user', 'nosuchuser', env=self.admin(),
            expect_fail=True,
        )  # fmt: skip
        self.assertEqual(
            "There is no user 'nosuchuser': `openstack user list` lists the "
            'users, to give one of their names or IDs with --user.\n',
            result.stderr,
        )
