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

"""A throwaway memcached on 127.0.0.1, for the guard's shared state.

:class:`LocalMemcached` runs Debian's ``memcached`` (``apt-get install
memcached``) on a free port of the loopback, TCP only, and stops it (its
process group) at :meth:`~LocalMemcached.stop`, also registered with
:mod:`atexit`; on Linux it dies with its owner (``PR_SET_PDEATHSIG``).
As root, memcached must be told which user to run as: ``-u root``.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import types
from typing import Any

from mfa_osc.testing.processes import die_with_parent
from mfa_osc.testing.processes import free_port

__all__ = ['LocalMemcached', 'MemcachedNotInstalledError']

DEBIAN_PATH = '/usr/bin/memcached'


class MemcachedNotInstalledError(RuntimeError):
    """No memcached binary."""


class LocalMemcached:
    """memcached on 127.0.0.1; a context manager, or start() and stop().

    :param port: the TCP port (by default a free one).
    :param memory_mb: the most memory it uses for items.
    """

    def __init__(self, port: int | None = None, memory_mb: int = 16) -> None:
        self._requested_port = port
        self._memory_mb = memory_mb
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as ``[cache] memcache_servers`` takes it."""
        if self.port is None:
            raise RuntimeError('LocalMemcached is not started')
        return f'127.0.0.1:{self.port}'

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> LocalMemcached:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def start(
        self,
        timeout: float = 10.0,
        popen: Callable[..., subprocess.Popen[bytes]] | None = None,
    ) -> LocalMemcached:
        """Start it and wait until it accepts connections.

        :param popen: starts the process (``subprocess.Popen``'s
            arguments); by default ``subprocess.Popen`` with a
            ``preexec_fn`` that makes memcached die with the thread that
            started it. LocalKeystone passes the one of its long-lived
            spawning thread.
        """
        binary = shutil.which('memcached') or (
            '/usr/bin/memcached'
            if os.path.exists('/usr/bin/memcached')
            else None
        )
        if binary is None:
            raise MemcachedNotInstalledError(
                'memcached was not found on PATH: install it (Debian and '
                'Ubuntu: `apt-get install memcached`; .ci/run does so as '
                'root).'
            )
        self.port = self._requested_port or free_port()
        argv = [
            binary,
            '-l', '127.0.0.1',
            '-p', str(self.port),
            '-U', '0',  # no UDP
            '-m', str(self._memory_mb),
        ]  # fmt: skip
        if os.geteuid() == 0:
            argv += ['-u', 'root']
        kwargs: dict[str, Any] = {
            'stdin': subprocess.DEVNULL,
            'stdout': subprocess.DEVNULL,
            'stderr': subprocess.PIPE,
            'start_new_session': True,
        }
        if popen is None:
            popen = subprocess.Popen
            kwargs['preexec_fn'] = die_with_parent(os.getpid())
        self._proc = popen(argv, **kwargs)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                assert self._proc.stderr is not None
                error = self._proc.stderr.read().decode(errors='replace')
                self.stop()
                raise RuntimeError(
                    'memcached exited at start: '
                    f'{error.strip() or "no output"}'
                )
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f'memcached did not listen on port {self.port} '
                        f'within {timeout:g} s'
                    ) from None
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop it; safe to call more than once."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()
