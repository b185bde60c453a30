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


"""The forms of Settings -> Multi-factor.

Field names are stable hooks for automation and tests: ``name`` (the new
device), ``passcode`` (the code the app shows) and ``proof`` (a current
code or a recovery code).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class StartEnrollForm(forms.Form):
    name = forms.CharField(
        label=_('Device name'),
        max_length=64,
        required=False,
        help_text=_(
            'A name you will recognise, e.g. "phone" (default: device-N).'
        ),
    )


class FinishEnrollForm(forms.Form):
    #: The pending secret and name, sealed (mfa_osc.dashboard.sealed).
    sealed = forms.CharField(widget=forms.HiddenInput)
    passcode = forms.CharField(
        label=_('Code shown by the app'),
        max_length=16,
        widget=forms.TextInput(
            attrs={'autocomplete': 'one-time-code', 'inputmode': 'numeric'}
        ),
    )


class ProofForm(forms.Form):
    proof = forms.CharField(
        label=_('Current code or a recovery code'),
        max_length=64,
        widget=forms.TextInput(
            attrs={
                'autocomplete': 'one-time-code',
                'placeholder': _('Code or recovery code'),
            }
        ),
    )


class RemoveForm(ProofForm):
    device = forms.CharField(widget=forms.HiddenInput, max_length=255)


class ContinueForm(forms.Form):
    """The code that ends a sign-in the guard limited."""

    passcode = forms.CharField(
        label=_('Code shown by the app'),
        max_length=16,
        widget=forms.TextInput(
            attrs={'autocomplete': 'one-time-code', 'inputmode': 'numeric'}
        ),
    )
