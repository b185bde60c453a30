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

"""Why a throwaway Keystone did not start, with the log lines that say so.

The two exceptions :class:`~mfa_osc.testing.keystone.LocalKeystone`
raises (public, documented as :mod:`mfa_osc.testing.keystone`'s), and the
tail of a log file that a start-up error quotes.
"""

from __future__ import annotations

__all__ = [
    'KeystoneNotInstalledError',
    'KeystoneStartError',
    'start_error',
    'tail',
]


class KeystoneNotInstalledError(RuntimeError):
    """keystone-manage or uwsgi cannot be found."""


class KeystoneStartError(RuntimeError):
    """The local Keystone did not come up."""


def tail(path: str | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or why there are none."""
    if not path:
        return '(no log)'
    try:
        with open(path, errors='replace') as f:
            content = f.read().splitlines()
    except OSError as exc:
        return f'(cannot read {path}: {exc})'
    return '\n'.join(content[-lines:]) or '(empty log)'


def start_error(message: str, log: str | None) -> KeystoneStartError:
    """A start-up error quoting the end of the log that explains it."""
    return KeystoneStartError(
        f'{message}\n--- last lines of {log} ---\n{tail(log)}'
    )
