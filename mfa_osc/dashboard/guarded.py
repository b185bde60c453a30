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


"""Horizon's sign-in behind mfa-osc's guard: the set-up, then the code.

Behind the guard (:mod:`mfa_osc.guard`), a person a domain's MFA policy
covers, past its deadline, who signs in without a second factor gets an
unscoped token (what setting a device up needs) and no scoped one: the
guard answers 403 with its ``policy`` answer. Horizon's own back end
then fails the sign-in ("You are not authorized for any projects or
domains"), whether the person has a device or not: Horizon asks for a
code only when Keystone's own rules want one, and a person whom an
administrator has not enforced MFA for yet signs in with the password
alone.

:class:`KeystoneBackend` (Horizon's back end, named in
``AUTHENTICATION_BACKENDS`` by the settings snippet
``_5082_mfa_osc_sign_in_setup.py``) signs such a person in with that
unscoped token instead, once the guard's own answer says why (any other
failure stays Horizon's). The session is marked *limited*
(:data:`SESSION_KEY`, no secret in it), and
:class:`~mfa_osc.dashboard.sign_in_setup.SetUpRequired` keeps the person
on Settings -> Multi-factor: they set a device up there (the enroll
workflow works with the unscoped token), then type a code of it on the
page of :func:`finish` (``/settings/mfa/continue/``), which exchanges
the unscoped token and the code for a token with the second factor
(methods ``token`` and ``totp``: the new token lists ``totp``, which the
guard lets through) and signs them in to their projects as Horizon
does. The code goes to Keystone in the request body only; nothing but
Horizon's own tokens is kept in the session, as Horizon keeps them.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib import auth as django_auth
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1.identity import v3
from openstack_auth import backend as horizon_backend
from openstack_auth import exceptions as auth_exceptions
from openstack_auth import user as auth_user
from openstack_auth import utils as auth_utils

from mfa_osc import redact
from mfa_osc.client import errors as client_errors

LOG = logging.getLogger(__name__)

#: The session key that marks a sign-in the guard limited (unscoped
#: token only): ``{'deadline': YYYY-MM-DD or None}``.
SESSION_KEY = 'mfa_osc_guard_limited'

#: The guard's ``reason`` for a token its domain's policy refuses.
POLICY_REASON = 'policy'


class CodeRefused(Exception):
    """The code did not sign the person in; the message says why and what
    to do (one sentence)."""


def is_limited(request: Any) -> bool:
    """Whether this session is a sign-in the guard limited."""
    session = getattr(request, 'session', None)
    return session is not None and isinstance(session.get(SESSION_KEY), dict)


def deadline(request: Any) -> str | None:
    """The deadline of the policy the guard named (None: in force)."""
    kept = request.session.get(SESSION_KEY)
    value = kept.get('deadline') if isinstance(kept, dict) else None
    return str(value) if value else None


def _policy_refusal(
    session: Any, auth_url: str, token: str, project: str
) -> Any:
    """The guard's ``mfa_guard`` details when it refuses ``token`` a scope
    on ``project`` by its domain's policy, else None (any other answer:
    Keystone's own refusal, no guard, or a token after all, revoked)."""
    response = session.post(
        auth_url.rstrip('/') + '/auth/tokens',
        json={
            'auth': {
                'identity': {'methods': ['token'], 'token': {'id': token}},
                'scope': {'project': {'id': project}},
            }
        },
        raise_exc=False,
        authenticated=False,
        # NOTE: as keystoneauth's own sign-ins: the body holds a token.
        log=False,
    )
    if response.status_code == 201:
        # NOTE: not expected (Horizon's own scoping just failed); the
        # token is not handed out.
        subject = response.headers.get('X-Subject-Token')
        if subject:
            session.delete(
                auth_url.rstrip('/') + '/auth/tokens',
                headers={'X-Auth-Token': token, 'X-Subject-Token': subject},
                raise_exc=False,
                authenticated=False,
                log=False,
            )
        return None
    details = client_errors.guard_details(response)
    if response.status_code == 403 and details is not None:
        if details.get('reason') == POLICY_REASON:
            return details
    return None


