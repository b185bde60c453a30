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

"""The guard's reads and writes in Keystone, in process.

Through Keystone's own provider APIs (``ProviderAPIs.identity_api``,
``resource_api``, ``token_provider_api``), set up by the Keystone
application the guard wraps: the same database, drivers and cache as
Keystone's own requests, no HTTP round trip and no credentials of the
guard's own. Keystone has no type hints; the values are narrowed here.

* a user's ID from a name and a domain, or from an ID as sent (as
  Keystone's TOTP method finds the user);
* the user record's lock mark, ``mfa_osc_lock`` (an extra attribute:
  ``openstack mfa status`` and ``audit`` show it, ``openstack mfa
  unlock`` removes it through Keystone's own API and policy);
* a domain's stored MFA policy, ``mfa_policy``;
* revoking a token the policy refused;
* a token's facts (``token_provider_api.validate_token``), for a request
  making a delegation.

Writing an extra attribute with ``identity_api.update_user`` changes
nothing else: Keystone revokes a user's tokens only when a password is
set or the user is disabled.

Each call runs in a new, empty oslo.context request context. Keystone's
cache keeps what a request read in the thread's current context
(``keystone.common.cache._context_cache``), and outside a request that is
the context of the thread's last request: without a new one, the guard
read a user record as it was before another process changed it
(measured: a lock mark written by one uWSGI process read as absent by
the other).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mfa_osc import policy_record

#: The user record's extra attribute that marks a lock.
LOCK_MARK = 'mfa_osc_lock'


class KeystoneDirectory:
    """:class:`mfa_osc.guard.guard.Directory` on Keystone's provider
    APIs (in a process where Keystone's application is loaded)."""

    def __init__(self) -> None:
        # NOTE: imported here: only a process running Keystone has them.
        from keystone import exception
        from keystone.common import provider_api
        from oslo_context import context

        self._providers: Any = provider_api.ProviderAPIs
        self._exception: Any = exception
        self._context: Any = context.RequestContext

    def _fresh(self) -> None:
        """A new current request context (see the module's docstring)."""
        self._context(overwrite=True)

    def user_id_by_name(
        self, name: str, domain_id: str | None, domain_name: str | None
    ) -> str | None:
        self._fresh()
        exc = self._exception
        try:
            if domain_name is not None:
                domain = self._providers.resource_api.get_domain_by_name(
                    domain_name
                )
                domain_id = str(domain['id'])
            user = self._providers.identity_api.get_user_by_name(
                name, domain_id
            )
        except (exc.UserNotFound, exc.DomainNotFound):
            return None
        return str(user['id'])

    def user_id(self, user_id: str) -> str | None:
        self._fresh()
        try:
            user = self._providers.identity_api.get_user(user_id)
        except self._exception.UserNotFound:
            return None
        return str(user['id'])

    def lock_mark(self, user_id: str) -> object:
        self._fresh()
        try:
            user = self._providers.identity_api.get_user(user_id)
        except self._exception.UserNotFound:
            return None
        return user.get(LOCK_MARK)

    def set_lock_mark(self, user_id: str, mark: dict[str, str]) -> None:
        self._fresh()
        self._providers.identity_api.update_user(user_id, {LOCK_MARK: mark})

    def domain_policy(self, domain_id: str) -> object:
        self._fresh()
        domain = self._providers.resource_api.get_domain(domain_id)
        return domain.get(policy_record.KEY)

    def revoke_token(self, token_id: str) -> None:
        self._fresh()
        self._providers.token_provider_api.revoke_token(token_id)

    def token(self, token_id: str) -> Mapping[str, Any] | None:
        self._fresh()
        exc = self._exception
        try:
            model = self._providers.token_provider_api.validate_token(token_id)
        except (exc.NotFound, exc.Unauthorized, exc.ValidationError):
            return None
        return _facts(model)


def _facts(model: Any) -> dict[str, Any]:
    """What Keystone's token body would say of ``model`` (a
    ``keystone.models.token_model.TokenModel``), as the policy reads it."""
    user, domain = model.user, model.user_domain
    facts: dict[str, Any] = {
        'methods': [str(method) for method in model.methods],
        'user': {
            'id': str(model.user_id),
            'name': str(user['name']),
            'domain': {'id': str(domain['id']), 'name': str(domain['name'])},
        },
    }
    if model.system_scoped:
        facts['system'] = {'all': True}
    if model.domain_scoped:
        facts['domain'] = {'id': str(model.domain_id)}
    if model.project_scoped:
        facts['project'] = {'id': str(model.project_id)}
    if model.trust_scoped:
        facts['OS-TRUST:trust'] = {'id': str(model.trust_id)}
    if model.oauth_scoped:
        facts['OS-OAUTH1'] = {'access_token_id': str(model.access_token_id)}
    if not model.unscoped:
        facts['roles'] = [
            {'id': str(role['id']), 'name': str(role['name'])}
            for role in model.roles
        ]
    return facts
