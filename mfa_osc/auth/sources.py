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

"""Where a passcode or password comes from when it was not given up front.

A passcode command (a hardware key's CLI, a password manager's OTP command)
or a prompt on the terminal. Both are asked only when Keystone has said it
wants the second factor, so users without MFA rules never see a prompt and
a hardware key is only touched when needed.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
import contextlib
import errno
import getpass
import os
import shlex
import signal
import subprocess
import sys
import threading
from typing import Any

from mfa_osc import terminal
from mfa_osc.auth import exceptions

COMMAND_TIMEOUT = 120
#: Words in the name of an ``OS_*`` variable that holds a secret (the
#: password, TOTP secret, recovery code, passcode, tokens, application
#: credential and OIDC client secrets).
SECRET_WORDS = ('PASSWORD', 'SECRET', 'TOKEN', 'PASSCODE', 'RECOVERY')
#: The signals that end this process and, first, the passcode command.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def terminal_attached() -> bool:
    """Whether a person can answer a prompt (stdin is a terminal)."""
    return terminal.is_terminal(sys.stdin)


def prompt(text: str) -> str | None:
    """Ask on the terminal without echo; None when no terminal is there."""
    if not terminal_attached():
        return None
    try:
        return getpass.getpass(text)
    except EOFError:
        return None


def _locate(program: str) -> str | None:
    """The file a program name stands for, executable or not."""
    if os.sep in program:
        return program if os.path.lexists(program) else None
    for folder in os.environ.get('PATH', os.defpath).split(os.pathsep):
        path = os.path.join(folder or '.', program)
        if os.path.lexists(path):
            return path
    return None


def _interpreter(path: str) -> str | None:
    """The interpreter a script's ``#!`` line names, if it has one."""
    try:
        with open(path, 'rb') as handle:
            first = handle.readline(256)
    except OSError:
        return None
    if not first.startswith(b'#!'):
        return None
    words = first[2:].decode(errors='replace').split()
    return words[0] if words else ''


