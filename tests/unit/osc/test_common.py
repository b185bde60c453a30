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

"""What the commands share: the QR code."""

from __future__ import annotations

from osc_lib.test import base

from mfa_osc.osc import common
from tests.unit.osc import fakes

SECRET = fakes.SECRET


class TestQR(base.TestCase):
    def test_half_blocks_quiet_zone_both_colours(self) -> None:
        text = common.qr_text('otpauth://totp/x?secret=' + SECRET)
        lines = text.splitlines()
        # Every line draws black on white explicitly and resets after.
        for line in lines:
            self.assertTrue(line.startswith('\x1b[30;107m'))
            self.assertTrue(line.endswith('\x1b[0m'))
        plain = common.qr_text('otpauth://totp/x?secret=' + SECRET, False)
        rows = plain.splitlines()
        # Quiet zone: 4 modules = 2 blank lines and 4 blank columns.
        self.assertEqual('', rows[0].strip())
        self.assertEqual('', rows[1].strip())
        self.assertTrue(all(r.startswith('    ') for r in rows))
        self.assertTrue(set(plain) <= set(' \n\u2580\u2584\u2588'))
