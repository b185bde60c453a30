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

"""keystoneauth loader of the ``v3multifactor`` auth plugin.

This is the entry point keystoneauth and OSC load at every ``openstack``
start, so it imports little beyond ``keystoneauth1.loading`` (the
standard-library-only :mod:`mfa_osc.redact` and :mod:`mfa_osc.auth.options`):
the plugin itself, pyotp and the rest are imported when a sign-in is built.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING
from typing import Any

from keystoneauth1 import loading
from keystoneauth1.loading import opts

if TYPE_CHECKING:
    from mfa_osc.auth import plugin

_COMMAND_FLAG = '--os-passcode-command'
_COMMAND_ENV = 'OS_PASSCODE_COMMAND'


def _register_command_secrets() -> None:
    """Keep a TOTP secret inside a passcode command out of the logs.

    ``--os-passcode-command "oathtool --totp -b SECRET"``: OSC logs its
    command line, its options and the cloud config under ``--debug``
    before it builds the plugin, and masks them by key name only. Listing
    the plugin's options (what OSC does at every start, to build its
    parser) is the one step of the plugin that comes before those lines.
    """
    from mfa_osc import redact
    from mfa_osc.auth import options

    values = [os.environ.get(_COMMAND_ENV)]
    argv = sys.argv
    for index, arg in enumerate(argv):
        if arg == _COMMAND_FLAG and index + 1 < len(argv):
            values.append(argv[index + 1])
        elif arg.startswith(_COMMAND_FLAG + '='):
            values.append(arg[len(_COMMAND_FLAG) + 1 :])
    parts = [part for v in values for part in options.command_secrets(v)]
    if parts:
        redact.register(*parts)
        redact.install()


class MultiFactor(loading.BaseV3Loader['plugin.MultiFactor']):
    """Sign in with a password and a TOTP passcode, prompting only if needed.

    Sends the password alone unless a passcode is given up front; when the
    user's MFA rules want TOTP, Keystone answers with an auth receipt and
    the passcode comes from --os-passcode-command or a prompt.
    """

    @property
    def plugin_class(self) -> type[plugin.MultiFactor]:
        from mfa_osc.auth import plugin

        return plugin.MultiFactor

    def get_options(self) -> list[opts.Opt]:
        _register_command_secrets()
        options = super().get_options()
        options.extend(
            [
                loading.Opt('user-id', help="User's user ID"),
                loading.Opt(
                    'username',
                    help="User's username",
                    deprecated=[loading.Opt('user-name')],
                ),
                loading.Opt('user-domain-id', help="User's domain ID"),
                loading.Opt('user-domain-name', help="User's domain name"),
                loading.Opt(
                    'password',
                    secret=True,
                    help="User's password (prompted for on a terminal)",
                ),
                loading.Opt(
                    'auth-methods',
                    default='password,totp',
                    help='Methods to sign in with, comma-separated: '
                    'password,totp (or v3password,v3totp)',
                ),
                loading.Opt(
                    'passcode',
                    secret=True,
                    help='The current 6-digit TOTP code',
                ),
                loading.Opt(
                    'totp-secret',
                    secret=True,
                    help='Base32 TOTP secret to compute the code from',
                ),
                # NOTE: secret, as it often carries the TOTP secret
                # (`oathtool --totp -b SECRET`): `openstack configuration
                # show` masks it (--unmask shows it). Its secret parts are
                # also kept out of the logs (_register_command_secrets).
                loading.Opt(
                    'passcode-command',
                    secret=True,
                    help='Command that prints the current TOTP code, run '
                    'only when Keystone asks for one',
                ),
                loading.Opt(
                    'recovery-code',
                    secret=True,
                    help='A recovery code, used once in place of the '
                    'authenticator app',
                ),
                loading.Opt(
                    'token-cache',
                    default='on',
                    help='Reuse the token of a sign-in with a second factor '
                    'in later commands: on or off',
                ),
                # NOTE: 'default-domain' as a deprecated name lets
                # openstacksdk's option matching pick up osc's
                # --os-default-domain, as osc-lib does for v3password.
                loading.Opt(
                    'default-domain-id',
                    help='Domain ID of the user when no user domain is given',
                    deprecated=[loading.Opt('default-domain')],
                ),
                loading.Opt(
                    'default-domain-name',
                    help='Domain name of the user when no user domain is '
                    'given',
                ),
            ]
        )
        return options

    def load_from_options(self, **kwargs: Any) -> plugin.MultiFactor:
        from keystoneauth1 import exceptions as ksa_exc

        from mfa_osc.auth import options

        # NOTE: as keystoneauth's loaders report a problem with options:
        # an OptionError naming it, not a TypeError from the constructor.
        known = set()
        for opt in self.get_options():
            known.add(opt.dest)
            known.update(old.dest for old in opt.deprecated)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ksa_exc.OptionError(
                'The v3multifactor auth plugin has no option {}: it takes '
                '{} (for example auth_methods, username, password, '
                'passcode).'.format(
                    ', '.join(repr(name) for name in unknown),
                    ', '.join(sorted(known)),
                )
            )

        kwargs['auth_methods'] = options.parse_auth_methods(
            kwargs.get('auth_methods')
        )
        default_id = kwargs.pop('default_domain_id', None)
        default_name = kwargs.pop('default_domain_name', None)
        kwargs.pop('default_domain', None)
        # NOTE: as osc-lib does for v3password: a user or project named
        # without a domain is in the default domain.
        if default_name and not default_id:
            default = {'name': default_name}
        else:
            default = {'id': default_id or 'default'}
        for owner, needed in (
            ('user', kwargs.get('username') and not kwargs.get('user_id')),
            (
                'project',
                kwargs.get('project_name') and not kwargs.get('project_id'),
            ),
        ):
            if (
                needed
                and not kwargs.get(f'{owner}_domain_id')
                and not kwargs.get(f'{owner}_domain_name')
            ):
                for key, value in default.items():
                    kwargs[f'{owner}_domain_{key}'] = value
        return super().load_from_options(**kwargs)
