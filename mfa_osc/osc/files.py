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

"""Files that hold secrets, for the commands: created 0600, never
overwritten, written wholly or not at all; and a secret read from a file
or standard input.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from collections.abc import Sequence
import contextlib
import errno
import logging
import os
import secrets
import stat
import sys
from typing import BinaryIO
from typing import TextIO

from osc_lib import exceptions

from mfa_osc import redact

LOG = logging.getLogger(__name__)

#: The most a secret file may hold (a secret is a line, not a document).
SECRET_FILE_LIMIT = 4096


def _new_fd(path: str) -> int:
    """Create a new file, mode 0600; never overwrite or follow a link.

    ``O_EXCL`` fails on anything already there, a symbolic link (even a
    dangling one) included, so a link planted at the path cannot send a
    secret elsewhere; the mode is set again in case of a umask.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise exceptions.CommandError(
            f'{path} already exists and is never overwritten (it may hold '
            'secrets); give a new file name.'
        ) from None
    except OSError as exc:
        raise exceptions.CommandError(
            f'Cannot create {path}: {exc.strerror}.'
        ) from None
    os.fchmod(fd, 0o600)
    return fd


def _open_new(path: str) -> TextIO:
    """Open a new text file, mode 0600 (see :func:`_new_fd`)."""
    return os.fdopen(_new_fd(path), 'w', encoding='utf-8')


def _open_new_binary(path: str) -> BinaryIO:
    return os.fdopen(_new_fd(path), 'wb')


def read_secret(path: str) -> str:
    """argparse ``type``: a secret from a file, or standard input (``-``).

    The content, stripped of surrounding white space. The value is
    registered for log scrubbing at once. A file that others may read is
    used, with a warning. Errors are argparse errors: a usage message, no
    traceback.
    """
    what = 'standard input' if path == '-' else path
    try:
        if path == '-':
            text = sys.stdin.read(SECRET_FILE_LIMIT + 1)
        else:
            with open(path, encoding='utf-8') as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise argparse.ArgumentTypeError(
                        f'{path} is not a regular file'
                    )
                text = handle.read(SECRET_FILE_LIMIT + 1)
                if stat.S_IMODE(info.st_mode) & 0o077:
                    LOG.warning(
                        '%s may be read by other users (mode %o): keep '
                        'secrets in files only you can read (chmod 600).',
                        path,
                        stat.S_IMODE(info.st_mode),
                    )
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f'cannot read {what}: {exc.strerror}'
        ) from None
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(
            f'{what} is not text (UTF-8)'
        ) from None
    if len(text) > SECRET_FILE_LIMIT:
        raise argparse.ArgumentTypeError(
            f'{what} holds more than {SECRET_FILE_LIMIT} characters; it '
            'must hold the secret alone'
        )
    value = text.strip()
    redact.register(value)
    if not value:
        raise argparse.ArgumentTypeError(f'{what} is empty')
    return value


#: How the help of every option that takes a secret on the command line
#: points at the safer way.
VISIBLE = (
    '; a value given here shows in the process list and the shell history'
)


