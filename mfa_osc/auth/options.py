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

The same option reaches the plugin in four forms: ``--os-passcode``,
``OS_PASSCODE``, ``passcode`` under ``auth:`` in clouds.yaml, or
``passcode=`` to ``openstack.connect()``. The messages name the form the
user used (:func:`given_as`), or, when nothing was given, the forms that
work where the plugin runs (:func:`ways_to_give`).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
import os
import shlex
import sys

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


#: The ways to give a passcode, for the ``openstack`` command.
PASSCODE_SOURCES_HELP = (
    'give a passcode with --os-passcode or OS_PASSCODE, a TOTP secret with '
    '--os-totp-secret or OS_TOTP_SECRET, or a command that prints the code '
    'with --os-passcode-command or OS_PASSCODE_COMMAND, or run the command '
    'on a terminal to be prompted (lost the device? use a recovery code '
    'with --os-recovery-code)'
)

#: The same for a program that uses openstacksdk or keystoneauth.
SDK_PASSCODE_SOURCES_HELP = (
    'give passcode (the current code), totp_secret or passcode_command (a '
    'command that prints the code) as an argument of openstack.connect() '
    'or under auth: in clouds.yaml, or run the program on a terminal to be '
    'prompted (lost the device? use recovery_code)'
)


def in_openstack_cli() -> bool:
    """Whether this process is the ``openstack`` command.

    Its console script is ``openstackclient.shell:main``, so that module is
    loaded in every ``openstack`` run and in (nearly) no openstacksdk or
    keystoneauth program. Looked up by name: importing it would cost every
    such program OSC's start-up.
    """
    return 'openstackclient.shell' in sys.modules


def flag(name: str) -> str:
    """``passcode_command`` -> ``--os-passcode-command``."""
    return '--os-' + name.replace('_', '-')


def env_var(name: str) -> str:
    """``passcode_command`` -> ``OS_PASSCODE_COMMAND``."""
    return 'OS_' + name.upper()


def given_as(
    name: str,
    value: object,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """How an option's value reached the plugin, as the user would write it.

    The flag when this value is on the command line, the environment
    variable when it holds this value, else the key in clouds.yaml (in the
    ``openstack`` command) or "the NAME setting" (openstacksdk: an argument
    of ``openstack.connect()`` or a key in clouds.yaml, which the plugin
    cannot tell apart). Values are
    compared, never shown; ``None`` matches any value (for options the
    loader has already parsed, such as ``auth_methods``).
    """
    argv = sys.argv if argv is None else argv
    environ = os.environ if environ is None else environ
    option = flag(name)
    text = None if value is None else str(value)
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            if text is None or argv[index + 1] == text:
                return option
        elif arg.startswith(option + '='):
            if text is None or arg == f'{option}={text}':
                return option
    if environ.get(env_var(name)) and (
        text is None or environ[env_var(name)] == text
    ):
        return env_var(name)
    if in_openstack_cli():
        return f'{name} under auth: in clouds.yaml'
    return f'the {name} setting'


def ways_to_give(name: str) -> str:
    """Where the user can set an option, where the plugin runs."""
    if in_openstack_cli():
        return (
            f'{flag(name)} or {env_var(name)} (or {name} under auth: in '
            'clouds.yaml)'
        )
    return (
        f'{name} (an openstack.connect() argument or a key under auth: in '
        'clouds.yaml)'
    )


def passcode_sources_help() -> str:
    """The ways to give a passcode, where the plugin runs."""
    if in_openstack_cli():
        return PASSCODE_SOURCES_HELP
    return SDK_PASSCODE_SOURCES_HELP


#: A passcode command's arguments this long or longer are kept out of logs:
#: the shortest TOTP secret Keystone accepts has 16 base32 characters.
COMMAND_SECRET_LENGTH = 16


def command_secrets(command: str | None) -> list[str]:
    """What of a passcode command may be a secret, for the log scrubber.

    ``oathtool --totp -b SECRET`` carries the TOTP secret as an argument:
    the whole command (when it has arguments), and each argument after the
    program, or part of one (``--key=VALUE``, ``sh -c '... VALUE'``), of
    :data:`COMMAND_SECRET_LENGTH` characters or more. The program itself
    is not a secret, and is named in error messages.
    """
    if not command:
        return []
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    if len(argv) < 2:
        return []
    found = [command]
    for arg in argv[1:]:
        parts = {arg, *arg.replace('=', ' ').split()}
        found.extend(
            part for part in parts if len(part) >= COMMAND_SECRET_LENGTH
        )
    return found


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
