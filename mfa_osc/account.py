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

"""One user's MFA account as Keystone holds it, read and written as one.

Where things live in Keystone:

* a device is a ``totp`` credential whose blob is its base32 secret. Any
  ``totp`` credential Keystone can compute a code from may be what the
  person signs in with, whoever made it: one that mfa-osc verified is a
  *verified* device, one made by hand (``openstack credential create
  --type totp``) is a *hand-made* device, shown and never deleted unless
  an administrator names it;
* a recovery code stands for one more ``totp`` credential
  (:mod:`mfa_osc.recovery`);
* one ``mfa-osc`` credential per user holds the bookkeeping
  (:mod:`mfa_osc.bookkeeping`), no secret. The user can edit it through
  the credentials API, so nothing in it is trusted beyond what Keystone
  holds: it only names credentials of this user that exist, and a
  credential it calls both a device and a recovery code is a device
  (never deleted as a used code).

The rules are read as Keystone reads them (:mod:`mfa_osc.rules`), against
the methods the cloud enables. Telling a device, a recovery code, a
leftover and a hand-made credential apart and the merged writes that keep
the bookkeeping true for two runs at once are one model, kept together.
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
import datetime
import time

from mfa_osc import bookkeeping
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import rules as mfa_rules
from mfa_osc import totp

#: With another run at work on the same bookkeeping, how long to wait
#: before reading a write back: longer than a read, merge and write takes.
SETTLE_SECONDS = 2.0


class AccountError(Exception):
    """The account could not be read or resolved; the message says why."""


class NotFound(AccountError):
    """No such user, device or recovery code."""


@dataclasses.dataclass
class Account:
    """One user's MFA state as Keystone holds it."""

    user: mfa_client.User
    options: mfa_rules.MFAOptions
    #: credential id -> blob of every ``totp`` credential of the user.
    totp: dict[str, str]
    book: bookkeeping.Book

    @property
    def user_id(self) -> str:
        return self.user.id

    @property
    def usable(self) -> list[str]:
        """``totp`` credentials Keystone can compute a code from."""
        if not self.totp:
            return []
        return sorted(
            c for c, blob in self.totp.items() if totp.keystone_key(blob)
        )

    @property
    def has_second_factor(self) -> bool:
        """Whether Keystone accepts a code from any of the credentials:
        a verified or hand-made device, a recovery code, a device of an
        interrupted enrollment.

        The one test of "the account has a device" for the commands on
        yourself that weaken it (``remove``, ``recovery code create``):
        they then ask for proof (:func:`mfa_osc.workflows.proof.when_due`).
        NOTE: not the verified devices alone: those are named by the
        bookkeeping, which the user may edit, and a hand-made device is a
        device all the same; whoever holds only a token must not remove
        one or mint recovery codes.
        """
        return bool(self.usable)

    @property
    def unusable(self) -> list[str]:
        """``totp`` credentials no code can ever match (bad blobs)."""
        if not self.totp:
            return []
        return sorted(
            c for c, blob in self.totp.items() if not totp.keystone_key(blob)
        )

    @property
    def verified(self) -> dict[str, dict[str, str]]:
        """Devices mfa-osc verified whose credential exists and works."""
        if not self.book.devices:
            return {}
        usable = set(self.usable)
        return {k: v for k, v in self.book.devices.items() if k in usable}

    @property
    def recovery_ids(self) -> list[str]:
        if not self.book.recovery_codes:
            return []
        usable = set(self.usable)
        return [
            c
            for c in self.book.recovery_codes
            if c in usable and c not in self.book.devices
        ]

    @property
    def pending(self) -> list[str]:
        """Leftovers of an interrupted enrollment (never verified)."""
        if not self.book.pending or not self.totp:
            return []
        marks = set(self.book.pending)
        known = set(self.verified) | set(self.recovery_ids)
        return sorted(
            c
            for c in self.usable
            if c not in known
            and bookkeeping.fingerprint(self.totp[c]) in marks
        )

    @property
    def leftovers(self) -> list[str]:
        """Pending credentials of runs that ended: safe to delete.

        A credential whose mark is younger than
        :data:`mfa_osc.bookkeeping.PENDING_GRACE` may
        be another run's device under verification, and stays.
        """
        fresh = self.book.fresh_marks()
        return [
            c
            for c in self.pending
            if bookkeeping.fingerprint(self.totp[c]) not in fresh
        ]

    @property
    def hand_made(self) -> list[str]:
        """Usable credentials mfa-osc did not make: maybe in daily use."""
        if not self.totp:
            return []
        known = set(self.verified) | set(self.recovery_ids)
        known |= set(self.pending)
        return sorted(c for c in self.usable if c not in known)

    @property
    def devices(self) -> dict[str, dict[str, str]]:
        """Every device a person may sign in with: verified and hand-made."""
        out = dict(self.verified)
        for cred_id in self.hand_made:
            out[cred_id] = {'name': cred_id, 'origin': 'hand-made'}
        return out

    @property
    def stale(self) -> bool:
        """The bookkeeping names credentials that are gone or unusable."""
        return len(self.verified) != len(self.book.devices) or len(
            self.recovery_ids
        ) != len(self.book.recovery_codes)

    def totp_lock(self, now: datetime.datetime) -> mfa_client.TotpLock | None:
        """The lock of the user's TOTP sign-in by mfa-osc's guard in force
        at ``now`` (Keystone's clock, :func:`keystone_now`), or None.

        Read from the user record's mark (an extra attribute, which lists
        of users carry too): a mark whose end has passed is no lock.
        """
        lock = self.user.totp_lock
        return lock if lock is not None and lock.in_force(now) else None

    def state(self) -> str:
        return mfa_rules.state(
            self.options, len(self.usable), len(self.devices)
        )

    def device_label(self, cred_id: str) -> str:
        name = self.book.devices.get(cred_id, {}).get('name')
        if name and name != cred_id:
            return f'{name} ({cred_id})'
        return cred_id

    def find(self, name_or_id: str) -> str:
        """The credential of a device, leftover or bad credential.

        An ID wins over a name: the names come from the bookkeeping, which
        the user may edit, so a device named after another credential's ID
        never stands for that credential. A name that two devices share is
        refused rather than guessed.
        """
        if name_or_id in self.verified:
            return name_or_id
        if name_or_id in set(self.hand_made) | set(self.pending):
            return name_or_id
        if name_or_id in self.unusable:
            return name_or_id
        named = [
            cred_id
            for cred_id, info in self.verified.items()
            if info.get('name') == name_or_id
        ]
        if len(named) == 1:
            return named[0]
        if named:
            raise NotFound(
                f'{len(named)} devices are named {name_or_id!r}: say which '
                f'by ID ({", ".join(sorted(named))}).'
            )
        listed = [self.device_label(c) for c in self.devices]
        listed += [f'{c} (unusable)' for c in self.unusable]
        who = self.user.name or self.user_id
        raise NotFound(
            f'No device {name_or_id!r} for user {who}; devices: '
            f'{", ".join(listed) or "none"}.'
        )


