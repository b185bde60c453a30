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


"""mfa-osc's Horizon plugin: Settings -> Multi-factor (``/settings/mfa/``),
Identity -> Multi-factor (``/identity/mfa/``) and the set-up at sign-in.

Installed with ``pip install 'mfa-osc[horizon]'`` and enabled by copying
the files of :mod:`mfa_osc.dashboard.enabled` into Horizon's
``openstack_dashboard/local/enabled/`` (doc/source/admin/horizon.rst).

The pages are views over mfa-osc's own workflows (:mod:`mfa_osc.workflows`),
as the ``openstack mfa`` commands are: the same checks, the same order of
changes, the same account model. Each panel is a sub-package
(:mod:`~mfa_osc.dashboard.settings_mfa`, the user's own page;
:mod:`~mfa_osc.dashboard.identity_mfa`, the administrators', with
:mod:`~mfa_osc.dashboard.audit`, the audit a page at a time); what the
panels share is :mod:`~mfa_osc.dashboard.keystone` (mfa-osc's Keystone
client built from Horizon's request), :mod:`~mfa_osc.dashboard.sealed`
(a secret carried between two requests, encrypted) and
:mod:`~mfa_osc.dashboard.pages` (QR codes, downloads, errors, caching).
:mod:`~mfa_osc.dashboard.sign_in` is the TOTP step of Horizon's sign-in
that also takes a recovery code (for ``AUTHENTICATION_PLUGINS``);
:mod:`~mfa_osc.dashboard.sign_in_setup` (a middleware, with the verdict of
:mod:`~mfa_osc.dashboard.set_up`) sends a person a domain's MFA policy
requires to set up a device to Settings -> Multi-factor after signing in.
"""