def _cannot_run(program: str, exc: OSError, given: str) -> str:
    """Why a passcode command could not be started, and the fix."""
    path = _locate(program)
    if path is None:
        where = '' if os.sep in program else ' on PATH'
        return (
            f'The passcode command {program!r} was not found{where}; install '
            f'it, or give its full path in {given}.'
        )
    if os.path.islink(path) and not os.path.exists(path):
        return (
            f'The passcode command {path!r} is a symbolic link to '
            f'{os.readlink(path)!r}, which does not exist; fix the link, or '
            f'change {given}.'
        )
    if os.path.isdir(path):
        return (
            f'The passcode command {path!r} is a directory, not a program; '
            f'set {given} to the program that prints the code.'
        )
    interpreter = _interpreter(path)
    if isinstance(exc, FileNotFoundError) and interpreter is not None:
        if not interpreter:
            return (
                f"The passcode command {path!r} has an empty '#!' line; "
                "name its interpreter there (for example '#!/bin/sh')."
            )
        return (
            f'The passcode command {path!r} cannot start: its first line '
            f'names the interpreter {interpreter!r}, which does not exist. '
            "Fix the script's '#!' line (for example '#!/bin/sh' or "
            "'#!/usr/bin/env python3')."
        )
    if isinstance(exc, PermissionError):
        if not os.access(path, os.X_OK):
            return (
                f'The passcode command {path!r} is not executable: make it '
                f'executable (`chmod +x {path}`), or have {given} run it '
                f'through its interpreter (for example `sh {path}`).'
            )
        return (
            f'The passcode command {path!r} cannot start: permission denied '
            "(its '#!' interpreter may not be executable, or its file "
            'system may be mounted noexec).'
        )
    if exc.errno == errno.ENOEXEC:
        return (
            f'The passcode command {path!r} is not a program this system '
            "can run: a script needs a first line such as '#!/bin/sh' "
            'naming its interpreter.'
        )
    return (
        f'The passcode command {path!r} cannot start ({exc.strerror}); '
        f'check {given}.'
    )


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the ``OS_*`` variables that hold a secret.

    NOTE: the passcode command prints a code; it needs none of the
    password, the TOTP secret, a recovery code or a token (a password
    manager's CLI has its own). The other ``OS_*`` settings stay, so a
    command may pick the account by ``OS_CLOUD`` or ``OS_USERNAME``.
    """
    return {
        key: value
        for key, value in environ.items()
        if not (
            key.upper().startswith('OS_')
            and any(word in key.upper() for word in SECRET_WORDS)
        )
    }


def _foreground_terminal() -> int | None:
    """The controlling terminal, open, when this process is in its
    foreground process group; else None.

    NOTE: by ``/dev/tty``, not stdin: a command may ask for a PIN on the
    terminal when stdin is a pipe.
    """
    try:
        fd = os.open('/dev/tty', os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


@contextlib.contextmanager
def _terminal_lent(tty: int | None, group: int) -> Iterator[None]:
    """The terminal's foreground is ``group``'s in this block."""
    if tty is None:
        yield
        return
    try:
        os.tcsetpgrp(tty, group)
    except OSError:
        # NOTE: the command ended (and its group with it) already.
        yield
        return
    try:
        # NOTE: a child that read the terminal before it was its own was
        # stopped (SIGTTIN); it goes on now.
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGCONT)
        yield
    finally:
        _take_terminal_back(tty)


def _take_terminal_back(tty: int) -> None:
    # NOTE: a background process that sets the foreground gets SIGTTOU.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTTOU})
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, os.getpgrp())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _ended_with_this_process(
    child: list[subprocess.Popen[str]], tty: int | None
) -> Iterator[Callable[[subprocess.Popen[str]], None]]:
    """SIGTERM or SIGHUP of this process ends the child's group first.

    Yields what to call with the command once it is started: a signal that
    came while it was being started is carried out then.

    NOTE: the default action would end this process alone and leave the
    command (and what it started) running, a prompt for a touch or a PIN
    included. Signal handlers can be set in the main thread only; in
    another (a library caller's worker) the default stays.
    """
    if threading.current_thread() is not threading.main_thread():
        yield child.append
        return

    def handler(signum: int, frame: object) -> None:
        if not child:
            # NOTE: the command may run already (Popen has not returned
            # its pid yet): ended as soon as it is known, in started().
            pending.append(signum)
            return
        for proc in child:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        if tty is not None:
            _take_terminal_back(tty)
        signal.signal(signum, previous.get(signum) or signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def started(proc: subprocess.Popen[str]) -> None:
        child.append(proc)
        if pending:
            handler(pending[0], None)

    pending: list[int] = []

    previous: dict[int, Any] = {}
    for ending in ENDING_SIGNALS:
        previous[ending] = signal.signal(ending, handler)
    # NOTE: ignored here, so in the command too (an ignored signal stays
    # ignored across exec): a Ctrl-Z would stop the command, whose group
    # has the terminal, while this process waits for it and the shell
    # waits for this process, and nothing could be typed any more.
    previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        yield started
    finally:
        for number, old in previous.items():
            signal.signal(number, old if old is not None else signal.SIG_DFL)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a process group of its own, given the terminal.

    Its group has the terminal's foreground while it runs (so a prompt
    for a PIN or a touch works, and Ctrl-C reaches it), and is killed
    whole on a timeout, or when this process is ended by a signal.
    """
    tty = _foreground_terminal()
    child: list[subprocess.Popen[str]] = []
    try:
        with _ended_with_this_process(child, tty) as started:
            started(
                subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    text=True,
                    env=command_environment(os.environ),
                    process_group=0,
                )
            )
            proc = child[0]
            with _terminal_lent(tty, proc.pid):
                try:
                    out, _ = proc.communicate(timeout=COMMAND_TIMEOUT)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    raise
    finally:
        if tty is not None:
            os.close(tty)
    if tty is not None and proc.returncode == -signal.SIGINT:
        # NOTE: Ctrl-C at the terminal went to the command's group alone.
        raise KeyboardInterrupt
    return subprocess.CompletedProcess(argv, proc.returncode, out)


def run_command(
    command: str,
    given: str = '--os-passcode-command or OS_PASSCODE_COMMAND',
) -> str:
    """Run a passcode command and return what it printed, stripped.

    The command's stderr and stdin stay the terminal's, so a tool that asks
    for a touch or a PIN can do so. Its output is never put in a message.
    It gets no ``OS_*`` variable that holds a secret
    (:func:`command_environment`), and ends with this process.
    ``given`` says where the command came from, for the messages (a flag,
    a variable, a clouds.yaml key or an openstacksdk argument).
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command cannot be parsed ({exc}); check its '
            f'quoting in {given}.'
        ) from None
    if not argv:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command is empty; set {given} to a command that '
            'prints the code.'
        )
    program = argv[0]
    try:
        result = _run(argv)
    except subprocess.TimeoutExpired:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {program!r} did not finish within '
            f'{COMMAND_TIMEOUT} seconds; run it by hand to see what it '
            'waits for.'
        ) from None
    except OSError as exc:
        raise exceptions.PasscodeCommandFailed(
            _cannot_run(program, exc, given)
        ) from None
    if result.returncode != 0:
        why = {
            126: ' (a program it runs could not be executed)',
            127: ' (a program it runs was not found)',
        }.get(result.returncode, '')
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {program!r} failed with exit status '
            f'{result.returncode}{why}; run it by hand to see why.'
        )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {program!r} printed nothing; it must '
            'print the 6-digit code on its standard output.'
        )
    # NOTE: tools such as `ykman oath accounts code` print a name before
    # the code; the code is the last word of the last line.
    return lines[-1].split()[-1]


def tell(text: str) -> None:
    """A line for the person at the prompt (only when one is there)."""
    if terminal_attached():
        sys.stderr.write(text + '\n')
        sys.stderr.flush()
