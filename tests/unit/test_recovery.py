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

"""Recovery codes: format, reading, and the secret they stand for."""

from __future__ import annotations

import time

from oslotest import base

from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import totp

CODE = 'ABCDEFGHIJKLMNOP'


class TestFormat(base.BaseTestCase):
    def test_new_code(self) -> None:
        code = recovery.new_code()
        self.assertEqual(recovery.CODE_LENGTH, len(code))
        self.assertRegex(code, r'^[A-Z2-7]{16}$')
        self.assertNotEqual(code, recovery.new_code())
        # NOTE: a code is too short to be a Keystone secret itself ...
        self.assertRaises(totp.InvalidSecret, totp.normalize_secret, code)
        self.assertIsNone(totp.keystone_key(code))

    def test_new_code_is_masked_in_logs(self) -> None:
        code = recovery.new_code()
        shown = recovery.display(code)
        text = redact.scrub(f'code {code} shown as {shown}')
        self.assertNotIn(code, text)
        self.assertNotIn(shown, text)

    def test_display(self) -> None:
        self.assertEqual('ABCD-EFGH-IJKL-MNOP', recovery.display(CODE))
        shown = recovery.display(recovery.new_code())
        self.assertRegex(shown, r'^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$')

    def test_normalize(self) -> None:
        for typed in (
            CODE,
            'ABCD-EFGH-IJKL-MNOP',
            'abcd-efgh-ijkl-mnop',
            ' abcd efgh\tijkl--mnop \n',
        ):
            self.assertEqual(CODE, recovery.normalize(typed), typed)

    def test_normalize_refuses(self) -> None:
        for typed in (
            None,
            '',
            'ABCD-EFGH',
            'ABCD-EFGH-IJKL-MNOPQ',
            'ABCD-EFGH-IJKL-MNO0',  # 0, 1, 8, 9 are not base32
            'ABCD-EFGH-IJKL-MN1P',
            '123456',
        ):
            exc = self.assertRaises(
                recovery.InvalidRecoveryCode, recovery.normalize, typed
            )
            self.assertIn('XXXX-XXXX-XXXX-XXXX', str(exc))
            if typed:
                self.assertNotIn(typed, str(exc))
        self.assertTrue(issubclass(recovery.InvalidRecoveryCode, ValueError))

    def test_looks_like(self) -> None:
        self.assertTrue(recovery.looks_like('abcd-efgh-ijkl-mnop'))
        self.assertTrue(recovery.looks_like(CODE))
        self.assertFalse(recovery.looks_like('123456'))
        self.assertFalse(recovery.looks_like('123 456'))
        self.assertFalse(recovery.looks_like(''))
        self.assertFalse(recovery.looks_like(None))


class TestSecret(base.BaseTestCase):
    def test_secret_is_a_keystone_key(self) -> None:
        # ... Keystone wants 128 bits at least: the credential holds a
        # derived 160-bit secret.
        value = recovery.secret(CODE)
        self.assertEqual(32, len(value))
        self.assertEqual(value, totp.normalize_secret(value))
        self.assertEqual(
            totp.SECRET_BYTES, len(totp.keystone_key(value) or b'')
        )
        self.assertNotIn(CODE, value)

    def test_secret_is_stable_and_distinct(self) -> None:
        self.assertEqual(recovery.secret(CODE), recovery.secret(CODE))
        other = recovery.new_code()
        self.assertNotEqual(recovery.secret(CODE), recovery.secret(other))

    def test_passcode(self) -> None:
        now = time.time()
        code = recovery.passcode(CODE)
        self.assertIn(
            code,
            {
                totp.passcode(recovery.secret(CODE), now),
                totp.passcode(recovery.secret(CODE), now + 1),
            },
        )
        self.assertRegex(code, r'^\d{6}$')

    def test_matching(self) -> None:
        value = recovery.secret(CODE)
        held = {
            'r1': value,
            'r2': recovery.secret(recovery.new_code()),
            'd1': value,
            'x': CODE,  # the bare code is never what a credential holds
        }
        self.assertEqual(['r1', 'd1'], recovery.matching(CODE, held))
        self.assertEqual(['r1'], recovery.matching(CODE, held, exclude={'d1'}))
        self.assertEqual([], recovery.matching(CODE, {}))
