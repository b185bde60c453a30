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

"""The mark by which ``mfa logout`` knows the token ``mfa export`` put in
the shell: ``mfa export`` writes it, ``mfa logout`` reads it."""

from __future__ import annotations

import hashlib

#: The variable that holds the mark.
VARIABLE = 'MFA_OSC_EXPORTED'


def mark(token: str) -> str:
    """What :data:`VARIABLE` holds for ``token``: a short hash of it.

    NOTE: it ties the mark to the token it was written with, so that a
    token put in OS_TOKEN later, by anything else, is never revoked by
    `mfa logout`; 64 bits of a hash say nothing of the token itself.
    """
    return hashlib.sha256(token.encode()).hexdigest()[:16]
