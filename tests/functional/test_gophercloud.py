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

"""A client that is not Python, as the child of ``openstack mfa exec``.

``tests/go/identity`` is a small Go program on gophercloud's
``clientconfig.NewServiceClient("identity", ...)``, the way the Terraform
and OpenTofu OpenStack provider signs in. Built here from Debian's
packages (``golang-go``, ``golang-github-gophercloud-gophercloud-dev``,
``golang-github-gophercloud-utils-dev``; ``.ci/run`` installs them), it
reaches the local Keystone for a user with MFA enforced with nothing but
the token ``exec`` hands it: once through the environment, once through
the temporary clouds.yaml. Without ``go`` on PATH the tests skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from tests.functional import mfa_base

RULES = [['password', 'totp']]
PASSCODE_SCRIPT = (
    'import sys; from mfa_osc import totp; print(totp.passcode(sys.argv[1]))'
)
SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'go',
    'identity',
)
#: Where Debian's golang-github-gophercloud-*-dev packages put the source.
GOPATH = '/usr/share/gocode'
#: The token-only settings, which the clouds.yaml run takes away so that
#: only the temporary clouds.yaml is left to read.
TOKEN_ENV = (
    'OS_AUTH_TYPE',
    'OS_TOKEN',
    'OS_AUTH_URL',
    'OS_PROJECT_ID',
    'OS_PROJECT_NAME',
    'OS_PROJECT_DOMAIN_ID',
    'OS_DOMAIN_ID',
    'OS_REGION_NAME',
    'OS_INTERFACE',
    'OS_IDENTITY_API_VERSION',
)


def build(go: str, out_dir: str) -> str:
    """Build tests/go/identity into ``out_dir``; the program's path."""
    program = os.path.join(out_dir, 'identity')
    env = dict(
        os.environ,
        GO111MODULE='off',
        GOPATH=GOPATH,
        GOCACHE=os.path.join(out_dir, 'cache'),
        GOFLAGS='',
        CGO_ENABLED='0',
    )
    proc = subprocess.run(
        [go, 'build', '-o', program, '.'],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f'go build of {SOURCE} failed (exit {proc.returncode}); are '
            'golang-github-gophercloud-gophercloud-dev and '
            f'golang-github-gophercloud-utils-dev installed?\n'
            f'{proc.stdout}{proc.stderr}'
        )
    return program


class TestGophercloudChild(mfa_base.MFATestCase):
    #: The program, built once for the class on first use.
    _built: str | None = None

    @classmethod
    def tearDownClass(cls) -> None:
        if cls._built is not None:
            shutil.rmtree(os.path.dirname(cls._built), ignore_errors=True)
            cls._built = None
        super().tearDownClass()

    def setUp(self) -> None:
        go = shutil.which('go')
        if go is None:
            self.skipTest(
                'go is not on PATH: install golang-go, '
                'golang-github-gophercloud-gophercloud-dev and '
                'golang-github-gophercloud-utils-dev (apt-get), as .ci/run '
                'does, to run the gophercloud client'
            )
        cls = type(self)
        if cls._built is None:
            cls._built = build(go, tempfile.mkdtemp(prefix='mfa-osc-go-'))
        self.program = cls._built
        super().setUp()
        self.user, self.secret = self.make_totp_user(RULES)
        self.command = f'{sys.executable} -c "{PASSCODE_SCRIPT}" {self.secret}'

    def report(self, stdout: str) -> dict[str, Any]:
        data = json.loads(stdout)
        assert isinstance(data, dict)
        return data

    def assert_reached(self, seen: dict[str, Any]) -> None:
        self.assertEqual(self.user.id, seen['user_id'])
        self.assertEqual(self.user.name, seen['user_name'])
        self.assertEqual(self.user.project_id, seen['project_id'])
        self.assertEqual(self.user.project_name, seen['project_name'])
        self.assertEqual([self.user.project_name], seen['projects'])
        self.assertTrue(seen['endpoint'].startswith(self.keystone.base_url))
        # NOTE: gophercloud rescopes the token it was given (methods
        # token); Keystone carries the MFA sign-in's methods over.
        self.assertIn('totp', seen['methods'])

    def test_gophercloud_alone_cannot_sign_in(self) -> None:
        # The control: the password is not enough, and gophercloud has no
        # way to give the passcode.
        env = self.keystone.os_env(self.user)
        result = self.run_command([self.program], env=env, expect_fail=True)
        self.assertIn('signing in: Authentication failed', result.stderr)

    def test_through_the_environment(self) -> None:
        env = self.keystone.os_env(self.user)
        env.update(
            OS_AUTH_TYPE='v3multifactor', OS_PASSCODE_COMMAND=self.command
        )
        result = self.openstack('mfa', 'exec', '--', self.program, env=env)
        seen = self.report(result.stdout)
        self.assert_reached(seen)
        self.assertEqual('', seen['cloud'])

    def clouds_yaml(self) -> str:
        cloud = self.multifactor_cloud(
            self.user, passcode_command=self.command
        )
        path = self.write_clouds_yaml({'clouds': {'mine': cloud}})
        os.chmod(path, 0o600)
        return path

    def test_through_the_temporary_clouds_yaml(self) -> None:
        env = {'OS_CLIENT_CONFIG_FILE': self.clouds_yaml()}
        unset = [arg for name in TOKEN_ENV for arg in ('-u', name)]
        # NOTE: `env -u` leaves the child OS_CLOUD and
        # OS_CLIENT_CONFIG_FILE only: what it reaches, it reaches through
        # the temporary clouds.yaml.
        result = self.openstack(
            '--os-cloud', 'mine', 'mfa', 'exec', '--',
            'env', *unset, self.program, env=env,
        )  # fmt: skip
        seen = self.report(result.stdout)
        self.assert_reached(seen)
        self.assertEqual('mfa-exec', seen['cloud'])
        self.assertEqual('v3token', seen['cloud_auth_type'])
        # As a Terraform run would see it: both the file and the variables.
        result = self.openstack(
            '--os-cloud', 'mine', 'mfa', 'exec', '--', self.program, env=env
        )
        self.assert_reached(self.report(result.stdout))
