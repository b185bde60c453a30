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

"""Keep secrets out of log output.

osc-lib masks log lines through ``oslo_utils.strutils.mask_password``,
which goes by key name: it hides ``password`` and ``*secret`` but not
``passcode`` or ``recovery_code``, and not values given as command-line
flags (its ``START with options`` line prints the whole command line). The
OSC extension installs a log record factory that removes, from every record,
both values under secret-looking keys and every secret value the process
knows of: those on its command line and in its environment, and those the
plugin registers as it computes or reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
import contextlib
import logging
import os
import re
import sys
import threading

MASK = '***'

#: Command-line flags whose value is a secret.
SECRET_FLAGS = (
    '--os-password',
    '--os-passcode',
    '--os-totp-secret',
    '--os-recovery-code',
    '--os-token',
    '--os-application-credential-secret',
    '--password',
    '--passcode',
    '--secret',
    '--recovery-code',
)

#: Environment variables whose value is a secret.
SECRET_ENV = (
    'OS_PASSWORD',
    'OS_PASSCODE',
    'OS_TOTP_SECRET',
    'OS_RECOVERY_CODE',
    'OS_TOKEN',
    'OS_APPLICATION_CREDENTIAL_SECRET',
)

_KEYS = (
    r'(?:passcode|password|recovery_codes?|totp_secret|secret|token'
    r'|passcode[_-]command)'
)
# 'key': 'value' (dict reprs, JSON) and key='value' or key=value (argparse
# Namespace reprs, command lines); prose such as "password: give it" is
# left alone. A quoted value is masked whole, spaces included (a passcode
# command such as 'oathtool --totp -b SECRET' from clouds.yaml).
_KEY_VALUE = re.compile(
    r"""(?P<key>(?:(?P<kq>['"])[\w-]*""" + _KEYS + r"""(?P=kq)\s*:\s*"""
    r"""|\b[\w-]*""" + _KEYS + r"""=))"""
    r"""(?:(?P<q>['"])(?P<quoted>(?:(?!(?P=q)).)*)(?P=q)"""
    r"""|(?P<value>[^'",)}\s]+))""",
    re.IGNORECASE,
)

# The value of a secret flag on a command line: ``--os-password=VALUE``,
# and ``'--os-password', 'VALUE'`` (a command line printed as a list).
# Masked whether or not the value is known, as there it can only be a
# value. NOTE: not ``--os-password VALUE``: prose such as "give --passcode
# or --os-totp-secret" has the same shape; a command line joined by spaces
# is covered by the values of its secret flags, registered at start.
_FLAG_VALUE = re.compile(
    r"""(?P<flag>--(?:os-)?(?:password|passcode|passcode-command|totp-secret"""
    r"""|recovery-code|token|application-credential-secret|secret))"""
    r"""(?:(?P<fq>['"]),\s*(?P<vq>['"])(?P<quoted>(?:(?!(?P=vq)).)*)(?P=vq)"""
    r"""|=(?P<value>[^\s'",)\]}]+))"""
)

#: Characters that make a word: a known secret next to one of them is a
#: part of a longer word or option name (``--recovery-file`` when the
#: password is ``recovery``), not the secret itself.
_WORD = 'A-Za-z0-9_-'
# NOTE: escapes end a word as well: ``%3D``, ``\n``, ``\x3d``, ``\u003d``
# before a secret are its boundary in URL-encoded and repr'd text.
_BEFORE = (
    rf'(?:(?<![{_WORD}])|(?<=%[0-9A-Fa-f]{{2}})|(?<=\\[a-zA-Z])'
    r'|(?<=\\x[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4}))'
)
_AFTER = rf'(?![{_WORD}])'

_FORMATTER = logging.Formatter()
_known: set[str] = set()
_lock = threading.Lock()
_installed = False
_pattern: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)


def _free_pattern() -> re.Pattern[str] | None:
    """One pattern for every known secret, longest first.

    A secret that could be a word (word characters only) is masked
    wherever it is not a part of a longer word; any other (``p@ss!word``)
    is masked anywhere.
    """
    global _pattern
    with _lock:
        known = frozenset(_known)
        if _pattern[0] == known:
            return _pattern[1]
        parts = []
        for value in sorted(known, key=len, reverse=True):
            if re.fullmatch(f'[{_WORD}]+', value):
                parts.append(_BEFORE + re.escape(value) + _AFTER)
            else:
                parts.append(re.escape(value))
        compiled = re.compile('|'.join(parts)) if parts else None
        _pattern = (known, compiled)
        return compiled


#: The values registered in this thread's :func:`forgotten_after` block.
_scoped = threading.local()


def register(*values: str | None) -> None:
    """Remember secret values so that log output never shows them."""
    scope: set[str] | None = getattr(_scoped, 'values', None)
    with _lock:
        for value in values:
            # NOTE: very short values would mask unrelated text everywhere
            # and protect nothing; passcodes have 6 characters.
            if value and len(value) >= 6:
                _known.add(value)
                if scope is not None:
                    scope.add(value)


@contextlib.contextmanager
def forgotten_after() -> Iterator[None]:
    """Forget the values registered in this block (in this thread) when it
    ends.

    NOTE: a command's process ends with its command, and its secrets with
    it; a long-running server (the Horizon panel) handles one person's
    secrets per request, and without this would keep every TOTP secret and
    code it ever saw, in memory, for its whole life (and mask a growing
    list on each log line). Its requests run in such a block; whatever is
    logged during the request is masked as in a command.
    """
    outer: set[str] | None = getattr(_scoped, 'values', None)
    values: set[str] = set()
    _scoped.values = values
    try:
        yield
    finally:
        _scoped.values = outer
        with _lock:
            _known.difference_update(values)


def scrub(text: str) -> str:
    """Return ``text`` with every known secret and keyed value masked."""

    def _mask(match: re.Match[str]) -> str:
        value = match.group('quoted')
        if value is None:
            value = match.group('value')
        if value == MASK:
            return match.group(0)
        q = match.group('q') or ''
        return f'{match.group("key")}{q}{MASK}{q}'

    def _mask_flag(match: re.Match[str]) -> str:
        if match.group('quoted') is not None:
            fq, vq = match.group('fq'), match.group('vq')
            return f'{match.group("flag")}{fq}, {vq}{MASK}{vq}'
        return f'{match.group("flag")}={MASK}'

    text = _KEY_VALUE.sub(_mask, text)
    text = _FLAG_VALUE.sub(_mask_flag, text)
    pattern = _free_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return text


def scrub_record(record: logging.LogRecord) -> None:
    """Mask secrets in a record's message, traceback and stack."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: S110 - a broken record is logging's to report
        return
    clean = scrub(message)
    if clean != message:
        record.msg = clean
        record.args = None
    if record.exc_info and not record.exc_text:
        # NOTE: cliff logs an unexpected error with LOG.exception under
        # --debug; the formatter would print the traceback, exception
        # text included, from exc_info. Formatted here and scrubbed, it
        # is what every formatter prints (it reuses exc_text).
        with contextlib.suppress(Exception):
            record.exc_text = scrub(
                _FORMATTER.formatException(record.exc_info)
            )
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def secrets_in(argv: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """Return the secret values on a command line and in an environment."""
    found = [environ[name] for name in SECRET_ENV if environ.get(name)]
    args = list(argv)
    for index, arg in enumerate(args):
        for flag in SECRET_FLAGS:
            if arg == flag and index + 1 < len(args):
                found.append(args[index + 1])
            elif arg.startswith(flag + '='):
                found.append(arg[len(flag) + 1 :])
    return found


def install(
    argv: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Scrub every log record of this process from now on (idempotent)."""
    global _installed
    register(
        *secrets_in(
            sys.argv if argv is None else argv,
            os.environ if environ is None else environ,
        )
    )
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)
