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

"""Requests per sign-in, counted at a proxy in front of Keystone."""

from __future__ import annotations

import json
import os
import stat
import sys

from mfa_osc import totp
from tests.functional import test_cache

SECRET = test_cache.SECRET


class TestReceiptRecord(test_cache.CacheTestCase):
    def command(self) -> str:
        return (
            f'{sys.executable} -c "from mfa_osc import totp; '
            f"print(totp.passcode('{SECRET}'))\""
        )

    def records(self) -> list[str]:
        directory = os.path.join(self.home, '.cache', 'mfa-osc')
        return [
            os.path.join(directory, name)
            for name in os.listdir(directory)
            if name.endswith('.needs-totp')
        ]

    def drop_tokens(self) -> None:
        for path in self.cache_files():
            os.unlink(path)

    def test_second_sign_in_is_one_request(self) -> None:
        env = self.env(OS_PASSCODE_COMMAND=f'echo {self.good_code(SECRET)}')
        first = self.token(env)
        # NOTE: password, then the receipt with the code.
        self.assertEqual(2, self.sign_ins())
        (record,) = self.records()
        self.assertEqual(0o600, stat.S_IMODE(os.stat(record).st_mode))
        with open(record) as handle:
            text = handle.read()
        self.assertEqual({'totp': True}, json.loads(text))
        self.assertNotIn(first['id'], text)
        self.assertNotIn(self.user.password, text)
        self.drop_tokens()
        # NOTE: a code no sign-in used (behind the guard the command's
        # code of this window signed in already, and is refused).
        env['OS_PASSCODE_COMMAND'] = f'echo {self.good_code(SECRET)}'
        again = self.token(env)
        self.assertEqual(1, self.sign_ins())
        self.assertEqual(self.user.id, again['user_id'])

    def test_stale_record_signs_in_and_is_corrected(self) -> None:
        env = self.env(OS_PASSCODE_COMMAND=self.command())
        self.token(env)
        self.drop_tokens()
        # Rules and device removed since.
        self.keystone.set_mfa_rules(self.user.id, [])
        admin = self.keystone.admin_adapter()
        creds = admin.get(
            '/credentials', params={'user_id': self.user.id, 'type': 'totp'}
        ).json()['credentials']
        for cred in creds:
            admin.delete(f'/credentials/{cred["id"]}')
        token = self.token(env)
        self.assertEqual(self.user.id, token['user_id'])
        self.assertLessEqual(self.sign_ins(), 2)
        self.assertEqual([], self.records())
        # Corrected: the password alone, one request.
        self.token(env)
        self.assertEqual(1, self.sign_ins())

    def test_user_never_asked_is_not_prompted(self) -> None:
        plain = self.make_user()
        env = self.keystone.os_env(plain)
        env.update(OS_AUTH_URL=self.proxy.auth_url)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        code, output = self.openstack_on_pty(
            'token', 'issue', '-f', 'value', '-c', 'user_id', env=env
        )
        self.assertEqual(0, code, output)
        self.assertNotIn('Passcode', output)
        self.assertIn(plain.id, output)

    def test_passcode_given_up_front_is_one_request(self) -> None:
        self.token(self.env(OS_PASSCODE=self.good_code(SECRET)))
        self.assertEqual(1, self.sign_ins())

    def test_prompt_up_front_gives_three_tries_in_all(self) -> None:
        self.token(self.env(OS_PASSCODE_COMMAND=self.command()))
        self.drop_tokens()
        wrong = f'{(int(totp.passcode(SECRET)) + 500_000) % 1_000_000:06d}'
        env = self.env()
        env.update(OS_AUTH_URL=self.proxy.auth_url)
        self.proxy.reset()
        code, output = self.openstack_on_pty(
            'token',
            'issue',
            env=env,
            inputs=[
                ('Passcode: ', wrong),
                (r'not accepted.*\n.*Passcode \(try again\): ', wrong),
                (r'not accepted.*\n.*Passcode \(try again\): ', wrong),
            ],
        )
        self.assertNotEqual(0, code, output)
        self.assertEqual(2, output.count('Passcode (try again): '), output)
        self.assertIn('(after 3 tries)', output)

    def test_empty_answer_up_front_signs_in_with_the_password(self) -> None:
        self.token(self.env(OS_PASSCODE_COMMAND=self.command()))
        self.drop_tokens()
        # The device and the rules are gone since (an administrator's
        # reset): the person has no code to type.
        self.keystone.set_mfa_rules(self.user.id, [])
        admin = self.keystone.admin_adapter()
        for cred in admin.get(
            '/credentials', params={'user_id': self.user.id}
        ).json()['credentials']:
            admin.delete(f'/credentials/{cred["id"]}')
        self.proxy.reset()
        code, output = self.openstack_on_pty(
            'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.env(), inputs=[('Passcode: ', '')],
        )  # fmt: skip
        self.assertEqual(0, code, output)
        self.assertIn(self.user.id, output)
        self.assertEqual(1, self.sign_ins())
        self.assertEqual([], self.records())

    def test_removing_the_last_device_clears_the_record(self) -> None:
        api = self.keystone.admin_adapter()
        role = api.get('/roles?name=admin').json()['roles'][0]['id']
        api.put(
            f'/projects/{self.user.project_id}/users/{self.user.id}/roles/'
            f'{role}'
        )
        env = self.env(OS_PASSCODE_COMMAND=self.command())
        self.token(env)
        self.assertTrue(self.records())
        self.openstack(
            'mfa', 'remove', '--all', '--yes',
            '--passcode', self.proof_code(SECRET), env=env,
        )  # fmt: skip
        self.assertEqual([], self.records())
        self.drop_tokens()
        # The password alone, at once: no code asked for up front.
        self.token(env)
        self.assertEqual(1, self.sign_ins())
