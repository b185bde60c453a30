#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""A throwaway local Keystone for functional tests, demos and benchmarks.

:class:`LocalKeystone` creates a temporary directory, writes a
``keystone.conf`` (:mod:`~mfa_osc.testing.conf`: sqlite database, fernet
tokens and receipts, ``totp`` enabled), runs ``keystone-manage db_sync``,
``fernet_setup``, ``credential_setup`` and ``bootstrap``
(:mod:`~mfa_osc.testing.manage`), and serves
``keystone.wsgi.api:application`` with uWSGI on a free port of 127.0.0.1
(:mod:`~mfa_osc.testing.uwsgi`; the processes and their logs:
:mod:`~mfa_osc.testing.server`). With ``tls=True`` it is served over HTTPS
instead, with a certificate from a CA made for the run (``ca_path``), by
a TLS-terminating proxy in front of uWSGI (:mod:`~mfa_osc.testing.tls`),
as many clouds put haproxy in front of Keystone. Its users, their rules
and credentials are made through the admin API
(:mod:`~mfa_osc.testing.admin`).

Keystone itself is never imported here: it runs in subprocesses, found next
to ``sys.executable`` (or on ``PATH``).  Install it with
``pip install 'mfa-osc[testing]'`` (``tox -e keystone`` installs the same
pins from ``keystone-requirements.txt``).

Another Keystone release can run from a virtualenv of its own, built with
that release's upper constraints (``tox -e functional-keystone2024.1``
builds one for Keystone 25.0.0): set ``MFA_OSC_KEYSTONE_BIN`` to that
virtualenv's ``bin`` directory (or pass ``bin_dir``), and ``keystone-manage``
and ``uwsgi`` are taken from there only, uWSGI running that virtualenv's
Python (``--home``).  The client side (``openstack``, mfa-osc, keystoneauth1)
stays where it is.  Every release is served as
``keystone.wsgi.api:application``: Keystone 26 and older, which have no
``keystone.wsgi`` module, are given one whose ``application`` is what their
``keystone-wsgi-public`` script serves.  The sqlite database is put in WAL
mode after ``db_sync``: readers then never block the writer (Keystone 25
and 27 hit "database is locked" without it, even with one uWSGI process).

