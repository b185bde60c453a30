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


"""Identity -> Multi-factor: the users' table, its CSV, the policy page,
enforcing MFA for a domain.

The table shows one page of Keystone's list of users at a time (Horizon's
page size, ``API_RESULT_PAGE_SIZE``, the person's own in Settings): a page
view reads one page of users and those users' credentials, never the
whole cloud (:mod:`mfa_osc.dashboard.audit`). The CSV is the whole audit,
streamed a page of Keystone's list at a time.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django import http
from django import shortcuts
from django.conf import settings
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import generic
from horizon import messages
from horizon import tables as horizon_tables
from horizon.utils import functions

from mfa_osc import client as mfa_client
from mfa_osc.dashboard import audit
from mfa_osc.dashboard import keystone
from mfa_osc.dashboard import pages
from mfa_osc.dashboard.identity_mfa import domain_enforce
from mfa_osc.dashboard.identity_mfa import forms
from mfa_osc.dashboard.identity_mfa import tables
from mfa_osc.workflows import bulk as bulk_flow
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import policy as policy_flow
from mfa_osc.workflows import status as status_flow

LOG = logging.getLogger(__name__)

INDEX = 'horizon:identity:mfa:index'
POLICY = 'horizon:identity:mfa:policy'
ENFORCE = 'horizon:identity:mfa:enforce'
#: The session key of the trail of page markers (user IDs only).
TRAIL_KEY = 'mfa_osc_audit_trail'


def _client(request: http.HttpRequest) -> mfa_client.MFAClient:
    return keystone.client_for(request, settings)


@method_decorator(pages.forgets_secrets, 'dispatch')
class IndexView(horizon_tables.DataTableView):
    table_class = tables.MFAUsersTable
    template_name = 'identity/mfa/index.html'
    page_title = _('Multi-factor')

    _more = False
    _previous: str | None = None

    def get_data(self) -> list[status_flow.AuditRow]:
        request = self.request
        marker = request.GET.get('marker') or ''
        try:
            client = _client(request)
            rows, following = audit.page(
                client,
                domain_id=None,
                size=functions.get_page_size(request),
                marker=marker or None,
                admins=status_flow.admin_ids(client),
            )
        except pages.ERRORS as exc:
            messages.error(request, str(exc))
            return []
        trail = request.session.get(TRAIL_KEY)
        trail, self._previous = audit.trail_step(
            trail if isinstance(trail, list) else [], marker, following
        )
        request.session[TRAIL_KEY] = trail
        self._more = following is not None
        return rows

    def has_more_data(self, table: Any) -> bool:
        return self._more

    def has_prev_data(self, table: Any) -> bool:
        table.previous_marker = self._previous
        return self._previous is not None


@pages.forgets_secrets
def audit_csv(request: http.HttpRequest) -> http.HttpResponseBase:
    """The whole audit as ``mfa-audit.csv``, streamed: one page of
    Keystone's list of users read as the previous one is sent."""
    try:
        client = _client(request)
        admins = status_flow.admin_ids(client)
        stream = audit.every_page(client, domain_id=None, admins=admins)
        # NOTE: the first page before the answer starts: a refusal
        # (Keystone's policy, a token gone) is a message, not a file.
        first = next(stream)
    except pages.ERRORS as exc:
        messages.error(request, str(exc))
        return shortcuts.redirect(INDEX)

    def pages_then() -> Any:
        yield first
        try:
            yield from stream
        except pages.ERRORS as exc:
            # NOTE: the answer is cut (the browser reports a failed
            # download), never a short file that looks whole.
            LOG.error('The MFA audit CSV stopped: %s', exc)
            raise

    response = http.StreamingHttpResponse(
        pages.forgetting(audit.csv_lines(pages_then())),
        content_type='text/csv; charset=utf-8',
    )
    response['Content-Disposition'] = 'attachment; filename="mfa-audit.csv"'
    response['Cache-Control'] = 'no-store'
    return response


def _rows_message(
    request: http.HttpRequest, rows: list[bulk_flow.BulkRow]
) -> None:
    failed = [r for r in rows if r.failed]
    done = [r for r in rows if not r.failed]
    if done:
        messages.info(
            request,
            _('Changed %(count)d user(s) of the domain: %(users)s.')
            % {
                'count': len(done),
                'users': ', '.join(
                    f'{r.name or r.id} ({r.action})' for r in done
                ),
            },
        )
    for row in failed:
        messages.error(
            request,
            _('%(user)s: %(result)s')
            % {'user': row.name or row.id, 'result': row.result},
        )


