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

"""Section 7 of ``tox -e bench``: sign-in round trips over a slow network.

A loopback proxy in front of the local Keystone waits a fixed delay each
way (50 ms: a WAN round trip of 100 ms), and counts the requests. For each
path, 20 "commands" in a row, each a new plugin and session as a new
``openstack`` process would have (the file cache persists between them,
as it does between commands): requests to Keystone per command and the
wall time of the 20, against upstream ``v3password`` in the same run.
A user without MFA signing in with ``v3multifactor`` pays the domain's
MFA policy check (one ``GET /v3/domains/{id}``) on the first command of a
day only.
"""

from __future__ import annotations

from collections.abc import Callable
import http.client
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
from typing import Any

from keystoneauth1 import loading
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3 as ks_v3

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone

COMMANDS = 20
ON, OFF = 'on', 'off'  # the token_cache option
DELAY = 0.05


class SlowProxy:
    """Forward to Keystone after ``delay``; answer after ``delay``."""

    def __init__(self, upstream: int, delay: float) -> None:
        self.requests = 0
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                with lock:
                    proxy.requests += 1
                time.sleep(delay)
                conn = http.client.HTTPConnection('127.0.0.1', upstream)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ('host', 'connection')
                }
                headers['Connection'] = 'close'
                conn.request(self.command, self.path, body, headers)
                response = conn.getresponse()
                data = response.read()
                conn.close()
                data = data.replace(
                    f'127.0.0.1:{upstream}'.encode(),
                    f'127.0.0.1:{proxy.port}'.encode(),
                )
                time.sleep(delay)
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in (
                        'connection',
                        'transfer-encoding',
                        'content-length',
                    ):
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), Handler
        )
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def auth_url(self) -> str:
        return f'http://127.0.0.1:{self.port}/v3'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _series(
    proxy: SlowProxy, make: Callable[[], Any], before: Callable[[], None]
) -> tuple[float, float]:
    """(requests per command, seconds for COMMANDS commands)."""
    proxy.requests = 0
    took = 0.0
    for _ in range(COMMANDS):
        before()
        start = time.perf_counter()
        ks_session.Session(auth=make()).get_token()
        took += time.perf_counter() - start
    return proxy.requests / COMMANDS, took


def bench(ks: local_keystone.LocalKeystone, line: Any) -> None:
    plain = ks.create_user()
    mfa = ks.create_user(rules=[['password', 'totp']])
    secret = totp.generate_secret()
    ks.create_totp_credential(mfa.id, secret)
    command = (
        f'{sys.executable} -c "from mfa_osc import totp; '
        f"print(totp.passcode('{secret}'))\""
    )
    proxy = SlowProxy(ks.port or 0, DELAY)
    cache_dir = tempfile.mkdtemp(prefix='mfa-osc-trips-')
    saved = os.environ.get('MFA_OSC_CACHE_DIR')
    os.environ['MFA_OSC_CACHE_DIR'] = cache_dir
    loader = loading.get_plugin_loader('v3multifactor')

    def user_args(user: local_keystone.KeystoneUser) -> dict[str, Any]:
        return {
            'auth_url': proxy.auth_url,
            'username': user.name,
            'password': user.password,
            'user_domain_name': 'Default',
            'project_name': user.project_name,
            'project_domain_name': 'Default',
        }

    def ours(**kw: Any) -> Callable[[], Any]:
        return lambda: loader.load_from_options(**user_args(mfa), **kw)

    def ours_plain() -> Any:
        return loader.load_from_options(**user_args(plain), token_cache=ON)

    def new_day() -> None:
        # NOTE: the domain's MFA policy is read once a day; this is the
        # first command of a day.
        path = os.path.join(cache_dir, 'policy-check.state')
        if os.path.exists(path):
            os.remove(path)

    def upstream_password() -> Any:
        return ks_v3.Password(**user_args(plain))

    def upstream_multifactor() -> Any:
        # NOTE: keystoneauth's own class, built as its loader builds it
        # from --os-auth-methods v3password,v3totp --os-passcode CODE.
        args = user_args(mfa)
        return ks_v3.MultiFactor(
            args.pop('auth_url'),
            auth_methods=['v3password', 'v3totp'],
            passcode=totp.passcode(secret),
            **args,
        )

    def nothing() -> None:
        pass

    def drop_tokens() -> None:
        # NOTE: a new sign-in, with the record that Keystone asked this
        # user for TOTP (kept beside the cache, no token in it).
        for name in os.listdir(cache_dir):
            if not name.endswith('.needs-totp'):
                os.remove(os.path.join(cache_dir, name))

    try:
        # Warm-up: Keystone asks for TOTP once, which the record keeps.
        ks_session.Session(
            auth=ours(passcode_command=command, token_cache=ON)()
        ).get_token()
        paths = [
            ('upstream v3password, user without MFA (baseline)',
             upstream_password, nothing),
            ('upstream v3multifactor (v3password,v3totp + passcode)',
             upstream_multifactor, nothing),
            ('v3multifactor, passcode up front (cache off)',
             ours(totp_secret=secret, token_cache=OFF), nothing),
            ('v3multifactor, passcode command, TOTP on record',
             ours(passcode_command=command, token_cache=ON), drop_tokens),
            ('v3multifactor, cached token',
             ours(passcode_command=command, token_cache=ON), nothing),
            ('v3multifactor, user without MFA, first command of a day',
             ours_plain, new_day),
            ('v3multifactor, user without MFA, later commands',
             ours_plain, nothing),
        ]  # fmt: skip
        print(
            f'7. Sign-in over a {DELAY * 2000:.0f} ms round trip: requests '
            f'to Keystone per command, {COMMANDS} commands, ratio to the '
            'baseline'
        )
        baseline = None
        for name, make, before in paths:
            if 'cached' in name:
                ks_session.Session(auth=make()).get_token()
            per, took = _series(proxy, make, before)
            baseline = baseline or took
            line(
                name,
                f'{per:.1f} requests, {took:.2f} s, {took / baseline:.2f}',
            )
    finally:
        proxy.close()
        shutil.rmtree(cache_dir, ignore_errors=True)
        if saved is None:
            os.environ.pop('MFA_OSC_CACHE_DIR', None)
        else:
            os.environ['MFA_OSC_CACHE_DIR'] = saved
