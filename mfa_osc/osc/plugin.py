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

"""OpenStackClient hooks of the ``mfa`` command group.

OSC imports this module at every start (entry point
``openstack.cli.extension``), so it stays small: commands and the Keystone
client are imported when a command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from mfa_osc import redact

API_NAME = 'mfa'
API_VERSION_OPTION = 'os_mfa_api_version'
API_VERSIONS = ('1',)
DEFAULT_API_VERSION = '1'


def make_client(instance: Any) -> Any:
    """Return the Keystone MFA client on the command's session.

    It finds Keystone in the catalog by the cloud's interface and region
    (``--os-interface``, ``--os-region-name`` or clouds.yaml), on the
    session that carries the cloud's TLS settings.
    """
    from mfa_osc import client

    redact.install()
    return client.MFAClient(
        instance.session,
        interface=getattr(instance, 'interface', None),
        region_name=getattr(instance, 'region_name', None),
    )


def build_option_parser(
    parser: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add the global option of the mfa command group.

    OSC calls this at every start, before it logs its command line and
    auth options under ``--debug`` (masking by key name only). The log
    scrubbing goes on here when this process could log a secret: one is on
    the command line or in the environment, or output is verbose enough
    to show those lines. The plugin installs it too, when it is used.
    """
    if redact.secrets_in(sys.argv, os.environ) or _verbose(sys.argv):
        redact.install()
    mask_configuration_show()
    register_policy_set_up(sys.argv[1:], parser)
    parser.add_argument(
        '--os-mfa-api-version',
        metavar='<mfa-api-version>',
        default=DEFAULT_API_VERSION,
        help=f'MFA API version, default={DEFAULT_API_VERSION} '
        '(Env: OS_MFA_API_VERSION)',
    )
    return parser


#: The commands a domain's MFA policy never stops, so no one is stuck.
POLICY_EXEMPT = (('mfa', 'enroll'), ('mfa', 'status'))


def register_policy_set_up(
    argv: list[str], parser: argparse.ArgumentParser | None = None
) -> None:
    """Offer the enrollment at sign-in that a domain's MFA policy asks for.

    The sign-in plugin must not import the commands, so they are handed to
    it here (imported only when a sign-in needs them). ``parser`` is OSC's
    own, with the global options known so far.
    """
    from mfa_osc.auth import hooks

    words = command_words(argv, parser)
    exempt = tuple(words[:2]) in POLICY_EXEMPT
    hooks.register(_enroll_at_sign_in, exempt=exempt)


def command_words(
    argv: list[str], parser: argparse.ArgumentParser | None = None
) -> list[str]:
    """The words that name the command, as cliff finds them.

    OSC's parser takes out the global options, with their values, wherever
    they are; cliff's command is the words before the first option left.
    NOTE: never a value: ``--os-region-name mfa --os-project-name status``
    names no command. An option not known yet (the auth options come after
    the plugins' hooks) that starts with ``--os-`` is taken to have a value;
    where it has none, a command is missed, which only means no exemption.
    """
    known = dict(parser._option_string_actions) if parser else {}
    left: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == '--':
            left.append(arg)
            break
        if not arg.startswith('-') or arg == '-':
            left.append(arg)
            continue
        name, has_value, _ = arg.partition('=')
        taken = _values_taken(name, known)
        if taken is None:
            left.append(arg)
            continue
        if has_value:
            continue
        while taken and index < len(argv):
            if argv[index].startswith('-') and argv[index] != '-':
                break
            index += 1
            taken = taken - 1 if taken > 0 else taken
    words: list[str] = []
    for arg in left:
        if arg.startswith('-'):
            break
        words.append(arg)
    return words


