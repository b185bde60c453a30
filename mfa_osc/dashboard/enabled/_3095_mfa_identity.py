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

# Identity -> Multi-factor (/identity/mfa/): the administrators' audit,
# enforce, reset and the domains' MFA policy.
# NOTE: numbered after Horizon's identity panels (_30xx), which register
# the Identity dashboard this panel joins.

PANEL = 'mfa'
PANEL_DASHBOARD = 'identity'
PANEL_GROUP = 'default'
ADD_PANEL = 'mfa_osc.dashboard.identity_mfa.panel.MultiFactorAdminPanel'
ADD_INSTALLED_APPS = ['mfa_osc.dashboard.identity_mfa']
