"""The Keystone calls of MFA enrollment, on a keystoneauth session.

One method per Keystone request. HTTP and connection errors are turned
into the exceptions below here, once, with messages that say what failed
and never hold a secret. Requests and responses that carry a TOTP secret
(credential blobs) or a passcode are sent with ``log=False``, so that
keystoneauth's ``--debug`` request logging never prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
import json
from typing import Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ks_session

from mfa_osc import totp

#: Keystone credential type of a TOTP device or recovery code.
TOTP_TYPE = 'totp'
#: Keystone credential type of the per-user bookkeeping (no secrets).
BOOK_TYPE = 'mfa-osc'

RECEIPT_HEADER = 'Openstack-Auth-Receipt'

#: Keystone's default ``[DEFAULT] max_db_limit``: no list answer holds
#: more rows than this, and Keystone 30 does not always flag the cut.
KEYSTONE_MAX_ROWS = 1000

Rules = list[list[str]]


class ClientError(Exception):
    """A Keystone request of the MFA client failed."""

    #: HTTP status, or None for a connection failure.
    status: int | None = None


class Forbidden(ClientError):
    """Keystone's policy refused the request (HTTP 403)."""

    status = 403


class NotFound(ClientError):
    """The user, credential or role does not exist (HTTP 404)."""

    status = 404


class Conflict(ClientError):
    """Keystone refused the request as a conflict (HTTP 409)."""

    status = 409


class BadRequest(ClientError):
    """Keystone refused the request as malformed (HTTP 400)."""

    status = 400


class Unauthorized(ClientError):
    """The session's token is not valid any more (HTTP 401)."""

    status = 401


class Unavailable(ClientError):
    """Keystone could not be reached or failed (5xx, connection)."""


def _error(what: str, exc: Exception) -> ClientError:
    """Turn a keystoneauth exception into a ClientError about ``what``."""
    if isinstance(exc, ksa_exc.HttpError):
        status = exc.http_status
        kinds: dict[int, type[ClientError]] = {
            400: BadRequest,
            401: Unauthorized,
            403: Forbidden,
            404: NotFound,
            409: Conflict,
        }
        kind = kinds.get(status or 0)
        if kind is Forbidden:
            return Forbidden(
                f'Keystone refused to {what} (HTTP 403): the policy of this '
                'cloud does not allow it for the signed-in user.'
            )
        if kind is Unauthorized:
            return Unauthorized(
                f'Keystone refused to {what} (HTTP 401): the token is not '
                'valid any more; sign in again.'
            )
        if kind is not None:
            return kind(f'Keystone refused to {what} (HTTP {status}).')
        error = Unavailable(
            f'Keystone failed to {what} (HTTP {status}); nothing later was '
            'attempted. Run the command again when Keystone is back.'
        )
        error.status = status
        return error
    return Unavailable(
        f'Could not reach Keystone to {what} ({type(exc).__name__}); '
        'nothing later was attempted. Run the command again when Keystone '
        'is back.'
    )


