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


"""MFAClient.users_page: one page of Keystone's list of users."""

from __future__ import annotations

from typing import Any

from tests.unit.client.fakes import AUTH_URL
from tests.unit.client.fakes import ClientTestCase


def _users(*ids: str) -> list[dict[str, Any]]:
    return [{'id': i, 'name': f'n-{i}', 'domain_id': 'default'} for i in ids]


class TestUsersPage(ClientTestCase):
    def test_a_row_past_the_page_gives_the_next_marker(self) -> None:
        self.requests.get(
            AUTH_URL + '/users',
            json={'users': _users('a', 'b', 'c'), 'truncated': True},
        )
        page, following = self.client.users_page(limit=2)
        self.assertEqual(['a', 'b'], [u.id for u in page])
        self.assertEqual('b', following)
        query = self.requests.last_request.qs
        # One more than the page, to know the last page as such.
        self.assertEqual({'limit': ['3']}, query)

    def test_the_last_page_has_no_next_marker(self) -> None:
        self.requests.get(AUTH_URL + '/users', json={'users': _users('c')})
        page, following = self.client.users_page('dom', limit=2, marker='b')
        self.assertEqual(['c'], [u.id for u in page])
        self.assertIsNone(following)
        query = self.requests.last_request.qs
        self.assertEqual(
            {'limit': ['3'], 'marker': ['b'], 'domain_id': ['dom']}, query
        )

    def test_a_page_that_ends_the_list_is_the_last(self) -> None:
        # Exactly a page left: no empty page after it.
        self.requests.get(
            AUTH_URL + '/users', json={'users': _users('c', 'd')}
        )
        page, following = self.client.users_page(limit=2, marker='b')
        self.assertEqual(['c', 'd'], [u.id for u in page])
        self.assertIsNone(following)

    def test_keystones_cap_below_the_page_is_followed(self) -> None:
        self.requests.get(
            AUTH_URL + '/users',
            json={'users': _users('a', 'b'), 'truncated': True},
        )
        page, following = self.client.users_page(limit=5)
        self.assertEqual(['a', 'b'], [u.id for u in page])
        self.assertEqual('b', following)

    def test_a_keystone_that_ignores_the_marker(self) -> None:
        # Keystone 25 and older: the whole list, from its start.
        self.requests.get(
            AUTH_URL + '/users', json={'users': _users('a', 'b', 'c', 'd')}
        )
        page, following = self.client.users_page(limit=1, marker='b')
        self.assertEqual(['c'], [u.id for u in page])
        self.assertEqual('c', following)
        page, following = self.client.users_page(limit=5, marker='c')
        self.assertEqual(['d'], [u.id for u in page])
        self.assertIsNone(following)

    def test_an_empty_list(self) -> None:
        self.requests.get(AUTH_URL + '/users', json={'users': []})
        self.assertEqual(([], None), self.client.users_page(limit=20))

    def test_limit_below_one_is_refused(self) -> None:
        self.assertRaises(ValueError, self.client.users_page, limit=0)
