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


"""The administrators' audit in pages: the trail behind the previous
page's link, the CSV, and paging that reads only the page's users."""

from __future__ import annotations

import csv
import io
from unittest import mock

from oslotest import base

from mfa_osc.dashboard import audit
from mfa_osc.workflows import status as status_flow


def _row(user_id: str, **kw: object) -> status_flow.AuditRow:
    values: dict[str, object] = {
        'id': user_id,
        'name': f'n-{user_id}',
        'domain_id': 'default',
        'devices': 0,
        'recovery_codes_left': 0,
        'unverified': 0,
        'state': 'not enrolled',
        'admin': False,
    }
    values.update(kw)
    return status_flow.AuditRow(**values)  # type: ignore[arg-type]


class TestTrail(base.BaseTestCase):
    def test_forward_then_back(self) -> None:
        trail, previous = audit.trail_step([], '', 'b')
        self.assertEqual(['', 'b'], trail)
        self.assertIsNone(previous)
        trail, previous = audit.trail_step(trail, 'b', 'd')
        self.assertEqual(['', 'b', 'd'], trail)
        self.assertEqual('', previous)
        trail, previous = audit.trail_step(trail, 'd', None)
        self.assertEqual(['', 'b', 'd'], trail)
        self.assertEqual('b', previous)
        # Back to the second page: the trail after it is cut.
        trail, previous = audit.trail_step(trail, 'b', 'd')
        self.assertEqual(['', 'b', 'd'], trail)
        self.assertEqual('', previous)

    def test_a_page_reached_by_its_url_alone_goes_back_to_the_first(
        self,
    ) -> None:
        trail, previous = audit.trail_step(['', 'x'], 'q', 'r')
        self.assertEqual(['', 'q', 'r'], trail)
        self.assertEqual('', previous)

    def test_the_trail_is_capped(self) -> None:
        trail: list[str] = []
        marker = ''
        for n in range(audit.TRAIL_MAX * 2):
            trail, _previous = audit.trail_step(trail, marker, f'm{n}')
            marker = f'm{n}'
        self.assertEqual(audit.TRAIL_MAX, len(trail))
        trail, previous = audit.trail_step(trail, trail[0], 'z')
        # The oldest kept page still has a way back (the first page).
        self.assertEqual('', previous)


class TestCSV(base.BaseTestCase):
    def test_header_then_every_row_of_every_page(self) -> None:
        pages = [
            [_row('a', admin=True), _row('b', devices=1, state='enforced')],
            [
                _row(
                    'c',
                    totp_locked=True,
                    totp_locked_until='2026-01-01T00:00:00Z',
                )
            ],
        ]
        text = ''.join(audit.csv_lines(pages))
        rows = list(csv.DictReader(io.StringIO(text)))
        self.assertEqual(list(audit.COLUMNS), list(rows[0].keys()))
        self.assertEqual(['a', 'b', 'c'], [r['id'] for r in rows])
        self.assertEqual('True', rows[0]['admin'])
        self.assertEqual('enforced', rows[1]['state'])
        self.assertEqual('', rows[0]['deadline'])
        self.assertEqual('2026-01-01T00:00:00Z', rows[2]['totp_locked_until'])
        # The columns of `openstack mfa audit -f csv`.
        self.assertEqual(
            status_flow.columns(status_flow.AuditRow), audit.COLUMNS
        )

    def test_no_user_is_a_header_alone(self) -> None:
        self.assertEqual(
            [','.join(audit.COLUMNS) + '\n'], list(audit.csv_lines([]))
        )


class TestEveryPage(base.BaseTestCase):
    def test_follows_the_markers_until_the_last_page(self) -> None:
        client = mock.Mock()
        client.users_page.side_effect = [
            (['u1', 'u2'], 'u2'),
            (['u3'], None),
        ]
        with mock.patch.object(
            status_flow,
            'audit_page',
            side_effect=lambda c, users, admins, today: [
                _row(u) for u in users
            ],
        ) as audit_page:
            pages = list(
                audit.every_page(client, domain_id='d', admins={'x'}, size=2)
            )
        self.assertEqual(
            [['u1', 'u2'], ['u3']], [[r.id for r in p] for p in pages]
        )
        self.assertEqual(
            [
                mock.call('d', limit=2, marker=None),
                mock.call('d', limit=2, marker='u2'),
            ],
            client.users_page.call_args_list,
        )
        self.assertEqual(2, audit_page.call_count)
        for call in audit_page.call_args_list:
            self.assertEqual({'x'}, call.args[2])
