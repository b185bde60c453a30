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

"""Lists more than one command prints: ``-c`` as cliff applies it."""

from __future__ import annotations

from osc_lib import exceptions
from osc_lib.test import base

from mfa_osc.osc import listing

COLUMNS = ('id', 'Recovery Codes Left', 'state')
ROWS = [('u1', 8, 'enforced'), ('u2', 0, 'not enrolled')]


class TestSelectColumns(base.TestCase):
    def test_every_column_without_c(self) -> None:
        for wanted in (None, []):
            self.assertEqual(
                (list(COLUMNS), [list(r) for r in ROWS]),
                listing.select_columns(wanted, COLUMNS, ROWS),
            )

    def test_names_as_cliff_matches_them_in_the_lists_order(self) -> None:
        self.assertEqual(
            (
                ['Recovery Codes Left', 'state'],
                [[8, 'enforced'], [0, 'not enrolled']],
            ),
            listing.select_columns(
                ['STATE', 'recovery_codes_left', 'colour'], COLUMNS, ROWS
            ),
        )

    def test_no_known_column_is_one_sentence(self) -> None:
        exc = self.assertRaises(
            exceptions.CommandError,
            listing.select_columns,
            ['colour', 'size'],
            COLUMNS,
            ROWS,
        )
        self.assertEqual(
            'No column named colour, size: the columns are id, Recovery '
            'Codes Left, state.',
            str(exc),
        )
