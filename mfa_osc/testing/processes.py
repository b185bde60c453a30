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

"""The throwaway servers' child processes: started so that none outlives
its owner, and stopped with their whole process group.

:class:`Spawner` forks every child from one long-lived thread with
``PR_SET_PDEATHSIG`` (Linux), so that a child dies with its owner even
when the owner is killed with ``SIGKILL``; :func:`stop_process_group`
ends a child started with ``start_new_session=True`` and whatever it
started; :func:`process_group_members` is how a test sees that nothing
is left. Used by :mod:`mfa_osc.testing.keystone` and
:mod:`mfa_osc.testing.memcached`.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import contextlib
import ctypes
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any
from typing import cast

__all__ = [
    'Spawner',
    'die_with_parent',
    'free_port',
    'process_group_members',
    'stop_process_group',
]

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port of 127.0.0.1 free right now (it may be taken later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


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


def die_with_parent(parent_pid: int) -> Callable[[], None] | None:
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


class Spawner:
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
        preexec = die_with_parent(os.getpid())
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


def stop_process_group(
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
