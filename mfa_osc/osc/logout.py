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
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command


def _revoke(
    auth_url: str, token: str, tls: tuple[Any, Any] = (True, None)
) -> str | None:
    """Revoke a token in Keystone; None on success, else why not.

    ``tls`` is the cloud's ``(verify, cert)``: its CA bundle (or False
    for --insecure) and client certificate.
    """
    from keystoneauth1 import exceptions as ksa_exc
    from keystoneauth1 import session as ks_session

    from mfa_osc.auth import plugin

    verify, cert = tls
    try:
        plugin.revoke_token(
            ks_session.Session(verify=verify, cert=cert), auth_url, token
        )
    except (ksa_exc.NotFound, ksa_exc.Unauthorized):
        return None  # already expired or revoked: nothing left to revoke
    except ksa_exc.SSLError:
        return (
            "its TLS certificate was not verified: give the cloud's CA "
            'with --os-cacert or OS_CACERT'
        )
    except ksa_exc.ClientException as exc:
        return type(exc).__name__
    return None


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

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        from mfa_osc.auth import cache

        targets: list[tuple[Any, Any]] = []
        if parsed_args.all:
            targets = [(path, entry) for path, entry in cache.entries()]
        else:
            cache_id, _ = self._current_entry()
            entry = cache.load(cache_id) if cache_id else None
            if cache_id and entry is not None:
                targets = [(cache_id, entry)]
        if not targets:
            if parsed_args.all:
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
            self.app.stdout.write(
                f'No cached sign-in to sign out of{scope}.\n'
            )
            return
        failures = []
        tls = self._tls()
        for key, entry in targets:
            entry = entry if isinstance(entry, dict) else {}
            token, url = entry.get('auth_token'), entry.get('auth_url')
            if isinstance(token, str) and isinstance(url, str):
                why = _revoke(url, token, tls)
                if why:
                    failures.append(f'{url} ({why})')
            if isinstance(key, str):
                cache.delete(key)
            else:
                with contextlib.suppress(FileNotFoundError):
                    key.unlink()
        count = len(targets)
        self.app.stdout.write(
            f'Signed out: removed {count} cached sign-in'
            f'{"s" if count != 1 else ""}; the next command signs in '
            'again.\n'
        )
        if failures:
            self.app.stderr.write(
                'Warning: Keystone could not be reached to revoke the token '
                'at ' + ', '.join(failures) + '; it was deleted here but '
                'stays valid until it expires.\n'
            )
