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


"""mfa-osc's Keystone client, built from Horizon's request.

Every panel acts as the signed-in person, with their own token: what
Keystone's policy lets them do is what the pages let them do (an
administrator's page is an administrator's token), as the ``openstack
mfa`` commands act with the person's own sign-in.
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import identity
from mfa_osc.client import errors as client_errors

#: Horizon's OPENSTACK_ENDPOINT_TYPE (catalog v2 names) -> v3 interfaces.
_INTERFACES = {
    'publicURL': 'public',
    'internalURL': 'internal',
    'adminURL': 'admin',
}


def keystone_url(request: Any, settings: Any) -> str:
    """The Keystone the person signed in at (``request.user.endpoint``),
    else Horizon's ``OPENSTACK_KEYSTONE_URL``, as ``.../v3``."""
    url = getattr(request.user, 'endpoint', None) or getattr(
        settings, 'OPENSTACK_KEYSTONE_URL', None
    )
    if not url:
        raise mfa_client.Unavailable(
            'Horizon knows no Keystone URL (OPENSTACK_KEYSTONE_URL); the '
            'operator sets it in local_settings.py.'
        )
    return identity.identity_url(str(url))


def verify(settings: Any) -> bool | str:
    """TLS verification as Horizon's own Keystone calls do it."""
    if getattr(settings, 'OPENSTACK_SSL_NO_VERIFY', False):
        return False
    cacert = getattr(settings, 'OPENSTACK_SSL_CACERT', None)
    return str(cacert) if cacert else True


def interface(settings: Any) -> str:
    kind = getattr(settings, 'OPENSTACK_ENDPOINT_TYPE', None) or 'publicURL'
    return _INTERFACES.get(str(kind), str(kind))


def client_for(request: Any, settings: Any) -> mfa_client.MFAClient:
    """A client acting as the signed-in person, on their Horizon token.

    NOTE: a keystoneauth ``v3.Token`` (a token made from Horizon's,
    scoped to the same project) rather than the bare token: the client
    then knows the user and the methods of the sign-in (``totp`` when the
    person signed in with a code), as the commands' clients do, and the
    catalog gives the identity endpoint for the interface Horizon uses.
    """
    user = request.user
    auth = v3.Token(
        auth_url=keystone_url(request, settings),
        token=user.token.id,
        project_id=getattr(user, 'project_id', None) or None,
    )
    session = ks_session.Session(auth=auth, verify=verify(settings))
    return mfa_client.MFAClient(
        session,
        interface=interface(settings),
        region_name=getattr(request.user, 'services_region', None) or None,
    )


#: Keystone refused the token of the person's Horizon session.
SESSION_GONE = (
    'Keystone no longer accepts your dashboard session (it expired, or it '
    'was ended elsewhere): sign out, sign in again and retry.'
)


def own_user(client: mfa_client.MFAClient) -> mfa_client.User:
    """The signed-in person's user record.

    NOTE: the client's first request signs in with Horizon's token; a
    token Keystone refused (expired, revoked) is one sentence that says
    to sign in again, not an error page.
    """
    try:
        client.session.get_token()
    except ksa_exc.HttpError as exc:
        if exc.http_status in (401, 404):
            raise mfa_client.Unauthorized(SESSION_GONE) from exc
        raise client_errors.error('sign in with your session', exc) from exc
    except ksa_exc.ClientException as exc:
        raise client_errors.error('sign in with your session', exc) from exc
    return mfa_account.resolve_user(client, None)
