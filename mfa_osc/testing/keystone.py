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
``keystone.conf`` (sqlite database, fernet tokens and receipts, ``totp``
enabled), runs ``keystone-manage db_sync``, ``fernet_setup``,
``credential_setup`` and ``bootstrap``, and serves
``keystone.wsgi.api:application`` with uWSGI on a free port of 127.0.0.1.
With ``tls=True`` it is served over HTTPS instead, with a certificate from
a CA made for the run (``ca_path``), by a TLS-terminating proxy in front of
uWSGI, as many clouds put haproxy in front of Keystone.

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

No process outlives its owner: :meth:`LocalKeystone.stop` (also registered
with :mod:`atexit`) ends the server's whole process group, and on Linux the
server is started with ``PR_SET_PDEATHSIG`` so that it is killed even when
its owner is killed with ``SIGKILL``.

Run ``python -m mfa_osc.testing.keystone`` to start one by hand; it prints
``export OS_...`` lines for the admin and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
import contextlib
import ctypes
import dataclasses
import http.client
import importlib.util
import json
import os
import queue
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import types
from typing import Any
from typing import cast
import uuid

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from mfa_osc.testing.memcached import LocalMemcached

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

# Runs keystone-manage's commands in ONE interpreter: importing keystone
# takes seconds, so four separate keystone-manage runs would take four times
# that.  The keys are set up first, then a marker file tells the parent it
# can start the server (which needs the keys) while the database is created.
_SETUP_SCRIPT = """\
import json
import sys
import warnings

warnings.simplefilter('ignore')

from keystone.cmd import cli
from keystone.conf import CONF

config_file, marker, phases = sys.argv[1], sys.argv[2], sys.argv[3]
sqlite_path = sys.argv[4] if len(sys.argv) > 4 else ''
for index, commands in enumerate(json.loads(phases)):
    for command in commands:
        CONF.reset()
        CONF.clear()
        cli.main(argv=['keystone-manage', '--config-file', config_file]
                 + command)
        if command[0] == 'db_sync' and sqlite_path:
            import sqlite3
            db = sqlite3.connect(sqlite_path)
            db.execute('PRAGMA journal_mode=WAL')
            db.close()
    if index == 0:
        with open(marker, 'w') as f:
            f.write('ready')
"""

_PR_SET_PDEATHSIG = 1
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

#: The module uWSGI imports first when the guard is to wrap another
#: application than Keystone's (a test's wrapper of ``keystone.wsgi.api``):
#: Keystone's application in ``keystone.wsgi.api`` is replaced by itself
#: behind the guard, so that the wrapper wraps the guard.
_GUARD_MODULE = '_mfa_osc_guarded_keystone'
_GUARD_SOURCE = """\
from keystone.wsgi import api

from mfa_osc.guard import app

api.application = app.wrap(api.application)
"""

#: The module uWSGI imports first on Keystone 26 and older, which have no
#: ``keystone.wsgi``: it gives them Keystone 27's ``keystone.wsgi.api``,
#: whose ``application`` is what their ``keystone-wsgi-public`` script
#: serves (``initialize_public_application()``). One application name then
#: serves every release, and so does a test's wrapper of it.
_COMPAT_MODULE = '_mfa_osc_keystone_wsgi'
_COMPAT_SOURCE = """\
import sys
import types

import keystone
from keystone.server import wsgi

api = types.ModuleType('keystone.wsgi.api')
api.application = wsgi.initialize_public_application()
package = types.ModuleType('keystone.wsgi')
package.__path__ = []
package.api = api
keystone.wsgi = package
sys.modules['keystone.wsgi'] = package
sys.modules['keystone.wsgi.api'] = api
"""


class KeystoneNotInstalledError(RuntimeError):
    """keystone-manage or uwsgi cannot be found."""


class KeystoneStartError(RuntimeError):
    """The local Keystone did not come up."""


@dataclasses.dataclass(frozen=True)
class KeystoneUser:
    """A user created by :meth:`LocalKeystone.create_user`."""

    id: str
    name: str
    password: str
    project_id: str | None
    project_name: str | None
    domain: str = 'Default'


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


