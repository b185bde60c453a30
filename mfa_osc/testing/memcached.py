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
memcached``) on a free port of the loopback, TCP only
(:class:`~mfa_osc.testing.daemon.LoopbackDaemon`). As root, memcached
must be told which user to run as: ``-u root``.
"""

from __future__ import annotations

import os

from mfa_osc.testing.daemon import DaemonNotInstalledError
from mfa_osc.testing.daemon import LoopbackDaemon

__all__ = ['LocalMemcached', 'MemcachedNotInstalledError']


class MemcachedNotInstalledError(DaemonNotInstalledError):
    """No memcached binary."""


class LocalMemcached(LoopbackDaemon):
    """memcached on 127.0.0.1; a context manager, or start() and stop().

    :param port: the TCP port (by default a free one).
    :param memory_mb: the most memory it uses for items.
    """

    name = binary = package = 'memcached'
    not_installed = MemcachedNotInstalledError

    def __init__(self, port: int | None = None, memory_mb: int = 16) -> None:
        super().__init__(port)
        self._memory_mb = memory_mb

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as ``[cache] memcache_servers`` takes it."""
        return super().address

    def argv(self, binary: str, port: int) -> list[str]:
        argv = [
            binary,
            '-l', '127.0.0.1',
            '-p', str(port),
            '-U', '0',  # no UDP
            '-m', str(self._memory_mb),
        ]  # fmt: skip
        if os.geteuid() == 0:
            argv += ['-u', 'root']
        return argv
