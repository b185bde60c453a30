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
``$XDG_CACHE_HOME/mfa-osc`` (``~/.cache/mfa-osc``). The directory is 0700,
the files 0600; a file is written to a temporary name and renamed into
place, so a reader sees a whole file or none, and several commands may run
at once. A file that cannot be read or parsed counts as absent.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
import contextlib
import json
import os
from pathlib import Path
import stat
import tempfile
from typing import Any

ENV_DIR = 'MFA_OSC_CACHE_DIR'


def cache_dir() -> Path:
    """Where the cache lives (``MFA_OSC_CACHE_DIR`` overrides it)."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache'
    )
    return Path(base) / 'mfa-osc'


def _path(cache_id: str, directory: Path | None = None) -> Path:
    # NOTE: cache ids are base64 and may hold '/'; use a file-safe form.
    name = base64.urlsafe_b64encode(
        base64.b64decode(cache_id.encode('ascii'))
    ).decode('ascii')
    return (directory or cache_dir()) / f'{name.rstrip("=")}.json'


def _ensure_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode != 0o700:
        os.chmod(directory, 0o700)


def load(
    cache_id: str, directory: Path | None = None
) -> dict[str, Any] | None:
    """The entry stored under ``cache_id``, or None."""
    path = _path(cache_id, directory)
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def save(
    cache_id: str, entry: dict[str, Any], directory: Path | None = None
) -> None:
    """Store ``entry`` atomically, readable by this user only."""
    directory = directory or cache_dir()
    _ensure_dir(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-', suffix='.json')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            # NOTE: mkstemp creates the file 0600 already; say so anyway.
            os.fchmod(handle.fileno(), 0o600)
            json.dump(entry, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, _path(cache_id, directory))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def delete(cache_id: str, directory: Path | None = None) -> bool:
    """Remove an entry; True if there was one."""
    try:
        os.unlink(_path(cache_id, directory))
    except FileNotFoundError:
        return False
    return True


def entries(directory: Path | None = None) -> Iterator[tuple[Path, Any]]:
    """Every readable entry, with its path (for signing out of all)."""
    directory = directory or cache_dir()
    if not directory.is_dir():
        return
    for path in sorted(directory.glob('*.json')):
        try:
            with open(path, encoding='utf-8') as handle:
                yield path, json.load(handle)
        except (OSError, ValueError):
            yield path, None
