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

"""The ``[mfa_guard]`` section of keystone.conf, and the start-up checks.

The options are registered on Keystone's own ``CONF``, so they are read
from the files (or directory) Keystone reads. The guard's shared state is
the memcached that ``[cache]`` already configures: with ``enabled =
true``, one of :data:`MEMCACHE_BACKENDS` and ``memcache_servers``. Without
it the guard refuses to start, saying what to set, unless ``local_state
= true`` (each process then counts for itself, which multiplies an
attacker's tries by the number of processes: a loud warning at start).
Redis (``backend = dogpile.cache.redis``, the server of ``redis_server``,
with ``redis_db``, ``username`` and ``password``) is the other shared
store. Redis Sentinel, and either store over TLS, are not supported yet:
the guard refuses to start and says so, rather than miss the server
Keystone's cache uses and refuse every TOTP sign-in.
"""

from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg

from mfa_osc.guard import guard
from mfa_osc.guard import store

LOG = logging.getLogger(__name__)

GROUP = 'mfa_guard'

#: ``[cache] backend`` values that are memcached.
MEMCACHE_BACKENDS = frozenset(
    {
        'dogpile.cache.pymemcache',
        'oslo_cache.memcache_pool',
        'dogpile.cache.memcached',
        'dogpile.cache.bmemcached',
    }
)

#: ``[cache] backend``: Redis, one server.
REDIS_BACKEND = 'dogpile.cache.redis'

#: Seconds of one TOTP window (Keystone's, fixed).
TOTP_PERIOD = 30

OPTS = [
    cfg.IntOpt(
        'max_failures',
        default=guard.Settings.max_failures,
        min=1,
        help='Wrong TOTP passcodes a user may send within lockout_duration; '
        'the next one locks their TOTP sign-in (the default locks after '
        'more than six).',
    ),
    cfg.IntOpt(
        'lockout_duration',
        default=guard.Settings.lockout_duration,
        min=1,
        help='Seconds a TOTP lock lasts, and the window in which wrong '
        "passcodes are counted (Keystone's own password lockout default).",
    ),
    cfg.BoolOpt(
        'replay_protection',
        default=guard.Settings.replay_protection,
        help='Refuse a passcode that signed the user in already, for as long '
        'as Keystone would accept it.',
    ),
    cfg.IntOpt(
        'policy_cache_time',
        default=guard.Settings.policy_cache_time,
        min=0,
        help="Seconds a domain's MFA policy is kept per process: how soon a "
        'change by `openstack mfa policy set` takes effect.',
    ),
    cfg.ListOpt(
        'policy_exempt_users',
        default=[],
        help='User IDs or names the domain MFA policy never refuses (service '
        'users signing in with a password in a domain with a policy).',
    ),
    cfg.BoolOpt(
        'local_state',
        default=False,
        help='Keep counts, locks and used passcodes per process when no '
        'memcached or Redis is configured in [cache] (each process then '
        'allows max_failures on its own). Off: the guard refuses to start '
        'without one.',
    ),
]


class GuardConfigError(Exception):
    """The configuration does not let the guard start (one sentence)."""


def register(conf: Any) -> None:
    """Register ``[mfa_guard]`` on ``conf`` (Keystone's CONF)."""
    conf.register_opts(OPTS, group=GROUP)


def settings(conf: Any) -> guard.Settings:
    """The guard's settings from ``conf``."""
    section = getattr(conf, GROUP)
    try:
        previous = int(conf.totp.included_previous_windows)
    except (cfg.NoSuchOptError, AttributeError):
        previous = 1  # Keystone's default
    return guard.Settings(
        max_failures=int(section.max_failures),
        lockout_duration=int(section.lockout_duration),
        replay_protection=bool(section.replay_protection),
        # NOTE: the windows Keystone accepts, one more for a code checked
        # as its window ends, and one for clocks a little apart.
        replay_window=(previous + 2) * TOTP_PERIOD,
        policy_cache_time=int(section.policy_cache_time),
        policy_exempt_users=frozenset(section.policy_exempt_users or ()),
    )


