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

"""What differs between Keystone releases, checked on the one served.

The functional suite runs against Keystone 30 (``tox -e functional``) and
against Keystone 2024.1, 25.0.0 (``tox -e functional-keystone2024.1``).
Where the two answer differently, mfa-osc must say what happened on each;
each test here asserts the answer of the release it runs against
(:attr:`LocalKeystone.release`), both ways, so neither run skips it:

- ``DELETE /v3/users/{id}/tokens`` is new in Keystone 30: before, the
  older tokens of a user whose rules are tightened stay valid until they
  expire, and ``mfa enforce`` says so;
- before Keystone 28 (bug 2102096), a rule naming only methods that
  ``[auth] methods`` does not enable is met by every sign-in, a TOTP code
  alone included; Keystone 28 and newer ignore such a rule. A guard rule
  mfa-osc writes must name enabled methods only;
- Keystone 25 ignores ``limit`` on lists and cuts them at ``[DEFAULT]
  list_limit`` (``truncated``, no next page); Keystone 27 and newer page
  past it. A list mfa-osc cannot read whole is refused, never shown short.
"""

from __future__ import annotations

import ast
import configparser
import glob
import os
import re
import secrets

from oslotest import base as oslotest_base

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import enforce as enforce_flow
from tests.functional import mfa_base

#: Rows a list of the test's own Keystone holds at most (list_limit).
LIST_LIMIT = 5

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))


def _regexes(name: str) -> list[re.Pattern[str]]:
    with open(os.path.join(HERE, name)) as f:
        lines = [line.split('#')[0].strip() for line in f]
    return [re.compile(line) for line in lines if line]


def _mfa_commands() -> set[tuple[str, ...]]:
    """Every ``openstack mfa`` command, as words (setup.cfg)."""
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO_ROOT, 'setup.cfg'))
    names = config['entry_points']['openstack.mfa.v1'].split('\n')
    return {
        tuple(name.split('=')[0].strip().split('_')[1:])
        for name in names
        if name.strip()
    }


def _commands_run(function: ast.FunctionDef) -> set[tuple[str, ...]]:
    """The ``'mfa', WORD...`` sequences among a test's string constants."""
    words = [
        node.value
        for node in ast.walk(function)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    return {
        tuple(words[i + 1 : i + 1 + n])
        for i, word in enumerate(words)
        if word == 'mfa'
        for n in (1, 2, 3)
    }


class TestSubset(oslotest_base.BaseTestCase):
    def test_the_2024_1_subset_runs_every_command(self) -> None:
        # NOTE: keystone-2024.1-include.txt, less the exclusions, must
        # still run each command: a test moved or excluded must not leave
        # one untested against Keystone 2024.1 without a word.
        include = _regexes('keystone-2024.1-include.txt')
        exclude = _regexes('keystone-2024.1-exclude.txt')
        run: set[tuple[str, ...]] = set()
        for path in sorted(glob.glob(os.path.join(HERE, 'test_*.py'))):
            module = 'tests.functional.' + os.path.basename(path)[:-3]
            with open(path) as f:
                tree = ast.parse(f.read())
            for cls in tree.body:
                if not isinstance(cls, ast.ClassDef):
                    continue
                for function in cls.body:
                    if not isinstance(function, ast.FunctionDef):
                        continue
                    test_id = f'{module}.{cls.name}.{function.name}'
                    if not function.name.startswith('test_') or (
                        not any(r.search(test_id) for r in include)
                        or any(r.search(test_id) for r in exclude)
                    ):
                        continue
                    run |= _commands_run(function)
        commands = _mfa_commands()
        self.assertEqual(16, len(commands))
        self.assertEqual(set(), commands - run)


class TestRevocation(mfa_base.MFATestCase):
    def test_enforce_says_whether_older_sessions_ended(self) -> None:
        release = self.keystone.release
        assert release is not None
        user = self.make_user()
        secret = totp.generate_secret()
        self.enroll_in_process(user.id, secret, keep_sessions=True)
        self.keystone.set_mfa_rules(
            user.id, [['password'], ['application_credential']]
        )
        response = self.password_sign_in(user.id, user.password)
        self.assertEqual(201, response.status_code, response.text)
        old = response.headers['X-Subject-Token']

        result = self.openstack_json(
            'mfa', 'enforce', '--user', user.id, env=self.env()
        )

        self.assertEqual('enforced', result['action'])
        self.assertEqual(401, self.password_status(user))
        validated = self.keystone.admin_adapter().get(
            '/auth/tokens', headers={'X-Subject-Token': old}, raise_exc=False
        )
        if release >= (30,):
            self.assertEqual(enforce_flow.SESSIONS_ENDED, result['sessions'])
            self.assertEqual(404, validated.status_code)
        else:
            # NOTE: said, not hidden: the token stays valid until it
            # expires, and the row says why.
            self.assertEqual(
                'kept: this Keystone cannot revoke them (DELETE '
                '/v3/users/{user_id}/tokens is new in Keystone 30); tokens '
                'issued before stay valid until they expire',
                result['sessions'],
            )
            self.assertEqual(200, validated.status_code)


class TestRuleOfDisabledMethods(mfa_base.MFATestCase):
    def test_a_rule_of_disabled_methods_only(self) -> None:
        release = self.keystone.release
        assert release is not None
        enabled = local_keystone.AUTH_METHODS.split(',')
        self.assertNotIn('oauth1', enabled)
        user, secret = self.make_totp_user([['password', 'totp'], ['oauth1']])

        status = self.totp_alone_status(user.id, secret)

        # NOTE: Keystone before 28 reduces ['oauth1'] to the empty rule,
        # which every sign-in meets: the code alone gets in.
        self.assertEqual(201 if release < (28,) else 401, status)
        self.assertEqual(
            201 if release < (28,) else 401, self.password_status(user)
        )

    def test_such_a_rule_is_not_enforced_and_enforce_drops_it(self) -> None:
        """mfa-osc never reports such rules enforced (it cannot tell the
        release cheaply), and enforce drops the rule: on every release
        the code alone and the password alone are then refused."""
        user, secret = self.make_totp_user([['password', 'totp'], ['oauth1']])
        admin = self.env()
        report = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=admin
        )
        self.assertNotEqual('enforced', report['state'])

        self.openstack('mfa', 'enforce', '--user', user.id, env=admin)

        rules = self.user_record(user.id)['options']['multi_factor_auth_rules']
        self.assertNotIn(['oauth1'], rules)
        self.assertEqual(401, self.totp_alone_status(user.id, secret))
        self.assertEqual(401, self.password_status(user))
        self.assertEqual(
            201, self.password_and_code_status(user, self.good_code(secret))
        )

    def test_guard_rules_name_only_enabled_methods(self) -> None:
        """A hand-made credential with no rules gets guard rules: none
        names oauth1 (not enabled here), so the code alone is refused on
        every release, and the password still signs in."""
        user, secret = self.make_totp_user()
        self.assertEqual(201, self.totp_alone_status(user.id, secret))

        self.openstack('mfa', 'enforce', '--user', user.id, env=self.env())

        enabled = set(local_keystone.AUTH_METHODS.split(','))
        rules = self.user_record(user.id)['options']['multi_factor_auth_rules']
        for rule in rules:
            self.assertTrue(set(rule) & enabled, rules)
        self.assertEqual(401, self.totp_alone_status(user.id, secret))
        self.assertEqual(201, self.password_status(user))


