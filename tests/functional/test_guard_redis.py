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

"""The guard with its state in Redis (``[cache] backend =
dogpile.cache.redis``): a real Redis (Debian's ``redis-server``), Keystone
behind the guard in two uWSGI processes, Keystone's own cache in the same
Redis, as a deployment that runs Redis has it.

The lockout and replay tests of test_guard run again here, against this
Keystone (subclasses: the count shared by both processes, the lock ended
by an administrator or by time, a code signing in once); then the store
itself, and Redis going down.
"""

from __future__ import annotations

from concurrent import futures
import threading
import time

from oslotest import base

from mfa_osc import totp
from mfa_osc.guard import store
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.testing.redis_server import LocalRedis
from tests.functional import test_guard

_lock = threading.Lock()
_redis: LocalRedis | None = None
_keystone: local_keystone.LocalKeystone | None = None


def redis() -> LocalRedis:
    """The module's Redis (started on first use, stopped at exit)."""
    global _redis
    with _lock:
        if _redis is None:
            _redis = LocalRedis().start()
        return _redis


def get_keystone() -> local_keystone.LocalKeystone:
    """The module's Keystone behind the guard, its state in Redis."""
    global _keystone
    server = redis()
    with _lock:
        if _keystone is None:
            keystone = local_keystone.LocalKeystone(
                application=local_keystone.GUARD_APPLICATION,
                # NOTE: guard=False: served behind the guard (application)
                # without the memcached LocalKeystone would give it.
                guard=False,
                processes=2,
                config={
                    'cache': {
                        'enabled': 'true',
                        'backend': 'dogpile.cache.redis',
                        'redis_server': server.address,
                        'socket_timeout': '3',
                    },
                    'mfa_guard': {
                        'max_failures': str(test_guard.MAX_FAILURES),
                        'lockout_duration': str(test_guard.LOCKOUT),
                        'policy_cache_time': '0',
                    },
                },
            )
            keystone.start()
            _keystone = keystone
        return _keystone


class TestLockoutOverRedis(test_guard.TestLockout):
    served_by = staticmethod(get_keystone)


class TestReplayOverRedis(test_guard.TestReplay):
    served_by = staticmethod(get_keystone)


class TestRedisStore(base.BaseTestCase):
    def test_operations_and_an_outage(self) -> None:
        server = LocalRedis().start()
        self.addCleanup(server.stop)
        assert server.port is not None
        kept = store.RedisStore('127.0.0.1', server.port, 0, None, None, 1)
        self.assertIsNone(kept.get('count'))
        # A counter is added to only while it exists.
        self.assertIsNone(kept.incr('count'))
        self.assertIsNone(kept.get('count'))
        self.assertTrue(kept.add('count', '0', 60))
        self.assertFalse(kept.add('count', '5', 60))
        self.assertEqual([1, 2], [kept.incr('count'), kept.incr('count')])
        self.assertEqual('2', kept.get('count'))
        # ... and keeps its expiry.
        self.assertTrue(kept.add('short', '0', 1))
        self.assertEqual(1, kept.incr('short'))
        time.sleep(1.5)
        self.assertIsNone(kept.get('short'))
        self.assertIsNone(kept.incr('short'))
        kept.set('lock', '{"until": "x"}', 60)
        self.assertEqual('{"until": "x"}', kept.get('lock'))
        kept.delete('lock')
        self.assertIsNone(kept.get('lock'))
        # Concurrent adds: exactly one wins.
        with futures.ThreadPoolExecutor(8) as pool:
            won = list(pool.map(lambda _: kept.add('once', '1', 60), range(8)))
        self.assertEqual(1, won.count(True))
        # Redis restarted: the pool connects again, no call fails.
        port = server.port
        server.stop()
        again = LocalRedis(port=port).start()
        self.addCleanup(again.stop)
        self.assertIsNone(kept.get('count'))
        # Redis down: every operation raises, naming no key or value.
        again.stop()
        for call in (
            lambda: kept.get('count'),
            lambda: kept.add('count', '0', 60),
            lambda: kept.incr('count'),
            lambda: kept.set('count', 'secret-value', 60),
            lambda: kept.delete('count'),
        ):
            error = self.assertRaises(store.StoreError, call)
            self.assertIn('Redis', str(error))
            self.assertNotIn('count', str(error))
            self.assertNotIn('secret-value', str(error))


class TestRedisDown(test_guard.GuardTestCase):
    """NOTE: Keystone's own cache is in the same Redis, so the refusal
    may come from the guard's look-up of the user (through Keystone's
    cache) before its store: 503 ``unavailable`` either way, never a
    token. The store's own failure is tested in TestRedisStore."""

    served_by = staticmethod(get_keystone)

    def test_totp_is_refused_and_comes_back_with_redis(self) -> None:
        user, secret = self.totp_user()
        server = redis()
        port = server.port
        server.stop()
        self.addCleanup(self._restart, port)
        refused = self.with_code(user, totp.passcode(secret))
        self.assertEqual(503, refused.status_code, refused.text)
        self.assertEqual(
            'unavailable', refused.json()['error']['mfa_guard']['reason']
        )
        self.assertNotIn('X-Subject-Token', refused.headers)
        self._restart(port)
        signed_in = self.with_code(user, totp.passcode(secret))
        self.assertEqual(201, signed_in.status_code, signed_in.text)

    def _restart(self, port: int | None) -> None:
        global _redis
        with _lock:
            if _redis is not None and _redis.running:
                return
            _redis = LocalRedis(port=port).start()
        self.wait_until_both_processes_check_totp()
