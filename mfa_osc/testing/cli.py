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

"""The command line of ``python -m mfa_osc.testing.keystone`` (which
``tox -e keystone`` runs): its options, and serving a throwaway Keystone
until Ctrl-C, SIGTERM or SIGHUP.

:func:`mfa_osc.testing.keystone.main` parses the options here
(:func:`parse_args`), makes the ``LocalKeystone`` they ask for and hands
it to :func:`run`, which starts it, prints the admin's ``export OS_...``
lines and stops it at the end.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from collections.abc import Sequence
import contextlib
import shlex
import signal
import sys
import types
from typing import TYPE_CHECKING

from mfa_osc.testing.errors import KeystoneNotInstalledError
from mfa_osc.testing.errors import KeystoneStartError
from mfa_osc.testing.errors import tail

if TYPE_CHECKING:
    from mfa_osc.testing.keystone import LocalKeystone

__all__ = ['parse_args', 'run']


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options: ``port``, ``admin_password``, ``guard``, ``tls``."""
    parser = argparse.ArgumentParser(
        prog='python -m mfa_osc.testing.keystone',
        description=(
            'Start a throwaway local Keystone, print the OS_* settings of '
            'its admin, and run until interrupted.'
        ),
    )
    parser.add_argument(
        '--port', type=int, help='port on 127.0.0.1 (default: a free one)'
    )
    parser.add_argument(
        '--admin-password', help='admin password (default: random)'
    )
    parser.add_argument(
        '--guard',
        action='store_true',
        help="serve Keystone behind mfa-osc's guard (mfa_osc.guard), two "
        'uWSGI processes and a memcached of its own',
    )
    parser.add_argument(
        '--tls',
        action='store_true',
        help='serve over HTTPS with a certificate of a CA made for the run '
        '(OS_CACERT is printed)',
    )
    return parser.parse_args(argv)


def run(keystone: LocalKeystone) -> int:
    """Start ``keystone``, print its admin's settings, and serve until
    interrupted or until the server exits (status 1); stop it at the end.
    """
    try:
        with _stop_on_signals():
            return _serve(keystone)
    except KeyboardInterrupt:
        print('# Stopping Keystone.', flush=True)
        return 0
    finally:
        # A second Ctrl-C must not interrupt the clean-up.
        with _ignoring_signals():
            keystone.stop()


def _serve(keystone: LocalKeystone) -> int:
    try:
        keystone.start()
    except (KeystoneNotInstalledError, KeystoneStartError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    for key, value in sorted(keystone.os_env().items()):
        print(f'export {key}={shlex.quote(value)}')
    print(
        f'# Keystone is running at {keystone.auth_url} (pid {keystone.pid}, '
        f'started in {keystone.startup_seconds or 0:.1f} s, log '
        f'{keystone.log_path}).\n'
        '# Press Ctrl-C to stop it and remove its files.',
        flush=True,
    )
    status = keystone.wait()
    print(
        f'error: the Keystone server exited (status {status})\n'
        f'{tail(keystone.log_path)}',
        file=sys.stderr,
    )
    return 1


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Make SIGINT (even if inherited as ignored), SIGTERM and SIGHUP
    raise KeyboardInterrupt."""

    def interrupt(signum: int, frame: types.FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {
        sig: signal.signal(sig, interrupt)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _ignoring_signals() -> Iterator[None]:
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    try:
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    except ValueError:  # not in the main thread
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
