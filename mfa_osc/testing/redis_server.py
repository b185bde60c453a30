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

"""A throwaway Redis on 127.0.0.1, for the guard's shared state.

:class:`LocalRedis` runs Debian's ``redis-server`` (``apt-get install
redis-server``) on a free port of the loopback
(:class:`~mfa_osc.testing.daemon.LoopbackDaemon`), in memory only: no
snapshot, no append-only file, no Unix socket.
"""

from __future__ import annotations

from mfa_osc.testing.daemon import DaemonNotInstalledError
from mfa_osc.testing.daemon import LoopbackDaemon

__all__ = ['LocalRedis', 'RedisNotInstalledError']


class RedisNotInstalledError(DaemonNotInstalledError):
    """No redis-server binary."""


class LocalRedis(LoopbackDaemon):
    """Redis on 127.0.0.1; a context manager, or start() and stop().

    :param port: the TCP port (by default a free one).
    """

    name = 'Redis'
    binary = package = 'redis-server'
    not_installed = RedisNotInstalledError

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as ``[cache] redis_server`` takes it."""
        return super().address

    def argv(self, binary: str, port: int) -> list[str]:
        return [
            binary,
            '--bind', '127.0.0.1',
            '--port', str(port),
            '--save', '',
            '--appendonly', 'no',
            '--daemonize', 'no',
        ]  # fmt: skip
