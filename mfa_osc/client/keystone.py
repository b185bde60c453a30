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

"""The Keystone calls of MFA enrollment, on a keystoneauth session.

One method per Keystone request, in one client, so that every request the
commands make maps its errors and keeps its secrets out of the logs in one
place: the module grows with the Keystone API mfa-osc uses. HTTP and
connection errors are turned into the exceptions below here, once, with
messages that say what failed and never hold a secret. Requests and
responses that carry a TOTP secret (credential blobs) or a passcode are
sent with ``log=False``, so that keystoneauth's ``--debug`` request
logging never prints them.

Every ID that goes into a URL path is checked and quoted
(:func:`mfa_osc.identity.path_id`), so ``--user ..`` or a crafted
credential ID never reaches another endpoint with the caller's token.

Reading long lists whole is in :mod:`mfa_osc.client.lists`; the sign-in
plugin's own requests are in :mod:`mfa_osc.client.tokens`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
import datetime
import time
from typing import Any
from urllib.parse import urlencode

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session

from mfa_osc import identity
from mfa_osc import totp
from mfa_osc.client import lists
from mfa_osc.client.errors import ClientError
from mfa_osc.client.errors import Forbidden
from mfa_osc.client.errors import Incomplete
from mfa_osc.client.errors import Malformed
from mfa_osc.client.errors import NotFound
from mfa_osc.client.errors import PasscodeUsed
from mfa_osc.client.errors import Unavailable
from mfa_osc.client.errors import error as _error
from mfa_osc.client.errors import guard_details
from mfa_osc.client.records import KEYSTONE_MAX_ROWS
from mfa_osc.client.records import AppCredential
from mfa_osc.client.records import Credential
from mfa_osc.client.records import User

#: An auth method no Keystone has: asking for it makes Keystone list the
#: methods it enables (``AuthMethodNotSupported``), with no user involved.
_PROBE_METHOD = 'mfa-osc-probe'


class MFAClient(lists.ListReader):
    """Keystone users, credentials and sign-in checks for MFA.

    :param session: an authenticated keystoneauth session.
    :param interface: the identity endpoint interface (default public).
    :param region_name: the identity endpoint region.
    """

    def __init__(
        self,
        session: ks_session.Session,
        *,
        interface: str | None = None,
        region_name: str | None = None,
    ) -> None:
        self.session = session
        self.interface = interface
        self.region_name = region_name
        self._adapter: ks_adapter.Adapter | None = None
        #: Seconds this machine's clock is ahead of Keystone's ``Date``.
        self.clock_skew: float | None = None
        #: Requests this client sent (for the audit's fixed-count claim).
        self.requests = 0
        #: Lists Keystone may have cut short (``truncated``, or as many
        #: rows as its default ``max_db_limit``).
        self.truncated: list[str] = []
        self._methods: frozenset[str] | None = None
        self._methods_known = False
        #: ``time.monotonic()`` of this client's last revocation of a
        #: user's tokens (None: none yet).
        self.revoked_at: float | None = None
        #: Called after each page of a list with (what, rows so far).
        self.on_page: Callable[[str, int], None] | None = None
        #: The token's user, where the session's auth cannot say it.
        self.token_user_id: str | None = None

    @classmethod
    def for_token(
        cls,
        session: ks_session.Session,
        auth_url: str,
        token: str,
        user_id: str,
    ) -> MFAClient:
        """A client acting as ``user_id`` with ``token`` at ``auth_url``.

        For the sign-in plugin, which holds a token it has just been given
        and no catalog lookup of its own; the TLS settings are those of
        ``session``.
        """
        from keystoneauth1 import token_endpoint

        client = cls(
            ks_session.Session(
                auth=token_endpoint.Token(
                    identity.identity_url(auth_url), token
                ),
                verify=session.verify,
                cert=session.cert,
            )
        )
        # NOTE: a bare token's plugin knows no user: the sign-in does.
        client.token_user_id = user_id
        return client

    # -- plumbing ---------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The Identity v3 endpoint, from the catalog."""
        try:
            url = self.session.get_endpoint(
                service_type='identity',
                interface=self.interface or 'public',
                region_name=self.region_name,
            )
        except ksa_exc.EndpointNotFound:
            url = None
        # NOTE: an unscoped token has no catalog; the auth URL is Keystone.
        url = url or self.auth_url()
        if not url:
            raise Unavailable(
                'The service catalog has no identity endpoint; check the '
                'region and interface (--os-region-name, --os-interface).'
            )
        return identity.identity_url(str(url))

    @property
    def adapter(self) -> ks_adapter.Adapter:
        if self._adapter is None:
            self._adapter = ks_adapter.Adapter(
                self.session, endpoint_override=self.endpoint
            )
        return self._adapter

    def _note_date(self, response: Any) -> None:
        headers = getattr(response, 'headers', None) or {}
        skew = totp.clock_skew(headers.get('Date'))
        if skew is not None:
            self.clock_skew = skew

    def _call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        secret: bool = False,
        ok: Sequence[int] = (),
    ) -> Any:
        """Send one request; ``secret`` keeps it out of debug logs."""
        self.requests += 1
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs['json'] = body
        if secret:
            kwargs['log'] = False
        if ok:
            kwargs['raise_exc'] = False
        try:
            response = self.adapter.request(path, method, **kwargs)
        except (ksa_exc.HttpError, ksa_exc.ConnectionError) as exc:
            self._note_date(getattr(exc, 'response', None))
            raise _error(what, exc) from exc
        self._note_date(response)
        if ok and response.status_code >= 400:
            if response.status_code not in ok:
                err = ksa_exc.from_response(response, method, path)
                raise _error(what, err) from err
        return response

    @staticmethod
    def _json(response: Any) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Malformed(
                f'Keystone answered with HTTP {response.status_code} but its '
                'body is not a JSON object (a proxy in the way, or an auth '
                'URL that is not Keystone?); check the auth URL and run the '
                'command again.'
            )
        return body

    def _item(self, response: Any, key: str) -> Any:
        value = self._json(response).get(key)
        if not isinstance(value, dict):
            raise Malformed(
                f'Keystone\'s answer has no "{key}" record; check that the '
                'auth URL points at Keystone.'
            )
        return value

    def _list(self, what: str, response: Any, key: str) -> list[Any]:
        body = self._json(response)
        rows = lists.rows_of(body, key)
        if body.get('truncated') or len(rows) >= KEYSTONE_MAX_ROWS:
            self.truncated.append(what)
        return rows

    # -- who is signed in -------------------------------------------------

    def current_user_id(self) -> str:
        user_id = self.session.get_user_id() or self.token_user_id
        if not user_id:
            raise ClientError('The session has no signed-in user.')
        return str(user_id)

    def current_methods(self) -> list[str]:
        """The auth methods of the session's token (``password``...)."""
        auth = self.session.auth
        if auth is None or not hasattr(auth, 'get_access'):
            return []
        access = auth.get_access(self.session)
        # NOTE: AccessInfoV3 has no public accessor for the token's methods.
        return identity.token_methods(getattr(access, '_data', None))

    def current_token(self) -> str:
        token = self.session.get_token()
        if not token:
            raise ClientError('The session has no token.')
        return str(token)

    def auth_url(self) -> str | None:
        auth = self.session.auth
        url = getattr(auth, 'auth_url', None)
        return str(url) if url else None

    def enabled_methods(self) -> frozenset[str] | None:
        """The auth methods this cloud's Keystone enables, or None.

        One request, once per client: a sign-in with a method no Keystone
        has is answered 401 with ``error.identity.methods`` (Keystone's
        ``AuthMethodNotSupported``); no user is named, so nobody's failed
        sign-ins count up.
        """
        if self._methods_known:
            return self._methods
        self._methods_known = True
        response = self._auth_post(
            'read the enabled auth methods',
            {
                'auth': {
                    'identity': {
                        'methods': [_PROBE_METHOD],
                        _PROBE_METHOD: {},
                    }
                }
            },
        )
        try:
            methods = response.json()['error']['identity']['methods']
        except (KeyError, TypeError, ValueError):
            return None
        if isinstance(methods, list) and methods:
            self._methods = frozenset(str(m) for m in methods)
        return self._methods

    def federation_protocols(self) -> frozenset[str]:
        """The IDs of the federation protocols of every identity provider
        (administrators; empty when they cannot be read). Requests per
        identity provider, never per user."""
        try:
            response = self._call(
                'list identity providers',
                'GET',
                '/OS-FEDERATION/identity_providers',
            )
            idps = lists.rows_of(self._json(response), 'identity_providers')
            found: set[str] = set()
            for idp in idps:
                if not isinstance(idp, dict) or not idp.get('id'):
                    continue
                path = (
                    '/OS-FEDERATION/identity_providers/'
                    + identity.path_id(str(idp['id']), 'identity provider')
                    + '/protocols'
                )
                response = self._call('list protocols', 'GET', path)
                for protocol in lists.rows_of(
                    self._json(response), 'protocols'
                ):
                    if isinstance(protocol, dict) and protocol.get('id'):
                        found.add(str(protocol['id']))
        except (ClientError, identity.InvalidID):
            return frozenset()
        return frozenset(found)

    # -- users ------------------------------------------------------------

    def get_user(self, user_id: str) -> User:
        path = '/users/' + identity.path_id(user_id, 'user ID')
        response = self._call('read the user', 'GET', path)
        return User.from_json(self._item(response, 'user'))

    def find_users(
        self, name: str, domain_id: str | None = None
    ) -> list[User]:
        query = f'/users?name={identity.query_value(name)}'
        if domain_id:
            query += f'&domain_id={identity.query_value(domain_id)}'
        response = self._call('look up the user', 'GET', query)
        return [
            User.from_json(u) for u in self._list('users', response, 'users')
        ]

    def list_users(self, domain_id: str | None = None) -> list[User]:
        """Every user (of a domain), a page at a time."""
        params = {'domain_id': domain_id} if domain_id else {}
        rows = self._paged('users', '/users', 'users', params)
        return [User.from_json(u) for u in rows]

    def users_page(
        self,
        domain_id: str | None = None,
        *,
        limit: int,
        marker: str | None = None,
    ) -> tuple[list[User], str | None]:
        """One page of users (of a domain), after the user ``marker``;
        with the marker of the next page, None on the last.

        One request: a page of the administrators' dashboard costs one
        read of the list, whatever the number of users. NOTE: one row
        more than the page is asked for, so that a page that ends where
        the list does is known as the last (no empty page after it). A
        Keystone that ignores ``limit`` and ``marker`` (25 and older)
        sends its whole list, up to its cap; the page is then cut from
        it here, after the marker.
        """
        if limit < 1:
            raise ValueError('limit must be at least 1')
        query: dict[str, str] = {'limit': str(limit + 1)}
        if domain_id:
            query['domain_id'] = domain_id
        if marker:
            query['marker'] = marker
        response = self._call(
            'list users', 'GET', f'/users?{urlencode(query)}'
        )
        body = self._json(response)
        rows = [User.from_json(u) for u in lists.rows_of(body, 'users')]
        ids = [u.id for u in rows]
        if marker and marker in ids:
            # NOTE: a Keystone that ignores the marker (25 and older)
            # answers from the start of its list: the page follows it.
            rows = rows[ids.index(marker) + 1 :]
        page = rows[:limit]
        # NOTE: a row past the page proves a next one; `truncated` with
        # fewer rows than asked for is Keystone's cap (max_db_limit) cutting
        # the answer below the page.
        more = bool(page) and (
            len(rows) > limit or bool(body.get('truncated'))
        )
        return page, (page[-1].id if more else None)

    def token_domain_id(self, name_or_id: str) -> str | None:
        """The ID of a domain the session's token names (the user's, the
        project's, or the domain it is scoped to) by this name or ID, else
        None. No request: a user who may not list domains
        (``identity:list_domains``) still finds their own."""
        auth = self.session.auth
        if auth is None or not hasattr(auth, 'get_access'):
            return None
        try:
            access = auth.get_access(self.session)
        except ksa_exc.ClientException:
            return None
        for prefix in ('user_domain', 'project_domain', 'domain'):
            domain_id = getattr(access, f'{prefix}_id', None)
            name = getattr(access, f'{prefix}_name', None)
            if domain_id and name_or_id in (domain_id, name):
                return str(domain_id)
        return None

    def find_domain_id(self, name_or_id: str) -> str:
        response = self._call(
            'look up the domain',
            'GET',
            f'/domains?name={identity.query_value(name_or_id)}',
        )
        domains = self._list('domains', response, 'domains')
        if domains and isinstance(domains[0], dict) and domains[0].get('id'):
            return str(domains[0]['id'])
        path = '/domains/' + identity.path_id(name_or_id, 'domain ID')
        response = self._call('look up the domain', 'GET', path)
        return str(self._item(response, 'domain').get('id'))

    def domain_enabled(self, domain_id: str) -> bool | None:
        """Whether a domain is enabled; None when it cannot be read."""
        path = '/domains/' + identity.path_id(domain_id, 'domain ID')
        try:
            response = self._call('read the domain', 'GET', path)
        except (Forbidden, NotFound):
            return None
        return self._item(response, 'domain').get('enabled') is not False

    def get_domain_extra(self, domain_id: str, key: str) -> Any:
        """An extra attribute of a domain (None when unset).

        A user reads their own domain with a token scoped to it or to one
        of its projects (default policy); 403 elsewhere.
        """
        path = '/domains/' + identity.path_id(domain_id, 'domain ID')
        response = self._call('read the domain', 'GET', path)
        return self._item(response, 'domain').get(key)

    def set_domain_extra(self, domain_id: str, key: str, value: Any) -> None:
        """Set (or, with None, clear) an extra attribute of a domain.

        Administrators only (``identity:update_domain``); the users of
        the domain read it and cannot change it.
        """
        self._call(
            'update the domain',
            'PATCH',
            '/domains/' + identity.path_id(domain_id, 'domain ID'),
            body={'domain': {key: value}},
        )

    def update_user_options(
        self,
        user_id: str,
        options: Mapping[str, Any],
        *,
        extra: Mapping[str, Any] | None = None,
    ) -> User:
        """PATCH the user's ``options`` (MFA rules, MFA enabled).

        A value of None removes that option, as if it had never been set.
        ``extra`` sets extra attributes of the user record in the same
        request (:data:`~mfa_osc.client.records.REVOKE_KEY`); None as a
        value clears one. Empty ``options`` leave the options as they are.
        """
        body: dict[str, Any] = dict(extra or {})
        if options:
            body['options'] = dict(options)
        response = self._call(
            'update the MFA rules of the user',
            'PATCH',
            '/users/' + identity.path_id(user_id, 'user ID'),
            body={'user': body},
        )
        return User.from_json(self._item(response, 'user'))

    def can_update_user(self, user: User) -> bool:
        """Whether the signed-in user may change ``user``'s MFA rules.

        Sends a PATCH that changes nothing (the MFA-enabled option as it
        already is): 403 means no.
        """
        noop = {'multi_factor_auth_enabled': user.options.get(
            'multi_factor_auth_enabled'
        )}  # fmt: skip
        try:
            self.update_user_options(user.id, noop)
        except Forbidden:
            return False
        return True

    def revoke_user_tokens(self, user_id: str) -> bool:
        """Revoke every token of the user (Keystone 30 and later).

        ``DELETE /v3/users/{user_id}/tokens``: True once revoked (204);
        False when this Keystone has no such call (404, 405 or 501), in
        which case tokens issued before stay valid until they expire.
        Revoking the signed-in user's own tokens ends this session too:
        call it last.
        Application credentials are not touched: their next sign-in gets
        a new token under the user's current rules.
        """
        own = user_id == self.session.get_user_id()
        response = self._call(
            'revoke the tokens of the user',
            'DELETE',
            '/users/' + identity.path_id(user_id, 'user ID') + '/tokens',
            ok=(404, 405, 501),
        )
        if response.status_code >= 400:
            return False
        self.revoked_at = time.monotonic()
        if own:
            # NOTE: the session's own token was revoked with the others:
            # drop it (and the token cache's copy), so that nothing sends
            # it again and the next command signs in afresh.
            self.session.invalidate()
        return True

    # -- credentials ------------------------------------------------------

    def list_credentials(
        self,
        user_id: str | None = None,
        type: str | None = None,
        owners: Iterable[str] | None = None,
        cut: list[str] | None = None,
    ) -> list[Credential]:
        """Credentials, a page at a time (blobs are secrets: not logged).

        Keystone 30 answers ``limit`` on credentials with ``truncated`` and
        a next link, but ignores the link's marker (its SQL driver does not
        page this list): the next page is the first again. A list of every
        user's credentials is then read in parts that each fit in one page,
        by ``user_id__startswith`` prefixes of ``owners`` (the users whose
        credentials are wanted); without ``owners`` it is an error. A user
        of ``owners`` with more credentials than a page is an error too,
        or, with ``cut`` given, added to it and left out.
        """
        params = {}
        if user_id:
            params['user_id'] = user_id
        if type:
            params['type'] = type
        try:
            rows = self._paged(
                'credentials',
                '/credentials',
                'credentials',
                params,
                secret=True,
            )
        except lists.MarkerIgnored:
            if user_id or owners is None:
                raise Incomplete(
                    'Keystone cut the list of credentials and does not page '
                    'it, so the result would miss some: nothing is '
                    f'reported. To fix it, {lists.LIMIT_ADVICE}.'
                ) from None
            rows = self._by_owner(params, owners, cut)
        return [Credential.from_json(c) for c in rows]

    def create_credential(
        self, user_id: str, type: str, blob: str
    ) -> Credential:
        response = self._call(
            f'create a {type} credential',
            'POST',
            '/credentials',
            body={
                'credential': {'user_id': user_id, 'type': type, 'blob': blob}
            },
            secret=True,
        )
        return Credential.from_json(self._item(response, 'credential'))

    def update_credential(self, credential_id: str, blob: str) -> None:
        self._call(
            'update a credential',
            'PATCH',
            '/credentials/' + identity.path_id(credential_id, 'credential ID'),
            body={'credential': {'blob': blob}},
            secret=True,
        )

    def delete_credential(self, credential_id: str) -> None:
        """Delete a credential; one that is already gone is fine."""
        self._call(
            'delete a credential',
            'DELETE',
            '/credentials/' + identity.path_id(credential_id, 'credential ID'),
            ok=(404,),
        )

    # -- application credentials (the sessions of exec --session) -------

    def _app_creds_path(self, user_id: str) -> str:
        return (
            '/users/'
            + identity.path_id(user_id, 'user ID')
            + '/application_credentials'
        )

    def create_app_credential(
        self,
        user_id: str,
        *,
        name: str,
        description: str,
        expires_at: datetime.datetime,
        roles: Sequence[str] = (),
    ) -> AppCredential:
        """Create a restricted application credential for the token's
        project, expiring at ``expires_at`` (aware); ``roles`` are role
        IDs (none: the token's roles).

        NOTE: sent with ``log=False``: the answer holds the secret, which
        ``--debug`` would otherwise print.
        """
        body: dict[str, Any] = {
            'name': name,
            'description': description,
            'expires_at': expires_at.astimezone(datetime.UTC).strftime(
                '%Y-%m-%dT%H:%M:%S.000000Z'
            ),
            'unrestricted': False,
        }
        if roles:
            body['roles'] = [{'id': r} for r in roles]
        response = self._call(
            'create an application credential',
            'POST',
            self._app_creds_path(user_id),
            body={'application_credential': body},
            secret=True,
        )
        return AppCredential.from_json(
            self._item(response, 'application_credential')
        )

    def list_app_credentials(self, user_id: str) -> list[AppCredential]:
        """The user's application credentials (one request: Keystone does
        not page this list; no secrets in it)."""
        response = self._call(
            'list application credentials',
            'GET',
            self._app_creds_path(user_id),
        )
        rows = self._list(
            'application credentials', response, 'application_credentials'
        )
        return [AppCredential.from_json(r) for r in rows]

    def delete_app_credential(
        self, user_id: str, app_credential_id: str
    ) -> None:
        """Delete an application credential; one already gone is fine."""
        self._call(
            'delete an application credential',
            'DELETE',
            self._app_creds_path(user_id)
            + '/'
            + identity.path_id(app_credential_id, 'application credential ID'),
            ok=(404,),
        )

    # -- roles ------------------------------------------------------------

    def find_role_ids(self, name: str) -> list[str]:
        response = self._call(
            'look up the role',
            'GET',
            f'/roles?name={identity.query_value(name)}',
        )
        return [
            str(r['id'])
            for r in self._list('roles', response, 'roles')
            if isinstance(r, dict) and r.get('id')
        ]

    def role_assignments(
        self, role_id: str, include_names: bool = False
    ) -> list[dict[str, Any]]:
        """Effective assignments of a role; ``include_names`` adds, among
        others, the domain of each project scope."""
        response = self._call(
            'list role assignments',
            'GET',
            f'/role_assignments?role.id={identity.query_value(role_id)}'
            '&effective' + ('&include_names' if include_names else ''),
        )
        rows = self._list('role assignments', response, 'role_assignments')
        return [dict(a) for a in rows if isinstance(a, dict)]

    # -- passcode checks --------------------------------------------------

    def _auth_post(self, what: str, body: Mapping[str, Any]) -> Any:
        self.requests += 1
        try:
            response = self.session.post(
                self.endpoint + '/auth/tokens',
                json=body,
                authenticated=False,
                raise_exc=False,
                log=False,
            )
        except ksa_exc.ConnectionError as exc:
            raise _error(what, exc) from exc
        self._note_date(response)
        if response.status_code >= 500:
            err = ksa_exc.from_response(response, 'POST', '/auth/tokens')
            raise _error(what, err) from err
        return response

    def check_totp_alone(self, user_id: str, passcode: str) -> bool:
        """Whether Keystone accepts ``passcode`` as the user's TOTP.

        A TOTP-only sign-in: under rules that refuse TOTP alone, Keystone
        answers 401 with an auth receipt for a good code and 401 without
        one for a bad code. No password or token of the user is needed.
        """
        response = self._auth_post(
            'check the passcode',
            {
                'auth': {
                    'identity': {
                        'methods': ['totp'],
                        'totp': {
                            'user': {'id': user_id, 'passcode': passcode}
                        },
                    }
                }
            },
        )
        if response.status_code == 201:
            # NOTE: TOTP alone signed in (the user has no MFA rules): the
            # code is good; the token issued is not kept.
            return True
        if response.status_code == 401:
            return identity.RECEIPT_HEADER.lower() in {
                k.lower() for k in response.headers
            }
        err = ksa_exc.from_response(response, 'POST', '/auth/tokens')
        raise _error('check the passcode', err) from err

    def check_totp_with_token(self, user_id: str, passcode: str) -> bool:
        """Whether Keystone accepts the session's token plus ``passcode``."""
        response = self._auth_post(
            'check the passcode',
            {
                'auth': {
                    'identity': {
                        'methods': ['token', 'totp'],
                        'token': {'id': self.current_token()},
                        'totp': {
                            'user': {'id': user_id, 'passcode': passcode}
                        },
                    }
                }
            },
        )
        if response.status_code == 201:
            return True
        if response.status_code == 401:
            guard = guard_details(response)
            if guard is not None and guard['reason'] == 'replayed':
                raise PasscodeUsed(
                    'That passcode signed you in already, and Keystone '
                    "(its MFA guard) takes a code once: give your device's "
                    'next code, or a recovery code.'
                )
            return False
        err = ksa_exc.from_response(response, 'POST', '/auth/tokens')
        raise _error('check the passcode', err) from err
