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

"""TOTP maths against the RFC 6238 test vectors and Keystone's format."""

from __future__ import annotations

import base64

from oslotest import base

from mfa_osc import recovery
from mfa_osc import totp

# RFC 6238 appendix B, SHA1 secret "12345678901234567890".
RFC_SECRET = base64.b32encode(b'12345678901234567890').decode()
RFC_VECTORS = {
    59: '287082',
    1111111109: '081804',
    1111111111: '050471',
    1234567890: '005924',
    2000000000: '279037',
}


class TestTOTP(base.BaseTestCase):
    def test_rfc6238_vectors(self) -> None:
        for when, code in RFC_VECTORS.items():
            self.assertEqual(code, totp.passcode(RFC_SECRET, when))

    def test_normalize_secret(self) -> None:
        self.assertEqual(
            'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
            totp.normalize_secret(' jbsw-y3dp ehpk 3pxp jbswy3dpehpk3pxp== '),
        )

    def test_bad_secrets(self) -> None:
        too_short = base64.b32encode(b'15 bytes secret').decode()
        for bad in ('', '   ', 'JBSWY3DP1', 'ABC', 'JBSWY3D!', too_short):
            self.assertRaises(totp.InvalidSecret, totp.normalize_secret, bad)

    def test_recovery_secret_is_160_bits_and_stable(self) -> None:
        # Keystone's cryptography refuses keys under 128 bits.
        secret = recovery.secret('ABCDEFGHIJKLMNOP')
        self.assertEqual(20, len(base64.b32decode(secret)))
        self.assertEqual(secret, recovery.secret('ABCDEFGHIJKLMNOP'))
        self.assertNotEqual(secret, recovery.secret('ABCDEFGHIJKLMNOQ'))
        self.assertEqual(secret, totp.normalize_secret(secret))

    def test_generated_secret_is_160_bits(self) -> None:
        secret = totp.generate_secret()
        self.assertEqual(32, len(secret))
        self.assertEqual(20, len(base64.b32decode(secret)))
        self.assertNotEqual(secret, totp.generate_secret())

    def test_normalize_passcode(self) -> None:
        self.assertEqual('123456', totp.normalize_passcode(' 123 456 '))
        self.assertEqual('123456', totp.normalize_passcode('123-456'))
        for bad in ('12345', '1234567', 'abcdef', '', '١٢٣٤٥٦'):
            self.assertRaises(
                totp.InvalidPasscode, totp.normalize_passcode, bad
            )

    def test_window_offset(self) -> None:
        now = 1_700_000_000.0
        ahead = totp.passcode(RFC_SECRET, now + 60)
        behind = totp.passcode(RFC_SECRET, now - 30)
        self.assertEqual(
            0,
            totp.window_offset(
                RFC_SECRET, totp.passcode(RFC_SECRET, now), now
            ),
        )
        self.assertEqual(2, totp.window_offset(RFC_SECRET, ahead, now))
        self.assertEqual(-1, totp.window_offset(RFC_SECRET, behind, now))
        far = totp.passcode(RFC_SECRET, now + 3600)
        self.assertIsNone(totp.window_offset(RFC_SECRET, far, now))

    def test_seconds_left(self) -> None:
        self.assertEqual(30, totp.seconds_left(60.0))
        self.assertEqual(1, totp.seconds_left(89.5))

    def test_provisioning_uri(self) -> None:
        secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'
        uri = totp.provisioning_uri(secret, 'alice@Default', 'My Cloud')
        self.assertTrue(uri.startswith('otpauth://totp/My%20Cloud:alice'))
        self.assertIn('secret=' + secret, uri)
        self.assertIn('issuer=My%20Cloud', uri)
