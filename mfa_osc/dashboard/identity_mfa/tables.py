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


"""The ``mfa_users`` table: one row per user (by user ID), with the row
actions ``enforce``, ``reset`` and ``unlock`` and the table action
``enforce`` for the chosen users.

Its names are stable hooks for automation and tests: Horizon gives the
row actions the ids ``mfa_users__row_<user ID>__action_<name>`` and the
rows ``mfa_users__row__<user ID>``; each cell has the class
``mfa-<column>``.

Each action runs the workflow the matching command runs (``openstack mfa
enforce --user``, ``remove --user --all``, ``unlock --user``), with the
administrator's own token: the same checks, the same order. A workflow's
refusal (what would leave an account weaker or locked out) is its own
sentence as Horizon's error message.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import sys
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext_lazy
from horizon import exceptions
from horizon import messages
from horizon import tables

from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc.dashboard import keystone
from mfa_osc.dashboard import pages
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import errors as workflow_errors
from mfa_osc.workflows import proof as proof_flow
from mfa_osc.workflows import remove as remove_flow
from mfa_osc.workflows import status as status_flow
from mfa_osc.workflows import unlock as unlock_flow

LOG = logging.getLogger(__name__)


def _run(request: Any, work: Callable[[mfa_client.MFAClient], None]) -> None:
    """Run one user's change; a refusal is one error message, and the
    table's own "Unable to" message is not added (HandledException)."""
    try:
        work(keystone.client_for(request, settings))
    except pages.ERRORS as exc:
        messages.error(request, str(exc))
        raise exceptions.HandledException(sys.exc_info()) from None


class EnforceAction(tables.BatchAction):
    """``openstack mfa enforce --user``: rules that require the code once
    a verified device exists, else guard rules (the code alone refused)."""

    name = 'enforce'
    help_text = gettext_lazy(
        'Users with a verified device then need their password and a code; '
        'users without one keep signing in as before, and a code alone no '
        'longer signs them in.'
    )

    @staticmethod
    def action_present(count: int) -> Any:
        return ngettext_lazy('Enforce MFA', 'Enforce MFA', count)

    @staticmethod
    def action_past(count: int) -> Any:
        return ngettext_lazy('Enforced MFA for', 'Enforced MFA for', count)

    def allowed(self, request: Any, datum: Any = None) -> bool:
        return datum is None or datum.state != mfa_rules.STATE_ENFORCED

    def action(self, request: Any, obj_id: str) -> None:
        def work(client: mfa_client.MFAClient) -> None:
            user = client.get_user(obj_id)
            result = enforce_flow.enforce(client, user)
            LOG.info(
                'MFA enforce for user %s: %s.', result.user_id, result.action
            )
            if result.action == enforce_flow.ACTION_GUARDED:
                messages.info(
                    request,
                    _(
                        '%(user)s has no verified device yet, so MFA is not '
                        'required; guard rules are on: the code alone no '
                        'longer signs in, %(still)s.'
                    )
                    % {
                        'user': user.name or user.id,
                        'still': result.still_signs_in,
                    },
                )
            if result.sessions_failed:
                messages.warning(
                    request,
                    _(
                        'MFA is enforced for %(user)s, but their older tokens '
                        'could not be revoked: %(sessions)s.'
                    )
                    % {
                        'user': user.name or user.id,
                        'sessions': result.sessions,
                    },
                )

        _run(request, work)


def _own_reset() -> str:
    raise workflow_errors.WorkflowError(
        _(
            'Your own devices are removed from Settings -> Multi-factor, '
            'with a current code or a recovery code.'
        )
    )


