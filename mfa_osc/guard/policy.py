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

"""The domain policy, judged by the server on a token Keystone issued.

``openstack mfa policy set`` stores a domain's policy as its extra
attribute ``mfa_policy`` (:mod:`mfa_osc.policy_record` parses it, for the
plugin and the commands alike). Past its deadline (the server's UTC date),
a covered user gets no project-, domain- or system-scoped token from a
sign-in without a second factor, whatever the client. A token is judged
on what Keystone put in it:

* ``methods`` holding ``totp`` (a rescoped token keeps its parent's
  methods, so a token rescoped from an MFA sign-in passes) or
  ``application_credential`` pass: an application credential is made
  with a token of the user and is the way for automation;
* a trust-scoped (``OS-TRUST:trust``) or OAuth 1.0a (``OS-OAUTH1``)
  token passes: it is delegation the user gave with a token of their
  own, and services (Heat, Magnum, ...) sign in through trusts;
* an unscoped token passes: it is what ``openstack mfa enroll`` needs
  to set a device up; but it is judged as a scoped one when it makes a
  delegation (an EC2 credential, a trust, an application credential or
  an OAuth 1.0a access token: :data:`mfa_osc.guard.request.DELEGATIONS`),
  which would sign in later without a second factor, and then, where the
  policy names roles, it counts as holding them (its roles are not
  known);
* federated tokens (``mapped``, ``saml2``, ``openid``, ...) are judged as
  password ones: the identity provider's own second factor is not known
  to Keystone;
* users named in ``[mfa_guard] policy_exempt_users`` (service users), by
  ID or as ``NAME@DOMAIN`` (the domain's name), pass.

A user is covered when the policy names no roles, or one of the token's
roles is among them (as the plugin's check does).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
import dataclasses
import datetime
import threading
import time
from typing import Any

from mfa_osc import policy_record

#: Methods whose tokens the policy never refuses.
SECOND_FACTOR_METHODS = frozenset({'totp', 'application_credential'})
#: Token keys of delegation (trusts, OAuth 1.0a).
DELEGATION_KEYS = ('OS-TRUST:trust', 'OS-OAUTH1')
SCOPE_KEYS = ('project', 'domain', 'system')


@dataclasses.dataclass(frozen=True)
class Refusal:
    """The policy refuses the token; ``deadline`` as YYYY-MM-DD or None."""

    deadline: str | None


def domain_to_check(
    token: Mapping[str, Any],
    exempt_users: Collection[str] = (),
    delegation: bool = False,
) -> str | None:
    """The ID of the user's domain whose policy decides, or None when the
    token passes whatever the policy (see the module's docstring);
    ``delegation`` when the token makes a delegation.

    :raises ValueError: the token is not as Keystone writes one.
    """
    methods = token.get('methods')
    if not isinstance(methods, list):
        raise ValueError('the token has no methods')
    if SECOND_FACTOR_METHODS & set(map(str, methods)):
        return None
    if any(key in token for key in DELEGATION_KEYS):
        return None
    if not delegation and not _scoped(token):
        return None
    user = token.get('user')
    if not isinstance(user, dict):
        raise ValueError('the token has no user')
    domain = user.get('domain')
    if not isinstance(domain, dict) or not domain.get('id'):
        raise ValueError("the token has no user's domain")
    # NOTE: a name alone would exempt a user of that name in every
    # domain, one a domain's administrator could create.
    named = f'{user.get("name")}@{domain.get("name")}'
    if user.get('id') in exempt_users or named in exempt_users:
        return None
    return str(domain['id'])


def judge(
    token: Mapping[str, Any], stored: object, today: datetime.date
) -> Refusal | None:
    """The refusal of a token without a second factor by the domain's
    stored policy (the ``mfa_policy`` value), or None; an unscoped token
    (one making a delegation) counts as holding the policy's roles."""
    record = policy_record.parse(stored)
    if record is None:
        return None
    deadline = record.deadline
    if deadline is not None and today < datetime.date.fromisoformat(deadline):
        return None
    if record.roles and _scoped(token):
        roles = token.get('roles')
        names = {
            str(role.get('name'))
            for role in (roles if isinstance(roles, list) else [])
            if isinstance(role, dict)
        }
        if not names & set(record.roles):
            return None
    return Refusal(deadline)


def _scoped(token: Mapping[str, Any]) -> bool:
    return any(key in token for key in SCOPE_KEYS)


class PolicyCache:
    """Each domain's stored policy, kept ``ttl`` seconds per process.

    NOTE: per process rather than in memcached: a read is one cached
    Keystone call, and ``ttl`` is how soon a change takes effect on every
    worker, which operators are told. Failed reads are not kept.
    """

    def __init__(
        self, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._items: dict[str, tuple[object, float]] = {}
        self._lock = threading.Lock()

    def get(self, domain_id: str, read: Callable[[str], object]) -> object:
        now = self._clock()
        with self._lock:
            item = self._items.get(domain_id)
        if item is not None and item[1] > now:
            return item[0]
        value = read(domain_id)
        with self._lock:
            self._items[domain_id] = (value, now + self._ttl)
        return value
