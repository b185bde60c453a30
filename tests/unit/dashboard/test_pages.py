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


"""What the pages share: the QR image, the download, no-store."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import fixtures
from oslotest import base
import segno

from mfa_osc import redact
from mfa_osc.dashboard import pages

URI = 'otpauth://totp/cloud:alice%40Default?secret=JBSWY3DPEHPK3PXP'


class TestPages(base.BaseTestCase):
    def test_qr_is_a_png_data_uri_of_the_uri(self) -> None:
        data = pages.qr_data_uri(URI)
        prefix = 'data:image/png;base64,'
        self.assertTrue(data.startswith(prefix))
        png = base64.b64decode(data[len(prefix) :])
        self.assertEqual(b'\x89PNG', png[:4])
        expected = segno.make(URI, error='m').png_data_uri(scale=6, border=4)
        self.assertEqual(expected, data)

    def test_text_download_holds_the_text(self) -> None:
        data = pages.text_data_uri('AAAA-BBBB\nCCCC-DDDD\n')
        prefix = 'data:text/plain;charset=utf-8;base64,'
        self.assertTrue(data.startswith(prefix))
        self.assertEqual(
            'AAAA-BBBB\nCCCC-DDDD\n',
            base64.b64decode(data[len(prefix) :]).decode(),
        )

    def test_issuer_is_the_host_else_the_region(self) -> None:
        self.assertEqual(
            'keystone.example.com',
            pages.issuer('https://keystone.example.com:5000/v3', 'R1'),
        )
        self.assertEqual('R1', pages.issuer('http://127.0.0.1:5000/v3', 'R1'))
        self.assertEqual(
            '127.0.0.1', pages.issuer('http://127.0.0.1:5000/v3', None)
        )

    def test_no_store(self) -> None:
        response: dict[str, str] = {}
        view = pages.no_store(lambda request: response)
        self.assertIs(response, view(object()))
        self.assertEqual('no-store', response['Cache-Control'])

    def test_a_view_forgets_the_secrets_of_its_request(self) -> None:
        self.useFixture(fixtures.MockPatchObject(redact, '_known', set()))

        def view(request: object) -> str:
            redact.register('JBSWY3DPEHPK3PXP')
            return redact.scrub('secret JBSWY3DPEHPK3PXP')

        shown = pages.forgets_secrets(view)(object())
        self.assertEqual(f'secret {redact.MASK}', shown)
        self.assertEqual(set(), redact._known)

    def test_a_streamed_answer_forgets_the_secrets_of_its_chunks(
        self,
    ) -> None:
        self.useFixture(fixtures.MockPatchObject(redact, '_known', set()))

        def chunks() -> Iterator[str]:
            redact.register('JBSWY3DPEHPK3PXP')
            yield 'a'
            yield redact.scrub('b JBSWY3DPEHPK3PXP')

        answer = pages.forgetting(chunks())
        self.assertEqual('a', next(answer))
        self.assertEqual({'JBSWY3DPEHPK3PXP'}, redact._known)
        self.assertEqual(f'b {redact.MASK}', next(answer))
        self.assertEqual([], list(answer))
        self.assertEqual(set(), redact._known)
        abandoned = pages.forgetting(chunks())
        next(abandoned)
        abandoned.close()
        self.assertEqual(set(), redact._known)
