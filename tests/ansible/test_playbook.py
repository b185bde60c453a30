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

"""Ansible's ``openstack.cloud`` collection against the local Keystone.

A playbook reads identity data (``openstack.cloud.project_info``) for a
user whose MFA rules need a password and a TOTP code: natively, from a
``clouds.yaml`` with ``auth_type: v3multifactor`` and a
``passcode_command``, and as the child of ``openstack mfa exec`` with
nothing but the token (through the environment, and through the
temporary ``clouds.yaml``). Run by ``tox -e ansible``, whose environment
has the ``ansible`` package (and with it the collection).

``ansible-playbook`` runs on localhost only (``connection: local``, no
facts, no ssh), with its configuration, temporary and cache directories
in the test's temporary HOME, and the modules run on this test's Python,
where openstacksdk and mfa-osc are installed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base

RULES = [['password', 'totp']]
#: Prints the current code of argv[1], and notes each run in argv[2].
PASSCODE_SCRIPT = (
    "import sys; from mfa_osc import totp; open(sys.argv[2], 'a').write('x'); "
    'print(totp.passcode(sys.argv[1]))'
)
#: Keystone's default policy lets only an administrator list projects
#: (``identity:list_projects``), and administrators are the users MFA is
#: first enforced on: the user gets the admin role on its project.
PLAYBOOK = """\
- name: Read identity data with openstack.cloud
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Find the project by name
      openstack.cloud.project_info:
        cloud: "{{ cloud | default(omit) }}"
        name: "{{ project }}"
      register: found
    - name: Find it again by ID
      openstack.cloud.project_info:
        cloud: "{{ cloud | default(omit) }}"
        name: "{{ found.projects[0].id }}"
      register: again
    - name: Keep what was found
      ansible.builtin.copy:
        content: "{{ found.projects | union(again.projects) | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


