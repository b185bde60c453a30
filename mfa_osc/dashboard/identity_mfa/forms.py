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


"""The forms of Identity -> Multi-factor: a domain's MFA policy
(``openstack mfa policy set``'s options: field names ``domain``,
``deadline`` and ``roles``) and enforcing MFA for a domain (``domain``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PolicyForm(forms.Form):
    domain = forms.CharField(label=_('Domain (name or ID)'), max_length=255)
    deadline = forms.CharField(
        label=_('Deadline'),
        max_length=10,
        required=False,
        help_text=_(
            'YYYY-MM-DD, today or later: covered users without a device '
            'set one up at their next sign-in after it. Empty: in force '
            'at once.'
        ),
    )
    roles = forms.CharField(
        label=_('Roles'),
        max_length=1024,
        required=False,
        help_text=_(
            'Only users holding one of these roles (names, separated by '
            'commas) on the domain or one of its projects; empty: every '
            'user of the domain.'
        ),
    )

    def role_names(self) -> list[str]:
        text = str(self.cleaned_data.get('roles') or '')
        return [
            r.strip() for r in text.replace(' ', ',').split(',') if r.strip()
        ]


class DomainEnforceForm(forms.Form):
    """``openstack mfa enforce --all --domain``: the field ``domain``."""

    domain = forms.CharField(label=_('Domain (name or ID)'), max_length=255)
