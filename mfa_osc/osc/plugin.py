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
    parser.add_argument(
        '--os-mfa-api-version',
        metavar='<mfa-api-version>',
        default=DEFAULT_API_VERSION,
        help=f'MFA API version, default={DEFAULT_API_VERSION} '
        '(Env: OS_MFA_API_VERSION)',
    )
    return parser


def _verbose(argv: list[str]) -> bool:
    return any(
        arg in ('--debug', '-v', '-vv', '-vvv', '--verbose', '--log-file')
        or arg.startswith('--log-file=')
        for arg in argv
    )