class ResetAction(tables.BatchAction):
    """``openstack mfa remove --user --all``: the user who lost their
    phone; devices, recovery codes and bookkeeping go, the rules go back
    to what they were before enrolling (relaxed before anything is
    deleted)."""

    name = 'reset'
    action_type = 'danger'
    help_text = gettext_lazy(
        'The user signs in with their password alone again: check who '
        'asked for it first, and have them enroll again right away.'
    )

    @staticmethod
    def action_present(count: int) -> Any:
        return ngettext_lazy('Reset MFA', 'Reset MFA', count)

    @staticmethod
    def action_past(count: int) -> Any:
        return ngettext_lazy('Reset MFA of', 'Reset MFA of', count)

    def allowed(self, request: Any, datum: Any = None) -> bool:
        return datum is not None and datum.id != request.user.id

    def action(self, request: Any, obj_id: str) -> None:
        def work(client: mfa_client.MFAClient) -> None:
            user = client.get_user(obj_id)
            removal = remove_flow.plan(
                client, user, device=None, all_devices=True
            )
            used = proof_flow.when_due(
                client,
                removal.account,
                is_self=user.id == request.user.id,
                has_device=removal.account.has_second_factor,
                fresh=False,
                given=None,
                ask=_own_reset,
            )
            result = remove_flow.remove(client, removal, used_recovery=used)
            LOG.info(
                'MFA reset for user %s: removed %s.',
                user.id,
                ', '.join(result.removed) or 'nothing',
            )
            if result.note:
                messages.info(request, f'{result.note}.')

        _run(request, work)


class UnlockAction(tables.BatchAction):
    """``openstack mfa unlock --user``: end the guard's TOTP lock."""

    name = 'unlock'

    @staticmethod
    def action_present(count: int) -> Any:
        return ngettext_lazy('End TOTP lock', 'End TOTP locks', count)

    @staticmethod
    def action_past(count: int) -> Any:
        return ngettext_lazy(
            'Ended the TOTP lock of', 'Ended the TOTP locks of', count
        )

    def allowed(self, request: Any, datum: Any = None) -> bool:
        return datum is not None and bool(datum.totp_locked)

    def action(self, request: Any, obj_id: str) -> None:
        def work(client: mfa_client.MFAClient) -> None:
            user = unlock_flow.find_user(client, obj_id, None)
            unlock_flow.unlock(client, user)

        _run(request, work)


def _lock(row: status_flow.AuditRow) -> str:
    if not row.totp_locked:
        return ''
    return row.totp_locked_until or str(_('locked'))


def _policy(row: status_flow.AuditRow) -> str:
    if not row.policy:
        return ''
    deadline = f' ({row.deadline})' if row.deadline else ''
    return f'{row.compliance or ""}{deadline}'


def _column(name: str, label: Any, value: Any = None, **kw: Any) -> Any:
    return tables.Column(
        value or name, verbose_name=label, classes=(f'mfa-{name}',), **kw
    )


class MFAUsersTable(tables.DataTable):
    name = _column('name', gettext_lazy('User'))
    domain_id = _column('domain_id', gettext_lazy('Domain ID'))
    state = _column('state', gettext_lazy('MFA'))
    devices = _column('devices', gettext_lazy('Devices'))
    recovery = _column(
        'recovery', gettext_lazy('Recovery codes'), 'recovery_codes_left'
    )
    admin = _column(
        'admin',
        gettext_lazy('Admin'),
        filters=(lambda v: _('yes') if v else '',),
    )
    policy = _column('policy', gettext_lazy('Domain policy'), _policy)
    lock = _column('lock', gettext_lazy('TOTP locked until'), _lock)

    #: The marker of the previous page ('' the first), set by the view.
    previous_marker: str | None = None

    class Meta:
        name = 'mfa_users'
        verbose_name = gettext_lazy('Multi-factor')
        table_actions = (EnforceAction,)
        row_actions = (EnforceAction, UnlockAction, ResetAction)
        # NOTE: Keystone pages forward only: the previous page's link
        # carries that page's own marker (the view's trail), not a
        # prev_marker Keystone could not answer.
        prev_pagination_param = 'marker'

    def get_object_id(self, datum: Any) -> str:
        return str(datum.id)

    def get_object_display(self, datum: Any) -> str:
        return str(datum.name or datum.id)

    def get_prev_marker(self) -> str:
        return self.previous_marker or ''
