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

"""mfa_osc.guard.config: the settings, and the refusal to start without
shared state."""

from __future__ import annotations

import logging
from unittest import mock

import fixtures
from oslo_config import cfg
import testtools

from mfa_osc.guard import config
from mfa_osc.guard import store

#: ``[cache]`` options every oslo.cache release here has.
_COMMON = [
    cfg.BoolOpt('enabled', default=False),
    cfg.StrOpt('backend', default='dogpile.cache.null'),
    cfg.ListOpt('memcache_servers', default=['localhost:11211']),
    cfg.IntOpt('memcache_dead_retry', default=300),
    cfg.StrOpt('redis_server', default='localhost:6379'),
    cfg.BoolOpt('tls_enabled', default=False),
]
#: oslo.cache 4.1 and later.
OPTIONS = [
    *_COMMON,
    cfg.FloatOpt('socket_timeout', default=1.0),
    cfg.IntOpt('redis_db', default=0),
    cfg.StrOpt('username'),
    cfg.StrOpt('password', secret=True),
]
#: oslo.cache 3.x (Keystone 2024.1): no redis_db, the older names.
OLDER_REDIS = [
    *_COMMON,
    cfg.FloatOpt('memcache_socket_timeout', default=1.0),
    cfg.StrOpt('redis_username'),
    cfg.StrOpt('redis_password', secret=True),
    cfg.FloatOpt('redis_socket_timeout', default=1.0),
]


def _conf(
    options: list[cfg.Opt] | None = None, **cache: object
) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    # NOTE: the [cache] options oslo.cache registers on Keystone's CONF.
    conf.register_opts(options or OPTIONS, group='cache')
    conf([])
    for name, value in cache.items():
        conf.set_override(name, value, group='cache')
    config.register(conf)
    return conf


class TestSettings(testtools.TestCase):
    def test_defaults(self) -> None:
        settings = config.settings(_conf())
        self.assertEqual(6, settings.max_failures)
        self.assertEqual(1800, settings.lockout_duration)
        self.assertTrue(settings.replay_protection)
        self.assertEqual(60, settings.policy_cache_time)
        # NOTE: Keystone's default, one previous window: 30 s more than
        # the two windows a code is accepted in, and 30 s of clock skew.
        self.assertEqual(90, settings.replay_window)

    def test_totp_windows(self) -> None:
        conf = _conf()
        conf.register_opts(
            [cfg.IntOpt('included_previous_windows', default=1)], 'totp'
        )
        conf.set_override('included_previous_windows', 3, 'totp')
        conf.set_override('max_failures', 3, config.GROUP)
        settings = config.settings(conf)
        self.assertEqual(150, settings.replay_window)
        self.assertEqual(3, settings.max_failures)


class TestMakeStore(testtools.TestCase):
    def test_memcached_backends(self) -> None:
        for backend in sorted(config.MEMCACHE_BACKENDS):
            conf = _conf(
                enabled=True,
                backend=backend,
                memcache_servers=['10.0.0.1:11211', '10.0.0.2:11211'],
                socket_timeout=0.5,
                memcache_dead_retry=60,
            )
            with mock.patch.object(store, 'MemcacheStore') as memcache:
                self.assertIs(memcache.return_value, config.make_store(conf))
            memcache.assert_called_once_with(
                ['10.0.0.1:11211', '10.0.0.2:11211'], 0.5, 60.0
            )

    def test_no_memcached_refuses_to_start(self) -> None:
        for conf in (
            _conf(),
            _conf(enabled=False, backend='oslo_cache.memcache_pool'),
            _conf(enabled=True, backend='dogpile.cache.memory'),
            _conf(enabled=False, backend='dogpile.cache.redis'),
        ):
            error = self.assertRaises(
                config.GuardConfigError, config.make_store, conf
            )
            self.assertIn('[cache] enabled = true', str(error))
            self.assertIn('[mfa_guard] local_state = true', str(error))

    def test_redis(self) -> None:
        for server, host, port in (
            ('redis1:6380', 'redis1', 6380),
            ('[fd00::7]:6381', 'fd00::7', 6381),
            ('redis2', 'redis2', 6379),
        ):
            conf = _conf(
                enabled=True,
                backend='dogpile.cache.redis',
                redis_server=server,
                redis_db=2,
                username='keystone',
                password='pw',
                socket_timeout=0.5,
            )
            with mock.patch.object(store, 'RedisStore') as redis:
                self.assertIs(redis.return_value, config.make_store(conf))
            redis.assert_called_once_with(host, port, 2, 'keystone', 'pw', 0.5)

    def test_redis_on_older_oslo_cache(self) -> None:
        conf = _conf(
            OLDER_REDIS,
            enabled=True,
            backend='dogpile.cache.redis',
            redis_server='fd00::7',
            redis_username='keystone',
            redis_password='pw',
            redis_socket_timeout=0.25,
            memcache_socket_timeout=9.0,
        )
        with mock.patch.object(store, 'RedisStore') as redis:
            config.make_store(conf)
        redis.assert_called_once_with(
            'fd00::7', 6379, 0, 'keystone', 'pw', 0.25
        )

    def test_a_store_the_guard_cannot_use_refuses_to_start(self) -> None:
        for conf, said in (
            (
                _conf(enabled=True, backend='dogpile.cache.redis_sentinel'),
                'does not support the dogpile.cache.redis_sentinel cache '
                'backend yet',
            ),
            (
                _conf(
                    enabled=True,
                    backend='dogpile.cache.redis',
                    tls_enabled=True,
                ),
                'does not support Redis over TLS yet',
            ),
            (
                _conf(
                    enabled=True,
                    backend='oslo_cache.memcache_pool',
                    memcache_servers=['10.0.0.1:11211'],
                    tls_enabled=True,
                ),
                'does not support memcached over TLS yet',
            ),
        ):
            # NOTE: local_state does not stand in for a Redis named.
            conf.set_override('local_state', True, config.GROUP)
            error = self.assertRaises(
                config.GuardConfigError, config.make_store, conf
            )
            self.assertIn(said, str(error))

    def test_local_state_warns(self) -> None:
        logger = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        conf = _conf()
        conf.set_override('local_state', True, config.GROUP)
        self.assertIsInstance(config.make_store(conf), store.LocalStore)
        self.assertIn('kept per process', logger.output)


class TestServers(testtools.TestCase):
    def test_parse(self) -> None:
        self.assertEqual(
            [
                ('127.0.0.1', 11211),
                ('cache1', 11212),
                ('::1', 11211),
                ('fd00::2', 11213),
                ('cache2', 11211),
                ('fd00::3', 11211),
                ('fd00::4', 11211),
            ],
            store.parse_servers(
                [
                    '127.0.0.1:11211',
                    ' cache1:11212',
                    'inet6:[::1]:11211',
                    '[fd00::2]:11213',
                    'cache2',
                    'fd00::3',
                    '[fd00::4]',
                ]
            ),
        )
