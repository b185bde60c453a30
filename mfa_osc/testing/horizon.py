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


"""A throwaway Horizon with mfa-osc's panels, against a LocalKeystone.

For mfa-osc's browser tests (``tox -e horizon``) and for trying the
panels by hand: Horizon as installed from PyPI (``pip install
'mfa-osc[horizon]'``), served by Django's ``runserver`` on 127.0.0.1,
with:

* mfa-osc's ``enabled`` files copied into Horizon's
  ``openstack_dashboard/local/enabled/``, as doc/source/admin/horizon.rst
  tells operators;
* mfa-osc's settings snippets (``mfa_osc/dashboard/local_settings.d/``:
  the set-up at sign-in) copied into Horizon's
  ``openstack_dashboard/local/local_settings.d/``, as operators do;
* a ``openstack_dashboard/local/local_settings.py`` written by
  :func:`write_local_settings`: Horizon's TOTP sign-in step on
  (``OPENSTACK_KEYSTONE_MFA_TOTP_ENABLED``, mfa-osc's
  :class:`~mfa_osc.dashboard.sign_in.TotpPlugin` first in
  ``AUTHENTICATION_PLUGINS``) and signed-cookie sessions, the strictest
  choice for secrets (the whole session is readable in the browser).
  NOTE: the file is the same for every server; what differs (Keystone's
  URL, the ``SECRET_KEY``) comes from the server's environment, so two
  servers of one virtualenv (one test module after another) do not write
  over each other's settings.

Both writes go into the installed Horizon package: use a virtualenv of
its own (tox's ``horizon`` environment), never a deployed Horizon's.
"""

from __future__ import annotations

import atexit
from collections.abc import Sequence
import contextlib
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types

from mfa_osc.testing import processes
from mfa_osc.testing import server

__all__ = [
    'HorizonNotInstalledError',
    'HorizonStartError',
    'LocalHorizon',
    'dashboard_dir',
    'install_enabled',
    'install_settings_snippets',
    'write_local_settings',
]

KEYSTONE_URL_ENV = 'MFA_OSC_HORIZON_KEYSTONE_URL'
SECRET_KEY_ENV = 'MFA_OSC_HORIZON_SECRET_KEY'  # noqa: S105 (a name)
CACERT_ENV = 'MFA_OSC_HORIZON_CACERT'

LOCAL_SETTINGS = f"""\
# Written by mfa_osc.testing.horizon for a throwaway Horizon: do not edit
# (it is written again). The values differ per server: they come from the
# environment of the server that reads this file.
import os

# NOTE: runserver serves Horizon's static files with DEBUG on.
DEBUG = True
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
SECRET_KEY = os.environ['{SECRET_KEY_ENV}']
OPENSTACK_KEYSTONE_URL = os.environ['{KEYSTONE_URL_ENV}']
OPENSTACK_SSL_CACERT = os.environ.get('{CACERT_ENV}') or None
OPENSTACK_KEYSTONE_DEFAULT_ROLE = 'member'
# Horizon's own TOTP step: password, then /auth/totp/<user>/, where
# mfa-osc's plugin (Horizon's, which also takes a recovery code) checks
# the code.
OPENSTACK_KEYSTONE_MFA_TOTP_ENABLED = True
AUTHENTICATION_PLUGINS = [
    'mfa_osc.dashboard.sign_in.TotpPlugin',
    'openstack_auth.plugin.password.PasswordPlugin',
    'openstack_auth.plugin.token.TokenPlugin',
]
# NOTE: signed cookies keep the whole session, readable, in the browser:
# what mfa-osc's pages put there is what anyone with the cookie reads.
SESSION_ENGINE = 'django.contrib.sessions.backends.signed_cookies'
CACHES = {{
    'default': {{
        'BACKEND': 'django.core.cache.backends.locmem.LocMemCache',
    }},
}}
"""


class HorizonNotInstalledError(RuntimeError):
    """Horizon (openstack_dashboard) or django-admin is not installed."""


class HorizonStartError(RuntimeError):
    """Horizon did not start; the message quotes its log."""


def dashboard_dir() -> str:
    """The installed ``openstack_dashboard`` package's directory."""
    spec = importlib.util.find_spec('openstack_dashboard')
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise HorizonNotInstalledError(
            "Horizon is not installed: pip install 'mfa-osc[horizon]'."
        )
    return str(locations[0])


def _enabled_source() -> str:
    spec = importlib.util.find_spec('mfa_osc.dashboard.enabled')
    assert spec is not None and spec.submodule_search_locations
    return str(list(spec.submodule_search_locations)[0])


def install_enabled(optional: Sequence[str] = ()) -> list[str]:
    """Copy mfa-osc's enabled files into Horizon's ``local/enabled/`` (the
    operator's one command, done in Python), and the ``optional`` ones
    named (``NAME.py.example`` copied as ``NAME.py``); the names copied.

    An optional file not named is removed from ``local/enabled/`` (an
    earlier server of this virtualenv may have copied it)."""
    target = os.path.join(dashboard_dir(), 'local', 'enabled')
    os.makedirs(target, exist_ok=True)
    source = _enabled_source()
    names = sorted(
        n
        for n in os.listdir(source)
        if n.startswith('_') and n.endswith('.py') and n != '__init__.py'
    )
    for name in names:
        shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    for example in os.listdir(source):
        if not example.endswith('.py.example'):
            continue
        name = example[: -len('.example')]
        if name[: -len('.py')] in optional:
            shutil.copyfile(
                os.path.join(source, example), os.path.join(target, name)
            )
            names.append(name)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(target, name))
    return names