class KeystoneBackend(horizon_backend.KeystoneBackend):
    """Horizon's back end; a sign-in the guard's policy limits to an
    unscoped token signs in with that token, marked limited."""

    _mfa_osc_auth: Any = None

    def _get_auth_backend(self, auth_url: str, **kwargs: Any) -> Any:
        plugin, unscoped_auth = super()._get_auth_backend(auth_url, **kwargs)
        # NOTE: Django makes a back end per sign-in (auth.get_backends()),
        # so what is kept here is this sign-in's.
        self._mfa_osc_auth = (plugin, unscoped_auth)
        return plugin, unscoped_auth

    def authenticate(
        self, request: Any, auth_url: str | None = None, **kwargs: Any
    ) -> Any:
        self._mfa_osc_auth = None
        try:
            return super().authenticate(request, auth_url=auth_url, **kwargs)
        except auth_exceptions.KeystoneNoProjectsException:
            user = self._limited(request)
            if user is None:
                raise
            return user

    def _limited(self, request: Any) -> Any:
        """The guard-limited user of this sign-in, or None when the
        failure was not the guard's policy."""
        if request is None or self._mfa_osc_auth is None:
            return None
        plugin, unscoped_auth = self._mfa_osc_auth
        ref = getattr(unscoped_auth, 'auth_ref', None)
        if ref is None or ref.project_id or ref.domain_id:
            return None
        auth_url = str(unscoped_auth.auth_url)
        session = auth_utils.get_session(
            original_ip=auth_utils.get_client_ip(request)
        )
        try:
            projects = [
                p
                for p in plugin.list_projects(session, unscoped_auth, ref)
                if p.enabled
            ]
            details = (
                _policy_refusal(
                    session, auth_url, ref.auth_token, projects[0].id
                )
                if projects
                else None
            )
        except (
            auth_exceptions.KeystoneAuthException,
            ksa_exc.ClientException,
        ):
            return None
        if details is None:
            return None
        token = auth_user.Token(ref, unscoped_token=ref.auth_token)
        user = auth_user.create_user_from_token(request, token, auth_url)
        request.session['unscoped_token'] = ref.auth_token
        request.session[SESSION_KEY] = {'deadline': details.get('deadline')}
        request.user = user
        # NOTE: as Horizon's back end: the session ends with the token.
        life = user.token.expires - datetime.datetime.now(datetime.UTC)
        request.session.set_expiry(
            max(1, min(settings.SESSION_TIMEOUT, int(life.total_seconds())))
        )
        LOG.info(
            "User %s signed in without a second factor, which their domain's "
            'MFA policy (the guard) refuses a scoped token: sent to the '
            'set-up and its code.',
            user.id,
        )
        return user


def finish(request: Any, passcode: str) -> Any:
    """Exchange the limited session's unscoped token and ``passcode`` for
    a sign-in with the second factor, to the person's projects as
    Horizon's sign-in does; the new user, set in the session.

    :raises CodeRefused: Keystone (or its guard) refused the code.
    """
    # NOTE: masked in what this request logs (the view forgets it after).
    redact.register(passcode)
    user = request.user
    auth_url, _fixed = auth_utils.fix_auth_url_version_prefix(
        str(user.endpoint)
    )
    session = auth_utils.get_session(
        original_ip=auth_utils.get_client_ip(request)
    )
    exchange = v3.Auth(
        auth_url,
        [
            v3.TokenMethod(token=str(user.unscoped_token or user.token.id)),
            v3.TOTPMethod(user_id=str(user.id), passcode=passcode),
        ],
        unscoped=True,
    )
    try:
        ref = exchange.get_access(session)
    except ksa_exc.HttpError as exc:
        raise CodeRefused(_refused(exc)) from None
    except ksa_exc.ClientException:
        raise CodeRefused(
            'Keystone could not be reached to check the code; try again.'
        ) from None
    # NOTE: Horizon's own sign-in from here (its token plugin scopes the
    # new token to the person's projects, as after a password); the new
    # token lists totp, so the guard lets its scoped tokens through.
    try:
        new = django_auth.authenticate(
            request=request, auth_url=auth_url, token=ref.auth_token
        )
    except auth_exceptions.KeystoneAuthException as exc:
        raise CodeRefused(
            f'The code was accepted, but the sign-in failed: {exc} Sign out '
            'and sign in again with your password and a code.'
        ) from None
    if new is None or not (new.project_id or new.domain_id):
        raise CodeRefused(
            'The code was accepted, but Keystone gave no project or domain '
            'to sign in to; sign out and sign in again with your password '
            'and a code.'
        )
    request.session.pop(SESSION_KEY, None)
    # NOTE: a new session key for the stronger sign-in (no fixation).
    request.session.cycle_key()
    auth_user.set_session_from_user(request, new)
    django_auth.login(request, new)
    return new


def _refused(exc: Any) -> str:
    """One sentence for a refused code, the guard's reason first."""
    details = client_errors.guard_details(getattr(exc, 'response', None))
    reason = details.get('reason') if details else None
    if reason == 'replayed':
        return (
            'That code signed you in already, and a code works once: '
            "type your app's next code."
        )
    if reason == 'locked':
        until = (
            str(details.get('until') or '').removesuffix('Z')
            if details
            else ''
        )
        return (
            'Sign-in with a code is locked after too many wrong codes'
            + (f' until {until} UTC' if until else '')
            + '; an administrator can end the lock (Identity -> '
            'Multi-factor).'
        )
    if getattr(exc, 'http_status', None) == 401:
        return 'That code was not accepted: type the code your app shows now.'
    status = getattr(exc, 'http_status', None) or '?'
    return (
        f'Keystone refused the sign-in (HTTP {status}); sign out and sign '
        'in again.'
    )
