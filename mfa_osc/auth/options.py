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

"""Options of the ``v3multifactor`` plugin as they arrive, made uniform.

``auth_methods`` and ``token_cache`` come from flags, environment
variables, clouds.yaml and openstacksdk arguments, as strings, lists or
booleans; the loader and the plugin both read them through here, so the
loader need not import the plugin to check them.
"""

from __future__ import annotations

from collections.abc import Iterable

from keystoneauth1 import exceptions as ksa_exc

#: Keystone method name for each name ``auth_methods`` accepts.
METHOD_ALIASES = {
    'password': 'password',
    'v3password': 'password',
    'totp': 'totp',
    'v3totp': 'totp',
}
DEFAULT_METHODS = ('password', 'totp')

_FALSE = {'0', 'false', 'no', 'off', 'disable', 'disabled'}


def parse_flag(value: object, default: bool = True) -> bool:
    """``token_cache`` from a flag, env var or clouds.yaml, as a bool."""
    if value is None or value == '':
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in _FALSE


PASSCODE_SOURCES_HELP = (
    'give a passcode with --os-passcode or OS_PASSCODE, a TOTP secret with '
    '--os-totp-secret or OS_TOTP_SECRET, or a command that prints the code '
    'with --os-passcode-command or OS_PASSCODE_COMMAND, or run the command '
    'on a terminal to be prompted (lost the device? use a recovery code '
    'with --os-recovery-code)'
)


def parse_auth_methods(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Turn ``password,totp`` / ``['v3totp', 'v3password']`` into methods.

    Accepts Keystone method names and keystoneauth loader names, in any
    order, as a list or a comma-separated string (a string is never taken
    apart character by character). Returns Keystone names, password first.
    """
    if value is None or value == '' or value == []:
        return DEFAULT_METHODS
    items: list[str] = []
    for item in [value] if isinstance(value, str) else value:
        items.extend(str(item).replace(' ', ',').split(','))
    names = [item.strip().lower() for item in items if item.strip()]
    if not names:
        return DEFAULT_METHODS
    unknown = [name for name in names if name not in METHOD_ALIASES]
    if unknown:
        raise ksa_exc.OptionError(
            'Unknown auth method {}: v3multifactor accepts {} (for example '
            '--os-auth-methods password,totp).'.format(
                ', '.join(repr(name) for name in unknown),
                ', '.join(sorted(METHOD_ALIASES)),
            )
        )
    methods = {METHOD_ALIASES[name] for name in names}
    return tuple(m for m in DEFAULT_METHODS if m in methods)
