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


"""The administrators' audit in pages: Keystone's list of users a page at
a time (``limit``, ``marker``), its rows, the trail of markers behind the
previous-page link, and the CSV of the whole audit.

No Django here: the views (:mod:`mfa_osc.dashboard.identity_mfa.views`)
call these; the unit tests too.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
import csv
import datetime
import io

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc.workflows import status as status_flow

#: The columns of the CSV: those of ``openstack mfa audit -f csv``.
COLUMNS = status_flow.columns(status_flow.AuditRow)
#: Users per request when the whole audit is read (the CSV).
CSV_PAGE = 500
#: Page markers kept for the previous-page link (a session value: small,
#: as a signed-cookie session is a cookie).
TRAIL_MAX = 20


def page(
    client: mfa_client.MFAClient,
    *,
    domain_id: str | None,
    size: int,
    marker: str | None,
    admins: set[str],
    today: datetime.date | None = None,
) -> tuple[list[status_flow.AuditRow], str | None]:
    """One page of the audit, after the user ``marker``, and the next
    page's marker (None on the last page).

    NOTE: the requests grow with the page, never with the cloud: one read
    of Keystone's list, the credentials of these users only, the policy
    of their domains (:func:`~mfa_osc.workflows.status.audit_page`).
    """
    users, following = client.users_page(domain_id, limit=size, marker=marker)
    rows = status_flow.audit_page(client, users, admins, today)
    return rows, following


def every_page(
    client: mfa_client.MFAClient,
    *,
    domain_id: str | None,
    admins: set[str],
    size: int = CSV_PAGE,
    today: datetime.date | None = None,
) -> Iterator[list[status_flow.AuditRow]]:
    """Every page of the audit, read as it is consumed (streamed)."""
    marker: str | None = None
    while True:
        # NOTE: each page's secrets (credential blobs the reads saw) are
        # forgotten once the page is done: the stream outlives the view.
        with redact.forgotten_after():
            rows, marker = page(
                client,
                domain_id=domain_id,
                size=size,
                marker=marker,
                admins=admins,
                today=today,
            )
        yield rows
        if not marker:
            return


def _cell(value: object) -> str:
    if value is None:
        return ''
    return str(value)


def csv_lines(pages: Iterable[list[status_flow.AuditRow]]) -> Iterator[str]:
    """The CSV text of the audit, a header then one line per user."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')

    def line(cells: list[str]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(list(COLUMNS))
    for rows in pages:
        for row in rows:
            yield line([_cell(v) for v in status_flow.values(row)])


def trail_step(
    trail: list[str], marker: str, following: str | None
) -> tuple[list[str], str | None]:
    """The markers of the pages seen (``''`` is the first page) after
    showing the page of ``marker``, and the previous page's marker
    (``''``: the first page; None: this is the first page).

    NOTE: Keystone pages forward only (``marker`` is the last user of the
    page before); the way back is the trail of markers this person
    followed, kept in their session (user IDs only, no secret). A page
    reached by a URL alone (no trail) goes back to the first page.
    """
    if marker in trail:
        kept = trail[: trail.index(marker) + 1]
    else:
        kept = ['', marker] if marker else ['']
    previous = kept[-2] if len(kept) > 1 else ('' if marker else None)
    if following:
        kept = [*kept, following]
    if len(kept) > TRAIL_MAX:
        kept = kept[-TRAIL_MAX:]
    return kept, previous
