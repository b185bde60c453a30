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

"""Keystone's WSGI application behind the guard: how it is put together.

:func:`build` loads Keystone's own application as ``keystone.wsgi.api``
does (``keystone.server.wsgi.initialize_public_application()``, which
reads ``OS_KEYSTONE_CONFIG_FILES`` or ``OS_KEYSTONE_CONFIG_DIR`` as
Keystone does, and exists on every Keystone release, those without
``keystone.wsgi`` included) and hands it to :func:`wrap`, which reads the
``[mfa_guard]`` settings from the same configuration and wraps it in
:class:`~mfa_osc.guard.guard.Guard`. :func:`wrap` also takes a Keystone
application loaded otherwise, or one already wrapped (the throwaway test
Keystone wraps its own ``REMOTE_USER`` stand-in this way), once Keystone
is configured. A configuration that cannot give the guard its shared
state raises :exc:`~mfa_osc.guard.config.GuardConfigError`, logged as one
sentence: the worker does not start (uWSGI's ``need-app`` then refuses to
serve).
"""

from __future__ import annotations

import logging
from typing import Any

from mfa_osc.guard import config
from mfa_osc.guard import guard
from mfa_osc.guard import keystone as guard_keystone

LOG = logging.getLogger(__name__)


def wrap(inner: Any) -> guard.Guard:
    """``inner`` (Keystone's application, configured) behind the guard."""
    # NOTE: imported here: importing this module (tests, the docs) must
    # not load Keystone.
    from keystone import conf as keystone_conf

    conf: Any = keystone_conf.CONF
    config.register(conf)
    error: config.GuardConfigError | None = None
    try:
        store = config.make_store(conf)
    except config.GuardConfigError as exc:
        error = exc
    if error is not None:
        # NOTE: logged outside the except block: oslo.log would append the
        # exception, the same sentence again.
        LOG.critical('%s', error)
        raise error
    settings = config.settings(conf)
    LOG.info(
        'MFA guard: on (max_failures %d, lockout_duration %d s, replay '
        'protection %s, policy cache %d s).',
        settings.max_failures,
        settings.lockout_duration,
        'on' if settings.replay_protection else 'off',
        settings.policy_cache_time,
    )
    directory = guard_keystone.KeystoneDirectory()
    return guard.Guard(inner, settings, store, directory)


def build() -> guard.Guard:
    """Keystone's own application behind the guard."""
    from keystone.server import wsgi as keystone_wsgi

    return wrap(keystone_wsgi.initialize_public_application())
