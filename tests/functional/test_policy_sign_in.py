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

"""A domain's MFA policy at sign-in: the notice, and the set-up.

On the real Keystone, through the real ``openstack`` command signing in
with ``v3multifactor``, on a domain of each test's own: a covered user
without a device is reminded before the deadline, is walked through the
set-up on a terminal after it (and the command completes with a token
that carries ``totp``), gets a clear error without a terminal; ``mfa
status`` and ``mfa enroll`` always work; users outside the policy see
nothing and pay one request a day.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import test_policy


class TestSetUpAtSignIn(test_policy.DomainCase):
    def project_env(
        self, user: local_keystone.KeystoneUser, auth_url: str | None = None
    ) -> dict[str, str]:
        """:meth:`mfa_env` scoped to the user's project by id."""
        return self.mfa_env(user, auth_url, OS_PROJECT_ID=str(user.project_id))

    def set_policy(self, *extra: str) -> None:
        self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            *extra, env=self.env(),
        )  # fmt: skip

    @staticmethod
    def days(n: int) -> str:
        today = datetime.datetime.now(datetime.UTC).date()
        return (today + datetime.timedelta(days=n)).isoformat()

    def token_methods(self, token: str) -> list[str]:
        api = self.keystone.admin_adapter()
        body = api.get(
            '/auth/tokens', headers={'X-Subject-Token': token}
        ).json()
        return list(body['token']['methods'])

    def test_notice_before_the_deadline(self) -> None:
        worker = self.user('worker')
        deadline = self.days(14)
        self.set_policy('--deadline', deadline)
        result = self.openstack(
            'token', 'issue', '-f', 'value', '-c', 'user_id',
            env=self.project_env(worker),
        )  # fmt: skip
        self.assertEqual(worker.id, result.stdout.strip())
        notice = [
            line for line in result.stderr.splitlines() if 'MFA' in line
        ]  # fmt: skip
        self.assertEqual(1, len(notice), result.stderr)
        self.assertIn(deadline, notice[0])
        self.assertIn('openstack mfa enroll', notice[0])
        self.assert_invariant(worker)

    def test_after_the_deadline_without_a_terminal(self) -> None:
        # NOTE: a deadline of today is in force (a past one is refused by
        # `policy set`).
        worker = self.user('worker')
        self.set_policy('--deadline', self.days(0))
        result = self.openstack(
            'token', 'issue', env=self.project_env(worker), expect_fail=True
        )
        self.assertEqual(1, result.returncode)
        self.assertIn('openstack mfa enroll', result.stderr)
        self.assertIn(self.days(0), result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual('', result.stdout)
        # No one is stuck: `mfa status` works, and `mfa enroll` enrolls.
        status = self.openstack_json(
            'mfa', 'status', env=self.project_env(worker)
        )
        self.assertEqual([], status['devices'])
        secret = totp.generate_secret()
        self.openstack(
            'mfa', 'enroll', '--name', 'phone', '--secret', secret,
            '--passcode', self.good_code(secret), env=self.project_env(worker),
        )  # fmt: skip
        # With a device, the policy no longer stands in the way.
        env = self.project_env(worker)
        env['OS_TOTP_SECRET'] = secret
        self.openstack('token', 'issue', env=env)
        self.assert_invariant(worker)

    def test_set_up_on_a_terminal_then_the_command_carries_on(self) -> None:
        worker = self.user('worker')
        self.set_policy()
        seen: dict[str, str] = {}

        def code(output: str) -> str:
            match = re.search(r'Secret: ([A-Z2-7 ]+)\n', output)
            assert match is not None, output
            seen['secret'] = match.group(1).replace(' ', '')
            return self.good_code(seen['secret'])

        env = self.project_env(worker)
        del env['OS_TOKEN_CACHE']  # the token cache, as users have it
        returncode, output = self.openstack_on_pty(
            'token', 'issue', '-f', 'value', '-c', 'id',
            env=env,
            inputs=[
                (r'set up a device now', None),
                (r'Scan this QR code', None),
                ('Code shown by the app: ', code),
            ],
        )  # fmt: skip
        self.assertEqual(0, returncode, output)
        self.assertIn('Recovery codes, shown once', output)
        token = output.strip().splitlines()[-1].strip()
        self.assertIn('totp', self.token_methods(token))
        # The device is verified and listed; the account is no weaker.
        book = self.book(worker.id) or {}
        self.assertEqual(1, len(book.get('devices', {})))
        self.assertEqual(
            401, self.totp_alone_status(worker.id, seen['secret'])
        )
        self.assert_invariant(worker)
        # The next command, without a terminal, reuses the MFA token.
        result = self.openstack('token', 'issue', env=env)
        self.assertNotIn('MFA', result.stderr)
        self.assertNotIn('Scan', result.stderr)

    def test_outside_the_policy_one_request_a_day(self) -> None:
        proxy = self.start_proxy()
        worker = self.user('worker')
        env = self.project_env(worker, auth_url=proxy.auth_url)
        runs = []
        for _ in range(3):
            proxy.reset()
            result = self.openstack('token', 'issue', env=env)
            self.assertNotIn('MFA', result.stderr)
            runs.append(list(proxy.requests))
        # The first command of the day reads the domain once; the others
        # send only the sign-in, as v3password does.
        self.assertEqual(
            [
                ('POST', '/v3/auth/tokens'),
                ('GET', '/v3/domains/' + self.domain_id),
            ],
            runs[0],
        )
        self.assertEqual([('POST', '/v3/auth/tokens')], runs[1])
        self.assertEqual([('POST', '/v3/auth/tokens')], runs[2])

    def test_a_policy_for_a_role_the_user_does_not_hold(self) -> None:
        boss = self.user('boss', role='admin')
        worker = self.user('worker')
        self.set_policy('--role', 'admin')
        result = self.openstack('token', 'issue', env=self.project_env(worker))
        self.assertNotIn('MFA', result.stderr)
        result = self.openstack(
            'token', 'issue', env=self.project_env(boss), expect_fail=True
        )
        self.assertIn('openstack mfa enroll', result.stderr)
        self.assert_invariant(boss)


class TestPolicyUnreadable(test_policy.DomainCase):
    """A token that cannot read the user's own domain (issue 20, item 4).

    Keystone lets a token read a domain only when it is scoped to that
    domain or to one of its projects: a user of domain D working in a
    project of another domain (as with LDAP or identity-provider user
    domains), or signed in unscoped, gets 403. That is never "no policy".
    """

    def setUp(self) -> None:
        super().setUp()
        _, other = self.make_domain('work')
        self.elsewhere = self.project(other)
        self.at_home = self.project(self.domain_id)
        self.member = self.api.get('/roles?name=member').json()['roles'][0][
            'id'
        ]

    def project(self, domain_id: str) -> str:
        return self.domain_project(domain_id, 'p')

    def roamer(self) -> local_keystone.KeystoneUser:
        """A user of D without a default project, member of a project of
        another domain and of one of D."""
        name = f'roamer-{secrets.token_hex(3)}'
        user = self.domain_user(self.domain, self.domain_id, name)
        for project in (self.elsewhere, self.at_home):
            self.api.put(
                f'/projects/{project}/users/{user.id}/roles/{self.member}'
            )
        return user

    def roamer_env(
        self, user: local_keystone.KeystoneUser, project: str | None
    ) -> dict[str, str]:
        env = self.env(user)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        if project:
            env['OS_PROJECT_ID'] = project
        return env

    def set_overdue_policy(self) -> None:
        """A policy in force since today (a past date is refused)."""
        self.openstack(
            'mfa', 'policy', 'set', '--domain', self.domain, '--required',
            '--deadline', TestSetUpAtSignIn.days(0), env=self.env(),
        )  # fmt: skip

    def assert_unreadable(self, result: object, why: str) -> None:
        stderr = getattr(result, 'stderr', '')
        self.assertEqual(1, getattr(result, 'returncode', None), stderr)
        self.assertIn(
            'could not read the MFA policy of your domain '
            f'{self.domain} ({self.domain_id}) with this token '
            f'(Keystone answered 403: {why}',
            ' '.join(stderr.split()),
        )
        self.assertIn('`openstack mfa enroll`', stderr)
        self.assertIn('a project of your own domain', stderr)
        self.assertNotIn('Traceback', stderr)
        self.assertEqual('', getattr(result, 'stdout', None))

    def assert_refused_by_the_guard(self, result: object) -> None:
        """The plugin's sentence for the guard's refusal (403) of a scoped
        token without a second factor."""
        stderr = getattr(result, 'stderr', '')
        self.assertEqual(1, getattr(result, 'returncode', None), stderr)
        self.assertEqual(
            "Your domain's policy requires MFA since "
            f'{TestSetUpAtSignIn.days(0)}, so Keystone refused this sign-in '
            'without a passcode: sign in with a passcode (--os-passcode, '
            '--os-passcode-command, or at the prompt on a terminal), or set '
            'up a device with `openstack mfa enroll` on a terminal.',
            stderr.strip(),
        )
        self.assertEqual('', getattr(result, 'stdout', None))

    def test_another_domains_project_is_refused(self) -> None:
        user = self.roamer()
        self.set_overdue_policy()
        env = self.roamer_env(user, self.elsewhere)
        env['OS_TOKEN_CACHE'] = 'on'
        for _ in range(2):
            # Twice: the refusal is not cached as "no policy".
            result = self.openstack(
                'token', 'issue', env=env, expect_fail=True
            )
            if self.guarded:
                # NOTE: the server reads the policy the token cannot.
                self.assert_refused_by_the_guard(result)
            else:
                self.assert_unreadable(
                    result,
                    f'the token is scoped to project {self.elsewhere} of '
                    'domain',
                )
        self.assert_invariant(user)

    def test_an_unscoped_command_opens_no_scoped_one(self) -> None:
        user = self.roamer()
        self.set_overdue_policy()
        if self.guarded:
            # NOTE: the server is the line: the plugin trusts the guard,
            # which lets an unscoped token through (what setting a device
            # up needs), and refuses a scoped one below.
            result = self.openstack(
                'token', 'issue', '-f', 'json', env=self.roamer_env(user, None)
            )
            token = json.loads(result.stdout)
            self.assertEqual(user.id, token['user_id'])
            self.assertNotIn('project_id', token)
        else:
            result = self.openstack(
                'token', 'issue', env=self.roamer_env(user, None),
                expect_fail=True,
            )  # fmt: skip
            self.assert_unreadable(result, 'the token is unscoped')
        # The same day, a scoped sign-in still reads the policy.
        result = self.openstack(
            'token', 'issue', env=self.roamer_env(user, self.at_home),
            expect_fail=True,
        )  # fmt: skip
        self.assertIn(
            "Your domain's policy requires MFA since "
            + TestSetUpAtSignIn.days(0),
            result.stderr,
        )
        self.assertNotIn('Traceback', result.stderr)

    def test_with_a_device_the_sign_in_stands(self) -> None:
        user = self.roamer()
        self.set_overdue_policy()
        env = self.roamer_env(user, self.elsewhere)
        # `mfa enroll` is exempt: it works with this very token.
        secret = totp.generate_secret()
        self.openstack(
            'mfa', 'enroll', '--name', 'phone', '--secret', secret,
            '--passcode', self.good_code(secret), env=env,
        )  # fmt: skip
        # The password alone (the guard rules allow it, until an
        # administrator enforces): a user with a device is left alone.
        # NOTE: behind the guard the server refuses a scoped token of the
        # password alone past the deadline, device or not.
        result = self.openstack(
            'token', 'issue', '-f', 'value', '-c', 'project_id', env=env,
            expect_fail=self.guarded,
        )  # fmt: skip
        if self.guarded:
            self.assert_refused_by_the_guard(result)
        else:
            self.assertEqual(self.elsewhere, result.stdout.strip())
            self.assertNotIn('MFA', result.stderr)
        # And with the device's code, no question at all.
        env['OS_TOTP_SECRET'] = secret
        self.openstack('token', 'issue', env=env)
        self.assert_invariant(user)

    def test_on_a_terminal_the_set_up_is_offered(self) -> None:
        user = self.roamer()
        self.set_overdue_policy()
        seen: dict[str, str] = {}

        def code(output: str) -> str:
            match = re.search(r'Secret: ([A-Z2-7 ]+)\n', output)
            assert match is not None, output
            seen['secret'] = match.group(1).replace(' ', '')
            return self.good_code(seen['secret'])

        env = self.roamer_env(user, self.elsewhere)
        # NOTE: behind the guard the plugin does not read the policy where
        # it cannot: the guard refuses the scoped token (403), which the
        # plugin answers with the same set-up.
        why = (
            re.escape(
                "Your domain's policy requires MFA since "
                f'{TestSetUpAtSignIn.days(0)}: set up a device now'
            )
            if self.guarded
            else r'could not be read with this token'
        )
        returncode, output = self.openstack_on_pty(
            'token', 'issue', '-f', 'value', '-c', 'project_id',
            env=env,
            inputs=[
                (why, None),
                (r'Scan this QR code', None),
                ('Code shown by the app: ', code),
            ],
        )  # fmt: skip
        self.assertEqual(0, returncode, output)
        self.assertIn(self.elsewhere, output.strip().splitlines()[-1])
        self.assertEqual(1, len((self.book(user.id) or {})['devices']))
        self.assert_invariant(user)
