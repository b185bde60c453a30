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

"""What the ``openstack mfa`` commands share: output and talking to people.

Table columns, the QR code, the confirmation and proof prompts, the
``--user`` options, and the one place where workflow and client errors
become a ``CommandError`` that says what to do next. Files that hold
secrets are :mod:`mfa_osc.osc.files`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from collections.abc import Iterator
import contextlib
import functools
import sys
from typing import Any
from typing import TextIO
from typing import cast
from urllib.parse import urlparse

from cliff import columns as cliff_columns
from osc_lib import exceptions

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc import rules as mfa_rules
from mfa_osc import terminal
from mfa_osc.auth import sources
from mfa_osc.osc import files
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import errors as workflow_errors

#: The one terminal check (:mod:`mfa_osc.terminal`), by the name the
#: commands and their tests use.
is_terminal = terminal.is_terminal


# NOTE: ANSI black on white, drawn explicitly, so that the code scans on a
# dark terminal theme as well as on a light one.
_QR_COLOURS = '\x1b[30;107m'
_QR_RESET = '\x1b[0m'


def app_passcodes(
    err: TextIO, given: str | None = None, interactive: bool = True
) -> workflow_errors.PasscodeSource:
    """The codes that check a new device: ``given``, else the app's.

    The workflow asks again after a refused code, with a hint; at a
    terminal the person types the code the app shows now, else (a code
    given with ``--passcode``, or no terminal) there is no second try.
    """

    def source(attempt: int, hint: str) -> str | None:
        if given:
            return given if attempt == 0 else None
        if hint:
            err.write(hint + '\n')
        if not interactive:
            return None
        return sources.prompt('Code shown by the app: ')

    return source


class LinesColumn(cliff_columns.FormattableColumn[list[Any]]):
    """A list: one item per line in a table, a list in json/yaml."""

    def human_readable(self) -> str:
        return '\n'.join(str(item) for item in self._value or [])

    def machine_readable(self) -> list[Any]:
        return list(self._value or [])


class RulesColumn(cliff_columns.FormattableColumn[list[list[str]]]):
    """MFA rules as ``password+totp; application_credential``."""

    def human_readable(self) -> str:
        return mfa_rules.text(self._value or [])

    def machine_readable(self) -> list[list[str]]:
        return [list(rule) for rule in self._value or []]


class DevicesColumn(cliff_columns.FormattableColumn[list[dict[str, Any]]]):
    """Devices, one ``name (id, created)`` per line in a table."""

    def human_readable(self) -> str:
        return '\n'.join(
            f'{d.get("name")} ({d.get("id")}, {d.get("created_at")})'
            if d.get('origin') != 'hand-made'
            else f'{d.get("id")} (hand-made)'
            for d in self._value or []
        )

    def machine_readable(self) -> list[dict[str, Any]]:
        return [dict(d) for d in self._value or []]


def qr_text(data: str, colour: bool = True) -> str:
    """A QR code as UTF-8 half blocks, two modules per character cell."""
    import segno

    qr = segno.make(data, error='m')
    rows = [[bool(m) for m in row] for row in qr.matrix_iter(border=4)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        cells = []
        for upper, lower in zip(top, bottom, strict=True):
            if upper and lower:
                cells.append('\u2588')
            elif upper:
                cells.append('\u2580')
            elif lower:
                cells.append('\u2584')
            else:
                cells.append(' ')
        line = ''.join(cells)
        lines.append(f'{_QR_COLOURS}{line}{_QR_RESET}' if colour else line)
    return '\n'.join(lines) + '\n'


def show_new_device(
    out: TextIO,
    name: str,
    secret: str,
    uri: str,
    *,
    qr: bool = True,
    text: bool = False,
) -> None:
    """Show a new device's secret on the terminal: QR code and/or text."""
    if qr:
        out.write(f'Scan this QR code with the authenticator app ({name}):\n')
        out.write(qr_text(uri))
    if text:
        grouped = ' '.join(secret[i : i + 4] for i in range(0, len(secret), 4))
        out.write(f'Secret: {grouped}\nURI: {uri}\n')
    out.flush()


@contextlib.contextmanager
def command_errors() -> Iterator[None]:
    """Turn workflow, account and client errors into one CommandError."""
    try:
        yield
    except workflow_errors.ERRORS as exc:
        raise exceptions.CommandError(str(exc)) from exc


def add_proof_options(
    parser: argparse.ArgumentParser, when: str, used: str = ''
) -> None:
    """--passcode or --recovery-code: proof that the user holds a device."""
    proof = parser.add_mutually_exclusive_group()
    proof.add_argument(
        '--passcode',
        metavar='<passcode>',
        help=f'Current code of one of your devices{when}',
    )
    proof.add_argument(
        '--recovery-code',
        metavar='<code>',
        help=f'One of your recovery codes{used}{when}{files.VISIBLE}: prefer '
        '--recovery-code-file or the prompt',
    )
    proof.add_argument(
        '--recovery-code-file',
        dest='recovery_code',
        metavar='<path>',
        type=files.read_secret,
        help=f'Read the recovery code from this file, or from standard '
        f'input for "-"{when}',
    )


