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

"""The temporary clouds.yaml files that ``mfa exec`` lends a program.

Each lives in a directory of its own below ``mfa-osc-exec/`` in the token cache
directory (0700; the file 0600), with a ``lock`` file that ``exec`` holds
locked (``flock``) and passes to the program, so the lock is held for as
long as either of them runs. ``exec`` removes the directory when the
program ends; when ``exec`` was killed (``kill -9``) and the program has
ended too, the lock is free, and the next ``mfa exec``, ``mfa export`` or
``mfa logout`` finds the directory, moves the token it holds to the
revocations that ``mfa logout`` carries out (see
:mod:`mfa_osc.auth.cache`), and removes it.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import fcntl
import logging
import os
from pathlib import Path
import shutil
import tempfile
from typing import Any

from mfa_osc.auth import private_files
from mfa_osc.auth import revocations

LOG = logging.getLogger(__name__)

# NOTE: names no folder of the user's own is likely to have: the cache
# directory may be one the user named (MFA_OSC_CACHE_DIR=$HOME).
LENT_DIR = 'mfa-osc-exec'
#: The prefix of a directory still being made (no token in it yet).
_NEW = '.new-'
#: The prefix of a directory with a clouds.yaml (the only ones removed).
_MADE = 'mfa-exec-'
#: The lock files of the directories this process holds.
HELD: set[int] = set()


def _tokens_of(data: Any) -> tuple[str | None, list[str]]:
    """The auth URL and token of a clouds.yaml that exec wrote."""
    clouds = data.get('clouds') if isinstance(data, dict) else None
    cloud = clouds.get('mfa-exec') if isinstance(clouds, dict) else None
    auth = cloud.get('auth') if isinstance(cloud, dict) else None
    if not isinstance(auth, dict):
        return None, []
    url, token = auth.get('auth_url'), auth.get('token')
    if not (isinstance(url, str) and isinstance(token, str) and token):
        return None, []
    return url, [token]


def collect(directory: Path | None = None) -> int:
    """Remove the lent files whose exec and program are gone; how many.

    The token each held waits for ``mfa logout`` to revoke it. Never
    fails: a file that cannot be removed now is tried the next time.
    """
    base = (directory or private_files.cache_dir()) / LENT_DIR
    try:
        private_files.check_dir(base)
        names = sorted(os.listdir(base))
    except OSError:
        return 0
    removed = 0
    for name in names:
        if not name.startswith(_MADE):
            continue
        with contextlib.suppress(OSError, ValueError):
            removed += _collect_one(base / name, directory)
    return removed


def _collect_one(folder: Path, directory: Path | None) -> bool:
    fd = os.open(folder / 'lock', os.O_RDWR | os.O_NOFOLLOW)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # exec or its program still runs
        path = folder / 'clouds.yaml'
        if os.path.lexists(path):
            # NOTE: read as the cache reads its own files: this user's,
            # private, not followed through a link.
            url, tokens = _tokens_of(private_files.read_private(path))
            if url and tokens:
                revocations.add_pending(url, tokens, directory)
        shutil.rmtree(folder)
        return True
    finally:
        os.close(fd)


@contextlib.contextmanager
def lend(text: str, directory: Path | None = None) -> Iterator[str]:
    """``text`` in a 0600 clouds.yaml in a 0700 directory of its own.

    Below the cache directory, so that a later command removes it if this
    process is killed; in the system's temporary directory when the cache
    directory cannot be used (as before: then nothing finds it later).
    """
    try:
        base: Path | None = private_files.private_dir(LENT_DIR, directory)
    except OSError as exc:
        LOG.debug('The temporary clouds.yaml goes to /tmp: %s', exc)
        base = None
    if base is None:
        folder = tempfile.mkdtemp(prefix='mfa-exec-')
        lock = None
    else:
        # NOTE: made under a name the collector skips, locked, and only
        # then renamed to one it looks at.
        new = tempfile.mkdtemp(prefix=_NEW, dir=base)
        lock = os.open(
            os.path.join(new, 'lock'),
            os.O_RDWR | os.O_CREAT | os.O_EXCL,
            0o600,
        )
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = str(base / (_MADE + Path(new).name[len(_NEW) :]))
        os.rename(new, folder)
        HELD.add(lock)
    try:
        os.chmod(folder, 0o700)
        path = os.path.join(folder, 'clouds.yaml')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w', encoding='utf-8') as out:
            out.write(text)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if lock is not None:
            HELD.discard(lock)
            os.close(lock)


# -- the lock files of sessions (``mfa exec --session``) -------------------

#: Where the lock file of each live session is (one per application
#: credential, named by its ID).
SESSIONS_DIR = 'mfa-osc-sessions'


def _session_path(base: Path, session_id: str) -> Path:
    if not session_id.isalnum():
        raise ValueError('not an application credential ID')
    return base / session_id


def hold_session(session_id: str, directory: Path | None = None) -> bool:
    """Lock a file for the session ``session_id`` for as long as this
    process or the program it runs lives; whether it could.

    The lock (``flock``) is in :data:`HELD`, so the program ``exec`` runs
    holds it too: a later ``exec`` deletes the session only once both
    have ended. Made under another name, locked, and only then renamed,
    so that no sweep sees it unlocked.
    """
    try:
        base = private_files.private_dir(SESSIONS_DIR, directory)
        path = _session_path(base, session_id)
        fd, new = tempfile.mkstemp(prefix=_NEW, dir=base)
    except (OSError, ValueError) as exc:
        LOG.debug('The session is left to its expiry if exec dies: %s', exc)
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(new, path)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(new)
        return False
    HELD.add(fd)
    _SESSIONS[session_id] = fd
    return True


#: The lock files of the sessions this process holds, by session ID.
_SESSIONS: dict[str, int] = {}


def session_held(
    session_id: str, directory: Path | None = None
) -> bool | None:
    """Whether a process holds the session's lock file; None when there
    is none here (a session of another cache directory, or of ``export``,
    which are left to their expiry)."""
    if session_id in _SESSIONS:
        return True
    try:
        base = (directory or private_files.cache_dir()) / SESSIONS_DIR
        private_files.check_dir(base)
        fd = os.open(
            _session_path(base, session_id), os.O_RDWR | os.O_NOFOLLOW
        )
    except (OSError, ValueError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)
    return False


def release_session(
    session_id: str, ended: bool, directory: Path | None = None
) -> None:
    """Let go of the session's lock; remove its file once it has
    ``ended`` (its application credential deleted). A file left unlocked
    tells the next ``exec`` to delete the session."""
    fd = _SESSIONS.pop(session_id, None)
    if ended:
        with contextlib.suppress(OSError, ValueError):
            base = (directory or private_files.cache_dir()) / SESSIONS_DIR
            os.unlink(_session_path(base, session_id))
    if fd is not None:
        HELD.discard(fd)
        os.close(fd)


def sessions_here(directory: Path | None = None) -> list[str]:
    """The IDs of the sessions with a lock file here, held or not."""
    base = (directory or private_files.cache_dir()) / SESSIONS_DIR
    try:
        private_files.check_dir(base)
        names = os.listdir(base)
    except OSError:
        return []
    return sorted(n for n in names if n.isalnum())
