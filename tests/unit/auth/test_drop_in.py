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

"""The contract of keystoneauth's in-tree ``v3multifactor``, kept.

In the style of keystoneauth's own loading tests
(``keystoneauth1/tests/unit/loading/test_v3.py``): code written for the
in-tree plugin loads this one by name and must find what it expects.
"""

from __future__ import annotations

import uuid

from keystoneauth1 import exceptions
from keystoneauth1 import loading
from keystoneauth1.identity.v3 import password as v3_password
from keystoneauth1.identity.v3 import totp as v3_totp
from oslotest import base

from mfa_osc.auth import exceptions as mfa_exc
from mfa_osc.auth import plugin


class TestDropIn(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.loader = loading.get_plugin_loader('v3multifactor')
        self.auth_url = uuid.uuid4().hex
        self.username = uuid.uuid4().hex
        self.password = uuid.uuid4().hex
        self.passcode = '123456'
        self.user_domain_id = uuid.uuid4().hex

    def load(self, **kwargs: object) -> plugin.MultiFactor:
        options: dict[str, object] = {
            'auth_methods': ['v3password', 'v3totp'],
            'username': self.username,
            'password': self.password,
            'passcode': self.passcode,
            'user_domain_id': self.user_domain_id,
            'auth_url': self.auth_url,
        }
        options.update(kwargs)
        auth = self.loader.load_from_options(**options)
        assert isinstance(auth, plugin.MultiFactor)
        return auth

    def test_loads_ours(self) -> None:
        self.assertIsInstance(self.load(), plugin.MultiFactor)

    def test_methods(self) -> None:
        auth = self.load()
        self.assertEqual(self.auth_url, auth.auth_url)
        self.assertEqual(2, len(auth.auth_methods))
        password, totp = auth.auth_methods
        self.assertIsInstance(password, v3_password.PasswordMethod)
        self.assertIsInstance(totp, v3_totp.TOTPMethod)
        assert isinstance(password, v3_password.PasswordMethod)
        assert isinstance(totp, v3_totp.TOTPMethod)
        self.assertEqual(self.username, password.username)
        self.assertEqual(self.user_domain_id, password.user_domain_id)
        self.assertEqual(self.password, password.password)
        self.assertEqual(self.username, totp.username)
        self.assertEqual(self.user_domain_id, totp.user_domain_id)
        self.assertEqual(self.passcode, totp.passcode)

    def test_methods_as_a_string(self) -> None:
        auth = self.load(auth_methods='v3password,v3totp')
        self.assertEqual(
            [v3_password.PasswordMethod, v3_totp.TOTPMethod],
            [type(m) for m in auth.auth_methods],
        )

    def test_one_method(self) -> None:
        auth = self.load(auth_methods=['v3password'])
        (method,) = auth.auth_methods
        self.assertIsInstance(method, v3_password.PasswordMethod)

    def test_unknown_option(self) -> None:
        exc = self.assertRaises(
            exceptions.OptionError,
            self.load,
            methods=['v3password', 'v3totp'],
        )
        self.assertNotIsInstance(exc, TypeError)
        self.assertIn("'methods'", str(exc))

    def test_unknown_method(self) -> None:
        self.assertRaises(
            exceptions.OptionError, self.load, auth_methods=['v3oidc']
        )

    def test_missing_auth_url(self) -> None:
        self.assertRaises(
            exceptions.MissingRequiredOptions,
            self.loader.load_from_options,
            auth_methods=['v3password', 'v3totp'],
            username=self.username,
            password=self.password,
        )

    def test_missing_required_is_an_option_error(self) -> None:
        self.assertTrue(
            issubclass(
                exceptions.MissingRequiredOptions, exceptions.OptionError
            )
        )

    def test_secrets_hidden_from_the_option_list(self) -> None:
        secret = {o.dest for o in self.loader.get_options() if o.secret}
        self.assertLessEqual({'password', 'passcode'}, secret)

    def test_no_methods_is_adaptive_not_an_error(self) -> None:
        # NOTE: a deliberate difference: the in-tree loader requires
        # auth_methods; this one defaults to password and totp.
        auth = self.loader.load_from_options(
            auth_url=self.auth_url,
            username=self.username,
            password=self.password,
            user_domain_id=self.user_domain_id,
        )
        self.assertEqual(
            [v3_password.PasswordMethod, v3_totp.TOTPMethod],
            [type(m) for m in auth.auth_methods],
        )

    def test_project_options(self) -> None:
        # As keystoneauth's loader test does: the scope options are kept.
        project_name = uuid.uuid4().hex
        project_domain_id = uuid.uuid4().hex
        auth = self.load(
            project_name=project_name, project_domain_id=project_domain_id
        )
        self.assertEqual(project_name, auth.project_name)
        self.assertEqual(project_domain_id, auth.project_domain_id)

    def test_refusals_are_unauthorized_as_in_tree(self) -> None:
        # NOTE: code written for the in-tree plugin catches Unauthorized
        # for a wrong code (Keystone's 401) and a scope without a role.
        for cls in (
            mfa_exc.PasscodeRejected,
            mfa_exc.NoRoleOnScope,
            mfa_exc.PasswordRejected,
        ):
            self.assertTrue(issubclass(cls, exceptions.Unauthorized), cls)
            self.assertTrue(
                issubclass(cls, exceptions.AuthorizationFailure), cls
            )
        error = mfa_exc.PasscodeRejected('The passcode was not accepted.')
        self.assertEqual('The passcode was not accepted.', str(error))
        self.assertEqual(401, error.http_status)

    def test_methods_shown_again_after_a_sign_in(self) -> None:
        # NOTE: a sign-in sets the methods of each request it sends; after
        # it, the configured ones are shown again, as the in-tree plugin
        # always shows them.
        from keystoneauth1 import session as ks_session
        from requests_mock.contrib import fixture as rm_fixture

        from tests.unit.auth import fakes

        requests = self.useFixture(rm_fixture.Fixture())
        requests.post(fakes.TOKEN_URL, **fakes.TOKEN_RESPONSE)
        auth = self.load(auth_url=fakes.AUTH_URL, token_cache=False)
        auth.get_auth_ref(ks_session.Session())
        self.assertEqual(
            ['password', 'totp'],
            requests.last_request.json()['auth']['identity']['methods'],
        )
        password, totp = auth.auth_methods
        assert isinstance(password, v3_password.PasswordMethod)
        assert isinstance(totp, v3_totp.TOTPMethod)
        self.assertEqual(self.password, password.password)
        self.assertEqual(self.passcode, totp.passcode)
