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

"""Never locked out: every account shape, every state-changing command.

Issue 20. Each test makes one account of every shape a real cloud has,
in a domain of its own: a federated (shadow) user signing in through a
mapping, a Kerberos-style ``external`` user, password only, an
application-credential holder, hand-made TOTP credentials under each
rules shape that locked accounts out, and accounts whose rules would let
a code alone in. It measures every way each account signs in, by real
sign-ins, runs one administrator's command, and measures again: every
way that worked still works, except a TOTP code alone, which never does.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

import requests

from mfa_osc import totp
from mfa_osc.client import records
from tests.functional import mfa_base

#: The ways in measured, each a real sign-in.
WAYS = ('password', 'code', 'password+code', 'app', 'external', 'mapped')

#: Keystone's explicitly unscoped sign-in (without it, the user's default
#: project).
UNSCOPED = 'unscoped'

#: Hand-made TOTP credentials with these rules (None: no rules), the flag
#: as given.
TOTP_SHAPES: dict[str, tuple[Any, bool | None]] = {
    'totp-none': (None, None),
    'totp-appcred': ([['totp'], ['application_credential']], None),
    'totp-token': ([['totp'], ['token']], None),
    'totp-external': ([['totp'], ['external']], None),
    'totp-pw-appcred': (
        [['totp'], ['password', 'application_credential']],
        None,
    ),
    'totp-password': ([['totp'], ['password']], None),
    'totp-flag-off': ([['password', 'totp']], False),
}
#: No TOTP credential, rules that would let a code alone in (item 8).
WEAK_SHAPES: dict[str, tuple[Any, bool | None]] = {
    'weak-flag-off': ([['password', 'totp']], False),
    'weak-totp-password': ([['totp'], ['password']], None),
}


@dataclasses.dataclass
class Shape:
    name: str
    user_id: str
    password: str | None
    secret: str | None = None
    app: dict[str, str] | None = None
    external: bool = False
    federated: bool = False


class ShapesCase(mfa_base.MFATestCase):
    """A domain with a federated identity provider, and the shapes."""

    def setUp(self) -> None:
        super().setUp()
        self.api = self.keystone.admin_adapter()
        tag = secrets.token_hex(4)
        self.domain = f'shapes-{tag}'
        self.domain_id = self.api.post(
            '/domains', json={'domain': {'name': self.domain}}
        ).json()['domain']['id']
        self.idp = f'idp-{tag}'
        mapping = f'map-{tag}'
        self.api.put(
            f'/OS-FEDERATION/identity_providers/{self.idp}',
            json={
                'identity_provider': {
                    'enabled': True,
                    'domain_id': self.domain_id,
                }
            },
        )
        self.api.put(
            f'/OS-FEDERATION/mappings/{mapping}',
            json={
                'mapping': {
                    'rules': [
                        {
                            'local': [{'user': {'name': '{0}'}}],
                            'remote': [{'type': 'HTTP_X_FED_USER'}],
                        }
                    ]
                }
            },
        )
        self.api.put(
            f'/OS-FEDERATION/identity_providers/{self.idp}/protocols/mapped',
            json={'protocol': {'mapping_id': mapping}},
        )

    # -- accounts

    def local_user(self, name: str) -> tuple[str, str]:
        user = self.domain_user(self.domain, self.domain_id, name, 'member')
        return user.id, user.password

    def set_rules(self, user_id: str, rules: Any, flag: bool | None) -> None:
        options: dict[str, Any] = {}
        if rules is not None:
            options['multi_factor_auth_rules'] = rules
        if flag is not None:
            options['multi_factor_auth_enabled'] = flag
        if options:
            self.api.patch(
                f'/users/{user_id}', json={'user': {'options': options}}
            )

    def shapes(self) -> list[Shape]:
        out = []
        fed = f'fed-{secrets.token_hex(3)}'
        first = self.mapped_status(fed, with_id=True)
        assert isinstance(first, str), first
        out.append(Shape('federated', first, None, federated=True))
        user_id, password = self.local_user(f'ext-{secrets.token_hex(3)}')
        out.append(Shape('external', user_id, password, external=True))
        user_id, password = self.local_user('password-only')
        out.append(Shape('password-only', user_id, password))
        user_id, password = self.local_user('app-holder')
        out.append(
            Shape(
                'app-holder',
                user_id,
                password,
                app=self.make_app_cred(user_id, password),
            )
        )
        for name, (rules, flag) in TOTP_SHAPES.items():
            user_id, password = self.local_user(name)
            app = self.make_app_cred(user_id, password)
            secret = totp.generate_secret()
            self.keystone.create_totp_credential(user_id, secret)
            self.set_rules(user_id, rules, flag)
            out.append(
                Shape(
                    name,
                    user_id,
                    password,
                    secret=secret,
                    app=app,
                    external=name == 'totp-external',
                )
            )
        for name, (rules, flag) in WEAK_SHAPES.items():
            user_id, password = self.local_user(name)
            self.set_rules(user_id, rules, flag)
            out.append(Shape(name, user_id, password))
        return out

    # -- real sign-ins

    def mapped_status(self, name: str, with_id: bool = False) -> int | str:
        response = requests.post(
            f'{self.keystone.auth_url}/OS-FEDERATION/identity_providers/'
            f'{self.idp}/protocols/mapped/auth',
            headers={'X-Fed-User': name},
            timeout=30,
        )
        if with_id and response.status_code == 201:
            return str(response.json()['token']['user']['id'])
        return response.status_code

    def ways(self, shape: Shape) -> dict[str, int]:
        """Each way in of the account, and Keystone's answer (201, 401).

        NOTE: the sign-ins are unscoped (Keystone checks a user's rules
        whatever the scope): behind the guard a domain's policy refuses a
        scoped token without a second factor by design (a way in still
        open for ``openstack mfa enroll``), which test_guard_client tests.
        """
        out: dict[str, int] = {}
        who = {'id': shape.user_id}
        if shape.password:
            pw = {'user': {**who, 'password': shape.password}}
            out['password'] = self.sign_in(
                {'methods': ['password'], 'password': pw}, UNSCOPED
            ).status_code
        if shape.secret:
            # NOTE: a code per sign-in (behind the guard, one that signed
            # in is refused a second time).
            out['code'] = self.code_status(
                shape.secret, {'methods': ['totp']}, who
            )
            out['password+code'] = self.code_status(
                shape.secret,
                {'methods': ['password', 'totp'], 'password': pw},
                who,
            )
        if shape.app:
            out['app'] = self.sign_in(
                {
                    'methods': ['application_credential'],
                    'application_credential': dict(shape.app),
                }
            ).status_code
        if shape.external:
            name = self.api.get(f'/users/{shape.user_id}').json()['user'][
                'name'
            ]
            out['external'] = requests.post(
                self.keystone.auth_url + '/auth/tokens',
                json={
                    'auth': {
                        'identity': {'methods': ['external'], 'external': {}},
                        'scope': UNSCOPED,
                    }
                },
                headers={
                    'X-Test-Remote-User': name,
                    'X-Test-Remote-Domain': self.domain,
                },
                timeout=30,
            ).status_code
        if shape.federated:
            name = self.api.get(f'/users/{shape.user_id}').json()['user'][
                'name'
            ]
            status = self.mapped_status(name)
            assert isinstance(status, int)
            out['mapped'] = status
        return out

    def code_status(
        self, secret: str, body: dict[str, Any], who: dict[str, str]
    ) -> int:
        """Keystone's answer to ``body`` with a code of ``secret`` that
        no sign-in used (given back if it signed no one in)."""
        code = self.good_code(secret)
        status = self.sign_in(
            {**body, 'totp': {'user': {**who, 'passcode': code}}}, UNSCOPED
        ).status_code
        if status != 201:
            self.give_back(secret, code)
        return status

    def measure(self, shapes: list[Shape]) -> dict[str, dict[str, int]]:
        return {s.name: self.ways(s) for s in shapes}

    def assert_same_ways_but_the_code(
        self,
        before: dict[str, dict[str, int]],
        after: dict[str, dict[str, int]],
        command: str,
    ) -> None:
        """Every way in as before, a code alone never."""
        expected = {
            name: {
                way: 401 if way == 'code' else status
                for way, status in ways.items()
            }
            for name, ways in before.items()
        }
        diff = {
            name: (expected[name], after[name])
            for name in before
            if expected[name] != after[name]
        }
        self.assertEqual({}, diff, f'after `{command}`')

    def assert_no_revocation_due(self, shapes: list[Shape]) -> None:
        for shape in shapes:
            record = self.api.get(f'/users/{shape.user_id}').json()['user']
            self.assertIsNone(
                record.get(records.REVOKE_KEY), (shape.name, record)
            )

    def run_mfa(self, *args: str) -> None:
        result = self.openstack('mfa', *args, env=self.env(), check=False)
        self.assertNotIn('Traceback', result.stderr, result.describe())


class TestEveryShape(ShapesCase):
    def test_the_measure_sees_each_way(self) -> None:
        """The shapes as set up: what the commands must keep."""
        shapes = self.shapes()
        before = self.measure(shapes)
        self.assertEqual({'mapped': 201}, before['federated'])
        self.assertEqual(
            {'password': 201, 'external': 201}, before['external']
        )
        self.assertEqual({'password': 201, 'app': 201}, before['app-holder'])
        # Issue 20, item 2: the code alone and password+code sign in.
        self.assertEqual(
            {'password': 401, 'code': 201, 'password+code': 201, 'app': 201},
            before['totp-appcred'],
        )
        self.assertEqual(201, before['totp-none']['code'])

    def test_policy_set(self) -> None:
        shapes = self.shapes()
        before = self.measure(shapes)
        self.run_mfa('policy', 'set', '--domain', self.domain, '--required')
        self.assert_same_ways_but_the_code(
            before, self.measure(shapes), 'mfa policy set'
        )
        self.assert_no_revocation_due(shapes)

    def test_enforce_user(self) -> None:
        shapes = self.shapes()
        before = self.measure(shapes)
        for shape in shapes:
            self.run_mfa('enforce', '--user', shape.user_id)
        self.assert_same_ways_but_the_code(
            before, self.measure(shapes), 'mfa enforce --user'
        )
        self.assert_no_revocation_due(shapes)

    def test_enforce_all(self) -> None:
        shapes = self.shapes()
        before = self.measure(shapes)
        # A domain policy, set by an earlier release (no guard rules yet).
        self.api.patch(
            f'/domains/{self.domain_id}',
            json={'domain': {'mfa_policy': {'required': True}}},
        )
        self.run_mfa('enforce', '--all', '--domain', self.domain)
        self.assert_same_ways_but_the_code(
            before, self.measure(shapes), 'mfa enforce --all'
        )
        self.assert_no_revocation_due(shapes)

    def test_policy_unset(self) -> None:
        shapes = self.shapes()
        before = self.measure(shapes)
        self.run_mfa('policy', 'set', '--domain', self.domain, '--required')
        self.run_mfa('policy', 'unset', '--domain', self.domain)
        self.assert_same_ways_but_the_code(
            before, self.measure(shapes), 'mfa policy unset'
        )


class TestLegacyGuardRepaired(ShapesCase):
    """Guard rules of an earlier release refused federated and external
    sign-ins: every command that guards repairs them."""

    def legacy(self) -> tuple[list[Shape], dict[str, dict[str, int]]]:
        shapes = [
            s for s in self.shapes() if s.name in ('federated', 'external')
        ]
        before = self.measure(shapes)
        for shape in shapes:
            self.set_rules(
                shape.user_id, [['password'], ['application_credential']], True
            )
        locked = self.measure(shapes)
        # The lockout of issue 20, item 1, measured.
        self.assertEqual(401, locked['federated']['mapped'])
        self.assertEqual(401, locked['external']['external'])
        return shapes, before

    def test_enforce_all_repairs(self) -> None:
        shapes, before = self.legacy()
        self.run_mfa('enforce', '--all', '--domain', self.domain)
        self.assertEqual(before, self.measure(shapes))

    def test_enforce_user_repairs(self) -> None:
        shapes, before = self.legacy()
        for shape in shapes:
            self.run_mfa('enforce', '--user', shape.user_id)
        self.assertEqual(before, self.measure(shapes))

    def test_policy_set_and_unset_repair(self) -> None:
        shapes, before = self.legacy()
        self.run_mfa('policy', 'set', '--domain', self.domain, '--required')
        self.assertEqual(before, self.measure(shapes))
        for shape in shapes:
            self.set_rules(
                shape.user_id, [['password'], ['application_credential']], True
            )
        self.run_mfa('policy', 'unset', '--domain', self.domain)
        self.assertEqual(before, self.measure(shapes))
