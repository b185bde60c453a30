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

"""The v3multifactor plugin's test doubles: Keystone's answers, on
requests-mock, and the test case that makes a plugin with no prompt, no
terminal and no policy check."""

from __future__ import annotations

import datetime
import io
import os
import sys
import time
from typing import Any

import fixtures
from keystoneauth1 import session as ks_session
from oslotest import base
from requests_mock.contrib import fixture as rm_fixture

from mfa_osc.auth import guarded
from mfa_osc.auth import hooks
from mfa_osc.auth import plugin
from mfa_osc.auth import policy as auth_policy
from mfa_osc.auth import reuse
from mfa_osc.guard import answers

AUTH_URL = 'http://keystone.test/v3'
#: The check itself, before PluginTestCase replaces it.
POLICY_CHECK = auth_policy.check
TOKEN_URL = AUTH_URL + '/auth/tokens'
SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
RECEIPT = 'gAAAAAB-receipt'
TOKEN_ID = 'gAAAAAB-token-id'

TOKEN_BODY = {
    'token': {
        'methods': ['password', 'totp'],
        'user': {'id': 'u1', 'name': 'alice', 'domain': {'id': 'default'}},
        'expires_at': '2099-01-01T00:00:00.000000Z',
        'issued_at': '2026-01-01T00:00:00.000000Z',
        'project': {
            'id': 'p1',
            'name': 'demo',
            'domain': {'id': 'default', 'name': 'Default'},
        },
        'catalog': [],
    }
}


