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


class _Terminal:
    """A program running on a pty, and what it wrote to it so far."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        timeout: float,
    ) -> None:
        self.name = argv[0]
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.chunks: list[bytes] = []
        #: False once the terminal is closed (the program and every
        #: process that shared its terminal are gone).
        self.open = True
        #: Where the next expected text is searched from.
        self.position = 0
        self.master, slave = os.openpty()
        try:
            fcntl.ioctl(
                slave, termios.TIOCSWINSZ, struct.pack('HHHH', 50, 200, 0, 0)
            )
            self.proc = subprocess.Popen(
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
            os.close(self.master)
            raise
        finally:
            os.close(slave)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def output(self) -> str:
        text = b''.join(self.chunks).decode(errors='replace')
        return text.replace('\r\n', '\n')

    def read(self, wait: float) -> bool:
        """Read what is there; False once the terminal is closed."""
        ready, _, _ = select.select([self.master], [], [], max(wait, 0))
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError as exc:
            if exc.errno == errno.EIO:  # Linux: the other side is gone
                return False
            raise
        if not data:
            return False
        self.chunks.append(data)
        return True

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def timed_out(self, what: str) -> PtyTimeoutError:
        """Kill the program; the error saying it did not ``what`` in time."""
        self.kill()
        return PtyTimeoutError(
            f'{self.name} {what} within {self.timeout:g} s', self.output()
        )

    def expect(self, pattern: str) -> None:
        """Wait until the output after the last match matches ``pattern``."""
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.output(), self.position)
            if match is not None:
                self.position = match.end()
                return
            remaining = self.remaining()
            if remaining <= 0 or not self.open:
                raise self._missing(pattern)
            self.open = self.read(min(remaining, 0.2))
            if not self.open:
                self.proc.wait(timeout=max(self.remaining(), 1))

    def _missing(self, pattern: str) -> PtyTimeoutError:
        """Kill the program; the error saying ``pattern`` never came."""
        self.kill()
        while self.read(0):
            pass
        reason = (
            f'timed out after {self.timeout:g} s'
            if self.open
            else f'exited with status {self.proc.returncode}'
        )
        return PtyTimeoutError(
            f'{self.name} {reason} before showing {pattern!r}', self.output()
        )

    def send(self, answer: Answer) -> None:
        """Type ``answer`` (or what it returns for the output) and Enter."""
        if callable(answer):
            answer = answer(self.output())
        if answer is not None:
            os.write(self.master, answer.encode() + b'\n')

    def read_to_end(self) -> None:
        """Read until the terminal is closed or the program has ended."""
        while self.open:
            remaining = self.remaining()
            if remaining <= 0:
                raise self.timed_out('did not end')
            self.open = self.read(min(remaining, 0.2))
            # A grandchild may keep the terminal open after the program
            # ended: stop reading soon after the program is gone.
            if self.open and self.proc.poll() is not None:
                self._drain()
                self.open = False

    def _drain(self) -> None:
        """Read what is still coming, up to a tenth of a second apart."""
        while self.open and select.select([self.master], [], [], 0.1)[0]:
            self.open = self.read(0)

    def wait(self) -> int:
        """The program's exit status, once it has ended."""
        try:
            return self.proc.wait(timeout=max(self.remaining(), 1))
        except subprocess.TimeoutExpired:
            raise self.timed_out('did not end') from None

    def close(self) -> None:
        """Kill the program if it still runs; close the terminal."""
        if self.proc.poll() is None:
            self.kill()
        os.close(self.master)


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
    terminal = _Terminal(argv, env, timeout)
    try:
        for pattern, answer in inputs:
            terminal.expect(pattern)
            terminal.send(answer)
        terminal.read_to_end()
        return terminal.wait(), terminal.output()
    finally:
        terminal.close()