def _values_taken(name: str, known: dict[str, argparse.Action]) -> int | None:
    """How many values a global option takes (-1: all that follow).

    None: not a global option (cliff leaves it to the command).
    """
    action = known.get(name)
    if action is None and name.startswith('--'):
        # NOTE: argparse takes a unique prefix of an option name.
        matches = {a for o, a in known.items() if o.startswith(name)}
        action = matches.pop() if len(matches) == 1 else None
    if action is None and not name.startswith('--') and len(name) > 2:
        # -vq: short flags together.
        flags = [known.get('-' + c) for c in name[1:]]
        if all(f is not None and f.nargs == 0 for f in flags):
            return 0
    if action is None:
        return 1 if name.startswith('--os-') else None
    nargs = action.nargs
    if nargs is None or nargs == '?':
        return 1
    if isinstance(nargs, int):
        return nargs
    return -1


def _enroll_at_sign_in(*args: Any) -> str | None:
    from mfa_osc.osc import sign_in

    return sign_in.enroll_at_sign_in(*args)


#: Configuration keys (``auth.`` left off) that ``openstack configuration
#: show`` masks whatever the auth type: the secret options of
#: ``v3multifactor`` and of keystoneauth's own plugins.
#: NOTE: ``passcode_command`` too: it often holds the TOTP secret itself
#: (``oathtool --totp -b SECRET``), and under another auth type (a
#: ``password`` cloud with ``OS_PASSCODE_COMMAND`` left set) the loader
#: that declares it secret is not the one asked.
CONFIG_SECRETS = frozenset(
    (
        'password',
        'passcode',
        'passcode_command',
        'totp_secret',
        'recovery_code',
        'token',
        'application_credential_secret',
        'secret',
    )
)


def mask_configuration_show() -> None:
    """Make ``openstack configuration show`` mask mfa-osc's secrets.

    NOTE: OSC's ``configuration show`` masks the ``dest`` of the secret
    options of ``client_manager.auth_plugin_name``, which osc-lib sets in
    ``ClientManager.setup_auth()`` only, that is when a command signs in.
    ``configuration show`` has ``auth_required = False``, so it is never
    set and OSC falls back to ``['password', 'token']``: the passcode
    (``auth.passcode``, from ``--os-passcode``), ``totp_secret`` and
    ``recovery_code`` (from ``OS_TOTP_SECRET`` and ``OS_RECOVERY_CODE``,
    which openstacksdk keeps at the top level) were shown in clear,
    although the ``v3multifactor`` loader declares them ``secret=True``.
    OSC offers no hook for this, so its command is wrapped once here: the
    secret options of the configured auth type, and mfa-osc's, are masked
    as OSC masks the password (``--unmask`` still shows them).
    """
    try:
        from openstackclient.common import configuration
    except ImportError:  # pragma: no cover - OSC without the command
        return
    show: Any = configuration.ShowConfiguration
    if getattr(show, '_mfa_osc_masked', False):
        return
    original = show.take_action

    def take_action(self: Any, parsed_args: argparse.Namespace) -> Any:
        columns, data = original(self, parsed_args)
        if not getattr(parsed_args, 'mask', True):
            return columns, data
        secret = CONFIG_SECRETS | _auth_type_secrets(self.app)
        masked = tuple(
            configuration.REDACTED
            if str(column).removeprefix('auth.') in secret
            else value
            for column, value in zip(columns, data, strict=True)
        )
        return columns, masked

    show.take_action = take_action
    show._mfa_osc_masked = True


def _auth_type_secrets(app: Any) -> set[str]:
    """The ``dest`` of every secret option of the configured auth type."""
    try:
        from keystoneauth1 import loading

        config = app.client_manager.get_configuration()
        auth_type = config.get('auth_type') or 'password'
        return {
            opt.dest
            for opt in loading.get_plugin_options(auth_type)
            if opt.secret
        }
    except Exception:
        # NOTE: an unknown auth type: mfa-osc's own names still apply.
        return set()


def _verbose(argv: list[str]) -> bool:
    return any(
        arg in ('--debug', '-v', '-vv', '-vvv', '--verbose', '--log-file')
        or arg.startswith('--log-file=')
        for arg in argv
    )
