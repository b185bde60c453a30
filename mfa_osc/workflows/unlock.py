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

"""End a lock of a user's TOTP sign-in (``openstack mfa unlock``).

mfa-osc's guard (:mod:`mfa_osc.guard`) locks a user's TOTP sign-in after
too many wrong passcodes and marks the lock on the user record
(:data:`~mfa_osc.client.records.LOCK_KEY`); it ends the lock at the
user's next TOTP sign-in once the mark is gone. So the lock is ended
through Keystone's own API and policy (``identity:update_user``, an
administrator's), from any machine, whichever node serves the sign-in:
one PATCH of the user record that sets the mark to null and changes
nothing else (Keystone revokes tokens only when a password changes or a
user is disabled).

A mark whose ``until`` has passed by Keystone's clock is no lock: it is
left as it is, and nothing is changed.
"""

from __future__ import annotations

import dataclasses
import datetime

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc.client import records
from mfa_osc.workflows import errors

#: The command, for the sentences that name it.
COMMAND = 'openstack mfa unlock --user {user}'


@dataclasses.dataclass(frozen=True)
class UnlockResult:
    """What :func:`unlock` found and did."""

    user: mfa_client.User
    #: A lock was in force and is ended.
    ended: bool
    #: Until when the ended lock would have lasted (None: not said, or no
    #: lock).
    until: datetime.datetime | None = None


def refused(user: str, what: str, policy: str) -> errors.NeedsAdministrator:
    """The one sentence of a 403: who may end a lock, and by which
    policy."""
    command = COMMAND.format(user=user)
    return errors.NeedsAdministrator(
        "Ending a TOTP lock needs an administrator: Keystone's policy "
        f'({policy}) refused to {what} for the signed-in user; run '
        f"`{command}` with an administrator's credentials."
    )


def find_user(
    client: mfa_client.Keystone, name_or_id: str, domain: str | None
) -> mfa_client.User:
    """The user of ``--user``/``--user-domain``, read fresh (its mark
    included), as the other ``--user`` commands find it."""
    try:
        return mfa_account.resolve_user(client, name_or_id, domain)
    except mfa_client.Forbidden:
        raise refused(
            name_or_id,
            f'read user {name_or_id}',
            'identity:get_user, identity:list_users',
        ) from None


def unlock(client: mfa_client.Keystone, user: mfa_client.User) -> UnlockResult:
    """End the user's TOTP lock if one is in force (Keystone's clock).

    ``user`` is a record just read (:func:`find_user`), whose answer also
    measured the clock skew. Without a lock in force nothing is sent.
    """
    lock = user.totp_lock
    if lock is None or not lock.in_force(mfa_account.keystone_now(client)):
        return UnlockResult(user, ended=False)
    who = user.name or user.id
    try:
        # NOTE: options left out: only the mark changes.
        client.update_user_options(user.id, {}, extra={records.LOCK_KEY: None})
    except mfa_client.Forbidden:
        raise refused(
            user.id, f'change the record of user {who}', 'identity:update_user'
        ) from None
    except mfa_client.NotFound:
        raise errors.NotFound(
            f'User {who} ({user.id}) was deleted while its lock was being '
            'ended: a deleted user has no lock to end.'
        ) from None
    except mfa_client.Unauthorized:
        raise  # NOTE: its message says to sign in again, as it should.
    except mfa_client.ClientError as exc:
        # NOTE: the client's own message names the MFA rules (its PATCH
        # of the user record is theirs too): said here of the lock.
        answer = f'HTTP {exc.status}' if exc.status else 'no answer'
        raise errors.WorkflowError(
            f'Keystone did not change the record of user {who} ({answer}), '
            'so its TOTP lock was not ended; run `'
            f'{COMMAND.format(user=user.id)}` again when Keystone answers.'
        ) from exc
    return UnlockResult(user, ended=True, until=lock.until)
