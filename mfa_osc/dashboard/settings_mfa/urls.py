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


"""``/settings/mfa/``: the status page and the forms it posts to."""

from __future__ import annotations

from django.urls import re_path

from mfa_osc.dashboard.settings_mfa import views

urlpatterns = [
    re_path(r'^$', views.IndexView.as_view(), name='index'),
    re_path(r'^enroll/$', views.EnrollView.as_view(), name='enroll'),
    re_path(r'^remove/$', views.RemoveView.as_view(), name='remove'),
    re_path(r'^recovery/$', views.RecoveryView.as_view(), name='recovery'),
    re_path(r'^continue/$', views.ContinueView.as_view(), name='continue'),
]
