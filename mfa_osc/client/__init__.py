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
from mfa_osc.client.errors import Malformed
from mfa_osc.client.errors import NotFound
from mfa_osc.client.errors import Unauthorized
from mfa_osc.client.errors import Unavailable
from mfa_osc.client.keystone import MFAClient
from mfa_osc.client.records import BOOK_TYPE
from mfa_osc.client.records import KEYSTONE_MAX_ROWS
from mfa_osc.client.records import TOTP_TYPE
from mfa_osc.client.records import Credential
from mfa_osc.client.records import Keystone
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
    'Keystone',
    'MFAClient',
    'Malformed',
    'NotFound',
    'Unauthorized',
    'Unavailable',
    'User',
    'dump_blob',
]
