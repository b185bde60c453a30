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

"""mfa-osc's directory on this machine, and the files in it, private to
this user: the token cache (:mod:`mfa_osc.auth.cache`), the pending
revocations (:mod:`mfa_osc.auth.revocations`), the policy check's state.

``$XDG_CACHE_HOME/mfa-osc`` (``~/.cache/mfa-osc``), or the directory
``MFA_OSC_CACHE_DIR`` names. A directory made here is 0700 (one named by
``MFA_OSC_CACHE_DIR`` is used as it is, never chmodded), the files 0600,
written to a temporary name and renamed into place, so a reader sees a
whole file or none. Someone else on the machine must neither read nor
plant a file here: the directory is used only if it is a real directory
(not a symbolic link) owned by this user and writable by no one else; a
file only if it is a regular file (never followed through a symbolic
link) owned by this user and readable or writable by no one else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
import stat
import tempfile
from typing import Any

LOG = logging.getLogger(__name__)

ENV_DIR = 'MFA_OSC_CACHE_DIR'

_warned: set[str] = set()


class UnsafeCache(OSError):
    """The cache directory or a file in it may be someone else's."""


def warn_unsafe(why: str) -> None:
    """Log, once per reason, why the cache or a file in it is not used."""
    if why not in _warned:
        _warned.add(why)
        LOG.warning('The token cache is not used: %s.', why)


def cache_dir() -> Path:
    """Where the cache lives (``MFA_OSC_CACHE_DIR`` overrides it)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache'
    )
    return Path(base) / 'mfa-osc'


def check_dir(directory: Path) -> None:
    """Refuse a directory that is a link, another user's, or that others
    may write (:class:`UnsafeCache`; OSError when it is not there)."""
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeCache(
            f'{directory} is not a directory (a symbolic link or a file '
            'stands in its place); remove it'
        )
    if info.st_uid != os.geteuid():
        raise UnsafeCache(
            f'{directory} belongs to another user (uid {info.st_uid}); '
            'remove it, or set MFA_OSC_CACHE_DIR to a directory of yours'
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        # NOTE: never chmod it: it may be a folder of the user's own
        # (MFA_OSC_CACHE_DIR=$HOME) whose mode is theirs to choose. One
        # others may write to could get files of their choosing.
        raise UnsafeCache(
            f'{directory} may be written by other users (mode {mode:o}); '
            f'remove their write permission (`chmod go-w {directory}`), or '
            f'set {ENV_DIR} to a directory that only you may write'
        )


def ensure_dir(directory: Path) -> None:
    """Make the directory (0700) if it is not there, then check it."""
    if not os.path.lexists(directory):
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
    check_dir(directory)


def read_private(path: Path) -> Any:
    """The JSON in a file of this user's that no one else may touch.

    :raises UnsafeCache: it is another user's, or others may read it.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, encoding='utf-8') as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeCache(f'{path} is not a regular file')
        if info.st_uid != os.geteuid():
            raise UnsafeCache(f'{path} belongs to another user')
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise UnsafeCache(
                f'{path} may be read or written by other users (mode '
                f'{stat.S_IMODE(info.st_mode):o}); it was ignored'
            )
        return json.load(handle)


def read_state(name: str, directory: Path | None = None) -> Any:
    """The JSON of the state file ``name`` in the cache directory.

    None when there is none or it cannot be used (another user's, one
    others may read, not JSON), without a warning: a state file (the
    policy check's) only saves a request.
    """
    try:
        return read_private((directory or cache_dir()) / name)
    except (OSError, ValueError):
        return None


def write_state(name: str, data: Any, directory: Path | None = None) -> None:
    """Write the state file ``name`` atomically, 0600.

    :raises OSError: it cannot be written (:class:`UnsafeCache`: the
        directory is not safe).
    """
    directory = directory or cache_dir()
    ensure_dir(directory)
    write_private(directory / name, data)


def private_dir(name: str, directory: Path | None = None) -> Path:
    """The subdirectory ``name`` of the cache directory, made 0700.

    :raises OSError: it cannot be made, or is not safe (UnsafeCache).
    """
    directory = directory or cache_dir()
    ensure_dir(directory)
    ensure_dir(directory / name)
    return directory / name


def write_private(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically, 0600, in a checked directory."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.tmp-', suffix='.json')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
