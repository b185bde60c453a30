#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The ``keystone.conf`` a throwaway Keystone runs with.

A sqlite database, fernet tokens and receipts, the sign-in methods it is
given (``totp`` among them), the cheapest password hashing and a cache:
in-process, or a memcached shared with the guard. A test's own settings
override these.
"""

from __future__ import annotations

from collections.abc import Mapping
import os

__all__ = ['keystone_conf', 'sqlite_path']

_SQLITE = 'sqlite:///'


def _database_url(work_dir: str) -> str:
    return _SQLITE + os.path.join(work_dir, 'keystone.db')


def _cache(memcached: str | None) -> dict[str, str]:
    if memcached is None:
        # Without a cache every token validation makes ~200 SQL
        # queries (0.3 s to 1.5 s each); one worker process keeps an
        # in-process cache consistent.
        # NOTE: memory_pickle hands out copies, as memcached does: with
        # the plain memory backend Keystone 25 changes a cached
        # credential in place when decrypting it, and its next list of
        # credentials fails with KeyError 'encrypted_blob' (HTTP 500;
        # fixed in Keystone 29).
        return {'enabled': 'true', 'backend': 'dogpile.cache.memory_pickle'}
    # NOTE: one memcached for Keystone's cache and the guard's
    # state, as deployments have: Keystone's cache must be shared
    # by its processes too (a user record changed through one
    # would be read stale by the other). oslo_cache.memcache_pool
    # (python-memcached), as kolla-ansible configures it: with
    # memcached down Keystone answers on (measured: with
    # dogpile.cache.pymemcache its requests failed, 500).
    return {
        'enabled': 'true',
        'backend': 'oslo_cache.memcache_pool',
        'memcache_servers': memcached,
        # NOTE: 3 s, not oslo.cache's 1: on a loaded 2-core machine (a
        # test run's) memcached once took longer than 1 s to answer, and
        # the guard refused that sign-in (503), as it must.
        'socket_timeout': '3',
        'memcache_dead_retry': '1',
    }


def keystone_conf(
    work_dir: str,
    methods: str,
    memcached: str | None = None,
    public_endpoint: str | None = None,
    extra: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """The text of ``keystone.conf`` for a Keystone whose files are in
    ``work_dir``.

    :param methods: ``[auth] methods``.
    :param memcached: ``HOST:PORT`` of the memcached to cache in (by
        default an in-process cache).
    :param public_endpoint: the base URL Keystone's links give, when it
        is not the one it is served on (behind the TLS proxy).
    :param extra: ``{section: {option: value}}`` overriding the rest.
    """
    fernet = os.path.join(work_dir, 'fernet-keys')
    sections: dict[str, dict[str, str]] = {
        'DEFAULT': {'debug': 'false'},
        'database': {'connection': _database_url(work_dir)},
        'token': {'provider': 'fernet'},
        'fernet_tokens': {'key_repository': fernet},
        'fernet_receipts': {'key_repository': fernet},
        'credential': {
            'key_repository': os.path.join(work_dir, 'credential-keys')
        },
        'auth': {'methods': methods},
        # Only the cheapest bcrypt cost: every password sign-in hashes.
        'identity': {'password_hash_rounds': '4'},
        'oslo_messaging_notifications': {'driver': 'noop'},
        'cache': _cache(memcached),
    }
    if public_endpoint is not None:
        # NOTE: behind the TLS proxy Keystone sees plain HTTP; its
        # links (version discovery) must still say https.
        sections['DEFAULT']['public_endpoint'] = public_endpoint
    for section, options in (extra or {}).items():
        sections.setdefault(section, {}).update(options)
    lines = []
    for section, options in sections.items():
        lines.append(f'[{section}]')
        lines.extend(f'{key} = {value}' for key, value in options.items())
        lines.append('')
    return '\n'.join(lines)


def sqlite_path(
    work_dir: str, extra: Mapping[str, Mapping[str, str]] | None = None
) -> str | None:
    """The database file, if the configuration uses sqlite."""
    connection = (
        (extra or {})
        .get('database', {})
        .get('connection', _database_url(work_dir))
    )
    if not connection.startswith(_SQLITE):
        return None
    path = connection[len(_SQLITE) :].partition('?')[0]
    return path if path and path != ':memory:' else None
