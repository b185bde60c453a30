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

"""Where the guard keeps its counts, locks and used passcodes.

Three stores with the same five operations, each atomic where it must be
(``add`` only when absent, ``incr`` of a counter):

* :class:`MemcacheStore`: memcached, the servers of ``[cache]
  memcache_servers``, the same memcached Keystone's own cache uses, so
  every worker on every node sees the same state and a deployment adds no
  server. Through pymemcache's ``HashClient`` (keys spread over the
  servers as a hash ring): pymemcache is what oslo.cache's own
  ``dogpile.cache.pymemcache`` backend is built on, and it exposes
  memcached's atomic ``add`` and ``incr``, which dogpile's region API (what
  Keystone's cache offers) does not. Every failure (a server down, a
  timeout) raises :class:`StoreError`: the guard then refuses the TOTP
  sign-in, it never lets one through uncounted.
* :class:`RedisStore`: Redis, the server of ``[cache] redis_server``
  (``backend = dogpile.cache.redis``), through redis-py, the client
  dogpile's Redis backend is built on: ``SET NX EX`` is the atomic
  ``add``, and a counter is only added to while it exists (a short Lua
  script: Redis's ``INCR`` alone would make a counter with no expiry).
  Every failure raises :class:`StoreError`, as with memcached, and no
  call is retried: a command whose answer timed out may have run, and a
  retried ``add`` would then find its own key and report the try as
  already counted.
* :class:`LocalStore`: a dictionary per process, for ``[mfa_guard]
  local_state = true`` only (a single-process Keystone, a test): each
  process counts on its own, so N processes give an attacker N times
  ``max_failures``.

Values are short ASCII strings; keys are chosen by the guard (a prefix
and a SHA-256, well inside memcached's 250 bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import threading
import time
from typing import Any
from typing import Protocol


class StoreError(Exception):
    """The store could not be read or written."""


class Store(Protocol):
    """The operations the guard needs; ``expire`` is in seconds."""

    #: What the store is, for the guard's refusals ("... cannot be
    #: reached").
    name: str

    def get(self, key: str) -> str | None: ...

    def add(self, key: str, value: str, expire: int) -> bool:
        """Set ``key`` only if it is absent; True if it was set."""
        ...

    def incr(self, key: str) -> int | None:
        """Add one to a counter; None if the key is absent."""
        ...

    def set(self, key: str, value: str, expire: int) -> None: ...

    def delete(self, key: str) -> None: ...


class LocalStore:
    """A per-process store (a dictionary with expiry, under a lock)."""

    name = 'the per-process store'

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._items[key]
            return None
        return item[0]

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key)

    def add(self, key: str, value: str, expire: int) -> bool:
        with self._lock:
            if self._live(key) is not None:
                return False
            self._items[key] = (value, self._clock() + expire)
            return True

    def incr(self, key: str) -> int | None:
        with self._lock:
            value = self._live(key)
            if value is None:
                return None
            count = int(value) + 1
            self._items[key] = (str(count), self._items[key][1])
            return count

    def set(self, key: str, value: str, expire: int) -> None:
        with self._lock:
            self._items[key] = (value, self._clock() + expire)

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


def parse_servers(
    servers: Sequence[str], default_port: int = 11211
) -> list[tuple[str, int]]:
    """``host:port`` entries of ``[cache] memcache_servers`` (IPv6 as
    ``[addr]:port`` or ``inet6:[addr]:port``, as oslo.cache takes them),
    or of ``redis_server``; ``default_port`` where none is given."""
    parsed = []
    for entry in servers:
        text = entry.strip()
        text = text.removeprefix('inet6:').removeprefix('inet:')
        host, sep, port = text.rpartition(':')
        bare_ipv6 = text.count(':') > 1 and not text.startswith('[')
        if not sep or not port.isdigit() or bare_ipv6:
            host, port = text, str(default_port)
        parsed.append((host.strip('[]'), int(port)))
    return parsed


class MemcacheStore:
    """memcached through pymemcache's HashClient."""

    name = 'memcached'

    def __init__(
        self,
        servers: Sequence[str],
        socket_timeout: float,
        dead_retry: float,
    ) -> None:
        # NOTE: imported here: the per-process store and the unit tests
        # do without it.
        from pymemcache.client import hash as pymemcache_hash

        self._client: Any = pymemcache_hash.HashClient(
            parse_servers(servers),
            connect_timeout=socket_timeout,
            timeout=socket_timeout,
            # NOTE: a dead server is skipped for dead_retry seconds, as
            # oslo.cache's memcache_dead_retry does; with every server
            # dead, the call raises (ignore_exc stays False) and the guard
            # refuses.
            # NOTE: retry_attempts=0: a server that fails is set aside at
            # once and the call raises. With retries, HashClient answers a
            # call to a server in its retry window with the default value
            # (no lock, no count) without raising: an outage must refuse,
            # not let sign-ins through uncounted.
            dead_timeout=dead_retry,
            retry_attempts=0,
            ignore_exc=False,
            default_noreply=False,
            # NOTE: one connection per worker thread; uWSGI threads share
            # the client.
            use_pooling=True,
        )

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, name)(*args, **kwargs)
        except Exception as exc:
            # NOTE: the message names the class only: pymemcache's may
            # quote the key or the value.
            raise StoreError(
                f'memcached {name} failed: {type(exc).__name__}'
            ) from exc

    def get(self, key: str) -> str | None:
        value = self._call('get', key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def add(self, key: str, value: str, expire: int) -> bool:
        return bool(self._call('add', key, value, expire, noreply=False))

    def incr(self, key: str) -> int | None:
        value = self._call('incr', key, 1, noreply=False)
        return None if value is None else int(value)

    def set(self, key: str, value: str, expire: int) -> None:
        if not self._call('set', key, value, expire, noreply=False):
            raise StoreError('memcached set failed')

    def delete(self, key: str) -> None:
        self._call('delete', key, noreply=False)


#: Redis: add one to a counter only while it exists (``INCR`` alone would
#: create one at 1 without an expiry); nil when it is absent.
_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('INCR', KEYS[1])
end
return false
"""


class RedisStore:
    """Redis through redis-py.

    :param host: the server's name or address; ``port``, ``db``,
        ``username`` and ``password`` as ``[cache]`` gives them.
    :param socket_timeout: seconds to connect and for each answer.
    """

    name = 'Redis'

    def __init__(
        self,
        host: str,
        port: int,
        db: int,
        username: str | None,
        password: str | None,
        socket_timeout: float,
    ) -> None:
        # NOTE: imported here, as pymemcache is.
        import redis
        from redis import backoff
        from redis import retry

        self._errors: tuple[type[Exception], ...] = (
            redis.exceptions.RedisError,
            OSError,
        )
        self._client: Any = redis.Redis(
            host=host,
            port=port,
            db=db,
            username=username or None,
            password=password or None,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            # NOTE: no retries (redis-py 6 and later retry three times by
            # default, timeouts too): a SET NX whose answer timed out may
            # have run, and its retry would find the key and answer False,
            # a try left uncounted. A failed call raises and the guard
            # refuses; the pool connects again for the next one (after a
            # Redis restart too: measured, no sign-in refused).
            retry=retry.Retry(backoff.NoBackoff(), 0),
        )
        self._incr = self._client.register_script(_INCR_EXISTING)

    def _call(self, name: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except self._errors as exc:
            # NOTE: the class only: a message may quote a key or a value.
            raise StoreError(
                f'Redis {name} failed: {type(exc).__name__}'
            ) from exc

    def get(self, key: str) -> str | None:
        value = self._call('get', lambda: self._client.get(key))
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def add(self, key: str, value: str, expire: int) -> bool:
        return bool(
            self._call(
                'add',
                lambda: self._client.set(key, value, ex=expire, nx=True),
            )
        )

    def incr(self, key: str) -> int | None:
        value = self._call('incr', lambda: self._incr(keys=[key]))
        return None if value is None else int(value)

    def set(self, key: str, value: str, expire: int) -> None:
        if not self._call(
            'set', lambda: self._client.set(key, value, ex=expire)
        ):
            raise StoreError('Redis set failed')

    def delete(self, key: str) -> None:
        self._call('delete', lambda: self._client.delete(key))
