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

"""What the OSC layer hands the sign-in plugin: the policy set-up.

A module of its own, with nothing but the standard library, so that
``openstack`` registers the hook at every start without loading the
policy check (:mod:`mfa_osc.auth.policy`), which only a sign-in without a
second factor needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Offered on a terminal after a policy's deadline: (session, the token's
#: AccessInfo, the auth URL) -> a current passcode of the device enrolled
#: just now, or None when none was.
Enroll = Callable[[Any, Any, str], 'str | None']


class _Registered:
    enroll: Enroll | None = None
    exempt: bool = False


registered = _Registered()


def register(enroll: Enroll | None, *, exempt: bool = False) -> None:
    """The enrollment to offer on a terminal, and whether the running
    command is exempt from the policy check (``mfa enroll``, ``mfa
    status``)."""
    registered.enroll = enroll
    registered.exempt = exempt
