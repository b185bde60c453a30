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
can fail the Nth one, checks of the enrollment invariant made directly
against Keystone, and the set-up the tests share: domains and their
users, an enrollment without the CLI, the ``mfa enroll`` arguments,
sign-ins and token checks straight against Keystone.
"""

from __future__ import annotations

from collections.abc import Callable
import email.utils
import http.client
import http.server
import json
import secrets
import threading
import time
from typing import Any

import requests

from mfa_osc import client as mfa_client
from mfa_osc import totp
from mfa_osc.client import records
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan
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


def start_proxy(
    case: base.FunctionalTestCase,
    keystone: local_keystone.LocalKeystone | None = None,
) -> Proxy:
    """A :class:`Proxy` in front of ``keystone`` (the test's own by
    default), closed when the test ends."""
    proxy = Proxy((keystone or case.keystone).port or 0)
    case.addCleanup(proxy.close)
    return proxy


class MFATestCase(base.FunctionalTestCase):
    """Users, sign-in environments and invariant checks for mfa tests."""

    def start_proxy(
        self, keystone: local_keystone.LocalKeystone | None = None
    ) -> Proxy:
        """See :func:`start_proxy`."""
        return start_proxy(self, keystone)

    def enroll_in_process(
        self,
        user_id: str,
        secret: str,
        *,
        name: str = 'p',
        recovery_codes: int = 0,
        keep_sessions: bool = False,
        keystone: local_keystone.LocalKeystone | None = None,
        earlier_code: bool = False,
    ) -> None:
        """An administrator's enrollment of a verified device (the first
        code accepted), without the CLI's start-up: the enroll workflow
        on an admin session of ``keystone`` (the test's own by default).

        ``earlier_code``: proven with an earlier window's code
        (:meth:`proof_code`), the current one left for a command that
        signs in with the secret."""
        code = self.proof_code if earlier_code else self.good_code
        keystone = keystone or self.keystone
        client = mfa_client.MFAClient(keystone.admin_session())
        plan = enroll_plan.prepare(client, client.get_user(user_id), name=name)
        enroll_flow.enroll(
            client,
            plan,
            secret=secret,
            passcodes=lambda attempt, hint: (
                code(secret) if attempt == 0 else None
            ),
            recovery_codes=recovery_codes,
            keep_sessions=keep_sessions,
        )

    def enroll_args(
        self, secret: str, *more: str, name: str | None = None
    ) -> list[str]:
        """``mfa enroll`` of ``secret`` with its current code
        (``--name NAME`` first where given), then ``more``."""
        named = ['--name', name] if name is not None else []
        return [
            'mfa',
            'enroll',
            *named,
            '--secret',
            secret,
            '--passcode',
            self.good_code(secret),
            *more,
        ]

    def make_domain(self, prefix: str) -> tuple[str, str]:
        """A new domain of the test's own, ``PREFIX-<hex>``: its name and
        id (other tests' users are never in its runs)."""
        name = f'{prefix}-{secrets.token_hex(4)}'
        api = self.keystone.admin_adapter()
        domain = api.post('/domains', json={'domain': {'name': name}})
        return name, str(domain.json()['domain']['id'])

    def domain_project(self, domain_id: str, prefix: str) -> str:
        """A new project ``PREFIX-<hex>`` of the domain: its id."""
        body = {
            'name': f'{prefix}-{secrets.token_hex(3)}',
            'domain_id': domain_id,
        }
        api = self.keystone.admin_adapter()
        project = api.post('/projects', json={'project': body})
        return str(project.json()['project']['id'])

    def domain_user(
        self,
        domain: str,
        domain_id: str,
        name: str | None = None,
        role: str | None = None,
    ) -> local_keystone.KeystoneUser:
        """A user of the domain with a password (named ``name``, or
        ``u-<hex>`` with the id as its name): without ``role``, of no
        project; with it, given ``role`` on a new project of the domain,
        its default project (``project_id``; no ``project_name``, so that
        its :meth:`env` signs in to that default)."""
        api = self.keystone.admin_adapter()
        password = secrets.token_urlsafe(12)
        body = {
            'name': name or f'u-{secrets.token_hex(3)}',
            'password': password,
            'domain_id': domain_id,
        }
        project = None
        if role is not None:
            project = self.domain_project(domain_id, name or 'p')
            body['default_project_id'] = project
        user_id = str(
            api.post('/users', json={'user': body}).json()['user']['id']
        )
        if project is not None:
            roles = api.get(f'/roles?name={role}').json()['roles']
            api.put(
                f'/projects/{project}/users/{user_id}/roles/{roles[0]["id"]}'
            )
        return local_keystone.KeystoneUser(
            user_id, name or user_id, password, project, None, domain
        )

    def token_status(self, token: str) -> int:
        """Keystone's status for validating ``token`` (200 or 404)."""
        return int(
            self.keystone.admin_adapter()
            .get(
                '/auth/tokens',
                headers={'X-Subject-Token': token},
                raise_exc=False,
            )
            .status_code
        )

    def revocation_due(self, user_id: str) -> Any:
        """What the user record says of a revocation still due (None)."""
        record = self.user_record(user_id)
        return record.get(records.REVOKE_KEY)

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

    def mfa_env(
        self,
        user: local_keystone.KeystoneUser,
        auth_url: str | None = None,
        **extra: str,
    ) -> dict[str, str]:
        """:meth:`env` of ``user`` signing in with v3multifactor, no
        passcode up front (it asks, or reads ``extra``'s ``OS_*``)."""
        env = self.env(user, auth_url=auth_url)
        env['OS_AUTH_TYPE'] = 'v3multifactor'
        env.update(extra)
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

    def sign_in(
        self, body: dict[str, Any], scope: Any = None
    ) -> requests.Response:
        """Keystone's answer to a sign-in with identity ``body`` (and
        ``scope``: the user's default project without it)."""
        auth: dict[str, Any] = {'identity': body}
        if scope is not None:
            auth['scope'] = scope
        return requests.post(
            self.keystone.auth_url + '/auth/tokens',
            json={'auth': auth},
            timeout=30,
        )

    def password_sign_in(
        self, user_id: str, password: str
    ) -> requests.Response:
        """Keystone's answer to a sign-in with the password alone."""
        return self.sign_in(
            {
                'methods': ['password'],
                'password': {'user': {'id': user_id, 'password': password}},
            }
        )

    def password_status(self, user: local_keystone.KeystoneUser) -> int:
        return self.password_sign_in(user.id, user.password).status_code

    def unscoped_password_status(
        self, user: local_keystone.KeystoneUser
    ) -> int:
        """Keystone's status for an unscoped sign-in with the password
        alone (what ``openstack mfa enroll`` needs; the guard's policy
        never refuses it)."""
        return self.sign_in(
            {
                'methods': ['password'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
            },
            'unscoped',
        ).status_code

    def password_token(self, user_id: str, password: str) -> str:
        """A token opened with the password alone (the sign-in must
        succeed)."""
        response = self.password_sign_in(user_id, password)
        self.assertEqual(201, response.status_code, response.text)
        return str(response.headers['X-Subject-Token'])

    def password_and_code_status(
        self, user: local_keystone.KeystoneUser, passcode: str
    ) -> int:
        """Keystone's status for a sign-in with the password and
        ``passcode`` together."""
        return self.sign_in(
            {
                'methods': ['password', 'totp'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
                'totp': {'user': {'id': user.id, 'passcode': passcode}},
            }
        ).status_code

    def make_app_cred(self, user_id: str, password: str) -> dict[str, str]:
        """A new application credential named ``ci`` of the user, made
        with a password-alone token (both requests must succeed): its id
        and secret."""
        response = requests.post(
            f'{self.keystone.auth_url}/users/{user_id}/application_credentials',
            json={'application_credential': {'name': 'ci'}},
            headers={'X-Auth-Token': self.password_token(user_id, password)},
            timeout=30,
        )
        self.assertEqual(201, response.status_code, response.text)
        body = response.json()['application_credential']
        return {'id': body['id'], 'secret': body['secret']}

    def app_cred_status(self, app: dict[str, str]) -> int:
        """Keystone's status for a sign-in with the application
        credential ``app`` (``id`` and ``secret``)."""
        return self.sign_in(
            {
                'methods': ['application_credential'],
                'application_credential': {
                    'id': app['id'],
                    'secret': app['secret'],
                },
            }
        ).status_code

    def totp_alone_sign_in(
        self, user_id: str, secret: str
    ) -> requests.Response:
        """Keystone's answer to a sign-in with a code alone (one no
        sign-in used: behind the guard a used one is refused first)."""
        code = self.good_code(secret)
        response = self.sign_in(
            {
                'methods': ['totp'],
                'totp': {'user': {'id': user_id, 'passcode': code}},
            }
        )
        if response.status_code != 201:
            self.give_back(secret, code)
        return response

    def totp_alone_status(self, user_id: str, secret: str) -> int:
        return self.totp_alone_sign_in(user_id, secret).status_code

    def assert_invariant(
        self, user: local_keystone.KeystoneUser, probe: str | None = None
    ) -> None:
        """Never weaker, never locked out: checked by signing in.

        ``probe``: the secret of the user's device whose code alone is
        tried (any device's code is accepted, so one try covers them
        all); by default the first credential's. NOTE: behind the guard a
        test whose commands sign in with the first device's code in each
        window gives another device here: a code is handed out once, and
        the probe waited for a new window at every check.
        """
        creds = self.credentials(user.id)
        if creds:
            secret = self.probe_blob(creds, probe, creds[0]['blob'])
            # Any of the user's credentials' codes is accepted: one try.
            status = self.totp_alone_status(user.id, secret)
            self.assertNotEqual(201, status, 'TOTP alone signed in')
        # NOTE: unscoped (Keystone checks the rules whatever the scope):
        # behind the guard a domain's policy refuses a scoped token of the
        # password alone by design, and lets an unscoped one through (what
        # setting a device up needs): not a lockout.
        status = self.unscoped_password_status(user)
        if status != 201:
            # Only a verified device may make the password insufficient.
            self.assertEqual(401, status)
            book = self.book(user.id) or {'devices': {}}
            verified = set(book['devices']) & {c['id'] for c in creds}
            self.assertTrue(verified, 'locked out: rules need TOTP')

    def probe_blob(
        self, creds: list[dict[str, Any]], probe: str | None, default: str
    ) -> str:
        """``probe`` (the secret of one of ``creds``), else ``default``:
        the secret :meth:`assert_invariant` tries a code alone of."""
        if probe is None:
            return default
        self.assertIn(probe, [c['blob'] for c in creds])
        return probe

    @staticmethod
    def bad_code(secret: str) -> str:
        """A 6-digit code of no window near now."""
        for n in range(1000000):
            code = f'{n:06d}'
            if totp.window_offset(secret, code, reach=6) is None:
                return code
        raise AssertionError('unreachable')
