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

"""Reading Keystone's long lists whole: a page at a time, or in parts.

A mixin of :class:`mfa_osc.client.keystone.MFAClient`. Keystone cuts a
list asked for without ``limit`` at ``[DEFAULT] max_db_limit`` without a
word; with ``limit`` it answers ``truncated`` and a ``links.next`` URL
with a ``marker`` (users, measured on Keystone 30). Its credentials list
answers the same, but ignores the marker: the next page is the first
again. :meth:`ListReader._paged` follows the pages and tells that case
apart (:class:`MarkerIgnored`); :meth:`ListReader._by_owner` then reads
the credentials in parts that each fit in one page. A list that cannot be
read whole is an error, never a short list.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlparse

from mfa_osc.client.errors import Incomplete
from mfa_osc.client.errors import Malformed
from mfa_osc.client.records import KEYSTONE_MAX_ROWS

#: What to raise in keystone.conf so that a list fits in one answer, on
#: every release: Keystone 25 and older ignore ``limit`` and have no
#: ``max_db_limit``; their cap is ``list_limit``, per driver or global.
LIMIT_ADVICE = (
    'raise [DEFAULT] max_db_limit in keystone.conf above their number (on '
    'Keystone 25 and older, which do not page lists: [DEFAULT] list_limit, '
    'and [identity] list_limit or [credential] list_limit where set)'
)

#: Rows asked for per page; Keystone answers at most ``[DEFAULT]
#: max_db_limit`` (1000 by default) and pages past that.
PAGE_SIZE = 1000


class MarkerIgnored(Malformed):
    """Keystone answered the next page of a list with the first again."""


def rows_of(body: Any, key: str) -> list[Any]:
    """The ``key`` list of a Keystone list answer, or :class:`Malformed`."""
    rows = body.get(key) if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise Malformed(
            f'Keystone\'s answer has no "{key}" list; check that the auth '
            'URL points at Keystone.'
        )
    return rows


class ListReader:
    """Read a list whole; the client supplies ``_call`` and ``_json``."""

    #: Lists Keystone may have cut without saying so (no ``limit``).
    truncated: list[str]
    #: Called with (what, rows so far) after each page, for progress.
    on_page: Callable[[str, int], None] | None

    #: The client's one request (``what``, method, path; ``secret``).
    _call: Callable[..., Any]
    #: The client's JSON body of a response, checked to be an object.
    _json: Callable[[Any], Any]

    def _paged(
        self,
        what: str,
        path: str,
        key: str,
        params: Mapping[str, str],
        *,
        secret: bool = False,
    ) -> list[Any]:
        """Every row of a list, a page at a time (``limit``, ``marker``).

        Keystone 30 answers ``limit=N`` with ``truncated`` and a
        ``links.next`` URL while more rows follow. Only the marker and
        limit are taken from that URL: the requests stay on this client's
        endpoint, whatever host the link names. A Keystone that cuts a
        list (``truncated``) and offers no next page would make the result
        partial: that is an error, never a short list.
        """
        query = dict(params)
        query['limit'] = str(PAGE_SIZE)
        rows: list[Any] = []
        markers: set[str] = set()
        while True:
            response = self._call(
                what, 'GET', f'{path}?{urlencode(query)}', secret=secret
            )
            body = self._json(response)
            page = rows_of(body, key)
            rows.extend(page)
            if self.on_page is not None:
                self.on_page(what, len(rows))
            links = body.get('links')
            link = links.get('next') if isinstance(links, dict) else None
            if not link or not page:
                if body.get('truncated') and page:
                    raise Incomplete(
                        f'Keystone cut the list of {what} after {len(rows)} '
                        'rows and offers no next page, so the result would '
                        f'miss some: nothing is reported. To fix it, '
                        f'{LIMIT_ADVICE}, narrow the list (--domain), or '
                        'use a Keystone release that pages (Keystone 27 '
                        'and later do).'
                    )
                if 'truncated' not in body and len(page) >= KEYSTONE_MAX_ROWS:
                    # NOTE: a Keystone that ignores `limit` cuts silently.
                    self.truncated.append(what)
                return rows
            following = dict(parse_qsl(urlparse(str(link)).query))
            marker = following.get('marker')
            if marker and marker in markers and len(markers) == 1:
                # NOTE: the same page again: Keystone ignores the marker
                # of this list (its credentials, measured on Keystone 30).
                raise MarkerIgnored(what)
            if not marker or marker in markers:
                raise Malformed(
                    f"Keystone's next page of {what} has no new marker; "
                    'the list cannot be read whole.'
                )
            markers.add(marker)
            query['marker'] = marker
            if following.get('limit'):
                query['limit'] = following['limit']

    def _by_owner(
        self,
        params: Mapping[str, str],
        owners: Iterable[str],
        cut: list[str] | None = None,
    ) -> list[Any]:
        """Every credential of ``owners``, in parts of one page each.

        A part is the credentials of the users whose ID starts with a
        prefix; a part Keystone cuts (``truncated``) is split by the next
        character of those users' IDs, down to one user. The requests grow
        with the number of credentials over the page size, times the
        splits, never with the users.

        A user whose credentials alone are more than a page is an error;
        with ``cut`` given, that user's ID is added to it and their
        credentials left out, so that a bulk run carries on for everyone
        else (one user must not stop it for the whole cloud).
        """
        ids = sorted({str(o) for o in owners})
        rows: dict[str, Any] = {}
        # NOTE: the whole list ('') is known to be cut: start with its parts.
        todo = _parts('', ids)
        while todo:
            prefix, alone = todo.pop()
            members = [i for i in ids if i.startswith(prefix)]
            if not members:
                continue
            if alone or len(members) == 1:
                query = {**params, 'user_id': prefix if alone else members[0]}
            else:
                query = {**params, 'user_id__startswith': prefix}
            query['limit'] = str(PAGE_SIZE)
            response = self._call(
                'list credentials',
                'GET',
                f'/credentials?{urlencode(query)}',
                secret=True,
            )
            body = self._json(response)
            page = rows_of(body, 'credentials')
            if self.on_page is not None:
                self.on_page('credentials', len(rows))
            if not body.get('truncated'):
                for row in page:
                    if isinstance(row, dict):
                        rows[str(row.get('id'))] = row
                continue
            if 'user_id' in query and cut is not None:
                cut.append(str(query['user_id']))
                continue
            if 'user_id' in query:
                raise Incomplete(
                    f'User {query["user_id"]} has more credentials than '
                    'Keystone lists in one answer and Keystone does not '
                    'page them, so the result would miss some: nothing is '
                    f'reported. Delete the ones not in use, or {LIMIT_ADVICE}.'
                )
            todo += _parts(prefix, members)
        return list(rows.values())


def _parts(prefix: str, ids: list[str]) -> list[tuple[str, bool]]:
    """The parts of the users whose ID starts with ``prefix``: one per
    next character, and ``(prefix, True)`` for the user whose ID it is."""
    size = len(prefix) + 1
    longer = sorted(
        {i[:size] for i in ids if i.startswith(prefix) and len(i) >= size}
    )
    alone = [(prefix, True)] if prefix and prefix in ids else []
    return alone + [(part, False) for part in longer]
