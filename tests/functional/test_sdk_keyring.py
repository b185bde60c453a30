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

"""openstacksdk's keyring auth cache (``cache: {auth: true}``) with MFA.

Upstream, the TOTP method's cache id holds the passcode, so this cache
never hits. With v3multifactor, sdk stores the MFA token through
keystoneauth's unscoped-credential hooks, and a later process signs in with
neither password nor passcode, even for another project.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mfa_osc import totp
from tests.functional import base

SECRET = 'ONSWG4TFORZW64TLMVZXE2LOM5ZXI4TP'
SCRIPT = (
    'import json, openstack\n'
    'conn = openstack.connect(cloud="mfa")\n'
    'conn.authorize()\n'
    'print(json.dumps({"user_id": conn.current_user_id, '
    '"project_id": conn.current_project_id}))\n'
    'conn.close()\n'
)


class TestKeyringCache(base.FunctionalTestCase):
    def write_clouds(self, auth: dict[str, Any]) -> dict[str, str]:
        clouds = {
            'cache': {'auth': True},
            'clouds': {
                'mfa': {
                    'auth_type': 'v3multifactor',
                    'identity_api_version': 3,
                    'auth': auth,
                }
            },
        }
        path = self.write_clouds_yaml(clouds)
        return {
            'OS_CLIENT_CONFIG_FILE': path,
            'PYTHON_KEYRING_BACKEND': 'keyrings.alt.file.PlaintextKeyring',
        }

    def test_second_process_needs_no_password_or_passcode(self) -> None:
        user, _ = self.make_totp_user(
            [['password', 'totp'], ['application_credential']], SECRET
        )
        api = self.keystone.admin_adapter()
        other = api.post(
            '/projects',
            json={
                'project': {
                    'name': f'{user.name}-other',
                    'domain_id': 'default',
                }
            },
        ).json()['project']
        role = api.get('/roles', params={'name': 'member'}).json()['roles']
        api.put(
            f'/projects/{other["id"]}/users/{user.id}/roles/{role[0]["id"]}'
        )
        common = {
            'auth_url': self.keystone.auth_url,
            'username': user.name,
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
            # NOTE: only the keyring may carry the token between processes.
            'token_cache': 'off',
        }
        env = self.write_clouds(
            dict(
                common,
                password=user.password,
                totp_secret=SECRET,
                project_name=user.project_name,
            )
        )
        first = json.loads(self.run_python(SCRIPT, env=env))
        self.assertEqual(user.project_id, first['project_id'])
        self.assertFalse(
            os.path.exists(os.path.join(self.home, '.cache', 'mfa-osc'))
        )

        env = self.write_clouds(dict(common, project_name=other['name']))
        second = json.loads(self.run_python(SCRIPT, env=env))
        self.assertEqual(user.id, second['user_id'])
        self.assertEqual(other['id'], second['project_id'])
        # And without the keyring the same settings cannot sign in.
        self.run_python(
            SCRIPT,
            env=dict(
                env, PYTHON_KEYRING_BACKEND='keyring.backends.fail.Keyring'
            ),
            expect_fail=True,
        )
        self.assertTrue(totp.passcode(SECRET))
