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

"""The processes of one throwaway Keystone, and their logs: the set-up by
``keystone-manage`` and the uWSGI server, until it answers.

:class:`KeystoneProcesses` forks them all from one
:class:`~mfa_osc.testing.processes.Spawner`, each in a process group of
its own that :meth:`~KeystoneProcesses.stop` ends whole, and turns a
process that fails or hangs into a start-up error quoting its log.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
import http.client
import json
import os
import subprocess
import time

from mfa_osc.testing import manage
from mfa_osc.testing.errors import start_error
from mfa_osc.testing.errors import tail
from mfa_osc.testing.processes import Spawner
from mfa_osc.testing.processes import stop_process_group

__all__ = ['KeystoneProcesses', 'http_status']


def http_status(port: int, path: str) -> int:
    """The status of ``GET path`` on ``port`` of 127.0.0.1, over HTTP."""
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=2)
    try:
        connection.request('GET', path)
        return connection.getresponse().status
    finally:
        connection.close()


class KeystoneProcesses:
    """keystone-manage's and uWSGI's processes of one Keystone.

    :param work_dir: where they run, and where their logs are
        (:attr:`setup_log_path` for keystone-manage, :attr:`log_path` for
        uWSGI).
    :param config_path: the ``keystone.conf`` keystone-manage is given.
    :param env: their environment.
    :param timeout: seconds a keystone-manage command may take, and how
        long start-up may take (named in the errors).
    """

    def __init__(
        self,
        work_dir: str,
        config_path: str,
        env: Mapping[str, str],
        timeout: float,
    ) -> None:
        self._work_dir = work_dir
        self._config_path = config_path
        self._env = dict(env)
        self._timeout = timeout
        #: Forks every child, memcached's included.
        self.spawner = Spawner()
        self.log_path = os.path.join(work_dir, 'keystone.log')
        self.setup_log_path = os.path.join(work_dir, 'keystone-manage.log')
        #: uWSGI's master, once started (the leader of its process group).
        self.server: subprocess.Popen[bytes] | None = None
        self._setup: subprocess.Popen[bytes] | None = None

    def _popen(self, argv: Sequence[str], log: str) -> subprocess.Popen[bytes]:
        with open(log, 'ab') as out:
            return self.spawner.popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._work_dir,
                env=self._env,
                start_new_session=True,
            )

    def run_manage(self, keystone_manage: str, args: Sequence[str]) -> None:
        """Run one ``keystone-manage`` command to its end."""
        proc = self._popen(
            [keystone_manage, '--config-file', self._config_path, *args],
            self.setup_log_path,
        )
        self._setup = proc
        try:
            rc = proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            raise start_error(
                f'keystone-manage {args[0]} timed out', self.setup_log_path
            ) from None
        finally:
            stop_process_group(proc)
            self._setup = None
        if rc != 0:
            raise start_error(
                f'keystone-manage {args[0]} failed (exit status {rc})',
                self.setup_log_path,
            )

    def set_up_by_commands(
        self,
        keystone_manage: str,
        phases: Sequence[Sequence[Sequence[str]]],
        sqlite_path: str | None,
        start_server: Callable[[], None],
    ) -> None:
        """Plain keystone-manage runs (slower), ``start_server`` called
        once the keys exist."""
        keys, database = phases
        for args in keys:
            self.run_manage(keystone_manage, args)
        start_server()
        for args in database:
            self.run_manage(keystone_manage, args)
            if args[0] == 'db_sync' and sqlite_path is not None:
                manage.set_wal_mode(sqlite_path)

    def set_up_in_one(
        self,
        interpreter: str,
        phases: Sequence[Sequence[Sequence[str]]],
        sqlite_path: str | None,
        deadline: float,
        start_server: Callable[[], None],
    ) -> None:
        """keystone-manage's commands in one run of ``interpreter``;
        ``start_server`` is called once the keys exist, so that the server
        loads while the database is being set up."""
        marker = os.path.join(self._work_dir, 'keys-ready')
        self._setup = self._popen(
            [
                interpreter,
                '-c',
                manage.SETUP_SCRIPT,
                self._config_path,
                marker,
                json.dumps(phases),
                sqlite_path or '',
            ],
            self.setup_log_path,
        )
        while not os.path.exists(marker):
            self._check_setup(deadline)
            time.sleep(0.05)
        start_server()
        while self._check_setup(deadline) is None:
            time.sleep(0.05)
        stop_process_group(self._setup)
        self._setup = None

    def _check_setup(self, deadline: float) -> int | None:
        assert self._setup is not None
        rc = self._setup.poll()
        if rc is not None and rc != 0:
            raise start_error(
                f'setting up Keystone failed (exit status {rc})',
                self.setup_log_path,
            )
        if rc is None and time.monotonic() > deadline:
            raise start_error(
                'setting up Keystone timed out', self.setup_log_path
            )
        return rc

    def start_server(self, argv: Sequence[str]) -> None:
        """Start uWSGI (stopping the one started before)."""
        if self.server is not None:
            stop_process_group(self.server)
            self.server = None
        self.server = self._popen(argv, self.log_path)

    def wait_until_ready(self, port: int, deadline: float, url: str) -> bool:
        """True once GET /v3 on ``port`` answers 200; False if the port
        was taken.

        Raises a start-up error, quoting the log, if the server exits or
        does not answer ``url`` by ``deadline`` (:func:`time.monotonic`).
        """
        assert self.server is not None
        last_error = ''
        while True:
            rc = self.server.poll()
            if rc is not None:
                if 'Address already in use' in tail(self.log_path, 200):
                    return False
                raise start_error(
                    f'the Keystone server exited (status {rc})',
                    self.log_path,
                )
            try:
                status = http_status(port, '/v3')
                if status == 200:
                    return True
                last_error = f'HTTP {status}'
            except OSError as exc:
                last_error = str(exc)
            if time.monotonic() > deadline:
                raise start_error(
                    f'Keystone did not answer GET {url} within '
                    f'{self._timeout:g} s (last error: {last_error})',
                    self.log_path,
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """End keystone-manage and uWSGI (whole process groups)."""
        for proc in (self._setup, self.server):
            if proc is not None:
                stop_process_group(proc)
        self._setup = None
        self.server = None

    def close(self) -> None:
        """End the spawner; what it started and is left dies with it."""
        self.spawner.close()