def account_from(
    user: mfa_client.User,
    credentials: Iterable[mfa_client.Credential],
    methods: Iterable[str] | None = None,
    known: bool | None = None,
) -> Account:
    """The account of ``user`` from credentials listed for it (or all).

    ``known``: whether ``methods`` were read from the cloud (by default,
    whether they were given); assumed ones are for reading only.
    """
    found: dict[str, str] = {}
    books: list[bookkeeping.Book] = []
    for cred in credentials:
        if cred.user_id not in (None, user.id):
            continue
        if cred.type == mfa_client.TOTP_TYPE:
            redact.register(cred.blob)
            found[cred.id] = cred.blob
        elif cred.type == mfa_client.BOOK_TYPE:
            books.append(bookkeeping.Book.from_credential(cred))
    # NOTE: two first enrollments at once may each make a book: the one
    # of the smallest id counts, so that both runs write their last, merged
    # update (write_book_merged) to the same one. The others' pending
    # marks count too: a run interrupted before that last write (its token
    # revoked by the other run's enforcement) left its marks only there,
    # and without them its unverified credentials would pass for
    # hand-made ones, kept for good instead of deleted as leftovers.
    books.sort(key=lambda b: b.credential_id or '')
    book = books[0] if books else bookkeeping.Book()
    for other in books[1:]:
        book.pending = list(dict.fromkeys(book.pending + other.pending))
        book.pending_at = {**other.pending_at, **book.pending_at}
    options = mfa_rules.MFAOptions.of(
        user.options,
        frozenset(methods) if methods else None,
        own=user.federated,
        known=known,
    )
    return Account(user, options, found, book)