def _settings_snippets_source() -> str:
    return os.path.join(os.path.dirname(_enabled_source()), 'local_settings.d')


def install_settings_snippets() -> list[str]:
    """Copy mfa-osc's settings snippets (the set-up at sign-in) into
    Horizon's ``local/local_settings.d/``, as doc/source/admin/horizon.rst
    tells operators; the names copied."""
    target = os.path.join(dashboard_dir(), 'local', 'local_settings.d')
    os.makedirs(target, exist_ok=True)
    source = _settings_snippets_source()
    names = sorted(
        n
        for n in os.listdir(source)
        if n.startswith('_') and n.endswith('.py')
    )
    for name in names:
        shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    return names


def write_local_settings() -> str:
    """Write the throwaway Horizon's ``local_settings.py``; its path."""
    path = os.path.join(dashboard_dir(), 'local', 'local_settings.py')
    try:
        with open(path) as f:
            if f.read() == LOCAL_SETTINGS:
                return path
    except FileNotFoundError:
        pass
    with open(path + '.new', 'w') as f:
        f.write(LOCAL_SETTINGS)
    os.replace(path + '.new', path)
    return path


def _django_admin() -> str:
    here = os.path.join(os.path.dirname(sys.executable), 'django-admin')
    found = here if os.access(here, os.X_OK) else shutil.which('django-admin')
    if not found:
        raise HorizonNotInstalledError(
            "django-admin was not found: pip install 'mfa-osc[horizon]'."
        )
    return found


class LocalHorizon:
    """Horizon on 127.0.0.1, served by ``django-admin runserver``.

    :param keystone_url: the Keystone Horizon signs in at (``.../v3``).
    :param cacert: the CA certificate of an HTTPS Keystone.
    :param startup_timeout: seconds to wait for the login page.
    :param optional: mfa-osc's optional enabled files to install too
        (:func:`install_enabled`), e.g.
        ``_5081_mfa_hide_user_credentials``.
    """

    def __init__(
        self,
        keystone_url: str,
        cacert: str | None = None,
        startup_timeout: float = 180.0,
        optional: Sequence[str] = (),
    ) -> None:
        self.keystone_url = keystone_url
        self.optional = tuple(optional)
        self.cacert = cacert
        self.secret_key = secrets.token_urlsafe(32)
        self.port: int | None = None
        self.work_dir: str | None = None
        self.log_path: str | None = None
        self.startup_seconds: float | None = None
        self._timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawner: processes.Spawner | None = None
        self._lock = threading.RLock()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError('LocalHorizon is not started')
        return f'http://127.0.0.1:{self.port}'

    def __enter__(self) -> LocalHorizon:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        """Everything the server wrote so far."""
        if not self.log_path:
            return ''
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def start(self) -> LocalHorizon:
        """Install the panels, write the settings, serve; returns self
        once the login page answers."""
        with self._lock:
            if self.work_dir is not None:
                raise RuntimeError('LocalHorizon is already started')
            django_admin = _django_admin()
            install_enabled(self.optional)
            install_settings_snippets()
            write_local_settings()
            started = time.monotonic()
            self.work_dir = tempfile.mkdtemp(prefix='mfa-osc-horizon-')
            self.log_path = os.path.join(self.work_dir, 'horizon.log')
            atexit.register(self.stop)
            try:
                self._serve(django_admin)
            except BaseException:
                self.stop()
                raise
            self.startup_seconds = time.monotonic() - started
            return self

    def _serve(self, django_admin: str) -> None:
        assert self.log_path is not None
        self.port = processes.free_port()
        env = dict(os.environ)
        env.update(
            {
                KEYSTONE_URL_ENV: self.keystone_url,
                SECRET_KEY_ENV: self.secret_key,
                CACERT_ENV: self.cacert or '',
                'DJANGO_SETTINGS_MODULE': 'openstack_dashboard.settings',
                'PYTHONUNBUFFERED': '1',
            }
        )
        argv = [
            django_admin,
            'runserver',
            '--settings=openstack_dashboard.settings',
            '--noreload',
            f'127.0.0.1:{self.port}',
        ]
        self._spawner = processes.Spawner()
        with open(self.log_path, 'wb') as log:
            self._proc = self._spawner.popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + self._timeout
        last = ''
        while True:
            rc = self._proc.poll()
            if rc is not None:
                raise HorizonStartError(
                    f'Horizon exited (status {rc}):\n{self.log()[-4000:]}'
                )
            try:
                status = server.http_status(self.port, '/auth/login/')
                if status == 200:
                    return
                last = f'HTTP {status}'
            except OSError as exc:
                last = str(exc)
            if time.monotonic() > deadline:
                raise HorizonStartError(
                    f'Horizon did not answer GET /auth/login/ within '
                    f'{self._timeout:g} s (last: {last}):\n'
                    f'{self.log()[-4000:]}'
                )
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the server (its whole process group) and remove its files.

        Safe to call more than once."""
        with self._lock:
            atexit.unregister(self.stop)
            if self._proc is not None:
                processes.stop_process_group(self._proc)
                self._proc = None
            if self._spawner is not None:
                self._spawner.close()
                self._spawner = None
            if self.work_dir is not None:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
            self.port = None
