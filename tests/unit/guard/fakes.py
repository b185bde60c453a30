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

"""Fakes for the guard's unit tests: Keystone's application and directory."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
import datetime
import io
import itertools
import json
from typing import Any

from mfa_osc.guard import guard
from mfa_osc.guard import store

USER_ID = 'u' * 32
DOMAIN_ID = 'default'
TOKEN_ID = 'gAAAAA-token'


def token_body(
    methods: list[str],
    scope: str | None = 'project',
    roles: tuple[str, ...] = ('member',),
    **extra: Any,
) -> dict[str, Any]:
    token: dict[str, Any] = {
        'methods': methods,
        'user': {
            'id': USER_ID,
            'name': 'alice',
            'domain': {'id': DOMAIN_ID, 'name': 'Default'},
        },
        **extra,
    }
    if scope is not None:
        token[scope] = {'id': 'p1'} if scope != 'system' else {'all': True}
        token['roles'] = [{'id': r, 'name': r} for r in roles]
    return {'token': token}


class FakeKeystone:
    """A WSGI app answering each request with the next queued answer
    (status, body, headers); every request seen is kept."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.seen: list[dict[str, Any]] = []
        self.raises: Exception | None = None

    def answer(
        self,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.answers.append((status, body or {}, headers or {}))

    def __call__(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        length = int(environ.get('CONTENT_LENGTH') or 0)
        body = environ['wsgi.input'].read(length)
        self.seen.append({'path': environ['PATH_INFO'], 'body': body})
        if self.raises is not None:
            raise self.raises
        status, payload, headers = (
            self.answers.pop(0) if self.answers else (401, {}, {})
        )
        data = json.dumps(payload).encode()
        start_response(
            f'{status} X',
            [
                ('Content-Type', 'application/json'),
                ('Content-Length', str(len(data))),
                *headers.items(),
            ],
        )
        return [data]


class FakeDirectory:
    def __init__(self) -> None:
        self.users = {('alice', DOMAIN_ID): USER_ID}
        self.marks: dict[str, object] = {}
        self.policies: dict[str, object] = {}
        self.revoked: list[str] = []
        #: Valid tokens by ID, as :func:`token_body` writes them.
        self.tokens: dict[str, dict[str, Any]] = {}
        self.fail: Exception | None = None
        self.read_only = False

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    def user_id_by_name(
        self, name: str, domain_id: str | None, domain_name: str | None
    ) -> str | None:
        self._check()
        if domain_name is not None:
            domain_id = DOMAIN_ID if domain_name == 'Default' else None
        return self.users.get((name, str(domain_id)))

    def user_id(self, user_id: str) -> str | None:
        self._check()
        # NOTE: as on MySQL's case-insensitive collations.
        known = {USER_ID, 'bob'}
        return next((u for u in known if u == user_id.lower()), None)

    def lock_mark(self, user_id: str) -> object:
        self._check()
        return self.marks.get(user_id)

    def set_lock_mark(self, user_id: str, mark: dict[str, str]) -> None:
        if self.read_only:
            raise RuntimeError('read-only backend')
        self.marks[user_id] = mark

    def domain_policy(self, domain_id: str) -> object:
        self._check()
        return self.policies.get(domain_id)

    def revoke_token(self, token_id: str) -> None:
        self.revoked.append(token_id)

    def token(self, token_id: str) -> dict[str, Any] | None:
        self._check()
        body = self.tokens.get(token_id)
        return None if body is None else dict(body['token'])


class Clock:
    """A settable UTC clock for the guard and the per-process store."""

    def __init__(self) -> None:
        self.now = datetime.datetime(2027, 1, 15, 12, 0, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


class FailingStore(store.LocalStore):
    name = 'memcached'

    def _live(self, key: str) -> str | None:
        raise store.StoreError('memcached get failed: ConnectionRefused')


def make_guard(
    settings: guard.Settings | None = None,
    store_: store.Store | None = None,
) -> tuple[guard.Guard, FakeKeystone, FakeDirectory, Clock]:
    keystone, directory, clock = FakeKeystone(), FakeDirectory(), Clock()
    the_store = store_ or store.LocalStore(clock=clock.monotonic)
    the_guard = guard.Guard(
        keystone,
        settings or guard.Settings(max_failures=3, lockout_duration=600),
        the_store,
        directory,
        now=clock,
    )
    return the_guard, keystone, directory, clock


_codes = itertools.count(500000)


def totp_request(
    passcode: str | None = None,
    user: dict[str, Any] | None = None,
    methods: tuple[str, ...] = ('password', 'totp'),
) -> dict[str, Any]:
    """A token request with a passcode: by default one not sent before
    (a guesser's next guess; the same code again in its window is not
    counted again)."""
    totp_user = dict(user or {'id': USER_ID})
    totp_user['passcode'] = (
        passcode if passcode is not None else f'{next(_codes):06d}'
    )
    identity: dict[str, Any] = {
        'methods': list(methods),
        'totp': {'user': totp_user},
    }
    if 'password' in methods:
        identity['password'] = {'user': {'id': USER_ID, 'password': 'pw'}}
    return {'auth': {'identity': identity}}


def password_request() -> dict[str, Any]:
    return {
        'auth': {
            'identity': {
                'methods': ['password'],
                'password': {'user': {'id': USER_ID, 'password': 'pw'}},
            }
        }
    }


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.code = int(status.split()[0])
        self.headers = dict(headers)
        self.body = b''

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: Callable[..., Iterable[bytes]],
    body: dict[str, Any] | bytes | None = None,
    path: str = '/v3/auth/tokens',
    method: str = 'POST',
    token: str | None = None,
) -> Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if body is None:
        data = b''
    environ = {
        'REQUEST_METHOD': method,
        'PATH_INFO': path,
        'CONTENT_LENGTH': str(len(data)),
        'CONTENT_TYPE': 'application/json',
        'wsgi.input': io.BytesIO(data),
    }
    if token is not None:
        environ['HTTP_X_AUTH_TOKEN'] = token
    started: list[Response] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        started.append(Response(status, headers))
        return lambda _: None

    chunks = b''.join(app(environ, start_response))
    started[0].body = chunks
    return started[0]
