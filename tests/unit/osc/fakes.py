#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""What the command tests share: an app with a mocked MFA client."""

from __future__ import annotations

import io
from unittest import mock

from cliff import command as cliff_command
import fixtures
from osc_lib.test import base

from mfa_osc.workflows import status as status_flow

SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'

#: One row of the audit.
ROW = status_flow.AuditRow(
    id='u1',
    name='alice',
    domain_id='default',
    devices=1,
    recovery_codes_left=8,
    unverified=0,
    state='enforced',
    admin=True,
)


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal (progress bars are drawn)."""

    def isatty(self) -> bool:
        return True


class CommandTestCase(base.TestCommand):
    def setUp(self) -> None:
        super().setUp()
        self.mfa_client = mock.Mock()
        self.app.client_manager.mfa = self.mfa_client
        self.terminal = self.useFixture(
            fixtures.MockPatch(
                'mfa_osc.osc.common.is_terminal', return_value=False
            )
        ).mock

    def run_command(self, cmd: cliff_command.Command, argv: list[str]) -> str:
        """Parse ``argv``, run ``cmd`` as cliff does; its standard output."""
        parsed = self.check_parser(cmd, argv, [])
        self.app.stdout = io.StringIO()
        self.assertEqual(0, cmd.run(parsed))
        return self.app.stdout.getvalue()
