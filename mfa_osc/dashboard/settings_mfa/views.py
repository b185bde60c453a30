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


"""Settings -> Multi-factor: views over mfa-osc's workflows.

Each view does what the matching ``openstack mfa`` command does, with the
same workflow calls in the same order (mfa_osc/osc/status.py, enroll.py,
remove.py, recovery.py): no second implementation of the rules.

Enrolling takes two requests. The first (a device name) runs
:func:`~mfa_osc.workflows.enroll_plan.prepare`, which only reads and
checks, and shows a new secret as a QR code; nothing in Keystone changes,
so a browser closed on that page leaves the account as it was. The second
(the code the app shows) prepares again, on a fresh read of the account,
and runs :func:`~mfa_osc.workflows.enroll.enroll`, whose order keeps the
account never weaker. The secret waits in between sealed in the page
(:mod:`mfa_osc.dashboard.sealed` says why there).

Secrets: pages that show a secret or recovery codes are sent with
``Cache-Control: no-store``; the views are marked
``sensitive_post_parameters`` so Django's error reports never hold a
code; nothing here logs a secret, and none goes into a URL.
"""

from __future__ import annotations

import logging
from typing import Any

from django import http
from django import shortcuts
from django.conf import settings
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import generic
from django.views.decorators import debug
from horizon import messages

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import totp
from mfa_osc.dashboard import guarded
from mfa_osc.dashboard import keystone
from mfa_osc.dashboard import pages
from mfa_osc.dashboard import sealed
from mfa_osc.dashboard import sign_in_setup
from mfa_osc.dashboard.settings_mfa import forms
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import errors as workflow_errors
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import recovery as recovery_flow
from mfa_osc.workflows import remove as remove_flow
from mfa_osc.workflows import status as status_flow

LOG = logging.getLogger(__name__)

INDEX = 'horizon:settings:mfa:index'
#: What a sealed enrollment is for (its key is bound to it).
ENROLL_PURPOSE = 'settings-mfa-enroll'

_SENSITIVE = ('passcode', 'proof', 'sealed')


def _client(request: http.HttpRequest) -> mfa_client.MFAClient:
    return keystone.client_for(request, settings)


def _back(request: http.HttpRequest, message: str) -> http.HttpResponse:
    """One error message on the status page (never a traceback)."""
    messages.error(request, message)
    return shortcuts.redirect(INDEX)


def _form_error(form: Any) -> str:
    for field, problems in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        return f'{label or field}: {problems[0]}'
    return str(_('The form was not filled in correctly.'))


def _no_proof() -> str:
    raise workflow_errors.PasscodeRefused(
        _('Type the code your app shows now, or one of your recovery codes.')
    )


def _codes_page(
    request: http.HttpRequest, codes: list[str], context: dict[str, Any]
) -> http.HttpResponse:
    """The page that shows recovery codes, once."""
    text = '\n'.join(codes) + '\n' if codes else ''
    context.update(
        codes=codes,
        codes_download=pages.text_data_uri(text) if codes else None,
        codes_filename=f'{request.user.username}-recovery-codes.txt',
        page_title=_('Recovery codes'),
    )
    return shortcuts.render(request, 'settings/mfa/codes.html', context)


@method_decorator(pages.forgets_secrets, 'dispatch')
class IndexView(generic.View):
    """Devices, enforcement, recovery codes left and the warnings, as
    ``openstack mfa status`` shows them, with the forms that change them."""

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        data = None
        try:
            client = _client(request)
            user = keystone.own_user(client)
            data = status_flow.status(client, user, is_self=True)
        except pages.ERRORS as exc:
            messages.error(request, str(exc))
        return shortcuts.render(
            request,
            'settings/mfa/index.html',
            {
                'status': data,
                'enroll_form': forms.StartEnrollForm(),
                'proof_form': forms.ProofForm(),
                'page_title': _('Multi-factor'),
            },
        )


