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


"""The set-up at sign-in: a Django middleware that sends a person whom a
domain's MFA policy requires to set up a device (:mod:`set_up
<mfa_osc.dashboard.set_up>`) to Settings -> Multi-factor, page after
page, until they have one; then the dashboard opens as usual.

Enabled by the settings snippet ``_5082_mfa_osc_sign_in_setup.py`` (in
``mfa_osc/dashboard/local_settings.d/``, copied into Horizon's
``openstack_dashboard/local/local_settings.d/``), which appends it to
Horizon's ``MIDDLEWARE``.

Behind mfa-osc's guard, a sign-in whose token the domain's policy
refuses a scope is signed in unscoped, marked limited
(:mod:`~mfa_osc.dashboard.guarded`): every page but those open sends it
to ``/settings/mfa/continue/``, which asks for the set-up first (no
device) and then for a code, and signs the person in to the dashboard.

Each sign-in is judged once (its token's fingerprint and the verdict are
kept in the session: no secret, no request per page); Settings ->
Multi-factor forgets the verdict once a device is enrolled, so the next
page judges again. The pages that stay open while the set-up is due are
Settings -> Multi-factor itself, the sign-in and sign-out pages and
static files: the set-up cannot be skipped, and the person can always
sign out.
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib
import logging
from typing import Any

from django import http
from django import shortcuts
from django.conf import settings
from django.contrib import messages

from mfa_osc.dashboard import guarded
from mfa_osc.dashboard import keystone
from mfa_osc.dashboard import set_up

LOG = logging.getLogger(__name__)

#: The session key of this sign-in's verdict.
SESSION_KEY = 'mfa_osc_set_up'
SET_UP_URL = 'horizon:settings:mfa:index'
#: Where a sign-in the guard limited types its code (or is sent on to
#: the set-up, without a device).
CONTINUE_URL = 'horizon:settings:mfa:continue'
#: Paths that stay open while the set-up is due (prefixes, after the
#: site's root).
OPEN_PATHS = ('settings/mfa/', 'auth/', 'static/', 'i18n/', 'jsi18n/')


def forget(request: Any) -> None:
    """Judge this sign-in again on its next page (a device was just
    enrolled)."""
    request.session.pop(SESSION_KEY, None)


def _fingerprint(token_id: str) -> str:
    # NOTE: the session already holds Horizon's token; what is kept here
    # only tells one sign-in from the next.
    return hashlib.sha256(token_id.encode()).hexdigest()[:16]


def _is_open(request: http.HttpRequest) -> bool:
    root = getattr(settings, 'WEBROOT', '/') or '/'
    path = request.path_info
    if path.startswith(root):
        path = path[len(root) :]
    return bool(path.lstrip('/').startswith(OPEN_PATHS))


def _judge(request: Any) -> set_up.Verdict:
    user = request.user
    roles = {
        str(r.get('name'))
        for r in (getattr(user, 'roles', None) or [])
        if isinstance(r, dict)
    }
    try:
        client = keystone.client_for(request, settings)
        return set_up.verdict(
            client,
            user_id=str(user.id),
            user_name=getattr(user, 'username', None),
            domain_id=str(user.user_domain_id),
            role_names=roles,
        )
    except Exception as exc:  # noqa: BLE001
        # NOTE: cannot decide: the set-up (never let through because a
        # read failed); the page itself reads the account again.
        LOG.warning(
            'MFA set-up check for user %s failed (%s): set-up required.',
            getattr(user, 'id', '?'),
            type(exc).__name__,
        )
        return set_up.Verdict(
            set_up.DUE,
            'Whether your domain requires multi-factor sign-in could not '
            'be checked: set up a device to carry on, or sign out and try '
            'again later.',
        )


def _background(request: http.HttpRequest) -> bool:
    """A page's own request in the background (Horizon loads parts of
    its pages so): a message added there would be shown twice."""
    return bool(request.headers.get('X-Requested-With') == 'XMLHttpRequest')


def _limited_sentence(request: Any) -> str:
    deadline = guarded.deadline(request)
    since = f' since {deadline}' if deadline else ''
    return (
        f'Your domain requires multi-factor sign-in{since}: set up a device '
        'here if you have none, then type its code to open the dashboard.'
    )


class SetUpRequired:
    """Send a person due to set up a device to Settings -> Multi-factor."""

    def __init__(
        self, get_response: Callable[[http.HttpRequest], http.HttpResponse]
    ) -> None:
        self.get_response = get_response

    def __call__(self, request: http.HttpRequest) -> http.HttpResponse:
        user = getattr(request, 'user', None)
        token = getattr(user, 'token', None)
        if (
            user is None
            or not user.is_authenticated
            or token is None
            or _is_open(request)
        ):
            return self.get_response(request)
        if guarded.is_limited(request):
            # NOTE: behind the guard, a sign-in its policy limited to an
            # unscoped token: no dashboard page works with it; the set-up
            # and the code that ends the limit are the way on.
            if not _background(request):
                messages.warning(request, _limited_sentence(request))
            return shortcuts.redirect(CONTINUE_URL)
        mark = _fingerprint(str(token.id))
        kept = request.session.get(SESSION_KEY)
        if not isinstance(kept, dict) or kept.get('token') != mark:
            verdict = _judge(request)
            kept = {
                'token': mark,
                'kind': verdict.kind,
                'sentence': verdict.sentence,
            }
            request.session[SESSION_KEY] = kept
            if verdict.kind == set_up.REMINDER:
                messages.warning(request, verdict.sentence)
        if kept.get('kind') != set_up.DUE:
            return self.get_response(request)
        if not _background(request):
            messages.warning(request, str(kept.get('sentence') or ''))
        return shortcuts.redirect(SET_UP_URL)