def _option(cache: Any, names: tuple[str, ...], default: Any) -> Any:
    """The first of ``names`` that this oslo.cache registers in
    ``[cache]`` (oslo.cache 4.1 renamed some: ``socket_timeout`` was
    ``memcache_socket_timeout`` and ``redis_socket_timeout``, ``username``
    and ``password`` were ``redis_username`` and ``redis_password``)."""
    for name in names:
        try:
            return getattr(cache, name)
        except (cfg.NoSuchOptError, AttributeError):
            continue
    return default


def _socket_timeout(
    cache: Any, older: str = 'memcache_socket_timeout'
) -> float:
    """``[cache] socket_timeout`` (recent oslo.cache), else its older
    name."""
    return float(_option(cache, ('socket_timeout', older), 1.0))


def _no_tls(cache: Any, name: str) -> None:
    """:raises GuardConfigError: ``[cache] tls_enabled`` (the guard's
    clients would speak plain text to a server that expects TLS, and
    every TOTP sign-in be refused with 503: said once at start
    instead)."""
    if _option(cache, ('tls_enabled',), False):
        raise GuardConfigError(
            f'The MFA guard does not support {name} over TLS yet ([cache] '
            f'tls_enabled = true): serve its {name} without TLS on a '
            'private network.'
        )


def _redis_store(cache: Any) -> store.RedisStore:
    """The Redis of ``[cache]`` (``backend = dogpile.cache.redis``)."""
    # NOTE: host:port, IPv6 in brackets, 6379 by default (as oslo.cache
    # reads redis_server).
    server = _option(cache, ('redis_server',), 'localhost:6379')
    ((host, port),) = store.parse_servers([str(server)], 6379)
    return store.RedisStore(
        host,
        port,
        int(_option(cache, ('redis_db',), 0)),
        _option(cache, ('username', 'redis_username'), None),
        _option(cache, ('password', 'redis_password'), None),
        _socket_timeout(cache, 'redis_socket_timeout'),
    )


def make_store(conf: Any) -> store.Store:
    """The shared store of ``[cache]``, or the per-process one.

    :raises GuardConfigError: neither memcached nor Redis, and
        ``local_state`` is off; or one the guard cannot use.
    """
    cache = conf.cache
    backend = str(cache.backend or '')
    if cache.enabled and backend in MEMCACHE_BACKENDS:
        servers = list(cache.memcache_servers or ())
        if servers:
            _no_tls(cache, 'memcached')
            return store.MemcacheStore(
                servers,
                _socket_timeout(cache),
                float(cache.memcache_dead_retry),
            )
    if cache.enabled and backend == REDIS_BACKEND:
        _no_tls(cache, 'Redis')
        return _redis_store(cache)
    if cache.enabled and 'redis' in backend:
        # NOTE: before local_state: a Redis the guard cannot use is a
        # mistake to name, not a reason to count per process.
        raise GuardConfigError(
            f'The MFA guard does not support the {backend} cache backend '
            f'yet: set [cache] backend = {REDIS_BACKEND} with redis_server '
            '(one Redis), or oslo_cache.memcache_pool with memcache_servers.'
        )
    if getattr(conf, GROUP).local_state:
        LOG.warning(
            'MFA guard: no memcached or Redis in [cache]: wrong passcodes, '
            'locks and used passcodes are kept per process ([mfa_guard] '
            'local_state = true), so each process allows max_failures on '
            'its own and a passcode can sign in once per process.'
        )
        return store.LocalStore()
    raise GuardConfigError(
        'The MFA guard keeps its counts in memcached or Redis and none is '
        'configured: set [cache] enabled = true, backend = '
        'oslo_cache.memcache_pool (or dogpile.cache.pymemcache) and '
        'memcache_servers = HOST:PORT in keystone.conf (or backend = '
        f'{REDIS_BACKEND} and redis_server = HOST:PORT), or [mfa_guard] '
        'local_state = true for a single process.'
    )
