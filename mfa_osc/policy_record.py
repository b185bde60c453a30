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

"""A domain's MFA policy as Keystone stores it: the key and the parse.

The policy is an extra attribute of the domain (``mfa_policy``), written
by ``openstack mfa policy set`` and read both by the sign-in plugin (its
check after a sign-in without a second factor) and by the policy
commands. Both read it through :func:`parse`, so a record is one policy
or none the same way for both. No I/O: the callers read the domain.
"""

from __future__ import annotations

import dataclasses
import datetime

#: The domain's extra attribute that holds the policy.
KEY = 'mfa_policy'


@dataclasses.dataclass(frozen=True)
class Record:
    """A policy in force (``required``), as stored."""

    #: The deadline as stored, when it is a string (None: no deadline).
    stored_deadline: str | None
    #: The roles the policy covers (none: every user of the domain).
    roles: tuple[str, ...]

    @property
    def deadline(self) -> str | None:
        """The deadline as YYYY-MM-DD; None when none, or not a date.

        NOTE: a stored deadline that is not a date counts as none, so the
        policy is in force at once: never later than the policy says.
        """
        if self.stored_deadline is None:
            return None
        try:
            return datetime.date.fromisoformat(
                self.stored_deadline
            ).isoformat()
        except ValueError:
            return None


def parse(value: object) -> Record | None:
    """The policy of a domain attribute's value; None when none is in force
    (unset, not a JSON object, or not ``required``)."""
    if not isinstance(value, dict) or not value.get('required'):
        return None
    deadline = value.get('deadline')
    roles = value.get('roles')
    return Record(
        deadline if isinstance(deadline, str) else None,
        tuple(str(r) for r in roles) if isinstance(roles, list) else (),
    )
