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

"""Keystone's WSGI application with ``REMOTE_USER`` from a test header.

FOR THE THROWAWAY TEST KEYSTONE ONLY (:class:`mfa_osc.testing.keystone.
LocalKeystone`, ``application='mfa_osc.testing.remote_user:application'``):
anyone who can reach it may claim to be any user. It stands in for the
web server in front of a real Keystone that authenticates a person by
Kerberos or an X.509 client certificate and passes the name on as
``REMOTE_USER``, which Keystone's ``external`` method trusts.

A request with the header ``X-Test-Remote-User: NAME`` reaches Keystone
with ``REMOTE_USER=NAME`` (and ``X-Test-Remote-Domain: DOMAIN``, with
``REMOTE_DOMAIN``; the headers themselves removed); any other request
reaches it unchanged. Federated sign-ins need nothing from here:
with ``[federation] assertion_prefix = HTTP_`` Keystone reads the
assertion from request headers (``X-Fed-User`` becomes
``HTTP_X_FED_USER``), as its own tests do.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

#: The WSGI environ key of the test header ``X-Test-Remote-User``.
HEADER_KEY = 'HTTP_X_TEST_REMOTE_USER'
#: ``X-Test-Remote-Domain``: ``REMOTE_DOMAIN``, the user's domain by name,
#: read by Keystone's ``external`` method when ``[auth] external =
#: Domain`` (the default domain without it).
DOMAIN_HEADER_KEY = 'HTTP_X_TEST_REMOTE_DOMAIN'

_keystone: Callable[..., Iterable[bytes]] | None = None


def application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """Keystone's application, with ``REMOTE_USER`` set from the header."""
    global _keystone
    if _keystone is None:
        # NOTE: imported on the first request, inside uWSGI, where Keystone
        # is installed; the test process never imports Keystone.
        from keystone.wsgi import api

        _keystone = api.application
    name = environ.pop(HEADER_KEY, None)
    domain = environ.pop(DOMAIN_HEADER_KEY, None)
    if name:
        environ['REMOTE_USER'] = name
        if domain:
            environ['REMOTE_DOMAIN'] = domain
    return _keystone(environ, start_response)
