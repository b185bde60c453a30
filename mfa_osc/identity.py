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

"""Small facts of Keystone's identity API shared by the client and plugin.

Pure functions, no requests: the ``/v3`` URL of an auth URL, the methods a
token was obtained with, and the checks that keep an ID a path segment.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any
from urllib.parse import quote

#: Header of Keystone's auth receipt (a 401 that asks for more methods).
RECEIPT_HEADER = 'Openstack-Auth-Receipt'

# NOTE: Keystone IDs are UUID hex, or for LDAP and federated users a
# hash or a name-like string; none holds '/', '?', '#', '%' or starts with
# a dot, and none is empty. Anything else would change the URL's path.
_ID = re.compile(r'^[^/?#%\s.][^/?#%\s]{0,254}$')


class InvalidID(ValueError):
    """A value given as an ID that cannot be one."""


def identity_url(auth_url: str) -> str:
    """The ``.../v3`` endpoint of an auth URL given with or without /v3."""
    url = auth_url.rstrip('/')
    return url if url.endswith('/v3') else url + '/v3'


def tokens_url(auth_url: str) -> str:
    """The ``/v3/auth/tokens`` URL of an auth URL."""
    return identity_url(auth_url) + '/auth/tokens'


def token_methods(body: Mapping[str, Any] | None) -> list[str]:
    """The methods in a token body (``{"token": {"methods": [...]}}``)."""
    token = body.get('token') if isinstance(body, Mapping) else None
    methods = token.get('methods') if isinstance(token, Mapping) else None
    return [str(m) for m in methods] if isinstance(methods, list) else []


def path_id(value: object, what: str = 'ID') -> str:
    """``value`` quoted as one URL path segment, or InvalidID.

    Refuses what would change the request's path (``.``, ``..``, ``a/b``,
    ``?x``): an ID from a command line or a credential must never reach
    another endpoint with the signed-in user's token.
    """
    text = str(value) if value is not None else ''
    if not _ID.match(text):
        raise InvalidID(
            f'{text!r} is not a valid {what}: IDs have no "/", "?", "#", '
            '"%" or spaces and do not start with a dot.'
        )
    return quote(text, safe='')


def query_value(value: str) -> str:
    """``value`` quoted for a query string."""
    return quote(value, safe='')
