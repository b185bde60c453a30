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


"""The panel Horizon lists under Identity (registered by the enabled
file's ``ADD_PANEL``), for administrators only."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
import horizon


class MultiFactorAdminPanel(horizon.Panel):
    name = _('Multi-factor')
    slug = 'mfa'
    # NOTE: as Horizon's own Users panel: whoever Horizon's copy of
    # Keystone's policy lets list and change users. Keystone still
    # decides each request (the page acts with the person's token).
    policy_rules = (
        ('identity', 'identity:list_users'),
        ('identity', 'identity:update_user'),
    )
