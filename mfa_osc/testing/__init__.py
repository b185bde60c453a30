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

"""A throwaway local Keystone, for testing MFA against a real server.

A public testing API: mfa-osc's functional tests, ``tox -e keystone``,
``tox -e demo`` and the benchmarks run it, and so can anyone who wants to
try an MFA set-up (rules, a domain's policy, the ``openstack mfa``
commands, a clouds.yaml) on a Keystone of their own before a real cloud.
Install it with its dependencies, which mfa-osc itself does not need::

    pip install 'mfa-osc[testing]'

The ``testing`` extra installs Keystone, uWSGI and cryptography at the
versions of ``keystone-requirements.txt`` (what tox installs). It runs on
Linux: the server runs in subprocesses (Keystone is never imported into
the caller's process), which end with the process that started them, even
one killed with SIGKILL.

Public, imported from their modules (this package imports nothing, so
that uWSGI loading :mod:`mfa_osc.testing.remote_user` loads nothing
else):

* :mod:`mfa_osc.testing.keystone`: :class:`~.keystone.LocalKeystone` (a
  context manager: a sqlite Keystone with ``totp`` enabled on 127.0.0.1,
  over HTTPS with ``tls=True``, behind mfa-osc's guard with
  ``guard=True``; ``os_env()``, ``admin_session()``,
  ``admin_adapter()``, ``create_user()``, ``set_mfa_rules()``,
  ``create_totp_credential()``), :class:`~.keystone.KeystoneUser`,
  :exc:`~.keystone.KeystoneNotInstalledError`,
  :exc:`~.keystone.KeystoneStartError`, ``KEYSTONE_BIN_ENV`` (run another
  Keystone release from its own virtualenv), ``find_executable``,
  ``process_group_members`` and ``main`` (``python -m
  mfa_osc.testing.keystone``: start one by hand and print its ``OS_*``
  settings);
* :mod:`mfa_osc.testing.memcached`: :class:`~.memcached.LocalMemcached`
  (Debian's ``memcached`` on a free port of 127.0.0.1), which
  ``LocalKeystone(guard=True)`` starts for Keystone behind mfa-osc's
  guard, and :exc:`~.memcached.MemcachedNotInstalledError`;
* :mod:`mfa_osc.testing.redis_server`: :class:`~.redis_server.LocalRedis`
  (Debian's ``redis-server`` on a free port of 127.0.0.1, in memory),
  the guard's other store, and :exc:`~.redis_server.RedisNotInstalledError`;
  both on :class:`mfa_osc.testing.daemon.LoopbackDaemon`;
* :mod:`mfa_osc.testing.horizon`: :class:`~.horizon.LocalHorizon`
  (Horizon from PyPI, with mfa-osc's panels enabled and Horizon's TOTP
  step on, served by ``django-admin runserver`` against a
  :class:`~.keystone.LocalKeystone`; ``pip install 'mfa-osc[horizon]'``
  too), for the browser tests (``tox -e horizon``);
* :mod:`mfa_osc.testing.terminal`: ``run_on_pty`` (run a program on a
  pseudo-terminal and answer its prompts, as a person at a terminal
  would), ``Answer``, ``PtyTimeoutError``, ``DEFAULT_TIMEOUT``.

Other names (a leading underscore, or not listed here) may change in any
release; a change to a listed one comes with a release note. So may the
modules :class:`~.keystone.LocalKeystone` is made of, which it imports:
:mod:`~mfa_osc.testing.conf` (its ``keystone.conf``),
:mod:`~mfa_osc.testing.manage` (``keystone-manage``),
:mod:`~mfa_osc.testing.uwsgi` (the server's command line),
:mod:`~mfa_osc.testing.server` (its processes and their logs),
:mod:`~mfa_osc.testing.tls` (its CA and HTTPS proxy),
:mod:`~mfa_osc.testing.processes` (children that die with their owner),
:mod:`~mfa_osc.testing.admin` (users, rules and credentials),
:mod:`~mfa_osc.testing.errors` and :mod:`~mfa_osc.testing.cli` (the
command line).

:mod:`mfa_osc.testing.remote_user` is for the throwaway Keystone only: a
WSGI application that sets ``REMOTE_USER`` from a request header, so that
anyone who can reach the server may claim to be any user. Never serve a
real Keystone with it.

Nothing else in ``mfa_osc`` imports this package (``.importlinter``).
"""
