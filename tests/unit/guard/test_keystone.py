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

"""mfa_osc.guard.keystone and mfa_osc.guard.app on stand-ins for
Keystone's modules (the unit tests run without Keystone)."""

from __future__ import annotations

import sys
import types
from typing import Any
from unittest import mock

import fixtures
from oslo_config import cfg
import testtools

from mfa_osc.guard import app
from mfa_osc.guard import guard
from mfa_osc.guard import keystone
from mfa_osc.guard import store


class UserNotFound(Exception):
    pass


class DomainNotFound(Exception):
    pass


class NotFound(Exception):
    pass


class Unauthorized(Exception):
    pass


class ValidationError(Exception):
    pass


def _keystone_modules(providers: Any, conf: Any = None) -> dict[str, Any]:
    """``sys.modules`` entries standing in for Keystone's."""
    package = types.ModuleType('keystone')
    common = types.ModuleType('keystone.common')
    provider_api = types.ModuleType('keystone.common.provider_api')
    provider_api.ProviderAPIs = providers  # type: ignore[attr-defined]
    exception = types.ModuleType('keystone.exception')
    exception.UserNotFound = UserNotFound  # type: ignore[attr-defined]
    exception.DomainNotFound = DomainNotFound  # type: ignore[attr-defined]
    exception.NotFound = NotFound  # type: ignore[attr-defined]
    exception.Unauthorized = Unauthorized  # type: ignore[attr-defined]
    exception.ValidationError = (  # type: ignore[attr-defined]
        ValidationError
    )
    keystone_conf = types.ModuleType('keystone.conf')
    keystone_conf.CONF = conf  # type: ignore[attr-defined]
    package.exception = exception  # type: ignore[attr-defined]
    package.conf = keystone_conf  # type: ignore[attr-defined]
    package.common = common  # type: ignore[attr-defined]
    common.provider_api = provider_api  # type: ignore[attr-defined]
    return {
        'keystone': package,
        'keystone.common': common,
        'keystone.common.provider_api': provider_api,
        'keystone.exception': exception,
        'keystone.conf': keystone_conf,
    }


def _use_modules(test: testtools.TestCase, modules: dict[str, Any]) -> None:
    patcher = mock.patch.dict(sys.modules, modules)
    patcher.start()
    test.addCleanup(patcher.stop)