@method_decorator(debug.sensitive_post_parameters(*_SENSITIVE), 'dispatch')
@method_decorator(pages.no_store, 'dispatch')
@method_decorator(pages.forgets_secrets, 'dispatch')
class EnrollView(generic.View):
    """A new device: the QR code, then the code, then recovery codes."""

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        return shortcuts.redirect(INDEX)

    def post(self, request: http.HttpRequest) -> http.HttpResponse:
        if 'sealed' in request.POST:
            return self._finish(request)
        return self._start(request)

    def _start(self, request: http.HttpRequest) -> http.HttpResponse:
        form = forms.StartEnrollForm(request.POST)
        if not form.is_valid():
            return _back(request, _form_error(form))
        try:
            client = _client(request)
            user = keystone.own_user(client)
            # NOTE: reads and checks only: the person may close the page
            # on the QR code and nothing has changed.
            plan = enroll_plan.prepare(
                client, user, name=form.cleaned_data['name'] or None
            )
        except pages.ERRORS as exc:
            return _back(request, str(exc))
        secret = totp.generate_secret()
        value = {'secret': secret, 'name': plan.name}
        token = sealed.seal(
            value,
            secret_key=settings.SECRET_KEY,
            user_id=request.user.id,
            purpose=ENROLL_PURPOSE,
        )
        return self._show(request, client, user, plan, secret, token)

    def _show(
        self,
        request: http.HttpRequest,
        client: mfa_client.MFAClient,
        user: mfa_client.User,
        plan: enroll_plan.EnrollPlan,
        secret: str,
        token: str,
    ) -> http.HttpResponse:
        url = keystone.keystone_url(request, settings)
        region = getattr(request.user, 'services_region', None)
        domain = getattr(request.user, 'user_domain_name', None)
        label = f'{user.name}@{domain or user.domain_id}'
        uri = totp.provisioning_uri(secret, label, pages.issuer(url, region))
        grouped = ' '.join(secret[i : i + 4] for i in range(0, len(secret), 4))
        return shortcuts.render(
            request,
            'settings/mfa/enroll.html',
            {
                'name': plan.name,
                'qr': pages.qr_data_uri(uri),
                'secret': grouped,
                'uri': uri,
                'warnings': plan.warnings,
                'form': forms.FinishEnrollForm(initial={'sealed': token}),
                'max_minutes': sealed.MAX_AGE // 60,
                'page_title': _('Enroll a device'),
            },
        )

    def _finish(self, request: http.HttpRequest) -> http.HttpResponse:
        form = forms.FinishEnrollForm(request.POST)
        token = request.POST.get('sealed', '')
        try:
            value = sealed.unseal(
                token,
                secret_key=settings.SECRET_KEY,
                user_id=request.user.id,
                purpose=ENROLL_PURPOSE,
            )
            secret, name = str(value['secret']), str(value['name'])
        except (sealed.Expired, KeyError) as exc:
            return _back(request, str(exc))
        try:
            client = _client(request)
            user = keystone.own_user(client)
            # NOTE: planned again on a fresh read: the account may have
            # changed since the QR code was shown.
            plan = enroll_plan.prepare(client, user, name=name)
        except pages.ERRORS as exc:
            return _back(request, str(exc))
        if not form.is_valid():
            messages.error(request, _form_error(form))
            return self._show(request, client, user, plan, secret, token)
        passcode = form.cleaned_data['passcode']

        def passcodes(attempt: int, hint: str) -> str | None:
            # NOTE: one code per request: a refused one sends the person
            # back to this page for the next.
            return passcode if attempt == 0 else None

        try:
            result = enroll_flow.enroll(
                client, plan, secret=secret, passcodes=passcodes
            )
        except workflow_errors.PasscodeRefused as exc:
            # NOTE: nothing was enrolled: the same secret, another code.
            messages.error(request, str(exc))
            return self._show(request, client, user, plan, secret, token)
        except pages.ERRORS as exc:
            return _back(request, str(exc))
        # NOTE: a set-up at sign-in that was due is judged again on the
        # next page (a device now exists: the dashboard opens).
        sign_in_setup.forget(request)
        LOG.info(
            'User %s enrolled TOTP device %s (enforced: %s).',
            result.user_id,
            result.device_id,
            result.enforced,
        )
        return _codes_page(
            request,
            result.recovery_codes,
            {
                'enrolled': result,
                'warnings': result.warnings,
                'repaired': result.repaired,
            },
        )


