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

"""A token cache on disk, so that one passcode serves many commands.

One file per cloud and user, named by the plugin's unscoped cache id (a hash
of the auth URL, user and domain: never of a password or passcode), in
``$XDG_CACHE_HOME/mfa-osc`` (``~/.cache/mfa-osc``). A directory made here is
0700 (one named by ``MFA_OSC_CACHE_DIR`` is used as it is, never chmodded),
the files 0600; a file is written to a temporary name and renamed into
place, so a reader sees a whole file or none, and several commands may run
at once. A file that cannot be read or parsed counts as absent.

Someone else on the machine must not be able to hand a command a token of
their choosing (every command would then act in their project), nor read
one: the directory is used only if it is a real directory (not a symbolic
link) owned by this user and writable by no one else; a file only if it
is a regular file (never followed through a symbolic link) owned by this
user and readable or writable by no one else; and an entry only if it has
the shape of a token (a token id, a body with a well-formed
``expires_at`` and a user), and so has every token rescoped from it.
Anything else counts as absent, and the reason (when it is unsafe) is
logged once.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
import contextlib
import datetime
import json
import logging
import os
from pathlib import Path
import re
import stat
import tempfile
from typing import Any

LOG = logging.getLogger(__name__)

ENV_DIR = 'MFA_OSC_CACHE_DIR'

# NOTE: Keystone writes 2026-05-01T12:00:00.000000Z; keystoneauth parses
# it with iso8601, which refuses forms that datetime accepts: only the
# form Keystone writes is taken.
_ISO_TIME = re.compile(
    r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$'
)
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


def entry_path(cache_id: str, directory: Path | None = None) -> Path:
    # NOTE: cache ids are base64 and may hold '/'; use a file-safe form.
    name = base64.urlsafe_b64encode(
        base64.b64decode(cache_id.encode('ascii'))
    ).decode('ascii')
    return (directory or cache_dir()) / f'{name.rstrip("=")}.json'


def _check_dir(directory: Path) -> None:
    """Refuse a directory that is a link or that others may write."""
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


def _ensure_dir(directory: Path) -> None:
    if not os.path.lexists(directory):
        directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
    _check_dir(directory)


def _read(path: Path) -> Any:
    """The JSON in a file of this user's that no one else may touch."""
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


def read_private(path: Path) -> Any:
    """The JSON of a file of this user's that no one else may touch.

    :raises UnsafeCache: it is another user's, or others may read it.
    """
    return _read(path)


def _good_time(value: object) -> bool:
    """A time in the form Keystone writes, that is a real date."""
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _has_id(value: object) -> bool:
    """A dict with a non-empty string ``id``."""
    return (
        isinstance(value, dict)
        and isinstance(value.get('id'), str)
        and value['id'] != ''
    )


def is_token(body: object) -> bool:
    """Whether ``body`` has the shape of a Keystone v3 token.

    What keystoneauth and the plugin read from it without a check: a
    well-formed ``expires_at``, the user's ``id``, and the ``id`` of the
    project, domain or trust it is scoped to, if any. The user's name and
    domain, methods and catalog, if given, must be of their types.
    """
    token = body.get('token') if isinstance(body, dict) else None
    if not isinstance(token, dict) or not _good_time(token.get('expires_at')):
        return False
    user = token.get('user')
    if not isinstance(user, dict) or not _has_id(user):
        return False
    if not isinstance(user.get('name', ''), str):
        return False
    if not isinstance(user.get('domain', {}), dict):
        return False
    for name in ('project', 'domain', 'OS-TRUST:trust'):
        if name in token and not _has_id(token[name]):
            return False
    return isinstance(token.get('methods', []), list) and isinstance(
        token.get('catalog', []), list
    )


def is_cached_token(entry: object) -> bool:
    """Whether ``entry`` has a token id and body, ``confirmed`` a number."""
    if not isinstance(entry, dict):
        return False
    token, confirmed = entry.get('auth_token'), entry.get('confirmed')
    if not isinstance(token, str) or not token:
        return False
    if isinstance(confirmed, bool) or not isinstance(
        confirmed, int | float | None
    ):
        return False
    return is_token(entry.get('body'))


def well_formed(entry: object) -> bool:
    """Whether an entry has what a cached sign-in needs.

    The MFA token, and every token rescoped from it (``scopes``): one that
    is not well formed makes the whole entry count as absent.
    """
    if not isinstance(entry, dict) or not is_cached_token(entry):
        return False
    if not isinstance(entry.get('auth_url'), str | None):
        return False
    if not isinstance(entry.get('scope'), str | None):
        return False
    scopes = entry.get('scopes', {})
    return isinstance(scopes, dict) and all(
        isinstance(key, str) and is_cached_token(value)
        for key, value in scopes.items()
    )


def load(
    cache_id: str, directory: Path | None = None
) -> dict[str, Any] | None:
    """The entry stored under ``cache_id``, or None."""
    directory = directory or cache_dir()
    path = entry_path(cache_id, directory)
    try:
        _check_dir(directory)
        data = _read(path)
    except UnsafeCache as exc:
        warn_unsafe(str(exc))
        return None
    except (OSError, ValueError):
        return None
    return data if well_formed(data) else None


