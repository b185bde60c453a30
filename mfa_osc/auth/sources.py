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

import errno
import getpass
import os
import shlex
import subprocess
import sys

from mfa_osc.auth import exceptions

COMMAND_TIMEOUT = 120


def terminal_attached() -> bool:
    """Whether a person can answer a prompt (stdin is a terminal)."""
    try:
        return sys.stdin is not None and os.isatty(sys.stdin.fileno())
    except (ValueError, OSError):
        return False


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


def run_command(
    command: str,
    given: str = '--os-passcode-command or OS_PASSCODE_COMMAND',
) -> str:
    """Run a passcode command and return what it printed, stripped.

    The command's stderr and stdin stay the terminal's, so a tool that asks
    for a touch or a PIN can do so. Its output is never put in a message.
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
        result = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
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
