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


"""The pending secret sealed between the two requests of an enrollment."""

from __future__ import annotations

import base64
import time
from unittest import mock

from oslotest import base

from mfa_osc.dashboard import sealed

KEY = 'a Django SECRET_KEY'
VALUE = {'secret': 'JBSWY3DPEHPK3PXP', 'name': 'phone'}


def _seal(**overrides: str) -> str:
    args = {'secret_key': KEY, 'user_id': 'u1', 'purpose': 'enroll'}
    args.update(overrides)
    return sealed.seal(VALUE, **args)


def _unseal(token: str, **overrides: object) -> dict[str, object]:
    args: dict[str, object] = {
        'secret_key': KEY,
        'user_id': 'u1',
        'purpose': 'enroll',
    }
    args.update(overrides)
    return sealed.unseal(token, **args)  # type: ignore[arg-type]


class TestSealed(base.BaseTestCase):
    def test_round_trip(self) -> None:
        self.assertEqual(VALUE, _unseal(_seal()))

    def test_the_secret_is_not_readable_in_the_page(self) -> None:
        token = _seal()
        self.assertNotIn(VALUE['secret'], token)
        raw = base64.urlsafe_b64decode(token)
        self.assertNotIn(VALUE['secret'].encode(), raw)
        self.assertNotIn(b'phone', raw)

    def test_another_user_cannot_open_it(self) -> None:
        self.assertRaises(sealed.Expired, _unseal, _seal(), user_id='u2')

    def test_another_purpose_cannot_open_it(self) -> None:
        self.assertRaises(sealed.Expired, _unseal, _seal(), purpose='other')

    def test_another_secret_key_cannot_open_it(self) -> None:
        self.assertRaises(
            sealed.Expired, _unseal, _seal(), secret_key='another key'
        )

    def test_an_altered_token_is_refused(self) -> None:
        token = _seal()
        middle = len(token) // 2
        flipped = 'A' if token[middle] != 'A' else 'B'
        altered = token[:middle] + flipped + token[middle + 1 :]
        self.assertRaises(sealed.Expired, _unseal, altered)
        self.assertRaises(sealed.Expired, _unseal, 'not a token')
        self.assertRaises(sealed.Expired, _unseal, 'é')

    def test_expires_after_max_age(self) -> None:
        token = _seal()
        later = time.time() + sealed.MAX_AGE + 5
        with mock.patch('time.time', return_value=later):
            error = self.assertRaises(sealed.Expired, _unseal, token)
        self.assertIn('10 minutes', str(error))
        within = time.time() + sealed.MAX_AGE - 30
        with mock.patch('time.time', return_value=within):
            self.assertEqual(VALUE, _unseal(token))

    def test_no_secret_key_refuses_to_seal(self) -> None:
        self.assertRaises(ValueError, _seal, secret_key='')

    def test_a_sealed_non_object_is_refused(self) -> None:
        token = sealed.seal(
            VALUE, secret_key=KEY, user_id='u1', purpose='enroll'
        )
        with mock.patch('json.loads', return_value=['a list']):
            self.assertRaises(sealed.Expired, _unseal, token)
