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

from keystoneauth1 import session as ks_session

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import identity


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


def client_for(request: Any, settings: Any) -> mfa_client.MFAClient:
    """A client acting as the signed-in person, with their Horizon token.

    NOTE: the token itself, not a new token made from it (keystoneauth's
    ``v3.Token``): Keystone checks a user's MFA rules at every sign-in,
    rescoping with a token included, so once a person has enrolled (their
    rules now want a code) a token made from the password-only token they
    enrolled with is refused, and the page would stop working for them
    until they sign in again. The token Horizon holds stays valid (mfa-osc
    never revokes one's own tokens), and every request with it reaches the
    Keystone Horizon signed in at, with no extra sign-in per page.
    """
    user = request.user
    session = ks_session.Session(verify=verify(settings))
    return mfa_client.MFAClient.for_token(
        session,
        keystone_url(request, settings),
        str(user.token.id),
        str(user.id),
    )


def own_user(client: mfa_client.MFAClient) -> mfa_client.User:
    """The signed-in person's user record."""
    return mfa_account.resolve_user(client, None)
