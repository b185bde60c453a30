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

# mfa-osc: the set-up at sign-in. A person whom a domain's MFA policy
# requires to set up a device (past the deadline, no device yet) is sent
# to Settings -> Multi-factor after signing in, until they have one
# (mfa_osc.dashboard.sign_in_setup). Copied into Horizon's
# openstack_dashboard/local/local_settings.d/, which Horizon runs inside
# its settings (doc/source/admin/horizon.rst).
# NOTE: a snippet, not an enabled file: enabled files add panels and
# apps, never middleware.

# NOTE: through globals(): Horizon runs this file with exec() inside its
# settings module, whose MIDDLEWARE is extended here (the name is not
# defined in this file itself, which linters and type checkers read).
_settings = globals()
_settings['MIDDLEWARE'] = (
    *_settings['MIDDLEWARE'],
    'mfa_osc.dashboard.sign_in_setup.SetUpRequired',
)
# Behind mfa-osc's guard, a sign-in its domain policy limits to an
# unscoped token is signed in with it for the set-up, then with a code
# (mfa_osc.dashboard.guarded): Horizon's back end, which fails such a
# sign-in, with that one case added.
_settings['AUTHENTICATION_BACKENDS'] = tuple(
    'mfa_osc.dashboard.guarded.KeystoneBackend'
    if backend == 'openstack_auth.backend.KeystoneBackend'
    else backend
    for backend in _settings['AUTHENTICATION_BACKENDS']
)
