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


"""``/identity/mfa/``: the users' table, its CSV, the policy form and
enforcing MFA for a domain."""

from __future__ import annotations

from django.urls import re_path

from mfa_osc.dashboard.identity_mfa import views

urlpatterns = [
    re_path(r'^$', views.IndexView.as_view(), name='index'),
    re_path(r'^audit\.csv$', views.audit_csv, name='csv'),
    re_path(r'^policy/$', views.PolicyView.as_view(), name='policy'),
    re_path(r'^enforce/$', views.DomainEnforceView.as_view(), name='enforce'),
]