@method_decorator(debug.sensitive_post_parameters(*_SENSITIVE), 'dispatch')
@method_decorator(pages.forgets_secrets, 'dispatch')
class RemoveView(generic.View):
    """Remove a device, with a current code or a recovery code."""

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        return shortcuts.redirect(INDEX)

    def post(self, request: http.HttpRequest) -> http.HttpResponse:
        form = forms.RemoveForm(request.POST)
        if not form.is_valid():
            return _back(request, _form_error(form))
        try:
            client = _client(request)
            user = keystone.own_user(client)
            removal = remove_flow.plan(
                client,
                user,
                device=form.cleaned_data['device'],
                all_devices=False,
            )
            used = proof_flow.when_due(
                client,
                removal.account,
                is_self=True,
                has_device=removal.account.has_second_factor,
                # NOTE: a Horizon session may be hours old: fresh proof.
                fresh=False,
                given=form.cleaned_data['proof'],
                ask=_no_proof,
            )
            result = remove_flow.remove(client, removal, used_recovery=used)
        except pages.ERRORS as exc:
            return _back(request, str(exc))
        if result.last:
            messages.success(
                request,
                _(
                    'Removed %(devices)s: no TOTP device is left and MFA is '
                    'off; you sign in with your password alone.'
                )
                % {'devices': ', '.join(result.removed)},
            )
        else:
            left = len(removal.account.recovery_ids)
            messages.success(
                request,
                _(
                    'Removed %(devices)s; still enrolled: %(left)s '
                    '(%(codes)d recovery codes left).'
                )
                % {
                    'devices': ', '.join(result.removed),
                    'left': ', '.join(result.left) or _('no other device'),
                    'codes': left,
                },
            )
        return shortcuts.redirect(INDEX)


@method_decorator(debug.sensitive_post_parameters(*_SENSITIVE), 'dispatch')
@method_decorator(pages.no_store, 'dispatch')
@method_decorator(pages.forgets_secrets, 'dispatch')
class RecoveryView(generic.View):
    """New recovery codes, with a current code or a recovery code."""

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        return shortcuts.redirect(INDEX)

    def post(self, request: http.HttpRequest) -> http.HttpResponse:
        form = forms.ProofForm(request.POST)
        if not form.is_valid():
            return _back(request, _form_error(form))
        try:
            client = _client(request)
            user = keystone.own_user(client)
            account = mfa_account.load_account(client, user)
            # NOTE: what cannot work is refused before the code is used.
            recovery_flow.check(client, account)
            used = proof_flow.when_due(
                client,
                account,
                is_self=True,
                has_device=account.has_second_factor,
                fresh=False,
                given=form.cleaned_data['proof'],
                ask=_no_proof,
            )
            codes = recovery_flow.regenerate(
                client,
                account,
                count=recovery.DEFAULT_COUNT,
                used_recovery=used,
            )
        except pages.ERRORS as exc:
            return _back(request, str(exc))
        return _codes_page(request, codes, {'regenerated': True})


@method_decorator(debug.sensitive_post_parameters(*_SENSITIVE), 'dispatch')
@method_decorator(pages.no_store, 'dispatch')
@method_decorator(pages.forgets_secrets, 'dispatch')
class ContinueView(generic.View):
    """A sign-in the guard limited (:mod:`mfa_osc.dashboard.guarded`):
    without a device, on to the set-up; with one, its code, then the
    dashboard."""

    def _has_device(self, request: http.HttpRequest) -> bool | None:
        """Whether the person has a TOTP device (None: unreadable)."""
        try:
            client = _client(request)
            account = mfa_account.load_account(
                client, keystone.own_user(client)
            )
        except pages.ERRORS as exc:
            messages.error(request, str(exc))
            return None
        return bool(account.devices)

    def _page(
        self, request: http.HttpRequest, form: forms.ContinueForm
    ) -> http.HttpResponse:
        return shortcuts.render(
            request,
            'settings/mfa/continue.html',
            {'form': form, 'page_title': _('Multi-factor')},
        )

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        if not guarded.is_limited(request):
            return shortcuts.redirect('horizon:user_home')
        if self._has_device(request) is False:
            return shortcuts.redirect(INDEX)
        return self._page(request, forms.ContinueForm())

    def post(self, request: http.HttpRequest) -> http.HttpResponse:
        if not guarded.is_limited(request):
            return shortcuts.redirect('horizon:user_home')
        form = forms.ContinueForm(request.POST)
        if not form.is_valid():
            messages.error(request, _form_error(form))
            return self._page(request, forms.ContinueForm())
        try:
            guarded.finish(request, form.cleaned_data['passcode'])
        except guarded.CodeRefused as exc:
            messages.error(request, str(exc))
            return self._page(request, forms.ContinueForm())
        sign_in_setup.forget(request)
        LOG.info(
            'User %s signed in with a code after the set-up at sign-in '
            '(behind the MFA guard).',
            request.user.id,
        )
        return shortcuts.redirect(settings.LOGIN_REDIRECT_URL)
