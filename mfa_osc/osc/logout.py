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

"""``openstack mfa logout``: revoke and forget cached sign-ins."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

#: Seconds to wait for Keystone to take the connection, and then for its
#: answer to a revocation.
REVOKE_TIMEOUT = 5


def _revoke(
    auth_url: str, token: str, tls: tuple[Any, Any] = (True, None)
) -> str | None:
    """Revoke a token in Keystone; None once it is invalid, else why not.

    ``tls`` is the cloud's ``(verify, cert)``: its CA bundle (or False
    for --insecure) and client certificate.
    """
    from keystoneauth1 import exceptions as ksa_exc
    from keystoneauth1 import session as ks_session

    from mfa_osc.client import errors as client_errors
    from mfa_osc.client import tokens

    verify, cert = tls
    # NOTE: a Keystone that takes the connection and never answers would
    # hold the sign-out forever without a timeout.
    session = ks_session.Session(
        verify=verify, cert=cert, timeout=REVOKE_TIMEOUT
    )
    try:
        tokens.revoke(session, auth_url, token)
    except (client_errors.NotFound, client_errors.Unauthorized):
        # NOTE: 404 (or 401: the token cannot vouch for itself) means it
        # is expired or revoked already: nothing left to revoke.
        return None
    except client_errors.ClientError as exc:
        # NOTE: in this command's words, by what keystoneauth met.
        cause = exc.original
        if isinstance(cause, ksa_exc.SSLError):
            return 'its TLS certificate was not verified'
        if isinstance(cause, ksa_exc.ConnectTimeout):
            return f'it did not answer within {REVOKE_TIMEOUT} seconds'
        if isinstance(cause, ksa_exc.ConnectFailure):
            return 'the connection failed'
        if exc.status is not None:
            return f'it answered {exc.status}'
        return type(cause or exc).__name__
    return None


def _same_cloud(a: str | None, b: str | None) -> bool:
    from mfa_osc import identity

    return bool(a and b) and identity.identity_url(
        str(a)
    ) == identity.identity_url(str(b))


class Logout(command.Command):
    """Sign out: revoke the cached MFA token and delete it from this machine"""

    auth_required = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--all',
            action='store_true',
            help='Sign out of every cloud and user cached on this machine',
        )
        return parser

    def _tls(self) -> tuple[Any, Any]:
        """The cloud's (verify, cert): --os-cacert, --insecure, --os-cert.

        NOTE: the same settings as every other command's session, so that
        a cloud with a private CA is reached for revoking too. With --all
        they are this command's cloud's, for every cached sign-in.
        """
        try:
            cloud = self.app.cloud_config.get_one(
                cloud=self.app.options.cloud,
                argparse=self.app.options,
                validate=False,
            )
            verify, cert = cloud.get_requests_verify_args()
        except Exception:
            return True, None
        return verify, cert

    def _current_entry(self) -> tuple[str | None, Any]:
        """The cache id and plugin of this command's cloud and user."""
        from keystoneauth1 import exceptions as ksa_exc
        from openstack import exceptions as sdk_exc

        try:
            cloud = self.app.cloud_config.get_one(
                cloud=self.app.options.cloud,
                argparse=self.app.options,
                validate=True,
            )
        except (sdk_exc.ConfigException, ksa_exc.ClientException) as exc:
            # NOTE: no cloud named and no OS_* variables: "Missing value
            # auth-url required for auth plugin password" says nothing of
            # what logout needs.
            raise exceptions.CommandError(
                f'No cloud to sign out of is configured ({exc}): name it '
                'with --os-cloud NAME or the OS_* variables you sign in '
                'with, or sign out of every cached sign-in on this machine '
                'with `openstack mfa logout --all`.'
            ) from None
        auth = cloud.get_auth()
        # NOTE: openstacksdk's keyring cache, when in use, is cleared too.
        with contextlib.suppress(Exception):
            cloud.clear_auth_cache()
        get_id = getattr(auth, 'get_unscoped_cache_id', None)
        return (get_id() if callable(get_id) else None), auth

    def _retire(self, everything: bool) -> tuple[set[Path], str | None]:
        """Take the cached sign-ins out of use; where they went, the cloud.

        NOTE: first of all, before any request: whatever happens next (no
        answer, Ctrl-C), no later command signs in with these tokens, and
        each is kept, 0600, until Keystone confirms its revocation.
        """
        from mfa_osc.auth import cache
        from mfa_osc.auth import private_files
        from mfa_osc.auth import revocations

        moved: list[Path | None] = []
        auth_url = None
        try:
            if everything:
                for path, _ in list(cache.entries()):
                    moved.append(revocations.retire_file(path))
            else:
                cache_id, auth = self._current_entry()
                auth_url = getattr(auth, 'auth_url', None)
                if cache_id:
                    moved.append(revocations.retire(cache_id))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise exceptions.CommandError(
                f'The cached sign-ins could not be taken out of use ({exc}); '
                'check the token cache directory '
                f'{private_files.cache_dir()}, or set MFA_OSC_CACHE_DIR to '
                'the one you use.'
            ) from None
        return {path for path in moved if path is not None}, auth_url

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        from mfa_osc.auth import revocations
        from mfa_osc.osc import lent

        everything = bool(parsed_args.all)
        retired, auth_url = self._retire(everything)
        exported = self._exported(everything, auth_url, retired)
        # NOTE: the clouds.yaml of an exec that was killed: its token
        # joins the revocations below.
        lent.collect()
        tls = self._tls()
        failed: dict[str, str] = {}
        earlier = others = 0
        exported_revoked = False
        for path, data in list(revocations.pending()):
            url, tokens = revocations.pending_tokens(data)
            if url is None or not tokens:
                revocations.drop_pending(path)  # nothing to revoke in it
                continue
            if not everything and not _same_cloud(url, auth_url):
                others += 1
                continue
            if self._revoke_all(path, url, tokens, tls, failed):
                if path == exported:
                    exported_revoked = True
                else:
                    earlier += path not in retired
        if exported_revoked:
            self.app.stdout.write(
                'Revoked the token that `openstack mfa export` put in this '
                'shell; remove it with `unset OS_TOKEN OS_AUTH_TOKEN '
                'MFA_OSC_EXPORTED` (or close the shell) and sign in as '
                'before.\n'
            )
        self._report(
            everything, len(retired), earlier, others, failed, exported
        )

    def _exported(
        self, everything: bool, auth_url: str | None, retired: set[Path]
    ) -> Path | None:
        """The token of `mfa export` in this shell, to be revoked.

        Only one that export put there (``MFA_OSC_EXPORTED`` is its mark),
        of this command's cloud (any, with --all): a token from elsewhere
        in OS_TOKEN is not this command's to revoke. The cached sign-in it
        came from is signed out too (added to ``retired``).
        """
        import os

        from mfa_osc.auth import cache
        from mfa_osc.auth import private_files
        from mfa_osc.auth import revocations
        from mfa_osc.osc import exported as export_mark

        token = os.environ.get('OS_TOKEN') or os.environ.get('OS_AUTH_TOKEN')
        url = os.environ.get('OS_AUTH_URL')
        mark = os.environ.get(export_mark.VARIABLE)
        if not (token and url and mark) or mark != export_mark.mark(token):
            return None
        if not everything and not _same_cloud(url, auth_url):
            return None
        try:
            for path, data in list(cache.entries()):
                if token in revocations.pending_tokens(data)[1]:
                    moved = revocations.retire_file(path)
                    if moved is not None:
                        retired.add(moved)
            return revocations.add_pending(url, [token])
        except OSError as exc:
            raise exceptions.CommandError(
                'The token that `openstack mfa export` put in this shell '
                f'could not be recorded for revocation ({exc}); check the '
                f'token cache directory {private_files.cache_dir()}.'
            ) from None

    def _revoke_all(
        self,
        path: Path,
        url: str,
        tokens: list[str],
        tls: tuple[Any, Any],
        failed: dict[str, str],
    ) -> bool:
        """Revoke the tokens of one file; True when all are revoked.

        The ones left stay in the file. A cloud that failed once is not
        asked again in this run (each try could wait the whole timeout).
        """
        from mfa_osc.auth import revocations

        left = []
        for token in tokens:
            if url not in failed:
                why = _revoke(url, token, tls)
                if why is None:
                    continue
                failed[url] = why
            left.append(token)
        if left:
            if len(left) < len(tokens):
                revocations.keep_pending(path, url, left)
            return False
        revocations.drop_pending(path)
        return True

    def _report(
        self,
        everything: bool,
        retired: int,
        earlier: int,
        others: int,
        failed: dict[str, str],
        exported: Path | None = None,
    ) -> None:
        out = self.app.stdout
        if retired:
            out.write(
                f'Signed out: removed {retired} cached sign-in'
                f'{"s" if retired != 1 else ""}; the next command signs in '
                'again.\n'
            )
        if earlier:
            out.write(
                f'Revoked {earlier} more token{"s" if earlier != 1 else ""} '
                'that waited for it (of a sign-out that had failed, or of a '
                'killed `openstack mfa exec`).\n'
            )
        if others:
            self.app.stderr.write(
                f'Note: {others} sign-out{"s" if others != 1 else ""} of '
                'other clouds still wait for Keystone to revoke their '
                'tokens; `openstack mfa logout --all` tries again.\n'
            )
        if not (retired or earlier or failed or exported):
            self._nothing(everything)
        if failed:
            rerun = 'openstack mfa logout' + (' --all' if everything else '')
            raise exceptions.CommandError(
                ' '.join(
                    _failure(url, why, rerun) for url, why in failed.items()
                )
            )

    def _nothing(self, everything: bool) -> None:
        if everything:
            scope = ' on this machine'
        elif self.app.cloud.config.get('auth_type') != 'v3multifactor':
            # NOTE: only the v3multifactor plugin caches sign-ins.
            scope = (
                ' for this cloud and user (it signs in with auth type '
                f'{self.app.cloud.config.get("auth_type")}, which mfa-osc '
                'does not cache; `openstack mfa logout --all` signs out '
                'of every cached sign-in)'
            )
        else:
            scope = ' for this cloud and user'
        self.app.stdout.write(f'No cached sign-in to sign out of{scope}.\n')


def _failure(url: str, why: str, rerun: str) -> str:
    """One sentence: which revocation failed, and the command to run."""
    if why.startswith('its TLS certificate'):
        with_ca = rerun.replace('openstack', 'openstack --os-cacert CA-FILE')
        how = f"run it again with the cloud's CA: `{with_ca}` (or OS_CACERT)"
    else:
        how = f'run `{rerun}` again once Keystone answers'
    return (
        f'Keystone could not be reached to revoke the token of the '
        f'sign-in at {url} ({why}): it is no longer used here and is kept, '
        f'readable by you only, until it is revoked; {how}.'
    )
