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

"""mfa_osc.guard.store: the per-process store, and the memcached one on a
stand-in for pymemcache (the unit tests run without it)."""

from __future__ import annotations

import sys
import types
from typing import Any
from unittest import mock

import testtools

from mfa_osc.guard import store


class TestLocalStore(testtools.TestCase):
    def test_operations_and_expiry(self) -> None:
        now = [100.0]
        local = store.LocalStore(clock=lambda: now[0])
        self.assertTrue(local.add('k', '0', 10))
        self.assertFalse(local.add('k', '5', 10))
        self.assertEqual(1, local.incr('k'))
        self.assertEqual(2, local.incr('k'))
        self.assertEqual('2', local.get('k'))
        self.assertIsNone(local.incr('other'))
        now[0] += 10
        self.assertIsNone(local.get('k'))
        self.assertTrue(local.add('k', '0', 10))
        local.set('k', 'x', 5)
        local.delete('k')
        local.delete('k')
        self.assertIsNone(local.get('k'))


class TestMemcacheStore(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.client = mock.Mock()
        hash_module = types.ModuleType('pymemcache.client.hash')
        self.hash_client = mock.Mock(return_value=self.client)
        hash_module.HashClient = self.hash_client  # type: ignore[attr-defined]
        client_module = types.ModuleType('pymemcache.client')
        client_module.hash = hash_module  # type: ignore[attr-defined]
        package = types.ModuleType('pymemcache')
        package.client = client_module  # type: ignore[attr-defined]
        modules: dict[str, Any] = {
            'pymemcache': package,
            'pymemcache.client': client_module,
            'pymemcache.client.hash': hash_module,
        }
        patcher = mock.patch.dict(sys.modules, modules)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.store = store.MemcacheStore(['10.0.0.1:11211', 'm2'], 0.5, 60)

    def test_the_client_raises_on_any_failure(self) -> None:
        _args, kwargs = self.hash_client.call_args
        self.assertEqual(
            [('10.0.0.1', 11211), ('m2', 11211)],
            self.hash_client.call_args[0][0],
        )
        # NOTE: with retries, HashClient answers a call to a server in its
        # retry window with a default (no lock) instead of raising.
        self.assertEqual(0, kwargs['retry_attempts'])
        self.assertFalse(kwargs['ignore_exc'])
        self.assertFalse(kwargs['default_noreply'])
        self.assertEqual(0.5, kwargs['timeout'])
        self.assertEqual(0.5, kwargs['connect_timeout'])
        self.assertEqual(60, kwargs['dead_timeout'])

    def test_operations(self) -> None:
        self.client.get.return_value = b'3'
        self.assertEqual('3', self.store.get('k'))
        self.client.get.return_value = None
        self.assertIsNone(self.store.get('k'))
        self.client.add.return_value = True
        self.assertTrue(self.store.add('k', '0', 9))
        self.client.add.assert_called_with('k', '0', 9, noreply=False)
        self.client.incr.return_value = 4
        self.assertEqual(4, self.store.incr('k'))
        self.client.incr.return_value = None
        self.assertIsNone(self.store.incr('k'))
        self.client.set.return_value = True
        self.store.set('k', 'v', 9)
        self.store.delete('k')
        self.client.delete.assert_called_with('k', noreply=False)

    def test_errors_become_store_errors_without_their_message(self) -> None:
        self.client.get.side_effect = TimeoutError('secret-key 123456')
        error = self.assertRaises(store.StoreError, self.store.get, 'k')
        self.assertEqual('memcached get failed: TimeoutError', str(error))
        self.client.set.return_value = False
        self.assertRaises(store.StoreError, self.store.set, 'k', 'v', 1)
