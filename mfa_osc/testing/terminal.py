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

"""Run a program on a pseudo-terminal and answer its prompts.

For the functional tests (prompts are only shown on a terminal, and CI has
none) and for the demo, which shows the real interactive enrollment.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
import errno
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

#: What to type at a prompt: text, nothing (None: only wait), or a function
#: of the terminal output so far that returns the text.
Answer = str | None | Callable[[str], str]

#: Seconds a program may take before it is killed.
DEFAULT_TIMEOUT = 120.0


class PtyTimeoutError(AssertionError):
    """A program on a pty did not show the expected text in time."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(f'{message}\n--- terminal output ---\n{output}')
        self.output = output


def _set_controlling_tty() -> None:
    # Runs in the child after setsid(): make the pty (stdin) the
    # controlling terminal, so that /dev/tty (getpass) works.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_on_pty(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    inputs: Sequence[tuple[str, Answer]] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[int, str]:
    """Run a program on a new pseudo-terminal and answer its prompts.

    For each ``(regex, answer)`` of ``inputs`` in turn, wait until the
    terminal output after the previous match matches ``regex``, then type
    ``answer`` and Enter (``None``: only wait for the text; a function:
    type what it returns for the output so far).  Then read
    until the program ends.  Returns ``(returncode, output)``, where output
    is all the program wrote to the terminal, echoed typing included, with
    ``\\r\\n`` turned into ``\\n``.

    The pty is the program's stdin, stdout, stderr and controlling
    terminal; the caller's own stdin is not used.  Raises
    :class:`PtyTimeoutError` (killing the program) when ``timeout`` seconds
    pass first.
    """
    deadline = time.monotonic() + timeout
    master, slave = os.openpty()
    try:
        fcntl.ioctl(
            slave, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 200, 0, 0)
        )
        proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_set_controlling_tty,
            close_fds=True,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    chunks: list[bytes] = []

    def output() -> str:
        text = b''.join(chunks).decode(errors='replace')
        return text.replace('\r\n', '\n')

    def read(wait: float) -> bool:
        """Read what is there; False once the terminal is closed."""
        ready, _, _ = select.select([master], [], [], max(wait, 0))
        if not ready:
            return True
        try:
            data = os.read(master, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:  # Linux: the other side is gone
                return False
            raise
        if not data:
            return False
        chunks.append(data)
        return True

    def kill() -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    try:
        position = 0
        open_ = True
        for pattern, answer in inputs:
            regex = re.compile(pattern)
            while True:
                match = regex.search(output(), position)
                if match is not None:
                    position = match.end()
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not open_:
                    kill()
                    while read(0):
                        pass
                    reason = (
                        f'timed out after {timeout:g} s'
                        if open_
                        else f'exited with status {proc.returncode}'
                    )
                    raise PtyTimeoutError(
                        f'{argv[0]} {reason} before showing {pattern!r}',
                        output(),
                    )
                open_ = read(min(remaining, 0.2))
                if not open_:
                    proc.wait(timeout=max(deadline - time.monotonic(), 1))
            if callable(answer):
                answer = answer(output())
            if answer is not None:
                os.write(master, answer.encode() + b'\n')
        while open_:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill()
                raise PtyTimeoutError(
                    f'{argv[0]} did not end within {timeout:g} s', output()
                )
            open_ = read(min(remaining, 0.2))
            # A grandchild may keep the terminal open after the program
            # ended: stop reading soon after the program is gone.
            if open_ and proc.poll() is not None:
                while open_ and select.select([master], [], [], 0.1)[0]:
                    open_ = read(0)
                open_ = False
        try:
            returncode = proc.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            kill()
            raise PtyTimeoutError(
                f'{argv[0]} did not end within {timeout:g} s', output()
            ) from None
        return returncode, output()
    finally:
        if proc.poll() is None:
            kill()
        os.close(master)
