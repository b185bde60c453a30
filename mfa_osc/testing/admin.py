#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""What a test does with a throwaway Keystone's admin API: users, their
MFA rules, their TOTP credentials.

:class:`KeystoneUser` is a user created here (public as
:class:`mfa_osc.testing.keystone.KeystoneUser`); the functions take the
admin's identity :class:`~keystoneauth1.adapter.Adapter` that
:meth:`~mfa_osc.testing.keystone.LocalKeystone.admin_adapter` gives.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import dataclasses
import secrets
from typing import Any
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

__all__ = [
    'KeystoneUser',
    'admin_session',
    'create_totp_credential',
    'create_user',
    'member_role_id',
    'set_mfa_rules',
]


@dataclasses.dataclass(frozen=True)
class KeystoneUser:
    """A user created by :func:`create_user` (through
    :meth:`~mfa_osc.testing.keystone.LocalKeystone.create_user`)."""

    id: str
    name: str
    password: str
    project_id: str | None
    project_name: str | None
    domain: str = 'Default'


def admin_session(
    auth_url: str,
    username: str,
    password: str,
    project_name: str,
    verify: str | bool,
) -> ks_session.Session:
    """A keystoneauth Session signed in as the admin, project scoped, in
    the Default domain."""
    auth = v3.Password(
        auth_url=auth_url,
        username=username,
        password=password,
        user_domain_id='default',
        project_name=project_name,
        project_domain_id='default',
    )
    return ks_session.Session(auth=auth, verify=verify)


def member_role_id(api: ks_adapter.Adapter) -> str:
    """The id of the ``member`` role."""
    roles = api.get('/roles?name=member').json()
    return str(roles['roles'][0]['id'])


def create_user(
    api: ks_adapter.Adapter,
    member_role: Callable[[], str],
    domain: str,
    name: str | None = None,
    password: str | None = None,
    project: bool = True,
) -> KeystoneUser:
    """Create a user in the Default domain (named ``domain``).

    With ``project`` the user gets the ``member`` role (its id from
    ``member_role``) on a new project of its own, which is also its
    default project.
    """
    name = name or f'user-{uuid.uuid4().hex[:12]}'
    password = password or secrets.token_urlsafe(16)
    project_id = project_name = None
    if project:
        project_name = f'{name}-project'
        body = {'project': {'name': project_name, 'domain_id': 'default'}}
        project_id = str(
            api.post('/projects', json=body).json()['project']['id']
        )
    user_body: dict[str, Any] = {
        'name': name,
        'password': password,
        'domain_id': 'default',
    }
    if project_id is not None:
        user_body['default_project_id'] = project_id
    user_id = str(
        api.post('/users', json={'user': user_body}).json()['user']['id']
    )
    if project_id is not None:
        role_id = member_role()
        api.put(f'/projects/{project_id}/users/{user_id}/roles/{role_id}')
    return KeystoneUser(
        id=user_id,
        name=name,
        password=password,
        project_id=project_id,
        project_name=project_name,
        domain=domain,
    )


def set_mfa_rules(
    api: ks_adapter.Adapter,
    user_id: str,
    rules: Sequence[Sequence[str]],
    enabled: bool = True,
) -> None:
    """Set a user's MFA rules and enable (or disable) MFA."""
    options = {
        'multi_factor_auth_rules': [list(rule) for rule in rules],
        'multi_factor_auth_enabled': enabled,
    }
    api.patch(f'/users/{user_id}', json={'user': {'options': options}})


def create_totp_credential(
    api: ks_adapter.Adapter,
    user_id: str,
    secret: str,
    project_id: str | None = None,
) -> str:
    """Store a TOTP secret (bare base32) for a user; returns its id."""
    credential: dict[str, Any] = {
        'type': 'totp',
        'user_id': user_id,
        'blob': secret,
    }
    if project_id is not None:
        credential['project_id'] = project_id
    response = api.post('/credentials', json={'credential': credential})
    return str(response.json()['credential']['id'])
