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

"""Every user's account of a domain (or of the cloud), for the
administrators' commands: read from whole lists, a page at a time, so that
the requests grow with the pages, never with the users.
"""

from __future__ import annotations

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client


def load_all(
    client: mfa_client.Keystone, domain_id: str | None = None
) -> list[mfa_account.Account]:
    """Every user's account (of a domain), from whole lists, not per user.

    Users, every ``totp`` credential and every ``mfa-osc`` credential, each
    read a page at a time, and the enabled methods: the requests grow with
    the pages, never with the users.
    """
    return load_users(client, client.list_users(domain_id))


def load_users(
    client: mfa_client.Keystone, users: list[mfa_client.User]
) -> list[mfa_account.Account]:
    """The accounts of ``users`` (e.g. one page of the list), from whole
    lists of their credentials, not per user: the requests grow with the
    credentials' pages (:meth:`~mfa_osc.client.lists.ListReader._by_owner`
    reads only these users' parts)."""
    owners = [user.id for user in users]
    if not owners:
        return []
    creds = client.list_credentials(type=mfa_client.TOTP_TYPE, owners=owners)
    creds += client.list_credentials(type=mfa_client.BOOK_TYPE, owners=owners)
    methods = client.enabled_methods()
    by_user: dict[str, list[mfa_client.Credential]] = {}
    for cred in creds:
        by_user.setdefault(str(cred.user_id), []).append(cred)
    return [
        mfa_account.account_from(user, by_user.get(user.id, []), methods)
        for user in users
    ]


def load_all_readable(
    client: mfa_client.Keystone, domain_id: str | None = None
) -> tuple[list[mfa_account.Account], list[mfa_client.User]]:
    """:func:`load_all` for the bulk changes: every account that can be
    read whole, and the users whose credentials Keystone cannot list
    (more than one answer holds, where it does not page them).

    The audit refuses a partial answer (:func:`load_all`); a change for
    each user who can be judged, with the others reported, is right for
    ``enforce --all`` and ``policy set``: one user creating credentials
    must not stop them for everyone else.
    """
    users = client.list_users(domain_id)
    owners = [user.id for user in users]
    cut: list[str] = []
    creds = client.list_credentials(
        type=mfa_client.TOTP_TYPE, owners=owners, cut=cut
    )
    creds += client.list_credentials(
        type=mfa_client.BOOK_TYPE, owners=owners, cut=cut
    )
    methods, known = mfa_account.guard_methods(client)
    unread = set(cut)
    by_user: dict[str, list[mfa_client.Credential]] = {}
    for cred in creds:
        by_user.setdefault(str(cred.user_id), []).append(cred)
    accounts = [
        mfa_account.account_from(
            user, by_user.get(user.id, []), methods, known
        )
        for user in users
        if user.id not in unread
    ]
    return accounts, [user for user in users if user.id in unread]