class MFAClient:
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
        url = str(url).rstrip('/')
        if not url.endswith('/v3'):
            url += '/v3'
        return url

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
            raise _error(what, exc) from None
        self._note_date(response)
        if ok and response.status_code >= 400:
            if response.status_code not in ok:
                err = ksa_exc.from_response(response, method, path)
                raise _error(what, err) from None
        return response

    def _rows(self, what: str, response: Any, key: str) -> list[Any]:
        body = self._json(response)
        rows = list(body.get(key) or [])
        if body.get('truncated') or len(rows) >= KEYSTONE_MAX_ROWS:
            self.truncated.append(what)
        return rows

    @staticmethod
    def _json(response: Any) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()

    # -- who is signed in -------------------------------------------------

    def current_user_id(self) -> str:
        user_id = self.session.get_user_id()
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
        data = getattr(access, '_data', None) or {}
        methods = (data.get('token') or {}).get('methods') or []
        return [str(m) for m in methods]

    def current_token(self) -> str:
        token = self.session.get_token()
        if not token:
            raise ClientError('The session has no token.')
        return str(token)

    def auth_url(self) -> str | None:
        auth = self.session.auth
        url = getattr(auth, 'auth_url', None)
        return str(url) if url else None

    # -- users ------------------------------------------------------------

    def get_user(self, user_id: str) -> dict[str, Any]:
        response = self._call('read the user', 'GET', f'/users/{user_id}')
        return dict(self._json(response)['user'])

    def find_users(
        self, name: str, domain_id: str | None = None
    ) -> list[dict[str, Any]]:
        query = f'/users?name={_quote(name)}'
        if domain_id:
            query += f'&domain_id={_quote(domain_id)}'
        response = self._call('look up the user', 'GET', query)
        return [dict(u) for u in self._json(response)['users']]

    def list_users(self, domain_id: str | None = None) -> list[dict[str, Any]]:
        query = '/users'
        if domain_id:
            query += f'?domain_id={_quote(domain_id)}'
        response = self._call('list users', 'GET', query)
        return [dict(u) for u in self._rows('users', response, 'users')]

    def find_domain_id(self, name_or_id: str) -> str:
        response = self._call(
            'look up the domain',
            'GET',
            f'/domains?name={_quote(name_or_id)}',
        )
        domains = self._json(response)['domains']
        if domains:
            return str(domains[0]['id'])
        response = self._call(
            'look up the domain', 'GET', f'/domains/{name_or_id}'
        )
        return str(self._json(response)['domain']['id'])

    def update_user_options(
        self, user_id: str, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PATCH the user's ``options`` (MFA rules, MFA enabled)."""
        response = self._call(
            'update the MFA rules of the user',
            'PATCH',
            f'/users/{user_id}',
            body={'user': {'options': dict(options)}},
        )
        return dict(self._json(response)['user'])

    def can_update_user(self, user: Mapping[str, Any]) -> bool:
        """Whether the signed-in user may change ``user``'s MFA rules.

        Sends a PATCH that changes nothing (the MFA-enabled option as it
        already is): 403 means no.
        """
        options = user.get('options') or {}
        noop = {
            'multi_factor_auth_enabled': options.get(
                'multi_factor_auth_enabled'
            )
        }
        try:
            self.update_user_options(str(user['id']), noop)
        except Forbidden:
            return False
        return True

    # -- credentials ------------------------------------------------------

    def list_credentials(
        self, user_id: str | None = None, type: str | None = None
    ) -> list[dict[str, Any]]:
        """Credentials (blobs are secrets: the response is not logged)."""
        params = []
        if user_id:
            params.append(f'user_id={_quote(user_id)}')
        if type:
            params.append(f'type={_quote(type)}')
        path = '/credentials' + ('?' + '&'.join(params) if params else '')
        response = self._call('list credentials', 'GET', path, secret=True)
        rows = self._rows('credentials', response, 'credentials')
        return [dict(c) for c in rows]

    def create_credential(
        self, user_id: str, type: str, blob: str
    ) -> dict[str, Any]:
        response = self._call(
            f'create a {type} credential',
            'POST',
            '/credentials',
            body={
                'credential': {'user_id': user_id, 'type': type, 'blob': blob}
            },
            secret=True,
        )
        return dict(self._json(response)['credential'])

    def update_credential(self, credential_id: str, blob: str) -> None:
        self._call(
            'update a credential',
            'PATCH',
            f'/credentials/{credential_id}',
            body={'credential': {'blob': blob}},
            secret=True,
        )

    def delete_credential(self, credential_id: str) -> None:
        """Delete a credential; one that is already gone is fine."""
        self._call(
            'delete a credential',
            'DELETE',
            f'/credentials/{credential_id}',
            ok=(404,),
        )

    # -- roles ------------------------------------------------------------

    def find_role_ids(self, name: str) -> list[str]:
        response = self._call(
            'look up the role', 'GET', f'/roles?name={_quote(name)}'
        )
        return [str(r['id']) for r in self._json(response)['roles']]

    def role_assignments(self, role_id: str) -> list[dict[str, Any]]:
        response = self._call(
            'list role assignments',
            'GET',
            f'/role_assignments?role.id={_quote(role_id)}&effective',
        )
        rows = self._rows('role assignments', response, 'role_assignments')
        return [dict(a) for a in rows]

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
            raise _error(what, exc) from None
        self._note_date(response)
        if response.status_code >= 500:
            err = ksa_exc.from_response(response, 'POST', '/auth/tokens')
            raise _error(what, err) from None
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
            return RECEIPT_HEADER.lower() in {
                k.lower() for k in response.headers
            }
        err = ksa_exc.from_response(response, 'POST', '/auth/tokens')
        raise _error('check the passcode', err) from None

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
            return False
        err = ksa_exc.from_response(response, 'POST', '/auth/tokens')
        raise _error('check the passcode', err) from None


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe='')


def dump_blob(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(',', ':'))


def rules_of(user: Mapping[str, Any]) -> tuple[bool, Rules]:
    """The user's ``(multi_factor_auth_enabled, multi_factor_auth_rules)``."""
    options = user.get('options') or {}
    enabled = bool(options.get('multi_factor_auth_enabled'))
    rules = [
        [str(m) for m in rule]
        for rule in (options.get('multi_factor_auth_rules') or [])
    ]
    return enabled, rules
