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

"""The main commands against a Keystone served over HTTPS by a private CA.

The local Keystone is served through a TLS-terminating proxy with a
certificate from a CA made for the run (``LocalKeystone(tls=True)``), as
many clouds serve it behind haproxy. Every command must reach it with
``OS_CACERT``/``--os-cacert``, and be refused without.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import threading
from typing import Any

import requests

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import mfa_base

_tls: local_keystone.LocalKeystone | None = None
_tls_lock = threading.Lock()


def tls_keystone() -> local_keystone.LocalKeystone:
    """This test process's HTTPS Keystone, started on first use."""
    global _tls
    with _tls_lock:
        if _tls is None:
            keystone = local_keystone.LocalKeystone(tls=True)
            keystone.start()  # registers its own atexit stop()
            _tls = keystone
        return _tls


class TestTLS(mfa_base.MFATestCase):
    def setUp(self) -> None:
        # NOTE: started before oslotest's NestedTempfile fixture, as the
        # shared Keystone is: it must outlive this test's temporary dir.
        keystone = tls_keystone()
        super().setUp()
        self.keystone = keystone
        self.assertTrue(self.keystone.auth_url.startswith('https://'))
        assert self.keystone.ca_path is not None
        self.ca = self.keystone.ca_path

    def sign_in(
        self, body: dict[str, Any], scope: Any = None
    ) -> requests.Response:
        """:meth:`mfa_base.MFATestCase.sign_in`, with the cloud's CA."""
        auth: dict[str, Any] = {'identity': body}
        if scope is not None:
            auth['scope'] = scope
        return requests.post(
            self.keystone.auth_url + '/auth/tokens',
            json={'auth': auth},
            timeout=30,
            verify=self.ca,
        )

    def tls_env(self, user: local_keystone.KeystoneUser) -> dict[str, str]:
        """:meth:`mfa_env` with the token cache on."""
        return self.mfa_env(user, OS_TOKEN_CACHE='on')

    def test_main_commands_with_the_cloud_ca(self) -> None:
        user = self.admin_user()
        env = self.tls_env(user)
        self.assertEqual(self.ca, env['OS_CACERT'])
        secret = totp.generate_secret()
        secret_file = os.path.join(self.home, 'secret')
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(secret + '\n')
        codes_file = os.path.join(self.home, 'codes.txt')

        # enroll (signs in with the password alone: no rules yet)
        enrolled = self.openstack_json(
            'mfa',
            'enroll',
            '--name',
            'phone',
            '--secret-file',
            secret_file,
            '--passcode',
            self.good_code(secret),
            '--recovery-file',
            codes_file,
            env=env,
        )
        self.assertTrue(enrolled['enforced'])
        self.assertEqual(401, self.password_status(user))
        self.assert_invariant(user)

        # sign-in with MFA (the code from a passcode command), cached
        script = f'from mfa_osc import totp; print(totp.passcode({secret!r}))'
        phone = f'{shlex.quote(sys.executable)} -c {shlex.quote(script)}'

        first = self.openstack_json(
            'token', 'issue', env={**env, 'OS_PASSCODE_COMMAND': phone}
        )
        self.assertEqual(user.id, first['user_id'])
        cached_env = dict(env)
        del cached_env['OS_PASSWORD']
        # cached sign-in: no password, no code, the same token
        again = self.openstack_json('token', 'issue', env=cached_env)
        self.assertEqual(first['id'], again['id'])

        # status on the cached sign-in
        status = self.openstack_json('mfa', 'status', env=cached_env)
        self.assertTrue(status['enforced'])
        self.assertTrue(status['session_used_totp'])
        self.assertEqual(['phone'], [d['name'] for d in status['devices']])

        # a second device, then remove it with a recovery code on stdin
        second = totp.generate_secret()
        self.openstack_json(
            'mfa',
            'enroll',
            '--name',
            'laptop',
            '--secret-file',
            '-',
            '--passcode',
            self.good_code(second),
            env=cached_env,
            stdin=second + '\n',
        )
        with open(codes_file) as handle:
            codes = re.findall(
                r'[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}', handle.read()
            )
        removed = self.openstack(
            'mfa',
            'remove',
            '--device',
            'laptop',
            '--recovery-code-file',
            '-',
            '--yes',
            env=cached_env,
            stdin=codes[0] + '\n',
        )
        self.assertIn('still enrolled: phone', removed.stderr)
        left = self.openstack_json('mfa', 'status', env=cached_env)
        self.assertEqual(['phone'], [d['name'] for d in left['devices']])
        self.assertEqual(len(codes) - 1, left['recovery_codes_left'])

        # logout revokes through the cloud's CA
        self.assertEqual(200, self.token_status(first['id']))
        out = self.openstack('mfa', 'logout', env=cached_env)
        self.assertIn('Signed out', out.stdout)
        self.assertEqual('', out.stderr)
        self.assertEqual(404, self.token_status(first['id']))

    def test_exec_hands_the_ca_to_the_child(self) -> None:
        user, secret = self.make_totp_user([['password', 'totp']])
        env = self.tls_env(user)
        env['OS_TOTP_SECRET'] = secret
        result = self.openstack(
            'mfa', 'exec', '--', sys.executable, '-c',
            'import os, sys, openstack; '
            'print(os.environ["OS_CACERT"]); '
            'conn = openstack.connect(); '
            'print(conn.identity.get_project(os.environ["OS_PROJECT_ID"]).id)',
            env=env,
        )  # fmt: skip
        cacert, project = result.stdout.split()
        self.assertEqual(self.ca, cacert)
        self.assertEqual(user.project_id, project)

    def test_refused_without_the_ca(self) -> None:
        user = self.make_user()
        env = self.tls_env(user)
        del env['OS_CACERT']
        for args in (('token', 'issue'), ('mfa', 'status')):
            result = self.openstack(*args, env=env, expect_fail=True)
            self.assertIn('certificate verify failed', result.stderr)
            self.assertIn('--os-cacert', result.stderr)
            self.assertIn(self.keystone.auth_url, result.stderr)
            self.assertNotIn('Traceback', result.stderr)

    def test_cacert_flag_and_insecure(self) -> None:
        user = self.make_user()
        env = self.tls_env(user)
        del env['OS_CACERT']
        token = self.openstack_json(
            '--os-cacert', self.ca, 'token', 'issue', env=env
        )
        self.assertEqual(user.id, token['user_id'])
        status = self.openstack_json('--insecure', 'mfa', 'status', env=env)
        self.assertFalse(status['enforced'])

    def test_logout_revokes_with_cacert_from_the_cloud(self) -> None:
        user, secret = self.make_totp_user([['password', 'totp']])
        env = self.tls_env(user)
        env['OS_TOTP_SECRET'] = secret
        token = self.openstack_json('token', 'issue', env=env)
        self.assertEqual(200, self.token_status(token['id']))
        # Without the CA the token is taken out of use here but stays
        # valid, kept for a retry: the command fails and says so.
        no_ca = dict(env)
        del no_ca['OS_CACERT']
        out = self.openstack(
            'mfa', 'logout', '--all', env=no_ca, expect_fail=True
        )
        self.assertIn(
            'Keystone could not be reached to revoke the token of the '
            'sign-in at ',
            out.stderr,
        )
        self.assertIn(
            '(its TLS certificate was not verified): it is no longer used '
            'here and is kept, readable by you only, until it is revoked; '
            "run it again with the cloud's CA: `openstack --os-cacert "
            'CA-FILE mfa logout --all` (or OS_CACERT).',
            ' '.join(out.stderr.split()),
        )
        self.assertEqual(200, self.token_status(token['id']))
        kept = token['id']
        token = self.openstack_json('token', 'issue', env=env)
        out = self.openstack(
            '--os-cacert', self.ca, 'mfa', 'logout', '--all', env=no_ca
        )
        self.assertEqual('', out.stderr)
        self.assertIn('Revoked 1 more token that waited for it', out.stdout)
        self.assertEqual(404, self.token_status(token['id']))
        # NOTE: the retry revoked the token kept by the first logout.
        self.assertEqual(404, self.token_status(kept))