class TestPlaybook(mfa_base.MFATestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = self.admin_user()
        self.keystone.set_mfa_rules(self.user.id, RULES)
        self.secret = totp.generate_secret()
        self.keystone.create_totp_credential(self.user.id, self.secret)
        self.runs = os.path.join(self.home, 'passcode-runs')
        self.command = ' '.join(
            (
                sys.executable,
                '-c',
                f'"{PASSCODE_SCRIPT}"',
                self.secret,
                self.runs,
            )
        )
        self.playbook = os.path.join(self.home, 'playbook.yaml')
        with open(self.playbook, 'w') as out:
            out.write(PLAYBOOK)
        self.out = os.path.join(self.home, 'found.json')

    # -- ansible-playbook, kept in the test's HOME

    def ansible_env(self) -> dict[str, str]:
        """ANSIBLE_* settings that keep Ansible in this test's HOME."""
        state = os.path.join(self.home, '.ansible')
        config = os.path.join(self.home, 'ansible.cfg')
        with open(config, 'w') as out:
            out.write('[defaults]\n')
        return {
            # NOTE: ansible-core refuses to start without a UTF-8 locale,
            # which a CI machine may not set.
            'LC_ALL': 'C.UTF-8',
            'ANSIBLE_CONFIG': config,
            'ANSIBLE_HOME': state,
            'ANSIBLE_LOCAL_TEMP': os.path.join(state, 'tmp'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(state, 'tmp'),
            'ANSIBLE_COLLECTIONS_PATH': os.path.join(state, 'collections'),
            'ANSIBLE_PERSISTENT_CONTROL_PATH_DIR': os.path.join(state, 'pc'),
            'ANSIBLE_SSH_CONTROL_PATH_DIR': os.path.join(state, 'cp'),
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_GATHERING': 'explicit',
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
            'ANSIBLE_HOST_KEY_CHECKING': 'false',
            'ANSIBLE_LOCALHOST_WARNING': 'false',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
            'ANSIBLE_NOCOLOR': 'true',
            'ANSIBLE_FORCE_COLOR': 'false',
        }

    def playbook_argv(self, cloud: str | None = None) -> list[str]:
        program = local_keystone.find_executable('ansible-playbook')
        if program is None:
            self.fail(
                f'ansible-playbook is neither next to {sys.executable} nor '
                'on PATH: run these tests with `tox -e ansible`'
            )
        extra = {
            'ansible_python_interpreter': sys.executable,
            'project': self.user.project_name,
            'out': self.out,
        }
        if cloud is not None:
            extra['cloud'] = cloud
        return [
            program,
            '-i',
            'localhost,',
            '-e',
            json.dumps(extra),
            self.playbook,
        ]

    def found(self, result: base.CLIResult) -> list[dict[str, Any]]:
        for secret in (self.user.password, self.secret):
            self.assertNotIn(secret, result.stdout + result.stderr)
        with open(self.out) as f:
            projects = json.load(f)
        assert isinstance(projects, list)
        return projects

    def assert_found_own_project(self, result: base.CLIResult) -> None:
        projects = self.found(result)
        self.assertEqual(
            [(self.user.project_id, self.user.project_name)],
            [(p['id'], p['name']) for p in projects],
            result.describe(),
        )

    def clouds_yaml(self, auth_type: str = 'v3multifactor') -> str:
        path = os.path.join(self.home, 'clouds.yaml')
        auth = {
            'auth_url': self.keystone.auth_url,
            'username': self.user.name,
            'password': self.user.password,
            'project_name': self.user.project_name,
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
        }
        if auth_type == 'v3multifactor':
            auth['passcode_command'] = self.command
        cloud = {
            'auth_type': auth_type,
            'auth': auth,
            'region_name': self.keystone.region_name,
            'identity_api_version': '3',
        }
        with open(path, 'w') as out:
            json.dump({'clouds': {'mine': cloud}}, out)
        os.chmod(path, 0o600)
        return path

    # -- the tests

    def test_password_alone_is_refused(self) -> None:
        # The control: the rules are enforced on Ansible's sign-in too.
        env = self.ansible_env()
        env['OS_CLIENT_CONFIG_FILE'] = self.clouds_yaml('password')
        result = self.run_command(
            self.playbook_argv(cloud='mine'), env=env, expect_fail=True
        )
        self.assertIn('required auth rules', result.stdout)
        self.assertFalse(os.path.exists(self.out))

    def test_native_clouds_yaml_with_passcode_command(self) -> None:
        env = self.ansible_env()
        env['OS_CLIENT_CONFIG_FILE'] = self.clouds_yaml()
        result = self.run_command(self.playbook_argv(cloud='mine'), env=env)
        self.assert_found_own_project(result)
        # NOTE: each task signs in on its own; the token cache of the
        # first task's MFA sign-in serves the second without a code.
        self.assertEqual('x', self.read_runs())

    def read_runs(self) -> str:
        with open(self.runs) as f:
            return f.read()

    def test_exec_with_the_token_in_the_environment(self) -> None:
        env = self.keystone.os_env(self.user)
        env.update(
            OS_AUTH_TYPE='v3multifactor',
            OS_PASSCODE_COMMAND=self.command,
            **self.ansible_env(),
        )
        result = self.openstack(
            'mfa', 'exec', '--', *self.playbook_argv(), env=env
        )
        self.assert_found_own_project(result)
        self.assertNotIn(self.command, result.stdout + result.stderr)
        self.assertEqual('x', self.read_runs())

    def test_exec_with_the_temporary_clouds_yaml(self) -> None:
        env = self.ansible_env()
        env['OS_CLIENT_CONFIG_FILE'] = self.clouds_yaml()
        # NOTE: no `cloud:` in the play: openstacksdk takes OS_CLOUD
        # (mfa-exec) from the temporary clouds.yaml that exec names.
        result = self.openstack(
            '--os-cloud', 'mine', 'mfa', 'exec', '--', *self.playbook_argv(),
            env=env,
        )  # fmt: skip
        self.assert_found_own_project(result)
