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

"""Tokens that wait for revocation, kept until Keystone confirms it.

Signing out moves a token cache entry out of use first (a rename, so no
later command signs in with it and Ctrl-C cannot leave it in use), into
``mfa-osc-revoke/`` below the cache directory; the file stays there,
0600, until Keystone has confirmed that its tokens are revoked, so that a
revocation that failed (Keystone down, a CA not given) is retried by the
next ``openstack mfa logout``. The files are kept with the cache's checks
(:mod:`mfa_osc.auth.cache`).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import re
import time
from typing import Any

from mfa_osc.auth import cache
from mfa_osc.auth import private_files

# NOTE: names no folder of the user's own is likely to have: the cache
# directory may be one the user named (MFA_OSC_CACHE_DIR=$HOME).
REVOKE_DIR = 'mfa-osc-revoke'
#: The name of a revocation file (only such files are read or removed).
_PENDING_NAME = re.compile(r'^[A-Za-z0-9_-]+\.\d+-\d+\.json$')


def revoke_dir(directory: Path | None = None) -> Path:
    """Where the tokens that still wait for revocation are kept."""
    return (directory or private_files.cache_dir()) / REVOKE_DIR


def _pending_name(stem: str) -> str:
    return f'{stem}.{os.getpid()}-{time.time_ns()}.json'


def retire_file(path: Path, directory: Path | None = None) -> Path | None:
    """Move the cache file ``path`` to the revocations; its new path.

    None when there was no such file (another command signed out first).
    """
    directory = directory or private_files.cache_dir()
    target_dir = revoke_dir(directory)
    private_files.check_dir(directory)
    private_files.private_dir(REVOKE_DIR, directory)
    target = target_dir / _pending_name(path.name.split('.')[0])
    try:
        # NOTE: a rename does not follow a symbolic link: a link in the
        # cache moves as a link, and counts as no token when read.
        os.rename(path, target)
    except FileNotFoundError:
        return None
    return target


def retire(cache_id: str, directory: Path | None = None) -> Path | None:
    """Move the entry of ``cache_id`` to the revocations (see above)."""
    return retire_file(cache.entry_path(cache_id, directory), directory)


def add_pending(
    auth_url: str, tokens: list[str], directory: Path | None = None
) -> Path:
    """Remember that ``tokens`` of ``auth_url`` are to be revoked."""
    target_dir = private_files.private_dir(REVOKE_DIR, directory)
    path = target_dir / _pending_name('tokens')
    private_files.write_private(path, {'auth_url': auth_url, 'tokens': tokens})
    return path


def keep_pending(path: Path, auth_url: str, tokens: list[str]) -> None:
    """Rewrite a revocation with the tokens that are left."""
    private_files.write_private(path, {'auth_url': auth_url, 'tokens': tokens})


def pending_tokens(data: object) -> tuple[str | None, list[str]]:
    """The auth URL and the tokens of a revocation file.

    A file is a cache entry moved there (its MFA token and the tokens
    rescoped from it) or ``{"auth_url": ..., "tokens": [...]}``.
    """
    if not isinstance(data, dict):
        return None, []
    url = data.get('auth_url')
    url = url if isinstance(url, str) and url else None
    tokens: list[str] = []
    if isinstance(data.get('tokens'), list):
        tokens = [t for t in data['tokens'] if isinstance(t, str) and t]
    if isinstance(data.get('auth_token'), str) and data['auth_token']:
        tokens.append(data['auth_token'])
    scopes = data.get('scopes')
    if isinstance(scopes, dict):
        for scoped in scopes.values():
            token = (
                scoped.get('auth_token') if isinstance(scoped, dict) else None
            )
            if isinstance(token, str) and token and token not in tokens:
                tokens.append(token)
    return url, tokens


def pending(directory: Path | None = None) -> Iterator[tuple[Path, Any]]:
    """Every revocation not yet done: its path and what it holds.

    A file that cannot be parsed comes as None (it holds nothing to
    revoke); one that is not safe to read (another user's, one others
    may write) is left out: its tokens are sent nowhere.
    """
    target_dir = revoke_dir(directory)
    try:
        private_files.check_dir(target_dir)
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
        return
    except OSError:
        return
    for path in sorted(target_dir.glob('*.json')):
        if not _PENDING_NAME.match(path.name):
            continue
        try:
            data = private_files.read_private(path)
        except private_files.UnsafeCache as exc:
            private_files.warn_unsafe(str(exc))
            continue
        except (OSError, ValueError):
            data = None
        yield path, data


def drop_pending(path: Path) -> None:
    """The revocation is done (or holds nothing): remove its file."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