With ``guard=True`` it serves ``mfa_osc.guard.wsgi:application`` (the
guard in front of Keystone's sign-in) with two uWSGI processes and a
memcached of its own (:mod:`mfa_osc.testing.memcached`) as ``[cache]``;
``python -m mfa_osc.testing.keystone --guard`` does so by hand.

No process outlives its owner (:mod:`~mfa_osc.testing.processes`):
:meth:`LocalKeystone.stop` (also registered with :mod:`atexit`) ends the
server's whole process group, and on Linux the server is started with
``PR_SET_PDEATHSIG`` so that it is killed even when its owner is killed
with ``SIGKILL``.

Run ``python -m mfa_osc.testing.keystone`` to start one by hand
(:mod:`~mfa_osc.testing.cli`); it prints ``export OS_...`` lines for the
admin and runs until Ctrl-C.

:class:`KeystoneUser`, :exc:`KeystoneNotInstalledError`,
:exc:`KeystoneStartError` and :func:`process_group_members` are defined
in the modules named above and public here, where the package's docstring
lists them.
"""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from collections.abc import Sequence
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session

from mfa_osc.testing import admin
from mfa_osc.testing import cli
from mfa_osc.testing import conf
from mfa_osc.testing import manage
from mfa_osc.testing import uwsgi as uwsgi_server
from mfa_osc.testing.admin import KeystoneUser
from mfa_osc.testing.errors import KeystoneNotInstalledError
from mfa_osc.testing.errors import KeystoneStartError
from mfa_osc.testing.errors import start_error
from mfa_osc.testing.memcached import LocalMemcached
from mfa_osc.testing.processes import free_port
from mfa_osc.testing.processes import process_group_members
from mfa_osc.testing.server import KeystoneProcesses
from mfa_osc.testing.tls import TLSProxy
from mfa_osc.testing.tls import make_tls_files

__all__ = [
    'KeystoneNotInstalledError',
    'KeystoneStartError',
    'GUARD_APPLICATION',
    'KEYSTONE_BIN_ENV',
    'KeystoneUser',
    'LocalKeystone',
    'find_executable',
    'main',
    'process_group_members',
]

DEFAULT_REGION = 'RegionOne'
AUTH_METHODS = 'external,password,token,totp,application_credential,mapped'

_INSTALL_HINT = (
    'install the packages in keystone-requirements.txt into the Python '
    'environment running this code (for example `pip install -r '
    'keystone-requirements.txt`, or use `tox -e keystone` / `tox -e '
    'functional`, which do)'
)

#: The environment variable naming the ``bin`` directory of the virtualenv
#: Keystone and uWSGI are run from (by default: this Python's own).
KEYSTONE_BIN_ENV = 'MFA_OSC_KEYSTONE_BIN'

_WORK_DIR_PREFIX = 'mfa-osc-keystone-'
_OWNER_FILE = 'owner.pid'
_KEEP_FILE = 'keep'

#: Keystone's WSGI application, as operators serve it (Keystone 27+).
KEYSTONE_APPLICATION = 'keystone.wsgi.api:application'

#: Keystone's application behind mfa-osc's guard (:mod:`mfa_osc.guard`).
GUARD_APPLICATION = 'mfa_osc.guard.wsgi:application'

#: The environment variable that puts every LocalKeystone behind the guard
#: unless told otherwise (``1``): the whole functional suite can run so.
GUARD_ENV = 'MFA_OSC_KEYSTONE_GUARD'


def find_executable(name: str) -> str | None:
    """Find a console script next to ``sys.executable``, then on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which(name)


def _require_executable(name: str, bin_dir: str | None = None) -> str:
    """A server program: in ``bin_dir`` only if given, else as
    :func:`find_executable` finds it."""
    if bin_dir is None:
        path = find_executable(name)
        if path is None:
            raise KeystoneNotInstalledError(
                f'{name} was not found next to {sys.executable} nor on '
                f'PATH: {_INSTALL_HINT}.'
            )
        return path
    path = os.path.join(bin_dir, name)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise KeystoneNotInstalledError(
            f'{name} was not found in {bin_dir} (the Keystone bin directory '
            f'given, for example by {KEYSTONE_BIN_ENV}): install Keystone '
            'and uWSGI into that virtualenv, or unset '
            f'{KEYSTONE_BIN_ENV} to use the ones next to {sys.executable}.'
        )
    return path


def _remove_stale_work_dirs(root: str | None = None) -> None:
    """Remove work directories (in ``root``, by default the temporary
    directory) whose owner was killed before stop().

    The server died with its owner (PR_SET_PDEATHSIG), but nobody removed
    its directory.  Directories kept on purpose are left alone.
    """
    root = root or tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        path = os.path.join(root, name)
        if not name.startswith(_WORK_DIR_PREFIX) or os.path.exists(
            os.path.join(path, _KEEP_FILE)
        ):
            continue
        try:
            if os.stat(path).st_uid != os.getuid():
                continue
            with open(os.path.join(path, _OWNER_FILE)) as f:
                owner = int(f.read())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge, or being created right now


class LocalKeystone:
    """A throwaway Keystone on 127.0.0.1, served by uWSGI.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    :param port: TCP port to listen on; by default a free one is picked.
    :param admin_password: the bootstrap admin's password (random if not
        given).
    :param region: the region of the identity endpoints.
    :param config: extra keystone.conf settings, ``{section: {option:
        value}}``; they override the defaults.
    :param startup_timeout: seconds to wait for the server to come up.
    :param keep_work_dir: do not remove the temporary directory at stop
        (for debugging).
    :param tls: serve over HTTPS with a certificate of a CA made for this
        server (:attr:`ca_path`); ``port`` is then the HTTPS port, and
        uWSGI listens on another port of 127.0.0.1.
    :param application: the WSGI application uWSGI serves, as
        ``module:callable`` (importable in uWSGI's environment); by default
        Keystone's own, :data:`KEYSTONE_APPLICATION` (on every release:
        26 and older are given it, :attr:`wsgi_compat`). Tests serve one
        that wraps it; with ``bin_dir``, the top-level package of its
        module, as this process finds it, is put on uWSGI's path.
    :param bin_dir: the ``bin`` directory of the virtualenv holding
        ``keystone-manage`` and ``uwsgi`` (another Keystone release than
        the client's); by default ``$MFA_OSC_KEYSTONE_BIN``, else they are
        found next to ``sys.executable`` or on ``PATH``.
    :param guard: serve Keystone behind mfa-osc's guard
        (:data:`GUARD_APPLICATION`; a given ``application`` that wraps
        ``keystone.wsgi.api`` then wraps the guard), with a memcached of
        its own (:attr:`memcached`, Debian's ``memcached``) as ``[cache]``,
        shared by Keystone's cache and the guard; ``config`` may set
        ``[mfa_guard]``. By default, whether ``$MFA_OSC_KEYSTONE_GUARD``
        is ``1``.
    :param processes: uWSGI worker processes; by default 2 with ``guard``
        (as production serves it: the guard's counts must hold across
        them), else 1.
    """

    admin_username = 'admin'
    admin_project_name = 'admin'
    domain = 'Default'

    def __init__(
        self,
        port: int | None = None,
        admin_password: str | None = None,
        region: str = DEFAULT_REGION,
        config: Mapping[str, Mapping[str, str]] | None = None,
        startup_timeout: float = 120.0,
        keep_work_dir: bool = False,
        tls: bool = False,
        application: str | None = None,
        bin_dir: str | None = None,
        guard: bool | None = None,
        processes: int | None = None,
    ) -> None:
        self.tls = tls
        if guard is None:
            guard = os.environ.get(GUARD_ENV, '') == '1'
        self.guard = guard
        self.application = application or (
            GUARD_APPLICATION if guard else KEYSTONE_APPLICATION
        )
        self.processes = processes or (2 if guard else 1)
        #: The memcached of a Keystone behind the guard, once started.
        self.memcached: LocalMemcached | None = None
        #: Whether Keystone 27's ``keystone.wsgi.api`` is given to an older
        #: release (:data:`~mfa_osc.testing.uwsgi.COMPAT_MODULE`), known
        #: once started.
        self.wsgi_compat = False
        #: The Keystone release served, as numbers (``(25, 0, 0)``), known
        #: once started; None if it could not be read.
        self.release: tuple[int, ...] | None = None
        self.bin_dir = bin_dir or os.environ.get(KEYSTONE_BIN_ENV) or None
        #: The uWSGI command line, once started (its processes rename
        #: themselves, so /proc shows another).
        self.server_argv: list[str] | None = None
        #: The CA certificate (PEM) that signed the server's, with ``tls``.
        self.ca_path: str | None = None
        self._tls_proxy: TLSProxy | None = None
        self._tls_port: int | None = None
        self._requested_port = None if tls else port
        self._requested_tls_port = port if tls else None
        self.admin_password = admin_password or secrets.token_urlsafe(18)
        self.region_name = region
        self._extra_config = config or {}
        self._startup_timeout = startup_timeout
        self._keep_work_dir = keep_work_dir
        self.port: int | None = None
        self.work_dir: str | None = None
        self.config_path: str | None = None
        self.log_path: str | None = None
        self.setup_log_path: str | None = None
        self.startup_seconds: float | None = None
        self._procs: KeystoneProcesses | None = None
        self._session: ks_session.Session | None = None
        self._adapter: ks_adapter.Adapter | None = None
        self._member_role_id: str | None = None
        self._lock = threading.RLock()

    # -- public properties ---------------------------------------------

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError('LocalKeystone is not started')
        if self.tls:
            return f'https://127.0.0.1:{self._tls_port}'
        return f'http://127.0.0.1:{self.port}'

    @property
    def auth_url(self) -> str:
        return f'{self.base_url}/v3'

    @property
    def pid(self) -> int | None:
        """PID of the uWSGI master (also the server's process group)."""
        server = self._procs.server if self._procs is not None else None
        return server.pid if server is not None else None

    @property
    def running(self) -> bool:
        return self.pid is not None and self._server().poll() is None

    def os_env(self, user: KeystoneUser | None = None) -> dict[str, str]:
        """OS_* settings signing in the admin (or ``user``) with a
        password (and ``OS_CACERT`` with ``tls``)."""
        env = {
            'OS_AUTH_URL': self.auth_url,
            'OS_IDENTITY_API_VERSION': '3',
            'OS_AUTH_TYPE': 'password',
            'OS_REGION_NAME': self.region_name,
            'OS_USER_DOMAIN_NAME': self.domain,
        }
        if user is None:
            env.update(
                OS_USERNAME=self.admin_username,
                OS_PASSWORD=self.admin_password,
                OS_PROJECT_NAME=self.admin_project_name,
                OS_PROJECT_DOMAIN_NAME=self.domain,
            )
        else:
            env.update(OS_USERNAME=user.name, OS_PASSWORD=user.password)
            env['OS_USER_DOMAIN_NAME'] = user.domain
            if user.project_name is not None:
                env['OS_PROJECT_NAME'] = user.project_name
                env['OS_PROJECT_DOMAIN_NAME'] = user.domain
        if self.ca_path is not None:
            env['OS_CACERT'] = self.ca_path
        return env

    # -- life cycle ----------------------------------------------------

    def __enter__(self) -> LocalKeystone:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> LocalKeystone:
        """Set up and start the server; returns self once it answers."""
        with self._lock:
            if self.work_dir is not None:
                raise RuntimeError('LocalKeystone is already started')
            keystone_manage = _require_executable(
                'keystone-manage', self.bin_dir
            )
            uwsgi = _require_executable('uwsgi', self.bin_dir)
            started = time.monotonic()
            _remove_stale_work_dirs()
            self.work_dir = tempfile.mkdtemp(prefix=_WORK_DIR_PREFIX)
            with open(self._path(_OWNER_FILE), 'w') as f:
                f.write(str(os.getpid()))
            if self._keep_work_dir:
                open(self._path(_KEEP_FILE), 'w').close()
            atexit.register(self.stop)
            try:
                self._start(keystone_manage, uwsgi, started)
            except BaseException:
                self.stop()
                raise
            self.startup_seconds = time.monotonic() - started
            return self

    def stop(self) -> None:
        """Stop the server (whole process group) and remove its files.

        Safe to call more than once, and on a server that never started.
        """
        with self._lock:
            atexit.unregister(self.stop)
            if self._procs is not None:
                self._procs.stop()
            if self.memcached is not None:
                self.memcached.stop()
                self.memcached = None
            if self._procs is not None:
                # NOTE: after memcached's stop: its spawning thread's end
                # kills what it started (PR_SET_PDEATHSIG).
                self._procs.close()
                self._procs = None
            if self._session is not None:
                self._session.session.close()
                self._session = None
            if self._tls_proxy is not None:
                self._tls_proxy.close()
                self._tls_proxy = None
            self._tls_port = None
            self._adapter = None
            self._member_role_id = None
            if self.work_dir is not None and not self._keep_work_dir:
                shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
            self.port = None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the server process to end; returns its exit status."""
        return self._server().wait(timeout=timeout)

    def _server(self) -> subprocess.Popen[bytes]:
        """uWSGI's master process."""
        if self._procs is None or self._procs.server is None:
            raise RuntimeError('LocalKeystone is not started')
        return self._procs.server

    # -- start-up internals -------------------------------------------

    def _path(self, *parts: str) -> str:
        assert self.work_dir is not None
        return os.path.join(self.work_dir, *parts)

    def _start_tls(self) -> None:
        """The CA, the certificate and the listening HTTPS socket."""
        self.ca_path, cert, key = make_tls_files(self._path())
        self._tls_proxy = TLSProxy.listen(cert, key, self._requested_tls_port)
        self._tls_port = self._tls_proxy.port

    def _public_url(self, port: int) -> str:
        if self.tls:
            return f'https://127.0.0.1:{self._tls_port}/v3'
        return f'http://127.0.0.1:{port}/v3'

    def _write_config(self) -> None:
        memcached = self.memcached
        text = conf.keystone_conf(
            self._path(),
            AUTH_METHODS,
            memcached=None if memcached is None else memcached.address,
            public_endpoint=(
                f'https://127.0.0.1:{self._tls_port}/' if self.tls else None
            ),
            extra=self._extra_config,
        )
        assert self.config_path is not None
        with open(self.config_path, 'w') as f:
            f.write(text)

    def _child_env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith('OS_')
        }
        assert self.config_path is not None
        env['OS_KEYSTONE_CONFIG_FILES'] = self.config_path
        env['OS_BOOTSTRAP_PASSWORD'] = self.admin_password
        env['PYTHONWARNINGS'] = 'ignore'
        return env

    def _bootstrap_args(self, port: int) -> list[str]:
        return manage.bootstrap_args(
            self._public_url(port),
            self.admin_username,
            self.admin_project_name,
            self.region_name,
        )

    def _read_release(self, interpreter: str | None) -> None:
        """The release served, and whether it needs the compat module."""
        self.wsgi_compat = False
        if interpreter is None:
            return
        self.release, has_wsgi = manage.keystone_facts(interpreter)
        if not has_wsgi:
            self.wsgi_compat = True
            uwsgi_server.write_module(
                self._path('python'),
                uwsgi_server.COMPAT_MODULE,
                uwsgi_server.COMPAT_SOURCE,
            )

    @property
    def _guard_wraps(self) -> bool:
        """Whether the guard is put inside a given application."""
        return self.guard and self.application != GUARD_APPLICATION

    def _server_imports(self) -> list[str]:
        """The modules uWSGI imports first (writing the guard's)."""
        modules = []
        if self.wsgi_compat:
            modules.append(uwsgi_server.COMPAT_MODULE)
        if self._guard_wraps:
            uwsgi_server.write_module(
                self._path('python'),
                uwsgi_server.GUARD_MODULE,
                uwsgi_server.GUARD_SOURCE,
            )
            modules.append(uwsgi_server.GUARD_MODULE)
        return modules

    def _python_path(self) -> list[str]:
        """uWSGI's extra import path: the directory of the modules it
        imports first, and the given application's package where Keystone
        has its own virtualenv (which has no mfa-osc)."""
        paths = (
            [self._path('python')]
            if self.wsgi_compat or self._guard_wraps
            else []
        )
        if self.bin_dir is not None and self.application != (
            KEYSTONE_APPLICATION
        ):
            root = uwsgi_server.application_root(self.application)
            if root is not None:
                paths.append(root)
        return paths

    def _start(self, keystone_manage: str, uwsgi: str, started: float) -> None:
        self.config_path = self._path('keystone.conf')
        procs = self._procs = KeystoneProcesses(
            self._path(),
            self.config_path,
            self._child_env(),
            self._startup_timeout,
        )
        self.log_path = procs.log_path
        self.setup_log_path = procs.setup_log_path
        if self.guard:
            self.memcached = LocalMemcached().start(popen=procs.spawner.popen)
        if self.tls:
            self._start_tls()
        self._write_config()
        deadline = started + self._startup_timeout
        port = self._requested_port or free_port()
        phases = manage.setup_phases(self._bootstrap_args(port))
        sqlite_path = conf.sqlite_path(self._path(), self._extra_config)
        interpreter = manage.script_interpreter(keystone_manage)
        self._read_release(interpreter)
        if interpreter is None:
            procs.set_up_by_commands(
                keystone_manage,
                phases,
                sqlite_path,
                lambda: self._start_server(uwsgi, port),
            )
        else:
            procs.set_up_in_one(
                interpreter,
                phases,
                sqlite_path,
                deadline,
                lambda: self._start_server(uwsgi, port),
            )
        self._serve_until_ready(keystone_manage, uwsgi, port, deadline)

    def _serve_until_ready(
        self, keystone_manage: str, uwsgi: str, port: int, deadline: float
    ) -> None:
        """Wait for the server; on a port taken since it was picked, try
        another (bootstrapped again: the endpoints name the port)."""
        assert self._procs is not None
        for _attempt in range(3):
            if self._procs.wait_until_ready(port, deadline, self.auth_url):
                return
            if self._requested_port is not None:
                raise start_error(
                    f'port {port} is already in use', self.log_path
                )
            port = free_port()
            self._procs.run_manage(keystone_manage, self._bootstrap_args(port))
            self._start_server(uwsgi, port)
        raise start_error('no free port found', self.log_path)

    def _start_server(self, uwsgi: str, port: int) -> None:
        assert self._procs is not None
        argv = uwsgi_server.uwsgi_argv(
            uwsgi,
            port,
            self.application,
            self.processes,
            python_path=self._python_path(),
            imports=self._server_imports(),
        )
        self.port = port
        if self._tls_proxy is not None:
            self._tls_proxy.upstream_port = port
        self.server_argv = argv
        self._procs.start_server(argv)

    # -- admin helpers -------------------------------------------------

    def admin_session(self) -> ks_session.Session:
        """A keystoneauth Session signed in as the admin (project scoped).

        The same session is returned on every call.
        """
        with self._lock:
            if self._session is None:
                self._session = admin.admin_session(
                    self.auth_url,
                    self.admin_username,
                    self.admin_password,
                    self.admin_project_name,
                    verify=self.ca_path or True,
                )
            return self._session

    def admin_adapter(self) -> ks_adapter.Adapter:
        """An Adapter for the identity API (paths relative to /v3)."""
        with self._lock:
            if self._adapter is None:
                self._adapter = ks_adapter.Adapter(
                    self.admin_session(),
                    service_type='identity',
                    endpoint_override=self.auth_url,
                    raise_exc=True,
                )
            return self._adapter

    def _member_role(self) -> str:
        if self._member_role_id is None:
            self._member_role_id = admin.member_role_id(self.admin_adapter())
        return self._member_role_id

    def create_user(
        self,
        name: str | None = None,
        password: str | None = None,
        project: bool = True,
        rules: Sequence[Sequence[str]] | None = None,
    ) -> KeystoneUser:
        """Create a user in the Default domain.

        With ``project`` (the default) the user gets the ``member`` role on
        a new project of its own, which is also its default project.  With
        ``rules`` its MFA rules are set and MFA is enabled.
        """
        user = admin.create_user(
            self.admin_adapter(),
            self._member_role,
            self.domain,
            name=name,
            password=password,
            project=project,
        )
        if rules is not None:
            self.set_mfa_rules(user.id, rules)
        return user

    def set_mfa_rules(
        self,
        user_id: str,
        rules: Sequence[Sequence[str]],
        enabled: bool = True,
    ) -> None:
        """Set a user's MFA rules and enable (or disable) MFA."""
        admin.set_mfa_rules(self.admin_adapter(), user_id, rules, enabled)

    def create_totp_credential(
        self, user_id: str, secret: str, project_id: str | None = None
    ) -> str:
        """Store a TOTP secret (bare base32) for a user; returns its id."""
        return admin.create_totp_credential(
            self.admin_adapter(), user_id, secret, project_id
        )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mfa_osc.testing.keystone``: start a LocalKeystone as
    the options ask (:func:`mfa_osc.testing.cli.parse_args`), print its
    admin's ``OS_*`` settings and run until interrupted."""
    args = cli.parse_args(argv)
    keystone = LocalKeystone(
        port=args.port,
        admin_password=args.admin_password,
        tls=args.tls,
        guard=args.guard,
    )
    return cli.run(keystone)


if __name__ == '__main__':
    sys.exit(main())
