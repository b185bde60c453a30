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

"""The sign-in plugin's own Keystone requests, beside the sign-in itself.

Revoke a token, check one, and read the signed-in user's own domain (for
the domain's MFA policy), each with the token in question and not with a
session's auth plugin: the plugin is signing in, or it is the token that
is being checked. Errors are mapped once, by :mod:`mfa_osc.client.errors`;
each keeps Keystone's answer (``response``, for its ``Date``) and the
keystoneauth exception it came from (``original``): a keystoneauth plugin
hands keystoneauth errors of keystoneauth's kind.

The sign-in (``POST /v3/auth/tokens``) is keystoneauth's own, in the
plugin. NOTE: the plugin imports this module where it needs it, not at
the top: keystoneauth loads the plugin at every ``openstack`` start, and
these requests are the rare paths (a sign-out, a token past its
confirmation, a sign-in without a second factor).
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session

from mfa_osc import identity
from mfa_osc.client import errors


def revoke(session: ks_session.Session, auth_url: str, token: str) -> None:
    """DELETE /v3/auth/tokens: revoke a token with itself (a user may
    revoke their own).

    :raises errors.ClientError: NotFound or Unauthorized when it is
        expired or revoked already.
    """
    try:
        session.delete(
            identity.tokens_url(auth_url),
            headers={'X-Auth-Token': token, 'X-Subject-Token': token},
            authenticated=False,
            log=False,
        )
    except ksa_exc.ClientException as exc:
        raise errors.error('revoke the token', exc) from exc


def validate(session: ks_session.Session, auth_url: str, token: str) -> Any:
    """GET /v3/auth/tokens: Keystone's answer for a token, checked with
    itself. Whether the answer is a token is for the caller to judge.

    :raises errors.ClientError: NotFound or Unauthorized when it is
        revoked or expired.
    """
    try:
        return session.get(
            identity.tokens_url(auth_url),
            headers={
                'X-Auth-Token': token,
                'X-Subject-Token': token,
                'Accept': 'application/json',
            },
            authenticated=False,
            log=False,
        )
    except ksa_exc.ClientException as exc:
        raise errors.error('check the token', exc) from exc


def read_domain(
    session: ks_session.Session, auth_url: str, token: str, domain_id: str
) -> dict[str, Any]:
    """GET /v3/domains/{id} with ``token``: the domain record.

    :raises identity.InvalidID: ``domain_id`` would change the path.
    :raises errors.ClientError: Forbidden (a token scoped elsewhere, or
        unscoped), any other refusal or failure; Malformed, with
        ``status``, for an answer other than 200 with a domain.
    """
    path = '/domains/' + identity.path_id(domain_id, 'domain ID')
    what = 'read the domain'
    try:
        response = session.get(
            identity.identity_url(auth_url) + path,
            headers={'X-Auth-Token': token},
            authenticated=False,
            raise_exc=False,
        )
    except ksa_exc.ClientException as exc:
        raise errors.error(what, exc) from exc
    if response.status_code >= 400:
        refused = ksa_exc.from_response(response, 'GET', path)
        raise errors.error(what, refused) from refused
    if response.status_code != 200:
        unexpected = errors.Malformed(
            f'Keystone answered the request to {what} with HTTP '
            f'{response.status_code}, not the domain.'
        )
        unexpected.status = response.status_code
        unexpected.response = response
        raise unexpected
    try:
        domain = response.json().get('domain')
    except (AttributeError, ValueError):
        domain = None
    if not isinstance(domain, dict):
        raise errors.Malformed(
            f'Keystone answered the request to {what} with something that '
            'is not a domain.'
        )
    return domain
