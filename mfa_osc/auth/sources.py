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


def run_command(command: str) -> str:
    """Run a passcode command and return what it printed, stripped.

    The command's stderr and stdin stay the terminal's, so a tool that asks
    for a touch or a PIN can do so. Its output is never put in a message.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command cannot be parsed ({exc}); check its '
            'quoting in --os-passcode-command or OS_PASSCODE_COMMAND.'
        ) from None
    if not argv:
        raise exceptions.PasscodeCommandFailed(
            'The passcode command is empty; set --os-passcode-command or '
            'OS_PASSCODE_COMMAND to a command that prints the code.'
        )
    try:
        result = subprocess.run(
            argv,
            stdout=subprocess.PIPE,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {argv[0]!r} was not found; check '
            '--os-passcode-command or OS_PASSCODE_COMMAND.'
        ) from None
    except subprocess.TimeoutExpired:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {argv[0]!r} did not finish within '
            f'{COMMAND_TIMEOUT} seconds.'
        ) from None
    if result.returncode != 0:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {argv[0]!r} failed with exit status '
            f'{result.returncode}; run it by hand to see why.'
        )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise exceptions.PasscodeCommandFailed(
            f'The passcode command {argv[0]!r} printed nothing; it must '
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