def keystone_now(client: mfa_client.Keystone) -> datetime.datetime:
    """Now by Keystone's clock, the one that counts: this machine's,
    corrected by the skew the client measured on Keystone's latest answer
    (its ``Date``); this machine's own when none was measured."""
    skew = client.clock_skew or 0.0
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(
        seconds=skew
    )


def load_account(
    client: mfa_client.Keystone, user: str | mfa_client.User
) -> Account:
    """Read the user and their credentials (and, once, enabled methods)."""
    record = client.get_user(user) if isinstance(user, str) else user
    creds = client.list_credentials(user_id=record.id)
    methods, known = guard_methods(client)
    return account_from(record, creds, methods, known)


def guard_methods(
    client: mfa_client.Keystone,
) -> tuple[frozenset[str], bool]:
    """The methods rules are judged against, and whether they were read.

    The cloud's ``[auth] methods`` (one request, once per client). When
    Keystone does not say them, its default methods, ``totp``, and the
    federation protocols of its identity providers, with False: good for
    judging an account, never for writing rules
    (:meth:`mfa_osc.rules.MFAOptions.write_methods` refuses), as a rule
    naming only methods the cloud does not enable lets every sign-in in
    before Keystone 28.
    """
    methods = client.enabled_methods()
    if methods is not None:
        return methods, True
    return mfa_rules.ASSUMED_METHODS | client.federation_protocols(), False


def write_book(client: mfa_client.Keystone, account: Account) -> None:
    """Create or update the bookkeeping credential of ``account``."""
    book = account.book
    if book.credential_id:
        client.update_credential(book.credential_id, book.blob())
    else:
        cred = client.create_credential(
            account.user_id, mfa_client.BOOK_TYPE, book.blob()
        )
        book.credential_id = cred.id


