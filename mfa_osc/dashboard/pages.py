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


"""What the panels' pages share: QR codes, downloads, errors, caching."""

from __future__ import annotations

import base64
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
import functools
from typing import Any
from urllib.parse import urlparse

from mfa_osc import redact
from mfa_osc.workflows import errors as workflow_errors

#: What a page turns into one Horizon error message (never a traceback).
ERRORS = workflow_errors.ERRORS


def qr_data_uri(uri: str) -> str:
    """A PNG of the QR code of ``uri``, as a ``data:`` URI for an <img>.

    NOTE: a data: URI, not a URL of another view: the secret stays in the
    one response that shows it, never in a URL a log or history keeps.
    """
    import segno

    qr = segno.make(uri, error='m')
    return str(qr.png_data_uri(scale=6, border=4))


def text_data_uri(text: str) -> str:
    """A text file for the browser to save, as a ``data:`` URI.

    NOTE: the recovery codes are downloaded from the page that shows them
    (the browser saves what it already holds), never fetched again by a
    GET URL that would carry them or let them be shown twice.
    """
    encoded = base64.b64encode(text.encode('utf-8')).decode('ascii')
    return f'data:text/plain;charset=utf-8;base64,{encoded}'


def issuer(keystone_url: str, region: str | None) -> str:
    """The issuer an authenticator app shows: the cloud's host name, as
    ``openstack mfa enroll`` names it (the region for a local one)."""
    host = urlparse(keystone_url).hostname
    if host and host not in ('localhost', '127.0.0.1', '::1'):
        return host
    return region or host or 'OpenStack'


def no_store(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view's responses ``Cache-Control: no-store``: pages that
    show a secret or recovery codes are kept by no cache, proxy or the
    browser's back button."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        response = view(*args, **kwargs)
        response['Cache-Control'] = 'no-store'
        response['Pragma'] = 'no-cache'
        return response

    return wrapped


def forgets_secrets(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run a view in :func:`mfa_osc.redact.forgotten_after`: the secrets
    and codes the workflows register during the request are masked in
    what it logs, then forgotten (Horizon's process outlives them)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with redact.forgotten_after():
            return view(*args, **kwargs)

    return wrapped


def forgetting(chunks: Iterable[Any]) -> Iterator[Any]:
    """``chunks``, read in :func:`mfa_osc.redact.forgotten_after`: a
    streamed answer's chunks are made after its view returned (outside
    :func:`forgets_secrets`), and what they register is forgotten when the
    answer ends, or is abandoned."""
    with redact.forgotten_after():
        yield from chunks
