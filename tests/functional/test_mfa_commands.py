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

"""``openstack mfa ...`` through the real CLI against a real Keystone."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import stat

from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base

ENFORCED = [['password', 'totp'], ['application_credential']]
GUARD = [['password'], ['application_credential']]


def bare(code: str) -> str:
    return code.replace('-', '')


class TestSelfService(mfa_base.MFATestCase):
    def test_interactive_enroll_recovery_codes_and_removal(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        wrong = self.bad_code(secret)
        code, output = self.openstack_on_pty(
            'mfa',
            'enroll',
            '--name',
            'phone',
            '--secret',
            secret,
            env=self.env(user),
            inputs=[
                ('Code shown by the app: ', wrong),
                ('(?s)not the current code.*Code shown by the app: ', wrong),
                ('(?s)not the current code.*Code shown by the app: ', wrong),
            ],
        )
        # Three wrong answers: refused, nothing created.
        self.assertNotEqual(0, code, output)
        self.assertIn('nothing was changed', output)
        self.assertIn('\u2580', output)  # the QR code, in half blocks
        self.assertIn('\x1b[30;107m', output)  # black on white, explicit
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual(201, self.password_status(user))

        good = self.good_code(secret)
        code, output = self.openstack_on_pty(
            'mfa',
            'enroll',
            '--name',
            'phone',
            '--secret',
            secret,
            env=self.env(user),
            inputs=[('Code shown by the app: ', good)],
        )
        self.assertEqual(0, code, output)
        codes = re.findall(r'\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}\b', output)
        self.assertEqual(8, len(codes), output)
        self.assertIn('shown once', output)
        options = self.user_record(user.id)['options']
        self.assertEqual(ENFORCED, options['multi_factor_auth_rules'])
        self.assertTrue(options['multi_factor_auth_enabled'])
        self.assertEqual(401, self.password_status(user))
        self.assertEqual(401, self.totp_alone_status(user.id, secret))
        self.assert_invariant(user)

        # Password plus the device code signs in; status agrees.
        status = self.openstack_json(
            'mfa', 'status', env=self.env(user, secret)
        )
        self.assertTrue(status['enforced'])
        self.assertTrue(status['session_used_totp'])
        self.assertTrue(status['application_credentials_allowed'])
        self.assertEqual(8, status['recovery_codes_left'])
        self.assertEqual(['phone'], [d['name'] for d in status['devices']])
        self.assertEqual(ENFORCED, status['rules'])
        self.assertEqual([], status['warnings'])

        # A recovery code signs in (password + the passcode of the secret
        # derived from it).
        token = self.openstack_json(
            'token',
            'issue',
            env=self.env(user, recovery.secret(bare(codes[0]))),
        )
        self.assertEqual(user.id, token['user_id'])

        # A second device, then remove it with a recovery code as proof.
        second = totp.generate_secret()
        result = self.openstack_json(
            *self.enroll_args(second, name='laptop'),
            env=self.env(user, secret),
        )
        self.assertEqual([], result['recovery_codes'])
        self.assertTrue(result['enforced'])
        failed = self.openstack(
            *self.enroll_args(second, name='laptop'),
            env=self.env(user, secret),
            expect_fail=True,
        )
        self.assertIn("already has a device named 'laptop'", failed.stderr)
        self.openstack(
            'mfa',
            'remove',
            '--device',
            'laptop',
            '--recovery-code',
            codes[1].lower(),
            '--yes',
            env=self.env(user, secret),
        )
        # The used code is gone: neither proof nor sign-in works again.
        failed = self.openstack(
            'mfa',
            'remove',
            '--device',
            'phone',
            '--recovery-code',
            codes[1],
            '--yes',
            env=self.env(user, secret),
            expect_fail=True,
        )
        self.assertIn('not valid for this account', failed.stderr)
        self.openstack(
            'token',
            'issue',
            env=self.env(user, recovery.secret(bare(codes[1]))),
            expect_fail=True,
        )
        status = self.openstack_json(
            'mfa', 'status', env=self.env(user, secret)
        )
        self.assertEqual(['phone'], [d['name'] for d in status['devices']])
        self.assertEqual(7, status['recovery_codes_left'])

        # Removing the last device turns MFA off with no lockout.
        failed = self.openstack(
            'mfa',
            'remove',
            '--all',
            '--passcode',
            self.proof_code(secret),
            env=self.env(user, secret),
            expect_fail=True,
        )
        self.assertIn('add --yes', failed.stderr)
        passcode = self.proof_code(secret)
        result = self.openstack(
            '--debug',
            'mfa',
            'remove',
            '--all',
            '--yes',
            '--passcode',
            passcode,
            env=self.env(user, secret),
        )
        self.assertIn('DELETE', result.stderr)
        for value in [secret, passcode, *codes, *map(bare, codes)]:
            self.assertNotIn(value, result.stderr)
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual([], self.credentials(user.id, 'mfa-osc'))
        self.assertEqual({}, self.user_record(user.id)['options'])
        self.assertEqual(201, self.password_status(user))

    def test_passcode_files_regenerate_and_debug(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        qr_png = os.path.join(self.home, 'qr.png')
        codes_file = os.path.join(self.home, 'codes.txt')
        with open(os.path.join(self.home, 'taken.txt'), 'w') as f:
            f.write('keep me\n')
        failed = self.openstack(
            *self.enroll_args(
                secret, '--recovery-file', os.path.join(self.home, 'taken.txt')
            ),
            env=self.env(user),
            expect_fail=True,
        )
        self.assertIn('never overwritten', failed.stderr)
        self.assertEqual([], self.credentials(user.id))

        passcode = self.good_code(secret)
        result = self.openstack(
            '--debug',
            'mfa',
            'enroll',
            '--no-application-credentials',
            '--recovery-codes',
            '4',
            '--secret',
            secret,
            '--passcode',
            passcode,
            '--qr-file',
            qr_png,
            '--recovery-file',
            codes_file,
            '-f',
            'json',
            env=self.env(user),
        )
        import json

        data = json.loads(result.stdout)
        self.assertEqual('device-1', data['device_name'])
        self.assertEqual([['password', 'totp']], data['rules'])
        self.assertEqual(4, len(data['recovery_codes']))
        for path in (qr_png, codes_file):
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(qr_png, 'rb') as f:
            self.assertEqual(b'\x89PNG', f.read(4))
        with open(codes_file) as f:
            self.assertEqual(data['recovery_codes'], f.read().splitlines()[1:])
        # --debug shows requests but no secret, passcode or code.
        self.assertIn('POST', result.stderr)
        for value in [secret, passcode, *data['recovery_codes']]:
            self.assertNotIn(value, result.stderr)
            self.assertNotIn(bare(value), result.stderr)
        self.assertNotIn(secret.lower(), result.stderr)

        # New codes replace the old ones; -f value shows them.
        result = self.openstack(
            '--debug',
            'mfa',
            'recovery',
            'code',
            'create',
            '--count',
            '3',
            '-f',
            'json',
            env=self.env(user, secret),
        )
        new = json.loads(result.stdout)['recovery_codes']
        self.assertEqual(3, len(new))
        for value in [secret, *new, *data['recovery_codes']]:
            self.assertNotIn(bare(value), result.stderr)
        blobs = {c['blob'] for c in self.credentials(user.id)}
        self.assertEqual(
            {secret, *(recovery.secret(bare(c)) for c in new)}, blobs
        )
        # Application credentials are refused (--no-application-...).
        self.assertEqual(
            [['password', 'totp']],
            self.user_record(user.id)['options']['multi_factor_auth_rules'],
        )

        # passcode show: the current code, for scripts.
        shown = self.openstack_json(
            'mfa', 'passcode', 'show', env={'OS_TOTP_SECRET': secret}
        )
        self.assertIn(totp.window_offset(secret, shown['passcode']), (0, -1))
        self.assertTrue(1 <= shown['seconds_left'] <= 30)


class TestNonAdmin(mfa_base.MFATestCase):
    def test_default_policy_flow(self) -> None:
        user = self.make_user()
        secret = totp.generate_secret()
        failed = self.openstack(
            *self.enroll_args(secret),
            env=self.env(user),
            expect_fail=True,
        )
        self.assertIn('may not set its own MFA rules', failed.stderr)
        self.assertIn(f'openstack mfa enroll --user {user.id}', failed.stderr)
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual([], self.credentials(user.id, 'mfa-osc'))
        self.assertEqual({}, self.user_record(user.id)['options'])

        # The administrator allows self-enrollment with the command given.
        match = re.search(r'`(openstack user set [^`]+)`', failed.stderr)
        assert match is not None
        self.openstack(*match.group(1).split()[1:], env=self.env())
        # NOTE: today's guard rules (one rule per way in but the code),
        # not an earlier release's, which refused federated sign-ins.
        # NOTE: naming only the methods this Keystone enables (no oauth1):
        # before Keystone 28 a rule of a disabled method lets every
        # sign-in in.
        methods = local_keystone.AUTH_METHODS.split(',')
        self.assertEqual(
            mfa_rules.guard_rules(methods),
            self.user_record(user.id)['options']['multi_factor_auth_rules'],
        )
        self.assertNotIn('oauth1', failed.stderr)
        result = self.openstack_json(
            *self.enroll_args(secret, name='phone'),
            env=self.env(user),
        )
        self.assertFalse(result['enforced'])
        self.assertEqual(8, len(result['recovery_codes']))
        self.assertEqual(
            f'openstack mfa enforce --user {user.id}', result['next_step']
        )
        self.assert_invariant(user)
        self.assertEqual(201, self.password_status(user))
        self.assertEqual(401, self.totp_alone_status(user.id, secret))

        # The administrator enforces: password and code, and every other
        # way in of the guard rules that this Keystone enables.
        self.openstack(*result['next_step'].split()[1:], env=self.env())
        guard = mfa_rules.MFAOptions.of(
            {'multi_factor_auth_rules': mfa_rules.guard_rules(methods)},
            methods,
        )
        self.assertEqual(
            mfa_rules.enforced_rules(guard.effective, True, methods),
            self.user_record(user.id)['options']['multi_factor_auth_rules'],
        )
        self.assertEqual(401, self.password_status(user))

        # The user may not remove the last device (rules need relaxing).
        failed = self.openstack(
            'mfa',
            'remove',
            '--all',
            '--yes',
            '--passcode',
            self.proof_code(secret),
            env=self.env(user, secret),
            expect_fail=True,
        )
        self.assertIn(
            f'openstack mfa remove --user {user.id} --all', failed.stderr
        )
        self.assertEqual(9, len(self.credentials(user.id)))

        # The administrator's reset: no passcode needed.
        self.openstack(
            'mfa',
            'remove',
            '--user',
            user.name,
            '--all',
            '--yes',
            env=self.env(),
        )
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual(201, self.password_status(user))


class TestAdmin(mfa_base.MFATestCase):
    def test_admin_enrolls_and_audits(self) -> None:
        user = self.make_user()
        secret = totp.generate_secret()
        svg = os.path.join(self.home, 'qr.svg')
        failed = self.openstack(
            'mfa',
            'enforce',
            '--user',
            user.id,
            env=self.env(),
            expect_fail=True,
        )
        self.assertIn('lock the account out', failed.stderr)
        result = self.openstack_json(
            'mfa',
            'enroll',
            '--user',
            user.name,
            '--user-domain',
            'Default',
            '--secret',
            secret,
            '--passcode',
            self.good_code(secret),
            '--show-secret',
            '--qr-file',
            svg,
            '--issuer',
            'Example Cloud',
            env=self.env(),
        )
        self.assertEqual(user.id, result['user_id'])
        self.assertEqual(secret, result['secret'])
        self.assertTrue(
            result['otpauth_uri'].startswith('otpauth://totp/Example')
        )
        self.assertIn(f'{user.name}%40Default', result['otpauth_uri'])
        self.assertTrue(result['enforced'])
        self.assertEqual(0o600, stat.S_IMODE(os.stat(svg).st_mode))
        self.assertEqual(401, self.password_status(user))
        token = self.openstack_json(
            'token', 'issue', env=self.env(user, secret)
        )
        self.assertEqual(user.id, token['user_id'])

        status = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=self.env()
        )
        self.assertIsNone(status['session_used_totp'])
        self.assertEqual('enforced', status['state'])

        rows = self.openstack_json('mfa', 'audit', env=self.env())
        by_id = {row['id']: row for row in rows}
        self.assertEqual('enforced', by_id[user.id]['state'])
        self.assertEqual(1, by_id[user.id]['devices'])
        self.assertEqual(8, by_id[user.id]['recovery_codes_left'])
        self.assertFalse(by_id[user.id]['admin'])
        admin = [r for r in rows if r['name'] == 'admin']
        self.assertTrue(admin[0]['admin'])

    def test_no_such_user_said_first(self) -> None:
        # No terminal and no passcode: the missing user is what is said.
        for args in (
            ['mfa', 'enroll', '--user', 'nosuchuser'],
            ['mfa', 'recovery', 'code', 'create', '--user', 'nosuchuser'],
            ['mfa', 'status', '--user', 'nosuchuser'],
            ['mfa', 'remove', '--user', 'nosuchuser', '--all', '--yes'],
        ):
            failed = self.openstack(*args, env=self.env(), expect_fail=True)
            self.assertEqual(
                "There is no user 'nosuchuser': `openstack user list` "
                'lists the users, to give one of their names or IDs with '
                '--user.\n',
                failed.stderr,
                args,
            )

    def test_audit_request_count(self) -> None:
        # NOTE: a Keystone of its own: the shared one holds other tests'
        # users, and Keystone answers at most [DEFAULT] max_db_limit rows.
        keystone = local_keystone.LocalKeystone(
            config={'DEFAULT': {'max_db_limit': '5000'}}
        )
        keystone.start()
        self.addCleanup(keystone.stop)
        proxy = self.start_proxy(keystone)
        env = keystone.os_env()
        env.update(OS_AUTH_URL=proxy.auth_url, OS_TOKEN_CACHE='off')
        api = keystone.admin_adapter()

        def audit() -> tuple[int, list[dict[str, object]]]:
            proxy.reset()
            rows = self.openstack_json('mfa', 'audit', env=env)
            return len(proxy.requests), rows

        # NOTE: users without a password (hashing one is what makes users
        # slow to create); the audit reads options and credentials only.
        def create(first: int, last: int) -> None:
            for n in range(first, last):
                api.post(
                    '/users',
                    json={
                        'user': {
                            'name': f'audit-{n:04d}',
                            'domain_id': 'default',
                        }
                    },
                )

        create(0, 5)
        few, rows = audit()
        create(5, 1000)
        many, more = audit()
        self.assertEqual(len(rows) + 995, len(more))
        self.assertGreaterEqual(len(more), 1000)
        # One more page of users (1000 a page), not one more per user.
        self.assertEqual(few + 1, many)
        # OSC's discovery and sign-in, then users (two pages), totp
        # credentials, mfa-osc credentials, the enabled auth methods (a
        # sign-in with an unknown method), the admin role and its
        # assignments
        self.assertEqual(
            [
                'GET /v3',
                'POST /v3/auth/tokens',
                'GET /v3/users',
                'GET /v3/users',
                'GET /v3/credentials',
                'GET /v3/credentials',
                'POST /v3/auth/tokens',
                'GET /v3/roles',
                'GET /v3/role_assignments',
                # the domain's MFA policy, for the compliance columns
                'GET /v3/domains/default',
            ],
            [f'{m} {p.split("?")[0]}' for m, p in proxy.requests],
        )


class TestAuditFormats(mfa_base.MFATestCase):
    """The audit is a list: every list format of OSC works on it."""

    def test_every_format_and_the_deprecated_alias(self) -> None:
        api = self.keystone.admin_adapter()
        domain = f'audit-{secrets.token_hex(4)}'
        domain_id = api.post(
            '/domains', json={'domain': {'name': domain}}
        ).json()['domain']['id']
        for name in ('ann', 'ben'):
            api.post(
                '/users',
                json={'user': {'name': name, 'domain_id': domain_id}},
            )
        env = self.env()
        audit = ('mfa', 'audit', '--domain', domain)

        listed = self.openstack(*audit, '-f', 'json', env=env)
        self.assertEqual('', listed.stderr)
        rows = sorted(json.loads(listed.stdout), key=lambda r: r['name'])
        self.assertEqual(['ann', 'ben'], [r['name'] for r in rows])
        self.assertEqual({domain_id}, {r['domain_id'] for r in rows})

        as_csv = self.openstack(*audit, '-f', 'csv', env=env)
        self.assertEqual('', as_csv.stderr)
        csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
        self.assertEqual(list(rows[0]), list(csv_rows[0]))
        self.assertEqual(
            [(r['id'], r['name'], r['state']) for r in rows],
            sorted(
                ((r['id'], r['name'], r['state']) for r in csv_rows),
                key=lambda r: r[1],
            ),
        )

        as_value = self.openstack(
            *audit, '-f', 'value', '-c', 'name', '-c', 'id', env=env
        )
        self.assertEqual('', as_value.stderr)
        self.assertEqual(
            sorted(f'{r["id"]} {r["name"]}' for r in rows),
            sorted(as_value.stdout.splitlines()),
        )

        # The deprecated alias prints the same rows, and says to use the
        # audit, in one sentence on stderr.
        alias = self.openstack(
            'mfa', 'status', '--all', '--domain', domain, '-f', 'json',
            env=env,
        )  # fmt: skip
        self.assertEqual(
            rows, sorted(json.loads(alias.stdout), key=lambda r: r['name'])
        )
        self.assertEqual(
            '`openstack mfa status --all` is deprecated and will be removed '
            'in a later release: use `openstack mfa audit`, which prints the '
            'same rows in every list format (-f csv too).\n',
            alias.stderr,
        )


class TestLockedOutReset(mfa_base.MFATestCase):
    def test_status_names_the_reset_and_the_reset_works(self) -> None:
        # Rules that need TOTP and no TOTP credential: nobody signs in.
        user = self.make_user(rules=[['password', 'totp']])
        admin = self.env()
        status = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=admin
        )
        self.assertEqual('locked out', status['state'])
        reset = f'openstack mfa remove --user {user.id} --all'
        self.assertTrue(any(reset in w for w in status['warnings']))
        self.assertEqual(401, self.password_status(user))

        result = self.openstack(*reset.split()[1:], '--yes', env=admin)
        self.assertIn('Reset: no TOTP device is left', result.stderr)

        self.assertEqual(201, self.password_status(user))
        after = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=admin
        )
        self.assertEqual('not enrolled', after['state'])
        self.assertEqual([], after['warnings'])


class TestClientRequests(mfa_base.MFATestCase):
    def test_log_false_keeps_blobs_out_of_debug(self) -> None:
        # Direct client use, as the sign-in plugin will.
        import logging

        import fixtures

        logger = self.useFixture(
            fixtures.FakeLogger(level=logging.DEBUG, name='keystoneauth')
        )
        client = mfa_client.MFAClient(self.keystone.admin_session())
        user = self.make_user()
        secret = totp.generate_secret()
        cred = client.create_credential(user.id, 'totp', secret)
        self.assertEqual(1, len(client.list_credentials(user_id=user.id)))
        client.delete_credential(cred.id)
        client.delete_credential(cred.id)  # already gone: fine
        self.assertIn('/credentials', logger.output)
        self.assertNotIn(secret, logger.output)


class TestGuardRules(mfa_base.MFATestCase):
    """What the design relies on, measured on the real Keystone."""

    def test_guard_and_enforced_rules(self) -> None:
        user, secret = self.make_totp_user(GUARD)
        # Guard rules: TOTP alone refused (401 + receipt for a good code,
        # 401 without one for a bad code), password as before.
        good = self.totp_alone_status(user.id, secret)
        self.assertEqual(401, good)
        response = self.sign_in(
            {
                'methods': ['totp'],
                'totp': {
                    'user': {'id': user.id, 'passcode': self.good_code(secret)}
                },
            }
        )
        self.assertIn('Openstack-Auth-Receipt', response.headers)
        response = self.sign_in(
            {
                'methods': ['totp'],
                'totp': {
                    'user': {'id': user.id, 'passcode': self.bad_code(secret)}
                },
            }
        )
        self.assertEqual(401, response.status_code)
        self.assertNotIn('Openstack-Auth-Receipt', response.headers)
        signed = self.sign_in(
            {
                'methods': ['password'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
                'scope': {'project': {'id': user.project_id}},
            }
        )
        self.assertEqual(201, signed.status_code)
        token = signed.headers['X-Subject-Token']
        # Token re-scope and application credentials still work.
        for rules in (GUARD, ENFORCED):
            self.keystone.set_mfa_rules(user.id, rules)
            if rules == ENFORCED:
                # NOTE: re-scoping a password-only token is refused now
                # (the rules want TOTP); one with both is re-scoped.
                rescoped = self.sign_in(
                    {'methods': ['token'], 'token': {'id': token}}
                )
                self.assertEqual(401, rescoped.status_code)
                signed = self.sign_in(
                    {
                        'methods': ['password', 'totp'],
                        'password': {
                            'user': {'id': user.id, 'password': user.password}
                        },
                        'totp': {
                            'user': {
                                'id': user.id,
                                'passcode': self.good_code(secret),
                            }
                        },
                        'scope': {'project': {'id': user.project_id}},
                    }
                )
                self.assertEqual(201, signed.status_code)
                token = signed.headers['X-Subject-Token']
            rescoped = self.sign_in(
                {'methods': ['token'], 'token': {'id': token}}
            )
            self.assertEqual(201, rescoped.status_code, rules)
            import requests

            made = requests.post(
                f'{self.keystone.auth_url}/users/{user.id}'
                '/application_credentials',
                json={'application_credential': {'name': str(rules)}},
                headers={'X-Auth-Token': token},
                timeout=30,
            )
            self.assertEqual(201, made.status_code, made.text)
            app = made.json()['application_credential']
            status = self.sign_in(
                {
                    'methods': ['application_credential'],
                    'application_credential': {
                        'id': app['id'],
                        'secret': app['secret'],
                    },
                }
            ).status_code
            self.assertEqual(201, status, rules)
        # A token plus the current code checks a passcode (remove's proof).
        ok = self.sign_in(
            {
                'methods': ['token', 'totp'],
                'token': {'id': token},
                'totp': {
                    'user': {'id': user.id, 'passcode': self.good_code(secret)}
                },
            }
        )
        self.assertEqual(201, ok.status_code)
