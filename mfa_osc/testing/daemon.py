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

"""A throwaway server process on a free port of 127.0.0.1 (memcached,
Redis): the start, the wait until it accepts connections, and the stop.

:class:`LoopbackDaemon` runs a Debian package's binary, stops it (its
process group) at :meth:`~LoopbackDaemon.stop`, also registered with
:mod:`atexit`; on Linux it dies with its owner (``PR_SET_PDEATHSIG``).
A subclass names the binary and gives its arguments.
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
from typing import TypeVar

from mfa_osc.testing.processes import die_with_parent
from mfa_osc.testing.processes import free_port

__all__ = ['DaemonNotInstalledError', 'LoopbackDaemon']

_Self = TypeVar('_Self', bound='LoopbackDaemon')


class DaemonNotInstalledError(RuntimeError):
    """No binary for the server."""


class LoopbackDaemon:
    """A server on 127.0.0.1; a context manager, or start() and stop().

    :param port: the TCP port (by default a free one).
    """

    #: What the server is called in messages, its binary, and the Debian
    #: package that installs it.
    name = ''
    binary = ''
    package = ''
    #: Raised when the binary is missing.
    not_installed: type[DaemonNotInstalledError] = DaemonNotInstalledError

    def __init__(self, port: int | None = None) -> None:
        self._requested_port = port
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def argv(self, binary: str, port: int) -> list[str]:
        """The command line serving on 127.0.0.1:``port``."""
        raise NotImplementedError

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        if self.port is None:
            raise RuntimeError(f'{type(self).__name__} is not started')
        return f'127.0.0.1:{self.port}'

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def start(
        self: _Self,
        timeout: float = 10.0,
        popen: Callable[..., subprocess.Popen[bytes]] | None = None,
    ) -> _Self:
        """Start it and wait until it accepts connections.

        :param popen: starts the process (``subprocess.Popen``'s
            arguments); by default ``subprocess.Popen`` with a
            ``preexec_fn`` that makes the server die with the thread that
            started it. LocalKeystone passes the one of its long-lived
            spawning thread.
        """
        debian = f'/usr/bin/{self.binary}'
        binary = shutil.which(self.binary) or (
            debian if os.path.exists(debian) else None
        )
        if binary is None:
            raise self.not_installed(
                f'{self.binary} was not found on PATH: install it (Debian '
                f'and Ubuntu: `apt-get install {self.package}`; .ci/run does '
                'so as root).'
            )
        self.port = self._requested_port or free_port()
        kwargs: dict[str, Any] = {
            'stdin': subprocess.DEVNULL,
            'stdout': subprocess.DEVNULL,
            'stderr': subprocess.PIPE,
            'start_new_session': True,
        }
        if popen is None:
            popen = subprocess.Popen
            kwargs['preexec_fn'] = die_with_parent(os.getpid())
        self._proc = popen(self.argv(binary, self.port), **kwargs)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                assert self._proc.stderr is not None
                error = self._proc.stderr.read().decode(errors='replace')
                self.stop()
                raise RuntimeError(
                    f'{self.name} exited at start: '
                    f'{error.strip() or "no output"}'
                )
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f'{self.name} did not listen on port {self.port} '
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