def write_book_merged(
    client: mfa_client.Keystone,
    account: Account,
    resolved: Iterable[str] = (),
    attempts: int = 5,
    seen: Iterable[str] = (),
) -> None:
    """Write ``account.book`` over what Keystone holds now, merged.

    Another run for this user (a second ``enroll`` at the same time) may
    have written the bookkeeping since this one read it: its devices,
    recovery codes and fresh marks are kept, beside this run's. Marks in
    ``resolved`` (this run's, now verified or made) and old marks of
    credentials that are gone are dropped.

    Keystone's credentials have no compare-and-swap. When another run
    shows (its fresh marks, a second bookkeeping credential, entries this
    run did not write), the write is read back after
    :data:`SETTLE_SECONDS`, longer than another run's read-merge-write
    takes, so that a write of theirs based on an older read is seen and
    merged again. A run alone pays one read before the write, no wait.
    """
    resolved = set(resolved)
    mine = account.book
    wanted = set(mine.devices) | set(mine.recovery_codes)
    # NOTE: marks this run found when it read the account (an interrupted
    # run's) are no sign of a run at work now.
    ours = resolved | set(mine.pending) | set(seen)
    settle = False
    for _ in range(max(1, attempts)):
        creds = client.list_credentials(user_id=account.user_id)
        fresh = account_from(account.user, creds)
        existing = set(fresh.totp)
        theirs = fresh.book
        theirs.devices = {
            k: v for k, v in theirs.devices.items() if k in existing
        }
        theirs.recovery_codes = [
            c for c in theirs.recovery_codes if c in existing
        ]
        books = sum(1 for c in creds if c.type == mfa_client.BOOK_TYPE)
        settle = settle or bool(
            books > 1
            or theirs.fresh_marks() - ours
            or set(theirs.devices) - set(mine.devices)
            or set(theirs.recovery_codes) - set(mine.recovery_codes)
        )
        book = mine.merged(theirs)
        book.credential_id = theirs.credential_id or mine.credential_id
        alive = {bookkeeping.fingerprint(blob) for blob in fresh.totp.values()}
        young = book.fresh_marks()
        book.pending = [
            m
            for m in book.pending
            if m not in resolved and (m in young or m in alive)
        ]
        account.book = book
        account.totp = dict(fresh.totp)
        write_book(client, account)
        if not settle:
            # NOTE: no other run in sight: one that starts now reads this
            # write (its own marks come later, and it merges them).
            return
        time.sleep(SETTLE_SECONDS)
        check = account_from(
            account.user, client.list_credentials(user_id=account.user_id)
        ).book
        if wanted <= set(check.devices) | set(check.recovery_codes):
            account.book = check
            return
        # NOTE: another run wrote over this one: merge again, and wait.
        settle = True
        mine = book


def resolve_user(
    client: mfa_client.Keystone,
    name_or_id: str | None,
    domain: str | None = None,
) -> mfa_client.User:
    """The user record for ``--user``/``--user-domain``, or the own one."""
    if not name_or_id:
        return client.get_user(client.current_user_id())
    domain_id = client.find_domain_id(domain) if domain else None
    users = client.find_users(name_or_id, domain_id)
    if len(users) == 1:
        # NOTE: read again by ID: a list of users leaves out a shadow
        # user's federation protocols (``federated``), without which rules
        # that refuse their only way in are not seen (status, enroll).
        return client.get_user(users[0].id)
    if len(users) > 1:
        raise NotFound(
            f'More than one user is named {name_or_id!r}; give the domain '
            'with --user-domain, or the user ID.'
        )
    try:
        record = client.get_user(name_or_id)
    except (mfa_client.NotFound, ValueError):
        where = f' in domain {domain}' if domain else ''
        listing = 'openstack user list' + (
            f' --domain {domain}' if domain else ''
        )
        raise NotFound(
            f'There is no user {name_or_id!r}{where}: `{listing}` lists the '
            'users, to give one of their names or IDs with --user.'
        ) from None
    if domain_id and record.domain_id != domain_id:
        raise NotFound(
            f'User {name_or_id!r} is not in domain {domain!r}; check '
            '--user-domain.'
        )
    return record


def use_up_recovery_code(
    client: mfa_client.Keystone, user_id: str, code: str
) -> int:
    """Delete the credential of recovery code ``code``; codes left.

    The sign-in plugin calls this once Keystone has accepted the passcode
    computed from ``code``, so that the code never works twice.
    """
    bare = recovery.normalize(code)
    account = load_account(client, user_id)
    matches = recovery.matching(
        bare, account.totp, exclude=account.book.devices
    )
    if not matches:
        raise NotFound(
            'The recovery code signed in but its credential could not be '
            'found to use it up.'
        )
    for cred_id in matches:
        client.delete_credential(cred_id)
        account.totp.pop(cred_id, None)
    if matches and account.book.credential_id:
        account.book.recovery_codes = account.recovery_ids
        write_book(client, account)
    return len(account.recovery_ids)
