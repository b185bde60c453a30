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

"""``openstack mfa logout`` when Keystone does not answer or refuses.

A revocation that has not happened is remembered until it has: the token
is out of use at once, kept 0600 until Keystone confirms, and the next
``mfa logout`` revokes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import threading
import time

from tests.functional import base
from tests.functional import mfa_base

RULES = [['password', 'totp']]


class Relay:
    """A TCP relay to Keystone that can hang: it then takes connections
    and never answers (a Keystone stuck behind its load balancer)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.hang = False
        self._held: list[socket.socket] = []
        self.server = socket.create_server(('127.0.0.1', 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def auth_url(self) -> str:
        return f'http://127.0.0.1:{self.port}/v3'

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.hang:
                self._held.append(client)
                continue
            upstream = socket.create_connection(
                ('127.0.0.1', self.upstream_port)
            )
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pipe, args=(a, b), daemon=True
                ).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def held(self) -> int:
        """How many connections it holds without an answer."""
        return len(self._held)

    def close(self) -> None:
        self.server.close()
        for held in self._held:
            held.close()


class TestLogoutRemembers(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user, self.secret = self.make_totp_user(RULES)

    def env(self, auth_url: str, **extra: str) -> dict[str, str]:
        env = self.keystone.os_env(self.user)
        env.update(OS_AUTH_TYPE='v3multifactor', OS_AUTH_URL=auth_url, **extra)
        return env

    def sign_in(self, auth_url: str) -> str:
        token = self.openstack_json(
            'token',
            'issue',
            env=self.env(auth_url, OS_PASSCODE=self.good_code(self.secret)),
        )
        return str(token['id'])

    def cache_dir(self) -> str:
        return os.path.join(self.home, '.cache', 'mfa-osc')

    def cached(self) -> list[str]:
        return [n for n in os.listdir(self.cache_dir()) if n.endswith('.json')]

    def waiting(self) -> list[str]:
        folder = os.path.join(self.cache_dir(), 'mfa-osc-revoke')
        if not os.path.isdir(folder):
            return []
        return [os.path.join(folder, name) for name in os.listdir(folder)]

    def assert_out_of_use(self, auth_url: str, token: str) -> None:
        """No cached sign-in: a command without secrets cannot sign in."""
        self.assertEqual([], self.cached())
        later = self.env(auth_url)
        del later['OS_PASSWORD']
        result = self.openstack('token', 'issue', env=later, expect_fail=True)
        self.assertNotIn(token, result.stdout + result.stderr)
        (pending,) = self.waiting()
        self.assertEqual(0o600, stat.S_IMODE(os.stat(pending).st_mode))
        self.assertEqual(
            0o700, stat.S_IMODE(os.stat(os.path.dirname(pending)).st_mode)
        )

    def test_hanging_keystone_times_out_and_the_rerun_revokes(self) -> None:
        relay = Relay(self.keystone.port or 0)
        self.addCleanup(relay.close)
        token = self.sign_in(relay.auth_url)
        relay.hang = True
        env = self.env(relay.auth_url)
        del env['OS_PASSWORD']
        # Today's logout waits for ever: the run's own limit fails it.
        result = self.openstack('mfa', 'logout', env=env, expect_fail=True)
        self.assertIn('did not answer within 5 seconds', result.stderr)
        self.assertIn('run `openstack mfa logout` again', result.stderr)
        self.assertIn(relay.auth_url, result.stderr)
        self.assertNotIn(token, result.stdout + result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(200, self.token_status(token))
        relay.hang = False
        self.assert_out_of_use(relay.auth_url, token)
        # Keystone answers again: the next logout revokes the token.
        again = self.openstack('mfa', 'logout', env=env)
        self.assertIn('Revoked 1 more token that waited for it', again.stdout)
        self.assertEqual('', again.stderr)
        self.assertEqual(404, self.token_status(token))
        self.assertEqual([], self.waiting())

    def test_failed_revoke_is_kept_and_retried(self) -> None:
        proxy = mfa_base.start_proxy(self)
        token = self.sign_in(proxy.auth_url)
        env = self.env(proxy.auth_url)
        del env['OS_PASSWORD']
        proxy.reset(fail_at=1, mode='503')
        result = self.openstack('mfa', 'logout', env=env, expect_fail=True)
        self.assertEqual([('DELETE', '/v3/auth/tokens')], proxy.requests)
        self.assertIn('it answered 503', result.stderr)
        self.assertNotIn(token, result.stdout + result.stderr)
        self.assertEqual(200, self.token_status(token))
        self.assert_out_of_use(proxy.auth_url, token)
        (pending,) = self.waiting()
        with open(pending) as handle:
            self.assertIn(token, json.dumps(json.load(handle)))
        proxy.reset()
        again = self.openstack('mfa', 'logout', '--all', env=env)
        self.assertIn('Revoked 1 more token that waited for it', again.stdout)
        self.assertEqual(404, self.token_status(token))
        self.assertEqual([], self.waiting())

    def test_ctrl_c_while_keystone_hangs_leaves_no_token_in_use(self) -> None:
        relay = Relay(self.keystone.port or 0)
        self.addCleanup(relay.close)
        token = self.sign_in(relay.auth_url)
        relay.hang = True
        env = self.env(relay.auth_url)
        del env['OS_PASSWORD']
        proc = subprocess.Popen(
            [base.openstack_executable(), 'mfa', 'logout'],
            env=self.cli_env(env), cwd=self.home,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.addCleanup(proc.kill)
        # Interrupted while the revocation waits for an answer.
        deadline = time.monotonic() + base.CLI_TIMEOUT
        while not relay.held():
            self.assertIsNone(proc.poll(), proc.stderr)
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertNotEqual(0, proc.returncode)
        self.assertNotIn(token, out + err)
        relay.hang = False
        self.assert_out_of_use(relay.auth_url, token)
        self.openstack('mfa', 'logout', env=env)
        self.assertEqual(404, self.token_status(token))
