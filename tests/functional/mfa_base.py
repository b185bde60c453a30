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

"""Helpers of the ``openstack mfa`` functional tests.

A loopback proxy in front of the LocalKeystone that counts requests and
can fail the Nth one, and checks of the enrollment invariant made
directly against Keystone.
"""

from __future__ import annotations

from collections.abc import Callable
import email.utils
import http.client
import http.server
import json
import threading
import time
from typing import Any

import requests

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base

#: How the proxy fails its Nth request: 503 without forwarding, closing
#: the connection without forwarding, or forwarding and then losing the
#: response (the change happened, the client never hears of it).
FAIL_MODES = ('503', 'close', 'lost')

#: Answers the proxy gives instead of forwarding, for the modes that model
#: a Keystone (or something in front of it) answering garbage: status,
#: content type, body.
GARBAGE = {
    '500': (500, 'application/json', b'{"error": {"code": 500}}'),
    'html': (
        200,
        'text/html',
        b'<html><body><h1>Welcome to nginx!</h1></body></html>',
    ),
    'html-error': (
        502,
        'text/html',
        b'<html><body><h1>502 Bad Gateway</h1></body></html>',
    ),
    'bad-json': (200, 'application/json', b'{"credentials": [{"id": '),
    'json-list': (200, 'application/json', b'[1, 2, 3]'),
}

_HOP = {
    'connection',
    'keep-alive',
    'transfer-encoding',
    'content-length',
    'proxy-connection',
    'te',
    'upgrade',
}


class Proxy:
    """A threaded HTTP forwarder on 127.0.0.1 to ``upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str]] = []
        self.fail_at: int | None = None
        self.fail_mode = '503'
        #: Seconds added to the ``Date`` of every response: a Keystone
        #: whose clock is off (uwsgi itself sends no Date).
        self.clock_offset = 0.0
        #: Fail (as ``fail_mode``) every request of this method whose path
        #: ends with this suffix, e.g. ``('DELETE', '/tokens')``.
        self.fail_match: tuple[str, str] | None = None
        #: Called with (method, path) before a request is forwarded (or
        #: failed): a test kills its command there.
        self.before: Callable[[str, str], None] | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args: Any) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                when = time.time() if timestamp is None else timestamp
                return email.utils.formatdate(
                    when + proxy.clock_offset, usegmt=True
                )

            def _handle(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                    number = len(proxy.requests)
                failing = proxy.fail_at == number or proxy.matches(
                    self.command, self.path
                )
                if proxy.before is not None:
                    proxy.before(self.command, self.path)
                if failing and proxy.fail_mode == '503':
                    data = b'{"error": {"code": 503}}'
                    self.send_response(503)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if failing and proxy.fail_mode in GARBAGE:
                    status, kind, data = GARBAGE[proxy.fail_mode]
                    self.send_response(status)
                    self.send_header('Content-Type', kind)
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if failing and proxy.fail_mode == 'close':
                    self.close_connection = True
                    return
                conn = http.client.HTTPConnection(
                    '127.0.0.1', proxy.upstream_port, timeout=60
                )
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in _HOP and k.lower() != 'host'
                }
                headers['Host'] = f'127.0.0.1:{proxy.upstream_port}'
                # NOTE: one upstream connection per request, closed by
                # uwsgi after its answer, so reading it never waits on a
                # kept-alive connection.
                headers['Connection'] = 'close'
                conn.request(self.command, self.path, body, headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                if failing:  # 'lost'
                    self.close_connection = True
                    return
                data = data.replace(
                    f'127.0.0.1:{proxy.upstream_port}'.encode(),
                    f'127.0.0.1:{proxy.port}'.encode(),
                )
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle
            do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), Handler
        )
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True
        )
        self.thread.start()

    @property
    def auth_url(self) -> str:
        return f'http://127.0.0.1:{self.port}/v3'

    def matches(self, method: str, path: str) -> bool:
        if self.fail_match is None:
            return False
        want, suffix = self.fail_match
        return method == want and path.split('?')[0].endswith(suffix)

    def reset(self, fail_at: int | None = None, mode: str = '503') -> None:
        with self._lock:
            self.requests = []
            self.fail_at = fail_at
            self.fail_mode = mode

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MFATestCase(base.FunctionalTestCase):
    """Users, sign-in environments and invariant checks for mfa tests."""

    def admin_user(self) -> local_keystone.KeystoneUser:
        """A user with the admin role on its project (may set own rules)."""
        user = self.make_user()
        api = self.keystone.admin_adapter()
        role = api.get('/roles?name=admin').json()['roles'][0]['id']
        api.put(f'/projects/{user.project_id}/users/{user.id}/roles/{role}')
        return user

    def env(
        self,
        user: local_keystone.KeystoneUser | None = None,
        secret: str | None = None,
        auth_url: str | None = None,
    ) -> dict[str, str]:
        env = self.keystone.os_env(user)
        env['OS_TOKEN_CACHE'] = 'off'
        if secret:
            env['OS_AUTH_TYPE'] = 'v3multifactor'
            env['OS_TOTP_SECRET'] = secret
        if auth_url:
            env['OS_AUTH_URL'] = auth_url
        return env

    def user_record(self, user_id: str) -> dict[str, Any]:
        api = self.keystone.admin_adapter()
        return dict(api.get(f'/users/{user_id}').json()['user'])

    def credentials(
        self, user_id: str, type: str = 'totp'
    ) -> list[dict[str, Any]]:
        api = self.keystone.admin_adapter()
        creds = api.get(f'/credentials?user_id={user_id}&type={type}')
        return list(creds.json()['credentials'])

    def book(self, user_id: str) -> dict[str, Any] | None:
        # NOTE: the one mfa-osc reads: two first enrollments at once may
        # each have made one; the smallest id counts.
        creds = sorted(
            self.credentials(user_id, 'mfa-osc'), key=lambda c: c['id']
        )
        return json.loads(creds[0]['blob']) if creds else None

    def sign_in(self, body: dict[str, Any]) -> requests.Response:
        return requests.post(
            self.keystone.auth_url + '/auth/tokens',
            json={'auth': {'identity': body}},
            timeout=30,
        )

    def password_status(self, user: local_keystone.KeystoneUser) -> int:
        return self.sign_in(
            {
                'methods': ['password'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
            }
        ).status_code

    def totp_alone_status(self, user_id: str, secret: str) -> int:
        return self.sign_in(
            {
                'methods': ['totp'],
                'totp': {
                    'user': {'id': user_id, 'passcode': totp.passcode(secret)}
                },
            }
        ).status_code

    def assert_invariant(self, user: local_keystone.KeystoneUser) -> None:
        """Never weaker, never locked out: checked by signing in."""
        creds = self.credentials(user.id)
        if creds:
            # Any of the user's credentials' codes is accepted: one try.
            status = self.totp_alone_status(user.id, creds[0]['blob'])
            self.assertNotEqual(201, status, 'TOTP alone signed in')
        status = self.password_status(user)
        if status != 201:
            # Only a verified device may make the password insufficient.
            self.assertEqual(401, status)
            book = self.book(user.id) or {'devices': {}}
            verified = set(book['devices']) & {c['id'] for c in creds}
            self.assertTrue(verified, 'locked out: rules need TOTP')

    def good_code(self, secret: str) -> str:
        return totp.passcode(secret)

    @staticmethod
    def bad_code(secret: str) -> str:
        """A 6-digit code of no window near now."""
        for n in range(1000000):
            code = f'{n:06d}'
            if totp.window_offset(secret, code, reach=6) is None:
                return code
        raise AssertionError('unreachable')