class TestListLimit(mfa_base.MFATestCase):
    """A Keystone of its own whose lists hold at most LIST_LIMIT rows."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.small = local_keystone.LocalKeystone(
            config={'DEFAULT': {'list_limit': str(LIST_LIMIT)}}
        )
        cls.small.start()
        api = cls.small.admin_adapter()
        # NOTE: no passwords (hashing one is what makes users slow to make).
        for n in range(LIST_LIMIT + 2):
            api.post(
                '/users',
                json={
                    'user': {
                        'name': f'limit-{n}-{secrets.token_hex(3)}',
                        'domain_id': 'default',
                    }
                },
            )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.small.stop()
        super().tearDownClass()

    def test_a_cut_list_is_refused_or_read_whole(self) -> None:
        release = self.small.release
        assert release is not None
        env = self.small.os_env()
        env['OS_TOKEN_CACHE'] = 'off'
        if release >= (27,):
            # Keystone pages past list_limit: every user, admin included.
            rows = self.openstack_json('mfa', 'audit', env=env)
            self.assertEqual(LIST_LIMIT + 3, len({row['id'] for row in rows}))
            self.openstack('mfa', 'enforce', '--all', '--dry-run', env=env)
            return
        # NOTE: Keystone 25 answers the first LIST_LIMIT users with
        # "truncated": true and no next page, whatever limit is asked for.
        body = self.small.admin_adapter().get('/users?limit=1000').json()
        self.assertEqual(LIST_LIMIT, len(body['users']))
        self.assertIs(True, body['truncated'])
        self.assertIsNone(body['links']['next'])
        for args in (
            ['mfa', 'audit'],
            ['mfa', 'enforce', '--all', '--dry-run'],
        ):
            result = self.openstack(*args, env=env, expect_fail=True)
            # Refused, nothing shown: never a short list.
            self.assertEqual(1, result.returncode, result.describe())
            self.assertEqual('', result.stdout)
            self.assertTrue(
                result.stderr.startswith(
                    f'Keystone cut the list of users after {LIST_LIMIT} '
                    'rows and offers no next page, so the result would '
                    'miss some: nothing is reported.'
                ),
                result.describe(),
            )
            # The advice names the setting that cut it: Keystone 25 has no
            # max_db_limit.
            self.assertIn(
                'on Keystone 25 and older, which do not page lists: '
                '[DEFAULT] list_limit',
                result.stderr,
            )
            self.assertNotIn('Traceback', result.stderr)
