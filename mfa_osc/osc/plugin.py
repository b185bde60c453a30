"""OpenStackClient hooks of the ``mfa`` command group.

OSC imports this module at every start (entry point
``openstack.cli.extension``), so it stays small: commands and the Keystone
client are imported when a command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from mfa_osc import redact

API_NAME = 'mfa'
API_VERSION_OPTION = 'os_mfa_api_version'
API_VERSIONS = ('1',)
DEFAULT_API_VERSION = '1'

# NOTE: OSC logs its whole command line and its auth options under --debug,
# masking by key name only; the passcode, the recovery code and values given
# as flags would show. Scrub every log record of this process instead.
redact.install()


def make_client(instance: Any) -> Any:
    """Return the Keystone MFA client on the command's session."""
    from mfa_osc import client

    return client.MFAClient(instance.session)


def build_option_parser(
    parser: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    """Add the global option of the mfa command group."""
    parser.add_argument(
        '--os-mfa-api-version',
        metavar='<mfa-api-version>',
        default=DEFAULT_API_VERSION,
        help=f'MFA API version, default={DEFAULT_API_VERSION} '
        '(Env: OS_MFA_API_VERSION)',
    )
    return parser