class TestKeystoneDirectory(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.providers = mock.Mock()
        _use_modules(self, _keystone_modules(self.providers))
        context = self.useFixture(
            fixtures.MockPatch('oslo_context.context.RequestContext')
        )
        self.contexts = context.mock
        self.directory = keystone.KeystoneDirectory()

    def test_user_by_name_in_a_domain_by_name(self) -> None:
        resource = self.providers.resource_api
        identity = self.providers.identity_api
        resource.get_domain_by_name.return_value = {'id': 'd1'}
        identity.get_user_by_name.return_value = {'id': 'u1'}
        self.assertEqual(
            'u1', self.directory.user_id_by_name('alice', None, 'Dom')
        )
        resource.get_domain_by_name.assert_called_once_with('Dom')
        identity.get_user_by_name.assert_called_once_with('alice', 'd1')
        self.assertEqual(
            'u1', self.directory.user_id_by_name('alice', 'd2', None)
        )
        identity.get_user_by_name.assert_called_with('alice', 'd2')

    def test_unknown_users_and_domains(self) -> None:
        self.providers.identity_api.get_user_by_name.side_effect = UserNotFound
        self.assertIsNone(self.directory.user_id_by_name('x', 'd', None))
        self.providers.resource_api.get_domain_by_name.side_effect = (
            DomainNotFound
        )
        self.assertIsNone(self.directory.user_id_by_name('x', None, 'D'))
        self.providers.identity_api.get_user.side_effect = UserNotFound
        self.assertIsNone(self.directory.user_id('X'))
        self.assertIsNone(self.directory.lock_mark('X'))

    def test_a_failed_read_is_raised(self) -> None:
        self.providers.identity_api.get_user.side_effect = RuntimeError
        self.assertRaises(RuntimeError, self.directory.user_id, 'u1')
        self.assertRaises(RuntimeError, self.directory.lock_mark, 'u1')

    def test_the_id_as_keystone_spells_it(self) -> None:
        self.providers.identity_api.get_user.return_value = {'id': 'abc'}
        self.assertEqual('abc', self.directory.user_id('ABC '))

    def test_the_lock_mark(self) -> None:
        identity = self.providers.identity_api
        identity.get_user.return_value = {
            'id': 'u1',
            keystone.LOCK_MARK: {'since': 's', 'until': 'u'},
        }
        self.assertEqual(
            {'since': 's', 'until': 'u'}, self.directory.lock_mark('u1')
        )
        self.directory.set_lock_mark('u1', {'since': 's2', 'until': 'u2'})
        # NOTE: the mark alone: nothing else of the user is written.
        identity.update_user.assert_called_once_with(
            'u1', {'mfa_osc_lock': {'since': 's2', 'until': 'u2'}}
        )

    def test_the_domain_policy_and_revocation(self) -> None:
        self.providers.resource_api.get_domain.return_value = {
            'id': 'd1',
            'mfa_policy': {'required': True},
        }
        self.assertEqual(
            {'required': True}, self.directory.domain_policy('d1')
        )
        self.directory.revoke_token('t')
        self.providers.token_provider_api.revoke_token.assert_called_once_with(
            't'
        )

    def _model(self, **scope: object) -> types.SimpleNamespace:
        """A stand-in of Keystone's TokenModel."""
        values: dict[str, object] = {
            'methods': ['password'],
            'user_id': 'u1',
            'user': {'id': 'u1', 'name': 'alice'},
            'user_domain': {'id': 'd1', 'name': 'Dom'},
            'system_scoped': False,
            'domain_scoped': False,
            'project_scoped': False,
            'trust_scoped': False,
            'oauth_scoped': False,
            'unscoped': True,
            'roles': [],
        }
        values.update(scope)
        return types.SimpleNamespace(**values)

    def test_a_token_as_keystone_shows_it(self) -> None:
        validate = self.providers.token_provider_api.validate_token
        validate.return_value = self._model()
        self.assertEqual(
            {
                'methods': ['password'],
                'user': {
                    'id': 'u1',
                    'name': 'alice',
                    'domain': {'id': 'd1', 'name': 'Dom'},
                },
            },
            self.directory.token('t1'),
        )
        validate.assert_called_once_with('t1')
        validate.return_value = self._model(
            methods=['token', 'password'],
            project_scoped=True,
            project_id='p1',
            trust_scoped=True,
            trust_id='t9',
            unscoped=False,
            roles=[{'id': 'r1', 'name': 'member'}],
        )
        token = self.directory.token('t2')
        assert token is not None
        self.assertEqual({'id': 'p1'}, token['project'])
        self.assertEqual({'id': 't9'}, token['OS-TRUST:trust'])
        self.assertEqual([{'id': 'r1', 'name': 'member'}], token['roles'])
        self.assertNotIn('domain', token)

    def test_a_token_keystone_does_not_take(self) -> None:
        validate = self.providers.token_provider_api.validate_token
        for error in (NotFound, Unauthorized, ValidationError):
            validate.side_effect = error
            self.assertIsNone(self.directory.token('t'))
        validate.side_effect = RuntimeError('database is locked')
        self.assertRaises(RuntimeError, self.directory.token, 't')

    def test_each_call_in_a_new_request_context(self) -> None:
        self.providers.identity_api.get_user.return_value = {'id': 'u1'}
        self.directory.user_id('u1')
        self.directory.lock_mark('u1')
        self.directory.domain_policy('d1')
        self.assertEqual(
            [mock.call(overwrite=True)] * 3, self.contexts.call_args_list
        )


class TestWrap(testtools.TestCase):
    def _conf(self, **cache: object) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        conf.register_opts(
            [
                cfg.BoolOpt('enabled', default=False),
                cfg.StrOpt('backend', default='dogpile.cache.null'),
                cfg.ListOpt('memcache_servers', default=['localhost:11211']),
                cfg.FloatOpt('socket_timeout', default=1.0),
                cfg.IntOpt('memcache_dead_retry', default=300),
            ],
            group='cache',
        )
        conf([])
        for name, value in cache.items():
            conf.set_override(name, value, group='cache')
        return conf

    def test_wraps_with_the_settings_and_the_shared_store(self) -> None:
        conf = self._conf(enabled=True, backend='oslo_cache.memcache_pool')
        _use_modules(self, _keystone_modules(mock.Mock(), conf))
        self.useFixture(
            fixtures.MockPatch('oslo_context.context.RequestContext')
        )
        inner = mock.Mock()
        with mock.patch.object(store, 'MemcacheStore') as memcache:
            wrapped = app.wrap(inner)
        self.assertIsInstance(wrapped, guard.Guard)
        self.assertIs(inner, wrapped.app)
        self.assertIs(memcache.return_value, wrapped.store)
        self.assertEqual(6, wrapped.settings.max_failures)

    def test_refuses_without_memcached(self) -> None:
        _use_modules(self, _keystone_modules(mock.Mock(), self._conf()))
        self.assertRaises(app.config.GuardConfigError, app.wrap, mock.Mock())
