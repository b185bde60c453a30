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

"""Errors of the Keystone client, mapped once from keystoneauth's.

Each keeps Keystone's own message (secrets masked) and says what failed
and what to do next.
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ksa_exc

from mfa_osc import redact


class ClientError(Exception):
    """A Keystone request of the MFA client failed."""

    #: HTTP status, or None for a connection failure.
    status: int | None = None
    #: Keystone's answer (for its ``Date``), None without one.
    response: Any = None
    #: The keystoneauth exception this one was mapped from, for the
    #: sign-in plugin, which hands keystoneauth errors of its own kind.
    original: Exception | None = None


class Malformed(ClientError):
    """Keystone's answer was not what the Identity API defines."""


class Incomplete(ClientError):
    """Keystone cut a list short and offers no way to the rest."""


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


class PasscodeUsed(ClientError):
    """Keystone's guard refused a passcode that signed this user in
    already (``mfa_osc.guard``: a code works once)."""


class Unavailable(ClientError):
    """Keystone could not be reached or failed (5xx, connection)."""


def guard_details(response: Any) -> dict[str, Any] | None:
    """``error.mfa_guard`` of an answer of Keystone's MFA guard
    (``mfa_osc.guard.answers``: a refusal whose ``reason`` says why), or
    None for any other answer, Keystone's own refusals among them. The one
    reading of the guard's answers on the client side."""
    try:
        guard = response.json()['error']['mfa_guard']
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if not isinstance(guard, dict) or not isinstance(guard.get('reason'), str):
        return None
    return guard


def _detail(exc: ksa_exc.HttpError) -> str:
    """Keystone's own message from an error body, secrets masked."""
    response = getattr(exc, 'response', None)
    message: object = None
    try:
        body: Any = response.json() if response is not None else None
        message = body['error']['message']
    except (AttributeError, KeyError, TypeError, ValueError):
        message = None
    if not isinstance(message, str) or not message.strip():
        return ''
    text = redact.scrub(' '.join(message.split()))[:300].rstrip('.')
    return f': "{text}"'


def action(what: str) -> str:
    """What was asked of Keystone, as the verb phrase of a sentence.

    Requests name what they do (``read the user``); the list reader names
    the list alone (``users``), as its other messages say "the list of
    users": that is listing them.
    """
    what = what.strip()
    return what if ' ' in what else f'list {what}'


def error(what: str, exc: Exception) -> ClientError:
    """Turn a keystoneauth exception into a ClientError about ``what``.

    ``what`` is an action (``read the user``) or a list (``users``),
    which reads "Keystone refused to list users".
    """
    mapped = _mapped(action(what), exc)
    mapped.response = getattr(exc, 'response', None)
    mapped.original = exc
    return mapped


def _mapped(what: str, exc: Exception) -> ClientError:
    if isinstance(exc, ksa_exc.HttpError):
        status = exc.http_status
        detail = _detail(exc)
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
                f'Keystone refused to {what} (HTTP 403{detail}): the policy '
                'of this cloud does not allow it for the signed-in user.'
            )
        if kind is Unauthorized:
            return Unauthorized(
                f'Keystone refused to {what} (HTTP 401{detail}): the token '
                'is not valid any more; sign in again.'
            )
        if kind is not None:
            return kind(f'Keystone refused to {what} (HTTP {status}{detail}).')
        error = Unavailable(
            f'Keystone failed to {what} (HTTP {status}{detail}); nothing '
            'later was attempted. Run the command again when Keystone is '
            'back.'
        )
        error.status = status
        return error
    return Unavailable(
        f'Could not reach Keystone to {what} ({type(exc).__name__}); '
        'nothing later was attempted. Run the command again when Keystone '
        'is back.'
    )
