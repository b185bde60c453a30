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
mfa-osc's private directory (:mod:`mfa_osc.auth.private_files`, which
checks that no one else may read or plant a file there), so several
commands may run at once. An entry is used only if it has the shape of a
token (a token id, a body with a well-formed ``expires_at`` and a user),
and so has every token rescoped from it; a file that cannot be read,
parsed or trusted counts as absent, and the reason (when it is unsafe) is
logged once.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
import contextlib
import datetime
import json
import os
from pathlib import Path
import re
import tempfile
from typing import Any

from mfa_osc.auth import private_files

# NOTE: Keystone writes 2026-05-01T12:00:00.000000Z; keystoneauth parses
# it with iso8601, which refuses forms that datetime accepts: only the
# form Keystone writes is taken.
_ISO_TIME = re.compile(
    r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$'
)


def entry_path(cache_id: str, directory: Path | None = None) -> Path:
    # NOTE: cache ids are base64 and may hold '/'; use a file-safe form.
    name = base64.urlsafe_b64encode(
        base64.b64decode(cache_id.encode('ascii'))
    ).decode('ascii')
    return (
        directory or private_files.cache_dir()
    ) / f'{name.rstrip("=")}.json'


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
    directory = directory or private_files.cache_dir()
    path = entry_path(cache_id, directory)
    try:
        private_files.check_dir(directory)
        data = private_files.read_private(path)
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
        return None
    except (OSError, ValueError):
        return None
    return data if well_formed(data) else None


def save(
    cache_id: str, entry: dict[str, Any], directory: Path | None = None
) -> None:
    """Store ``entry`` atomically, readable by this user only."""
    directory = directory or private_files.cache_dir()
    try:
        private_files.ensure_dir(directory)
        private_files.write_private(entry_path(cache_id, directory), entry)
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
        raise
    except OSError as exc:
        # NOTE: a read-only home, a full disk: every command would ask
        # for a code again, and the user would not know why.
        private_files.warn_unsafe(
            f'{directory} cannot be written ({exc.strerror or exc}); set '
            f'{private_files.ENV_DIR} to a directory you can write, or turn '
            'the cache off (OS_TOKEN_CACHE=off)'
        )
        raise


def delete(cache_id: str, directory: Path | None = None) -> bool:
    """Remove an entry; True if there was one."""
    directory = directory or private_files.cache_dir()
    try:
        private_files.check_dir(directory)
        # NOTE: unlink removes a symbolic link itself, never its target.
        os.unlink(entry_path(cache_id, directory))
    except FileNotFoundError:
        return False
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
        return False
    return True


#: The name of a cache file: the unpadded urlsafe base64 of a SHA-256.
_ENTRY_NAME = re.compile(r'^[A-Za-z0-9_-]{43}\.json$')


def entries(directory: Path | None = None) -> Iterator[tuple[Path, Any]]:
    """Every entry, with its path (for signing out of all).

    An entry that cannot be read, or is not safe or not well formed, comes
    as None (its file is still removed by signing out).
    """
    directory = directory or private_files.cache_dir()
    try:
        private_files.check_dir(directory)
    except FileNotFoundError:
        return
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
        return
    except OSError:
        return
    # NOTE: only files named as this module names them: the directory may
    # be one the user named (MFA_OSC_CACHE_DIR=$HOME), with other files.
    for path in sorted(directory.glob('*.json')):
        if not _ENTRY_NAME.match(path.name):
            continue
        try:
            data = private_files.read_private(path)
        except private_files.UnsafeCache as exc:
            private_files.warn_unsafe(str(exc))
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
    directory = directory or private_files.cache_dir()
    try:
        private_files.check_dir(directory)
        data = private_files.read_private(_record_path(cache_id, directory))
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
        return False
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get('totp') is True


def set_needs_totp(
    cache_id: str, needed: bool, directory: Path | None = None
) -> None:
    """Record (or forget) that Keystone asks this user for TOTP."""
    directory = directory or private_files.cache_dir()
    path = _record_path(cache_id, directory)
    try:
        if not needed:
            private_files.check_dir(directory)
            os.unlink(path)
            return
        private_files.ensure_dir(directory)
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
    except private_files.UnsafeCache as exc:
        private_files.warn_unsafe(str(exc))
    except OSError:
        # NOTE: a record that cannot be kept costs one request later.
        pass
