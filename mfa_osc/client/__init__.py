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

"""The Keystone calls of MFA, on a keystoneauth session.

* :mod:`~mfa_osc.client.keystone`: :class:`MFAClient`, one method per
  Keystone request;
* :mod:`~mfa_osc.client.records`: the typed records those methods return,
  and the :class:`Keystone` protocol the account model and workflows use;
* :mod:`~mfa_osc.client.errors`: HTTP and connection errors mapped once.
"""

from mfa_osc.client.errors import BadRequest
from mfa_osc.client.errors import ClientError
from mfa_osc.client.errors import Conflict
from mfa_osc.client.errors import Forbidden
from mfa_osc.client.errors import Incomplete
from mfa_osc.client.errors import Malformed
from mfa_osc.client.errors import NotFound
from mfa_osc.client.errors import PasscodeUsed
from mfa_osc.client.errors import Unauthorized
from mfa_osc.client.errors import Unavailable
from mfa_osc.client.keystone import MFAClient
from mfa_osc.client.records import BOOK_TYPE
from mfa_osc.client.records import KEYSTONE_MAX_ROWS
from mfa_osc.client.records import TOTP_TYPE
from mfa_osc.client.records import Credential
from mfa_osc.client.records import Keystone
from mfa_osc.client.records import TotpLock
from mfa_osc.client.records import User
from mfa_osc.client.records import dump_blob

__all__ = [
    'BOOK_TYPE',
    'KEYSTONE_MAX_ROWS',
    'TOTP_TYPE',
    'BadRequest',
    'ClientError',
    'Conflict',
    'Credential',
    'Forbidden',
    'Incomplete',
    'Keystone',
    'MFAClient',
    'Malformed',
    'NotFound',
    'PasscodeUsed',
    'Unauthorized',
    'TotpLock',
    'Unavailable',
    'User',
    'dump_blob',
]