_KEYSTONE_FACTS = """\
import importlib.metadata, importlib.util, json
print(json.dumps([importlib.metadata.version('keystone'),
                  importlib.util.find_spec('keystone.wsgi') is not None]))
"""


def _keystone_facts(interpreter: str) -> tuple[tuple[int, ...] | None, bool]:
    """The release of Keystone in ``interpreter``'s environment (None if
    unknown), and whether it has the ``keystone.wsgi`` module (Keystone 27
    and newer; assumed when unknown: a failure then shows in the log)."""
    try:
        proc = subprocess.run(
            [interpreter, '-c', _KEYSTONE_FACTS],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        version, has_wsgi = json.loads(proc.stdout)
        release = tuple(int(part) for part in str(version).split('.')[:3])
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError):
        return None, True
    return release, bool(has_wsgi)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


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


def make_tls_files(
    directory: str, host: str = '127.0.0.1'
) -> tuple[str, str, str]:
    """A new CA and a server certificate for ``host`` signed by it.

    Writes ``ca.pem``, ``server.pem`` and ``server-key.pem`` (0600) into
    ``directory``; returns their paths. Uses ``cryptography``, which
    Keystone depends on.
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = (
        now - datetime.timedelta(hours=1),
        now + datetime.timedelta(days=2),
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, 'mfa-osc test CA')]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName('localhost')]
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.SubjectAlternativeName(names), False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()
            ),
            False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = tuple(
        os.path.join(directory, name)
        for name in ('ca.pem', 'server.pem', 'server-key.pem')
    )
    contents = (
        ca.public_bytes(pem),
        cert.public_bytes(pem),
        key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    for path, content in zip(paths, contents, strict=True):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as out:
            out.write(content)
    return paths[0], paths[1], paths[2]


class _TLSProxy:
    """Terminates TLS on a listening socket and relays to a local port.

    Byte for byte, both ways, one thread pair per connection: Keystone
    behind it sees plain HTTP, as behind haproxy.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        self._sock = sock
        self._context = context
        self.upstream_port: int | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._accept, name='local-keystone-tls', daemon=True
        )
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(client,), daemon=True
            ).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            client.settimeout(30)
            tls = self._context.wrap_socket(client, server_side=True)
            tls.settimeout(None)
            if self.upstream_port is None:
                tls.close()
                return
            upstream = socket.create_connection(
                ('127.0.0.1', self.upstream_port), timeout=30
            )
            upstream.settimeout(None)
        except (OSError, ssl.SSLError):
            # NOTE: a client refusing the certificate ends here.
            with contextlib.suppress(OSError):
                client.close()
            return
        done = threading.Event()

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                done.set()

        back = threading.Thread(target=pump, args=(upstream, tls), daemon=True)
        back.start()
        pump(tls, upstream)
        # NOTE: the client has sent all it will; let the answer finish.
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)
        back.join(timeout=120)
        for sock in (tls, upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()
        self._thread.join(timeout=5)


def _http_status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
    try:
        connection.request('GET', path)
        return connection.getresponse().status
    finally:
        connection.close()


def _script_interpreter(script: str) -> str | None:
    """The Python interpreter that runs a console script, if known."""
    if os.path.dirname(os.path.abspath(script)) == os.path.dirname(
        os.path.abspath(sys.executable)
    ):
        return sys.executable
    try:
        with open(script, 'rb') as f:
            first = f.readline(4096)
    except OSError:
        return None
    if not first.startswith(b'#!'):
        return None
    words = first[2:].decode(errors='replace').split()
    if len(words) != 1 or not os.path.isabs(words[0]):
        return None
    if 'python' not in os.path.basename(words[0]):
        return None
    return words[0] if os.access(words[0], os.X_OK) else None


def _set_wal_mode(path: str) -> None:
    """Put a sqlite database in WAL mode (it stays so, in the file)."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        db.execute('PRAGMA journal_mode=WAL')
    finally:
        db.close()


def _tail(path: str | None, lines: int = 40) -> str:
    if not path:
        return '(no log)'
    try:
        with open(path, errors='replace') as f:
            content = f.read().splitlines()
    except OSError as exc:
        return f'(cannot read {path}: {exc})'
    return '\n'.join(content[-lines:]) or '(empty log)'


def process_group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group.

    Uses /proc where there is one; elsewhere returns ``[pgid]`` while the
    group exists at all (zombies included).
    """
    if not os.path.isdir('/proc/self'):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    members = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..."; comm may hold spaces and ")".
        fields = stat[stat.rfind(')') + 2 :].split()
        if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] != 'Z':
            members.append(int(entry))
    return members


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A preexec_fn making the child die when its parent dies (Linux)."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # The parent may have died before prctl() ran.
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