@method_decorator(pages.forgets_secrets, 'dispatch')
class PolicyView(generic.View):
    """A domain's MFA policy: show, set (``openstack mfa policy set
    --required [--deadline] [--role]``) and unset."""

    def _domain(self, request: http.HttpRequest) -> str:
        return str(
            request.GET.get('domain')
            or getattr(request.user, 'user_domain_id', None)
            or 'default'
        )

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        domain = self._domain(request)
        policy = None
        try:
            policy = policy_flow.show(_client(request), domain)
        except pages.ERRORS as exc:
            messages.error(request, str(exc))
        initial: dict[str, Any] = {'domain': domain}
        if policy is not None:
            initial.update(
                deadline=policy.deadline or '', roles=', '.join(policy.roles)
            )
        return shortcuts.render(
            request,
            'identity/mfa/policy.html',
            {
                'domain': domain,
                'policy': policy,
                'form': forms.PolicyForm(initial=initial),
                'page_title': _('MFA policy'),
            },
        )

    def post(self, request: http.HttpRequest) -> http.HttpResponse:
        form = forms.PolicyForm(request.POST)
        if not form.is_valid():
            messages.error(request, _('Give the domain (name or ID).'))
            return shortcuts.redirect(POLICY)
        domain = form.cleaned_data['domain']
        back = f'{reverse(POLICY)}?{urlencode({"domain": domain})}'
        try:
            client = _client(request)
            if request.POST.get('action') == 'unset':
                _domain_id, rows = policy_flow.unset(client, domain)
                messages.success(
                    request,
                    _('The MFA policy of domain %(domain)s is removed.')
                    % {'domain': domain},
                )
            else:
                policy, rows = policy_flow.set_policy(
                    client,
                    domain,
                    deadline=form.cleaned_data['deadline'] or None,
                    roles=form.role_names(),
                )
                messages.success(
                    request,
                    _('MFA is required in domain %(domain)s%(when)s.')
                    % {
                        'domain': domain,
                        'when': _(' from %s') % policy.deadline
                        if policy.deadline
                        else '',
                    },
                )
        except pages.ERRORS as exc:
            messages.error(request, str(exc))
            return shortcuts.redirect(back)
        _rows_message(request, rows)
        return shortcuts.redirect(back)


@method_decorator(pages.forgets_secrets, 'dispatch')
class DomainEnforceView(generic.View):
    """``openstack mfa enforce --all --domain D`` (``--dry-run``): the
    command's workflow, its summary as Horizon messages and its rows in
    the page (:mod:`~mfa_osc.dashboard.identity_mfa.domain_enforce`)."""

    template_name = 'identity/mfa/enforce.html'

    def _render(
        self,
        request: http.HttpRequest,
        form: forms.DomainEnforceForm,
        outcome: domain_enforce.Outcome | None = None,
    ) -> http.HttpResponse:
        return shortcuts.render(
            request,
            self.template_name,
            {
                'form': form,
                'outcome': outcome,
                'summary': domain_enforce.summary(outcome) if outcome else '',
                'page_title': _('Enforce MFA for a domain'),
            },
        )

    def get(self, request: http.HttpRequest) -> http.HttpResponse:
        domain = request.GET.get('domain') or ''
        return self._render(
            request, forms.DomainEnforceForm(initial={'domain': domain})
        )

    def post(self, request: http.HttpRequest) -> http.HttpResponse:
        form = forms.DomainEnforceForm(request.POST)
        if not form.is_valid():
            messages.error(request, _('Give the domain (name or ID).'))
            return shortcuts.redirect(ENFORCE)
        domain = str(form.cleaned_data['domain']).strip()
        # NOTE: the button's formaction also says it in the query:
        # Horizon's scripts disable a form's buttons as it is sent, and a
        # disabled button's name and value are not sent. Anything else is
        # the dry run, which changes nothing.
        dry_run = 'enforce' not in (
            request.POST.get('action'),
            request.GET.get('action'),
        )
        try:
            outcome = domain_enforce.run(
                _client(request), domain, dry_run=dry_run
            )
        except pages.ERRORS as exc:
            # NOTE: the workflow refuses before it changes anyone (an
            # unknown domain, the enabled methods unknown, a list
            # Keystone refused).
            messages.error(request, str(exc))
            return self._render(request, form)
        LOG.info(
            'MFA enforce for domain %s%s: %d user(s) changed, %d not, '
            '%d needed nothing.',
            domain,
            ' (dry run)' if dry_run else '',
            len(outcome.changed),
            len(outcome.failed),
            outcome.unchanged,
        )
        report = messages.warning if outcome.failed else messages.success
        report(request, domain_enforce.summary(outcome))
        for sentence in domain_enforce.failed_sentences(outcome):
            messages.error(request, sentence)
        truncated = domain_enforce.truncated_sentence(outcome)
        if truncated:
            messages.warning(request, truncated)
        if any(
            r.id == request.user.id
            and r.sessions == enforce_flow.SESSIONS_ENDED
            for r in outcome.rows
        ):
            messages.warning(
                request,
                _(
                    'Your own older tokens were revoked with it, this '
                    "session's included: sign in again, with your password "
                    'and a code.'
                ),
            )
        return self._render(request, form, outcome)