def add_user_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        '--user',
        metavar='<user>',
        help=f'{what} (name or ID; administrators), default: yourself',
    )
    parser.add_argument(
        '--user-domain',
        metavar='<domain>',
        help='Domain the user belongs to (name or ID)',
    )


def resolve_user(
    client: mfa_client.MFAClient, name: str | None, domain: str | None
) -> mfa_client.User:
    """The user of ``--user``/``--user-domain`` (yourself without them).

    A user that does not exist is one sentence that says how to find the
    right one (:func:`mfa_osc.account.resolve_user` says it).
    """
    with command_errors():
        return mfa_account.resolve_user(client, name, domain)


def mfa(app: Any) -> mfa_client.MFAClient:
    """The command's Keystone MFA client (built by the OSC hook)."""
    return cast(mfa_client.MFAClient, app.client_manager.mfa)


def confirm(app: Any, question: str, yes: bool) -> None:
    if yes:
        return
    if not is_terminal():
        raise exceptions.CommandError(
            'Confirmation is needed and there is no terminal to ask on; add '
            '--yes to confirm. Nothing was changed.'
        )
    app.stderr.write(question + ' [y/N] ')
    app.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ('y', 'yes'):
        raise exceptions.CommandError('Not confirmed; nothing was changed.')


def proof(
    given_passcode: str | None, given_recovery: str | None, what: str
) -> str:
    proof = given_passcode or given_recovery
    if proof:
        redact.register(proof)
        return proof
    if is_terminal():
        answer = sources.prompt('Current passcode or a recovery code: ')
        if answer:
            redact.register(answer)
            return answer
        # NOTE: at a terminal: Ctrl-D or an empty line, not "no terminal".
        raise exceptions.CommandError(
            f'{what} needs a current passcode or a recovery code, and none '
            'was entered. Run the command again and type the code the app '
            'shows now, or one of your recovery codes. Nothing was changed.'
        )
    raise exceptions.CommandError(
        f'{what} needs a current passcode or a recovery code: give '
        '--passcode CODE or --recovery-code-file PATH (- for standard '
        'input), or run the command on a terminal to be prompted. Nothing '
        'was changed.'
    )


def ask_proof(action: str) -> Callable[[], str]:
    """How to obtain fresh proof before ``action`` (see :func:`proof`).

    The ``ask`` of :func:`mfa_osc.workflows.proof.when_due`, which calls
    it only when the proof is due and none was given.
    """
    what = (
        'This command did not sign in with a passcode just now (its token '
        f'came from the cache, or the auth type takes none), so {action}'
    )
    return functools.partial(proof, None, None, what)


def issuer(client: mfa_client.MFAClient, region: str | None) -> str:
    url = client.auth_url()
    host = urlparse(url).hostname if url else None
    if host and host not in ('localhost', '127.0.0.1', '::1'):
        return host
    return region or host or 'OpenStack'


def fresh_second_factor(app: Any) -> bool:
    """Whether this command's own sign-in has just proved a device.

    True when the ``v3multifactor`` plugin signed in in this process with
    a passcode or recovery code Keystone accepted; False for a token from
    the cache (it may be an hour old) and for other auth types.
    """
    auth = getattr(app.client_manager, 'auth', None)
    return getattr(auth, 'fresh_second_factor', False) is True


def devices_gone(app: Any) -> None:
    """Tell this command's sign-in that its user has no device any more.

    For the ``v3multifactor`` plugin: the next sign-in on this machine
    then sends the password alone first, not a code asked for up front.
    """
    auth = getattr(app.client_manager, 'auth', None)
    forget = getattr(auth, 'forget_needs_totp', None)
    if callable(forget):
        forget()


def add_application_credential_options(
    parser: argparse.ArgumentParser,
) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        '--application-credentials',
        dest='application_credentials',
        action='store_const',
        const=True,
        default=None,
        help='Let application credentials sign in without TOTP '
        '(default: as the account allows today; allowed without rules)',
    )
    group.add_argument(
        '--no-application-credentials',
        dest='application_credentials',
        action='store_const',
        const=False,
        help='Do not let application credentials sign in without TOTP',
    )


def add_keep_sessions_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--keep-sessions',
        action='store_true',
        help='Do not revoke the tokens the user signed in with before '
        'their rules were tightened (default: revoke them, so a session '
        'opened with a password alone ends now; application credentials '
        'keep working)',
    )


def warn_sessions(app: Any, sessions: str) -> None:
    """Say on stderr when older tokens stay valid."""
    if sessions.startswith(enforce_flow.SESSIONS_FAILED) or (
        sessions == enforce_flow.SESSIONS_UNSUPPORTED
    ):
        app.stderr.write(f'Older sessions of the user: {sessions}.\n')
