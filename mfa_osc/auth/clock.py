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

"""Keystone's clock, the one that counts.

Keystone writes an auth receipt's and a token's ``expires_at`` by its own
clock, judges them by it, and accepts a TOTP passcode of its own current
30-second window (or the one before). A machine whose clock runs minutes
fast would judge a fresh receipt expired (and stop before sending a
passcode Keystone would accept), a fresh token about to expire (and never
use the token cache), and would compute passcodes of a window still to
come.

So the plugin measures how far this machine's clock is ahead of
Keystone's, from the ``Date`` header of Keystone's latest answer that
carried one, and judges those times by this machine's clock corrected by
that skew. A Keystone served by uwsgi alone sends no ``Date``; then the
``issued_at`` of the receipt or token it has just issued (its time of
issue, to the second) tells the same. Without either, this machine's
clock is all there is. Standard library and keystoneauth only: the
plugin imports this module at every start.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from keystoneauth1 import access

from mfa_osc import totp


def skew_of(response: Any) -> float | None:
    """Seconds this machine's clock is ahead of a response's ``Date``."""
    headers = getattr(response, 'headers', None) or {}
    return totp.clock_skew(headers.get('Date'))


def skew_since(issued_at: object) -> float | None:
    """Seconds this machine's clock is ahead of an ``issued_at`` of now.

    Only for what Keystone has just issued (a receipt, or a token from a
    POST): a token read back later has an older ``issued_at``.
    """
    if isinstance(issued_at, str):
        try:
            issued_at = datetime.datetime.fromisoformat(issued_at)
        except ValueError:
            return None
    if not isinstance(issued_at, datetime.datetime):
        return None
    if issued_at.tzinfo is None:
        issued_at = issued_at.replace(tzinfo=datetime.UTC)
    return time.time() - issued_at.timestamp()


def receipt_issued_at(response: Any) -> object:
    """The ``issued_at`` of the receipt in a 401 response, if any."""
    try:
        return response.json()['receipt']['issued_at']
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def server_now(skew: float | None) -> float:
    """Keystone's time now (a Unix time), as far as it is known."""
    return time.time() - (skew or 0.0)


def expires_soon(
    ref: access.AccessInfo, seconds: float, skew: float | None
) -> bool:
    """:meth:`AccessInfo.will_expire_soon`, by Keystone's clock."""
    expires = ref.expires
    if expires is None:
        return False
    return expires.timestamp() < server_now(skew) + seconds


def renewal_margin(ref: access.AccessInfo, longest: float) -> float:
    """Seconds before its expiry that a token in use counts as expiring:
    ``longest`` (keystoneauth's ``MIN_TOKEN_LIFE_SECONDS``, 120), or a
    quarter of the token's whole life where that is shorter.

    NOTE: on a cloud whose tokens last less than ``longest`` (``[token]
    expiration = 60``), keystoneauth's rule found every token expiring the
    moment it was issued, and the plugin signed in again, with a new
    passcode, for each request of a command; behind mfa-osc's guard, which
    takes a code once, each of those waited for the next code.
    """
    issued, expires = ref.issued, ref.expires
    if issued is None or expires is None:
        return longest
    life = (expires - issued).total_seconds()
    return min(longest, max(life / 4, 0.0))


class Recording:
    """A keystoneauth session that keeps the last response to a POST.

    keystoneauth's ``get_auth_ref`` returns the token, not the response it
    came in; the plugin hands it this stand-in to read the response's
    ``Date``. Everything else is the session's own.
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        self.response: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        self.response = self._session.post(*args, **kwargs)
        return self.response