def save(
    cache_id: str, entry: dict[str, Any], directory: Path | None = None
) -> None:
    """Store ``entry`` atomically, readable by this user only."""
    directory = directory or cache_dir()
    try:
        _ensure_dir(directory)
        write_private(entry_path(cache_id, directory), entry)
    except UnsafeCache as exc:
        warn_unsafe(str(exc))
        raise
    except OSError as exc:
        # NOTE: a read-only home, a full disk: every command would ask
        # for a code again, and the user would not know why.
        warn_unsafe(
            f'{directory} cannot be written ({exc.strerror or exc}); set '
            f'{ENV_DIR} to a directory you can write, or turn the cache '
            'off (OS_TOKEN_CACHE=off)'
        )
        raise


def delete(cache_id: str, directory: Path | None = None) -> bool:
    """Remove an entry; True if there was one."""
    directory = directory or cache_dir()
    try:
        _check_dir(directory)
        # NOTE: unlink removes a symbolic link itself, never its target.
        os.unlink(entry_path(cache_id, directory))
    except FileNotFoundError:
        return False
    except UnsafeCache as exc:
        warn_unsafe(str(exc))
        return False
    return True


#: The name of a cache file: the unpadded urlsafe base64 of a SHA-256.
_ENTRY_NAME = re.compile(r'^[A-Za-z0-9_-]{43}\.json$')


def entries(directory: Path | None = None) -> Iterator[tuple[Path, Any]]:
    """Every entry, with its path (for signing out of all).

    An entry that cannot be read, or is not safe or not well formed, comes
    as None (its file is still removed by signing out).
    """
    directory = directory or cache_dir()
    try:
        _check_dir(directory)
    except FileNotFoundError:
        return
    except UnsafeCache as exc:
        warn_unsafe(str(exc))
        return
    except OSError:
        return
    # NOTE: only files named as this module names them: the directory may
    # be one the user named (MFA_OSC_CACHE_DIR=$HOME), with other files.
    for path in sorted(directory.glob('*.json')):
        if not _ENTRY_NAME.match(path.name):
            continue
        try:
            data = _read(path)
        except UnsafeCache as exc:
            warn_unsafe(str(exc))
            data = None
        except (OSError, ValueError):
            data = None
        yield path, data if well_formed(data) else None


def _record_path(cache_id: str, directory: Path | None = None) -> Path:
    return entry_path(cache_id, directory).with_suffix('.needs-totp')


def needs_totp(cache_id: str, directory: Path | None = None) -> bool:
    """Whether Keystone asked this user on this cloud for a TOTP code.

    The record sits beside the token's entry, in a file of its own that
    holds no secret and no token, so that it outlives the token.
    """
    directory = directory or cache_dir()
    try:
        _check_dir(directory)
        data = _read(_record_path(cache_id, directory))
    except UnsafeCache as exc:
        warn_unsafe(str(exc))
        return False
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get('totp') is True


def set_needs_totp(
    cache_id: str, needed: bool, directory: Path | None = None
) -> None:
    """Record (or forget) that Keystone asks this user for TOTP."""
    directory = directory or cache_dir()
    path = _record_path(cache_id, directory)
    try:
        if not needed:
            _check_dir(directory)
            os.unlink(path)
            return
        _ensure_dir(directory)
        fd, tmp = tempfile.mkstemp(
            dir=directory, prefix='.tmp-', suffix='.needs-totp'
        )
        try:
            with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                os.fchmod(handle.fileno(), 0o600)
                json.dump({'totp': True}, handle)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except UnsafeCache as exc:
        warn_unsafe(str(exc))
    except OSError:
        # NOTE: a record that cannot be kept costs one request later.
        pass


# -- state files beside the cache ------------------------------------------


def read_state(name: str, directory: Path | None = None) -> Any:
    """The JSON of the state file ``name`` in the cache directory.

    None when there is none or it cannot be used (another user's, one
    others may read, not JSON), without a warning: a state file (the
    policy check's) only saves a request.
    """
    try:
        return _read((directory or cache_dir()) / name)
    except (OSError, ValueError):
        return None


def write_state(name: str, data: Any, directory: Path | None = None) -> None:
    """Write the state file ``name`` atomically, 0600.

    :raises OSError: it cannot be written (:class:`UnsafeCache`: the
        directory is not safe).
    """
    directory = directory or cache_dir()
    _ensure_dir(directory)
    write_private(directory / name, data)


def check_dir(directory: Path) -> None:
    """Refuse a directory that is a link, another user's, or that others
    may write (:class:`UnsafeCache`; OSError when it is not there)."""
    _check_dir(directory)


def private_dir(name: str, directory: Path | None = None) -> Path:
    """The subdirectory ``name`` of the cache directory, made 0700.

    :raises OSError: it cannot be made, or is not safe (UnsafeCache).
    """
    directory = directory or cache_dir()
    _ensure_dir(directory)
    _ensure_dir(directory / name)
    return directory / name


def write_private(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically, 0600 (its directory checked)."""
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
