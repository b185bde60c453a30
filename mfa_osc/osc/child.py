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

"""The program ``openstack mfa exec`` runs: started with the lent
token's environment, the signals this process gets passed on to it (but
those the terminal sent it already), and its exit status as a shell
gives it.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
import signal
import subprocess


class NotStarted(Exception):
    """The program was found but could not be started."""


#: The signals passed on to the child.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
#: Of those, the ones a terminal sends to its whole foreground group
#: (Ctrl-C, Ctrl-\).
TERMINAL_SIGNALS = frozenset({signal.SIGINT, signal.SIGQUIT})


def _terminal_group() -> int | None:
    """The foreground process group of the controlling terminal, if any."""
    try:
        fd = os.open('/dev/tty', os.O_RDONLY | os.O_NOCTTY)
    except OSError:  # no controlling terminal
        return None
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def should_forward(signum: int, child_pid: int) -> bool:
    """Whether ``signum``, received by this process, goes on to the child.

    SIGTERM and SIGHUP always do. SIGINT and SIGQUIT do unless the child
    is in this process's group and that group is the terminal's
    foreground group: then the terminal has sent the signal to the child
    already, and a second SIGINT tells Terraform and OpenTofu to exit at
    once, without their graceful shutdown.
    """
    if signum not in TERMINAL_SIGNALS:
        return True
    try:
        group = os.getpgid(child_pid)
    except OSError:
        return True
    # NOTE: a `kill -INT` of this process alone while it runs in the
    # terminal's foreground is not passed on either: a handler cannot tell
    # it from Ctrl-C (as in terragrunt, which made the same choice).
    return not (group == os.getpgrp() == _terminal_group())


class Forwarder:
    """The signal handler: passes the signals on to the child.

    Before the child runs, it only notes them in :attr:`pending`.
    """

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []

    def __call__(self, signum: int, frame: object) -> None:
        # NOTE: either way this process goes on waiting for the child, so
        # the temporary files go only after it has ended.
        child = self.child
        if child is None:
            self.pending.append(signum)
            return
        if child.returncode is None and should_forward(signum, child.pid):
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)


@contextlib.contextmanager
def forwarding() -> Iterator[Forwarder]:
    """:class:`Forwarder` handles :data:`FORWARDED` in this block."""
    forwarder = Forwarder()
    previous = {sig: signal.signal(sig, forwarder) for sig in FORWARDED}
    try:
        yield forwarder
    finally:
        for sig, handler in previous.items():
            # NOTE: None: a handler set outside Python, which Python
            # cannot put back; ours stays (the child has ended by then).
            if handler is not None:
                signal.signal(sig, handler)


def run(
    program: str, argv: list[str], env: dict[str, str], forwarder: Forwarder
) -> int:
    """Run the child; Ctrl-C and SIGTERM reach it; its exit status.

    A signal that came before the child started (while the temporary
    clouds.yaml was written) means it is not started: 128 + the signal.
    """
    if forwarder.pending:
        # Told to stop before the child started: do not start it.
        return 128 + forwarder.pending[0]
    try:
        from mfa_osc.osc import lent

        # NOTE: the lock of the temporary clouds.yaml is the child's too:
        # the file stays while the child runs, should exec be killed.
        child = subprocess.Popen(
            [program, *argv[1:]], env=env, pass_fds=tuple(lent.HELD)
        )
    except OSError as exc:
        raise NotStarted(exc.strerror or str(exc)) from exc
    forwarder.child = child
    for signum in forwarder.pending:  # while the child was starting
        forwarder(signum, None)
    code = child.wait()
    if code < 0:
        return 128 - code
    return code