def check_new_path(path: str | None, what: str) -> None:
    if path is None:
        return
    if os.path.lexists(path):
        raise exceptions.CommandError(
            f'{path} already exists and is never overwritten ({what} holds '
            'secrets); give a new file name. Nothing was changed.'
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise exceptions.CommandError(
            f'The directory of {path} does not exist. Nothing was changed.'
        )


def write_qr_file(path: str, data: str) -> None:
    import segno

    ext = os.path.splitext(path)[1].lower()
    if ext not in ('.png', '.svg'):
        raise exceptions.CommandError(
            '--qr-file must end in .png or .svg. Nothing was changed.'
        )
    qr = segno.make(data, error='m')
    if ext == '.png':
        with _open_new_binary(path) as out:
            qr.save(out, kind='png', scale=8, border=4)
    else:
        with _open_new(path) as text:
            text.write(
                qr.svg_inline(scale=8, border=4, dark='#000', light='#fff')
            )


#: What to do when a file cannot be written, by errno.
_WRITE_ADVICE = {
    errno.ENOSPC: 'free some space',
    errno.EDQUOT: 'free some space (the disk quota is full)',
    errno.EFBIG: 'raise the file size limit (ulimit -f)',
}


def _write_failed(path: str, exc: OSError, flag: str, after: str) -> str:
    what = (exc.strerror or type(exc).__name__).lower()
    advice = _WRITE_ADVICE.get(exc.errno or 0)
    do = f'{advice} or choose' if advice else 'choose'
    return (
        f'Could not write {path} ({what}): {do} another path with '
        f'{flag}{after}.'
    )


def write_new_file(
    path: str, data: bytes, *, flag: str, after: str = ''
) -> None:
    """Write a new file (mode 0600) wholly, or leave nothing at ``path``.

    The data goes to a temporary file beside it, is flushed to the disk
    (fsync), and only then gets the name ``path`` (a hard link, which
    never replaces a file that appeared meanwhile). NOTE: writing ``path``
    itself would leave an empty or partial file on a full disk, which
    then blocks a second run with the same path.
    """
    if os.path.lexists(path):
        raise exceptions.CommandError(
            f'{path} already exists and is never overwritten (it may hold '
            f'secrets); give a new file name{after}.'
        )
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(
        directory, f'.{os.path.basename(path)}.{secrets.token_hex(6)}.tmp'
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(temporary, flags, 0o600)
    except OSError as exc:
        raise exceptions.CommandError(
            _write_failed(path, exc, flag, after)
        ) from None
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        _link_new(temporary, path)
    except OSError as exc:
        raise exceptions.CommandError(
            _write_failed(path, exc, flag, after)
        ) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _link_new(temporary: str, path: str) -> None:
    """Give the written file its name, never replacing another file."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise exceptions.CommandError(
            f'{path} already exists and is never overwritten (it may hold '
            'secrets); give a new file name.'
        ) from None
    except OSError as exc:
        # NOTE: file systems without hard links (FAT, some network
        # ones): a rename, after checking again that nothing is there.
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(path):
            raise exceptions.CommandError(
                f'{path} already exists and is never overwritten (it may '
                'hold secrets); give a new file name.'
            ) from None
        os.rename(temporary, path)


def write_recovery_file(
    path: str,
    user: str,
    codes: Sequence[str],
    *,
    flag: str = '--recovery-file',
    after: str = '',
) -> None:
    """The codes in a new file, mode 0600, wholly or not at all."""
    text = f'# mfa-osc recovery codes for {user}; each works once\n' + ''.join(
        code + '\n' for code in codes
    )
    write_new_file(path, text.encode('utf-8'), flag=flag, after=after)


class RecoveryFile:
    """``--recovery-file``: new codes saved before Keystone holds them.

    A :class:`mfa_osc.workflows.recovery.Keeper`. The file is written
    before anything in Keystone changes; when the run then ends before
    the codes are the account's, the file is removed (its codes would not
    work) and :meth:`explain` says so.
    """

    def __init__(self, path: str | None, user: str) -> None:
        self.path = path
        self.user = user
        self.written = False
        #: True: removed after the run failed; False: could not be.
        self.removed: bool | None = None

    def save(self, codes: list[str]) -> None:
        if self.path is None:
            return
        write_recovery_file(
            self.path,
            self.user,
            codes,
            after='; nothing was changed in Keystone',
        )
        self.written = True

    def void(self) -> None:
        if not self.written or self.path is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            self.removed = True
        except OSError:
            self.removed = False
        else:
            self.removed = True
        self.written = False

    def explain(self) -> str:
        """A sentence for the error of a failed run ('' if none is due)."""
        if self.removed is None:
            return ''
        if self.removed:
            return f' {self.path} was removed: its codes would not work.'
        return f' Delete {self.path}: its codes do not work.'

    @contextlib.contextmanager
    def explained(self) -> Iterator[None]:
        """Add :meth:`explain` to a CommandError of the run."""
        try:
            yield
        except exceptions.CommandError as exc:
            note = self.explain()
            if not note:
                raise
            raise exceptions.CommandError(str(exc) + note) from exc