class _Spawner:
    """Starts child processes from one thread that lives until close().

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends,
    not the process, so children are forked from this long-lived thread
    rather than from whichever thread called start().
    """

    def __init__(self) -> None:
        self._requests: queue.Queue[
            tuple[Callable[[], subprocess.Popen[bytes]], queue.Queue[Any]]
            | None
        ] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, name='local-keystone-spawner', daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while True:
            request = self._requests.get()
            if request is None:
                return
            func, reply = request
            try:
                reply.put((True, func()))
            except BaseException as exc:  # handed over to the caller
                reply.put((False, exc))

    def popen(
        self, argv: Sequence[str], **kwargs: Any
    ) -> subprocess.Popen[bytes]:
        preexec = _die_with_parent(os.getpid())
        if preexec is not None:
            kwargs['preexec_fn'] = preexec
        reply: queue.Queue[Any] = queue.Queue()
        self._requests.put(
            (lambda: subprocess.Popen(list(argv), **kwargs), reply)
        )
        ok, value = reply.get()
        if not ok:
            raise value
        return cast('subprocess.Popen[bytes]', value)

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=5)


def _stop_process_group(
    proc: subprocess.Popen[bytes], timeout: float = 10.0
) -> None:
    """Terminate a process started with start_new_session=True, and its
    whole process group, then wait for them."""
    pgid = proc.pid

    def signal_group(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    if proc.poll() is None:
        signal_group(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(signal.SIGKILL)
        proc.wait(timeout=timeout)
    # The leader is gone; make sure nothing else of the group survives.
    deadline = time.monotonic() + timeout
    killed = False
    while process_group_members(pgid):
        if time.monotonic() > deadline:
            if killed:
                return  # unkillable (stuck in the kernel): give up
            signal_group(signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


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
        #: release (:data:`_COMPAT_MODULE`), known once started.
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
        self._tls_proxy: _TLSProxy | None = None
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
        self._server: subprocess.Popen[bytes] | None = None
        self._setup: subprocess.Popen[bytes] | None = None
        self._spawner: _Spawner | None = None
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
        return self._server.pid if self._server is not None else None

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.poll() is None

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
            manage = _require_executable('keystone-manage', self.bin_dir)
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
                self._spawner = _Spawner()
                if self.guard:
                    self.memcached = LocalMemcached().start(
                        popen=self._spawner.popen
                    )
                self._start(manage, uwsgi, started)
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
            for proc in (self._setup, self._server):
                if proc is not None:
                    _stop_process_group(proc)
            self._setup = None
            self._server = None
            if self.memcached is not None:
                self.memcached.stop()
                self.memcached = None
            if self._spawner is not None:
                self._spawner.close()
                self._spawner = None
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
        if self._server is None:
            raise RuntimeError('LocalKeystone is not started')
        return self._server.wait(timeout=timeout)

    # -- start-up internals -------------------------------------------

    def _path(self, *parts: str) -> str:
        assert self.work_dir is not None
        return os.path.join(self.work_dir, *parts)

    def _start_tls(self) -> None:
        """The CA, the certificate and the listening HTTPS socket."""
        self.ca_path, cert, key = make_tls_files(self._path())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('127.0.0.1', self._requested_tls_port or 0))
        except OSError as exc:
            sock.close()
            raise KeystoneStartError(
                f'port {self._requested_tls_port} is not free: {exc}'
            ) from None
        sock.listen(64)
        self._tls_port = int(sock.getsockname()[1])
        self._tls_proxy = _TLSProxy(sock, context)

    def _public_url(self, port: int) -> str:
        if self.tls:
            return f'https://127.0.0.1:{self._tls_port}/v3'
        return f'http://127.0.0.1:{port}/v3'

    def _write_config(self) -> None:
        fernet = self._path('fernet-keys')
        sections: dict[str, dict[str, str]] = {
            'DEFAULT': {'debug': 'false'},
            'database': {
                'connection': 'sqlite:///' + self._path('keystone.db')
            },
            'token': {'provider': 'fernet'},
            'fernet_tokens': {'key_repository': fernet},
            'fernet_receipts': {'key_repository': fernet},
            'credential': {'key_repository': self._path('credential-keys')},
            'auth': {'methods': AUTH_METHODS},
            # Only the cheapest bcrypt cost: every password sign-in hashes.
            'identity': {'password_hash_rounds': '4'},
            'oslo_messaging_notifications': {'driver': 'noop'},
            # Without a cache every token validation makes ~200 SQL
            # queries (0.3 s to 1.5 s each); one worker process keeps an
            # in-process cache consistent.
            # NOTE: memory_pickle hands out copies, as memcached does: with
            # the plain memory backend Keystone 25 changes a cached
            # credential in place when decrypting it, and its next list of
            # credentials fails with KeyError 'encrypted_blob' (HTTP 500;
            # fixed in Keystone 29).
            'cache': {
                'enabled': 'true',
                'backend': 'dogpile.cache.memory_pickle',
            },
        }
        if self.memcached is not None:
            # NOTE: one memcached for Keystone's cache and the guard's
            # state, as deployments have: Keystone's cache must be shared
            # by its processes too (a user record changed through one
            # would be read stale by the other). oslo_cache.memcache_pool
            # (python-memcached), as kolla-ansible configures it: with
            # memcached down Keystone answers on (measured: with
            # dogpile.cache.pymemcache its requests failed, 500).
            sections['cache'] = {
                'enabled': 'true',
                'backend': 'oslo_cache.memcache_pool',
                'memcache_servers': self.memcached.address,
                'socket_timeout': '1',
                'memcache_dead_retry': '1',
            }
        if self.tls:
            # NOTE: behind the TLS proxy Keystone sees plain HTTP; its
            # links (version discovery) must still say https.
            sections['DEFAULT']['public_endpoint'] = (
                f'https://127.0.0.1:{self._tls_port}/'
            )
        for section, options in self._extra_config.items():
            sections.setdefault(section, {}).update(options)
        lines = []
        for section, options in sections.items():
            lines.append(f'[{section}]')
            lines.extend(f'{key} = {value}' for key, value in options.items())
            lines.append('')
        self.config_path = self._path('keystone.conf')
        with open(self.config_path, 'w') as f:
            f.write('\n'.join(lines))

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

    def _popen(self, argv: Sequence[str], log: str) -> subprocess.Popen[bytes]:
        assert self._spawner is not None
        with open(log, 'ab') as out:
            return self._spawner.popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
                env=self._child_env(),
                start_new_session=True,
            )

    def _bootstrap_args(self, port: int) -> list[str]:
        url = self._public_url(port)
        return [
            'bootstrap',
            '--bootstrap-username',
            self.admin_username,
            '--bootstrap-project-name',
            self.admin_project_name,
            '--bootstrap-role-name',
            'admin',
            '--bootstrap-service-name',
            'keystone',
            '--bootstrap-region-id',
            self.region_name,
            '--bootstrap-admin-url',
            url,
            '--bootstrap-public-url',
            url,
            '--bootstrap-internal-url',
            url,
        ]

    def _setup_phases(self, port: int) -> list[list[list[str]]]:
        owner: list[str] = []
        if os.geteuid() == 0:  # keystone-manage insists when run as root
            owner = ['--keystone-user', '0', '--keystone-group', '0']
        return [
            [['fernet_setup', *owner], ['credential_setup', *owner]],
            [['db_sync'], self._bootstrap_args(port)],
        ]

    def _fail(self, message: str, log: str | None) -> KeystoneStartError:
        return KeystoneStartError(
            f'{message}\n--- last lines of {log} ---\n{_tail(log)}'
        )

    def _run_manage(self, manage: str, args: Sequence[str]) -> None:
        assert self.setup_log_path is not None
        proc = self._popen(
            [manage, '--config-file', str(self.config_path), *args],
            self.setup_log_path,
        )
        self._setup = proc
        try:
            rc = proc.wait(timeout=self._startup_timeout)
        except subprocess.TimeoutExpired:
            raise self._fail(
                f'keystone-manage {args[0]} timed out', self.setup_log_path
            ) from None
        finally:
            _stop_process_group(proc)
            self._setup = None
        if rc != 0:
            raise self._fail(
                f'keystone-manage {args[0]} failed (exit status {rc})',
                self.setup_log_path,
            )

    def _sqlite_path(self) -> str | None:
        """The database file, if the configuration uses sqlite."""
        connection = self._extra_config.get('database', {}).get(
            'connection', 'sqlite:///' + self._path('keystone.db')
        )
        prefix = 'sqlite:///'
        if not connection.startswith(prefix):
            return None
        path = connection[len(prefix) :].partition('?')[0]
        return path if path and path != ':memory:' else None

    def _read_release(self, interpreter: str | None) -> None:
        """The release served, and whether it needs the compat module."""
        self.wsgi_compat = False
        if interpreter is None:
            return
        self.release, has_wsgi = _keystone_facts(interpreter)
        if not has_wsgi:
            self.wsgi_compat = True
            directory = self._path('python')
            os.makedirs(directory, exist_ok=True)
            with open(
                os.path.join(directory, f'{_COMPAT_MODULE}.py'), 'w'
            ) as f:
                f.write(_COMPAT_SOURCE)

    @property
    def _guard_wraps(self) -> bool:
        """Whether the guard is put inside a given application."""
        return self.guard and self.application != GUARD_APPLICATION

    def _server_imports(self) -> list[str]:
        """uWSGI's ``--import`` arguments (writing the modules)."""
        modules = []
        if self.wsgi_compat:
            modules.append(_COMPAT_MODULE)
        if self._guard_wraps:
            os.makedirs(self._path('python'), exist_ok=True)
            with open(self._path('python', f'{_GUARD_MODULE}.py'), 'w') as f:
                f.write(_GUARD_SOURCE)
            modules.append(_GUARD_MODULE)
        return [arg for module in modules for arg in ('--import', module)]

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
            top = self.application.partition(':')[0].partition('.')[0]
            spec = importlib.util.find_spec(top)
            if spec is not None and spec.origin:
                # NOTE: a package's origin is its __init__.py. For
                # mfa_osc.testing's wrappers that is this checkout (tox
                # installs it with usedevelop): nothing else of the
                # client's environment reaches the server.
                root = os.path.dirname(spec.origin)
                if spec.submodule_search_locations is not None:
                    root = os.path.dirname(root)
                paths.append(root)
        return paths

    def _start(self, manage: str, uwsgi: str, started: float) -> None:
        if self.tls:
            self._start_tls()
        self._write_config()
        self.log_path = self._path('keystone.log')
        self.setup_log_path = self._path('keystone-manage.log')
        deadline = started + self._startup_timeout
        port = self._requested_port or _free_port()
        phases = self._setup_phases(port)
        interpreter = _script_interpreter(manage)
        self._read_release(interpreter)
        sqlite_path = self._sqlite_path()
        if interpreter is None:
            # Unknown interpreter: plain keystone-manage runs (slower).
            for args in phases[0]:
                self._run_manage(manage, args)
            self._start_server(uwsgi, port)
            for args in phases[1]:
                self._run_manage(manage, args)
                if args[0] == 'db_sync' and sqlite_path is not None:
                    _set_wal_mode(sqlite_path)
        else:
            marker = self._path('keys-ready')
            self._setup = self._popen(
                [
                    interpreter,
                    '-c',
                    _SETUP_SCRIPT,
                    str(self.config_path),
                    marker,
                    json.dumps(phases),
                    sqlite_path or '',
                ],
                self.setup_log_path,
            )
            while not os.path.exists(marker):
                self._check_setup(deadline)
                time.sleep(0.05)
            # The server loads while the database is being set up.
            self._start_server(uwsgi, port)
            while self._check_setup(deadline) is None:
                time.sleep(0.05)
            _stop_process_group(self._setup)
            self._setup = None
        for _attempt in range(3):
            if self._wait_until_ready(deadline):
                return
            # The port was taken between picking it and binding it.
            if self._requested_port is not None:
                raise self._fail(
                    f'port {port} is already in use', self.log_path
                )
            port = _free_port()
            self._run_manage(manage, self._bootstrap_args(port))
            self._start_server(uwsgi, port)
        raise self._fail('no free port found', self.log_path)

    def _check_setup(self, deadline: float) -> int | None:
        assert self._setup is not None
        rc = self._setup.poll()
        if rc is not None and rc != 0:
            raise self._fail(
                f'setting up Keystone failed (exit status {rc})',
                self.setup_log_path,
            )
        if rc is None and time.monotonic() > deadline:
            raise self._fail(
                'setting up Keystone timed out', self.setup_log_path
            )
        return rc

    def _start_server(self, uwsgi: str, port: int) -> None:
        assert self.log_path is not None and self.work_dir is not None
        if self._server is not None:
            _stop_process_group(self._server)
            self._server = None
        argv = [
            uwsgi,
            '--http',
            f'127.0.0.1:{port}',
            '--http-keepalive',
            *(
                arg
                for path in self._python_path()
                for arg in ('--pythonpath', path)
            ),
            *self._server_imports(),
            '--module',
            self.application,
            '--need-app',
            '--master',
            # By default one process, one thread: requests are served one
            # at a time. Keystone writes on every password sign-in
            # (last_active_at); two at once on sqlite can fail with
            # "database is locked" and leave the other request unanswered
            # until uWSGI's 60 s http-timeout (measured: 1 run in 40 of
            # two concurrent sign-ins under load). Behind the guard, two
            # (the sqlite database is in WAL mode).
            '--processes',
            str(self.processes),
            '--enable-threads',
            # Die on SIGTERM (not reload), workers die with the master.
            '--die-on-term',
            '--no-orphans',
            '--reload-mercy',
            '5',
            '--worker-reload-mercy',
            '5',
            '--buffer-size',
            '32768',
            '--disable-logging',
            '--ignore-sigpipe',
            '--ignore-write-errors',
            '--disable-write-exception',
            '--procname-prefix-spaced',
            'mfa-osc-keystone',
        ]
        home = os.path.dirname(os.path.dirname(os.path.abspath(uwsgi)))
        if os.path.exists(os.path.join(home, 'pyvenv.cfg')):
            argv += ['--home', home]
        self.port = port
        if self._tls_proxy is not None:
            self._tls_proxy.upstream_port = port
        self.server_argv = argv
        self._server = self._popen(argv, self.log_path)

    def _wait_until_ready(self, deadline: float) -> bool:
        """True once GET /v3 answers 200; False if the port was taken."""
        assert self._server is not None and self.log_path is not None
        url = self.auth_url
        assert self.port is not None
        last_error = ''
        while True:
            rc = self._server.poll()
            if rc is not None:
                if 'Address already in use' in _tail(self.log_path, 200):
                    return False
                raise self._fail(
                    f'the Keystone server exited (status {rc})',
                    self.log_path,
                )
            try:
                status = _http_status(self.port, '/v3')
                if status == 200:
                    return True
                last_error = f'HTTP {status}'
            except OSError as exc:
                last_error = str(exc)
            if time.monotonic() > deadline:
                raise self._fail(
                    f'Keystone did not answer GET {url} within '
                    f'{self._startup_timeout:g} s (last error: '
                    f'{last_error})',
                    self.log_path,
                )
            time.sleep(0.05)

    # -- admin helpers -------------------------------------------------

    def admin_session(self) -> ks_session.Session:
        """A keystoneauth Session signed in as the admin (project scoped).

        The same session is returned on every call.
        """
        with self._lock:
            if self._session is None:
                auth = v3.Password(
                    auth_url=self.auth_url,
                    username=self.admin_username,
                    password=self.admin_password,
                    user_domain_id='default',
                    project_name=self.admin_project_name,
                    project_domain_id='default',
                )
                self._session = ks_session.Session(
                    auth=auth, verify=self.ca_path or True
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
            roles = self.admin_adapter().get('/roles?name=member').json()
            self._member_role_id = str(roles['roles'][0]['id'])
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
        api = self.admin_adapter()
        name = name or f'user-{uuid.uuid4().hex[:12]}'
        password = password or secrets.token_urlsafe(16)
        project_id = project_name = None
        if project:
            project_name = f'{name}-project'
            body = {'project': {'name': project_name, 'domain_id': 'default'}}
            project_id = str(
                api.post('/projects', json=body).json()['project']['id']
            )
        user_body: dict[str, Any] = {
            'name': name,
            'password': password,
            'domain_id': 'default',
        }
        if project_id is not None:
            user_body['default_project_id'] = project_id
        user_id = str(
            api.post('/users', json={'user': user_body}).json()['user']['id']
        )
        if project_id is not None:
            role_id = self._member_role()
            api.put(f'/projects/{project_id}/users/{user_id}/roles/{role_id}')
        if rules is not None:
            self.set_mfa_rules(user_id, rules)
        return KeystoneUser(
            id=user_id,
            name=name,
            password=password,
            project_id=project_id,
            project_name=project_name,
            domain=self.domain,
        )

    def set_mfa_rules(
        self,
        user_id: str,
        rules: Sequence[Sequence[str]],
        enabled: bool = True,
    ) -> None:
        """Set a user's MFA rules and enable (or disable) MFA."""
        options = {
            'multi_factor_auth_rules': [list(rule) for rule in rules],
            'multi_factor_auth_enabled': enabled,
        }
        self.admin_adapter().patch(
            f'/users/{user_id}', json={'user': {'options': options}}
        )

    def create_totp_credential(
        self, user_id: str, secret: str, project_id: str | None = None
    ) -> str:
        """Store a TOTP secret (bare base32) for a user; returns its id."""
        credential: dict[str, Any] = {
            'type': 'totp',
            'user_id': user_id,
            'blob': secret,
        }
        if project_id is not None:
            credential['project_id'] = project_id
        response = self.admin_adapter().post(
            '/credentials', json={'credential': credential}
        )
        return str(response.json()['credential']['id'])


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Make SIGINT (even if inherited as ignored), SIGTERM and SIGHUP
    raise KeyboardInterrupt."""

    def interrupt(signum: int, frame: types.FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {
        sig: signal.signal(sig, interrupt)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='python -m mfa_osc.testing.keystone',
        description=(
            'Start a throwaway local Keystone, print the OS_* settings of '
            'its admin, and run until interrupted.'
        ),
    )
    parser.add_argument(
        '--port', type=int, help='port on 127.0.0.1 (default: a free one)'
    )
    parser.add_argument(
        '--admin-password', help='admin password (default: random)'
    )
    parser.add_argument(
        '--guard',
        action='store_true',
        help="serve Keystone behind mfa-osc's guard (mfa_osc.guard), two "
        'uWSGI processes and a memcached of its own',
    )
    parser.add_argument(
        '--tls',
        action='store_true',
        help='serve over HTTPS with a certificate of a CA made for the run '
        '(OS_CACERT is printed)',
    )
    args = parser.parse_args(argv)
    keystone = LocalKeystone(
        port=args.port,
        admin_password=args.admin_password,
        tls=args.tls,
        guard=args.guard,
    )
    try:
        with _stop_on_signals():
            return _serve(keystone)
    except KeyboardInterrupt:
        print('# Stopping Keystone.', flush=True)
        return 0
    finally:
        # A second Ctrl-C must not interrupt the clean-up.
        with _ignoring_signals():
            keystone.stop()


def _serve(keystone: LocalKeystone) -> int:
    try:
        keystone.start()
    except (KeystoneNotInstalledError, KeystoneStartError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    for key, value in sorted(keystone.os_env().items()):
        print(f'export {key}={shlex.quote(value)}')
    print(
        f'# Keystone is running at {keystone.auth_url} (pid {keystone.pid}, '
        f'started in {keystone.startup_seconds or 0:.1f} s, log '
        f'{keystone.log_path}).\n'
        '# Press Ctrl-C to stop it and remove its files.',
        flush=True,
    )
    status = keystone.wait()
    print(
        f'error: the Keystone server exited (status {status})\n'
        f'{_tail(keystone.log_path)}',
        file=sys.stderr,
    )
    return 1


@contextlib.contextmanager
def _ignoring_signals() -> Iterator[None]:
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    except ValueError:  # not in the main thread
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == '__main__':
    sys.exit(main())