def receipt_response(
    rules: list[list[str]] | None = None, expires_in: float = 300
) -> dict[str, Any]:
    expires = time.strftime(
        '%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime(time.time() + expires_in)
    )
    # NOTE: issued now, as Keystone does: without a Date header its time
    # of issue tells the plugin Keystone's clock.
    issued = time.strftime('%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime())
    return {
        'status_code': 401,
        'headers': {'Openstack-Auth-Receipt': RECEIPT},
        'json': {
            'receipt': {
                'methods': ['password'],
                'user': {'id': 'u1', 'name': 'alice'},
                'expires_at': expires,
                'issued_at': issued,
            },
            'required_auth_methods': rules or [['password', 'totp']],
        },
    }


TOKEN_RESPONSE = {
    'status_code': 201,
    'headers': {'X-Subject-Token': TOKEN_ID},
    'json': TOKEN_BODY,
}
PASSWORD_TOKEN_RESPONSE = {
    'status_code': 201,
    'headers': {'X-Subject-Token': TOKEN_ID},
    'json': {'token': dict(TOKEN_BODY['token'], methods=['password'])},
}
UNAUTHORIZED = {
    'status_code': 401,
    'json': {
        'error': {
            'code': 401,
            'title': 'Unauthorized',
            'message': 'The request you have made requires authentication.',
            'identity': {'methods': ['password', 'token', 'totp']},
        }
    },
}

PASSWORD_ALONE = {
    'password': {
        'user': {
            'name': 'alice',
            'domain': {'id': 'default'},
            'password': 's3cret-pass',
        }
    }
}


class PluginTestCase(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.requests = self.useFixture(rm_fixture.Fixture())
        self.session = ks_session.Session()
        self.cache_dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(
            fixtures.EnvironmentVariable('MFA_OSC_CACHE_DIR', self.cache_dir)
        )
        # NOTE: no unit test waits out Keystone's revocation second.
        self.useFixture(
            fixtures.MockPatchObject(reuse, 'REVOCATION_SECOND', 0.0)
        )
        # NOTE: never prompt from a unit test, whatever runs it.
        self.prompt = self.useFixture(
            fixtures_patch('mfa_osc.auth.sources.prompt', return_value=None)
        ).mock
        self.terminal = self.useFixture(
            fixtures_patch(
                'mfa_osc.auth.sources.terminal_attached', return_value=False
            )
        ).mock
        # NOTE: messages as in the openstack command, unless a test says
        # otherwise; no value comes from this process's argv or environ.
        self.cli = self.useFixture(
            fixtures_patch(
                'mfa_osc.auth.options.in_openstack_cli', return_value=True
            )
        ).mock
        self.useFixture(fixtures.MonkeyPatch('sys.argv', ['openstack']))
        # NOTE: the policy check after a sign-in without TOTP has tests of
        # its own (TestPolicyAtSignIn, test_policy): here it sees no policy.
        self.policy_check = self.useFixture(
            fixtures_patch('mfa_osc.auth.policy.check', return_value=None)
        ).mock
        for name in (
            'OS_PASSCODE',
            'OS_TOTP_SECRET',
            'OS_RECOVERY_CODE',
            'OS_PASSCODE_COMMAND',
            'OS_AUTH_METHODS',
            'OS_PASSWORD',
        ):
            self.useFixture(fixtures.EnvironmentVariable(name))

    def make(self, **kwargs: Any) -> plugin.MultiFactor:
        params: dict[str, Any] = {
            'username': 'alice',
            'user_domain_id': 'default',
            'password': 's3cret-pass',
            'project_name': 'demo',
            'project_domain_id': 'default',
        }
        params.update(kwargs)
        return plugin.MultiFactor(AUTH_URL, **params)

    def bodies(self) -> list[Any]:
        return [r.json() for r in self.requests.request_history]

    def scope(self) -> dict[str, Any]:
        return {'project': {'name': 'demo', 'domain': {'id': 'default'}}}


def fixtures_patch(target: str, **kwargs: Any) -> Any:
    import fixtures

    return fixtures.MockPatch(target, **kwargs)


# -- behind the MFA guard (its answers built by mfa_osc.guard.answers) ----

GUARD = {guarded.HEADER: '1'}
USER_ID = 'u1'


def guard_answer(made: answers.Answer) -> dict[str, Any]:
    """requests-mock's keyword arguments for one of the guard's answers."""
    return {
        'status_code': int(made.status.split()[0]),
        'headers': dict(made.headers),
        'content': made.body,
    }


def guard_locked(retry_after: int = 1740) -> dict[str, Any]:
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=retry_after
    )
    return guard_answer(answers.locked(USER_ID, until, retry_after))


REPLAYED = guard_answer(answers.replayed())
POLICY = guard_answer(answers.policy('2027-01-01'))
UNAVAILABLE = guard_answer(answers.unavailable('memcached cannot be reached'))


def guarded_response(response: dict[str, Any]) -> dict[str, Any]:
    """Keystone's answer as the guard hands it on: with its header."""
    return {**response, 'headers': {**response.get('headers', {}), **GUARD}}


UNSCOPED_TOKEN = {
    'status_code': 201,
    'headers': {'X-Subject-Token': 'gAAAAAB-unscoped', **GUARD},
    'json': {
        'token': {
            key: value
            for key, value in TOKEN_BODY['token'].items()
            if key not in ('project', 'catalog')
        }
        | {'methods': ['password']}
    },
}


class GuardTestCase(PluginTestCase):
    """A plugin behind the MFA guard: what it tells the person and
    writes on standard error is kept, the wait for a window skipped."""

    def setUp(self) -> None:
        super().setUp()
        self.tell = self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.sources.tell')
        ).mock
        self.sleep = self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.guarded._sleep')
        ).mock
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        saved = (hooks.registered.enroll, hooks.registered.exempt)
        self.addCleanup(lambda: hooks.register(saved[0], exempt=saved[1]))
        hooks.register(None)

    def told(self) -> list[str]:
        return [c.args[0] for c in self.tell.call_args_list]

    def bodies(self) -> list[Any]:
        """The token requests' bodies (not the reads between them)."""
        return [
            r.json()
            for r in self.requests.request_history
            if r.method == 'POST'
        ]

    def methods(self, index: int) -> list[str]:
        return list(self.bodies()[index]['auth']['identity']['methods'])

    def passcode(self, index: int) -> str:
        identity = self.bodies()[index]['auth']['identity']
        return str(identity['totp']['user']['passcode'])

    def command(self, *codes: str) -> str:
        """A passcode command printing ``codes``, one per run."""
        folder = self.useFixture(fixtures.TempDir()).path
        script = os.path.join(folder, 'codes.py')
        with open(script, 'w') as out:
            out.write(
                'import pathlib\n'
                f'p = pathlib.Path({folder!r}) / "runs"\n'
                'n = int(p.read_text()) if p.exists() else 0\n'
                'p.write_text(str(n + 1))\n'
                f'print({list(codes)!r}[n])\n'
            )
        return f'{sys.executable} {script}'
