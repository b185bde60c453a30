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

"""A guard in front of Keystone's sign-in (``POST /v3/auth/tokens``).

``mfa_osc.guard.wsgi:application`` is a WSGI application that wraps
Keystone's own: operators serve it instead of
``keystone.wsgi.api:application``, with the same ``keystone.conf``, and
Keystone's code stays as it is. It counts wrong passcodes and locks a
user's TOTP sign-in past ``[mfa_guard] max_failures``, refuses a passcode
that signed in already, and holds a domain's MFA policy (the one
``openstack mfa policy set`` stores) for every client. Everything but a
token request passes through untouched. ``doc/source/admin/guard.rst``
is the operator's page.

The modules, one job each:

* :mod:`~mfa_osc.guard.wsgi`: the application object, made on import;
* :mod:`~mfa_osc.guard.app`: loads Keystone's application and
  configuration and builds the guard around it;
* :mod:`~mfa_osc.guard.config`: the ``[mfa_guard]`` options and the
  start-up checks of ``[cache]``;
* :mod:`~mfa_osc.guard.store`: the shared state (memcached), or a
  per-process one;
* :mod:`~mfa_osc.guard.guard`: the request logic;
* :mod:`~mfa_osc.guard.answers`: the refusals, as clients read them (the
  contract);
* :mod:`~mfa_osc.guard.policy`: the domain policy's decision on a token;
* :mod:`~mfa_osc.guard.keystone`: reads and writes through Keystone's own
  provider APIs, in process.

Nothing else in mfa_osc imports this package: it runs inside Keystone's
server, not in clients.
"""
