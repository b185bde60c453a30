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

"""Require TOTP for a user who has a verified device."""

from __future__ import annotations

import dataclasses
import time

from mfa_osc import account as mfa_account
from mfa_osc import bookkeeping
from mfa_osc import client as mfa_client
from mfa_osc import rules as mfa_rules
from mfa_osc.client import records as mfa_client_records
from mfa_osc.workflows import errors

ACTION_ENFORCED = 'enforced'
ACTION_GUARDED = 'guard rules set'
#: Guard rules of an earlier release replaced by today's.
ACTION_REPAIRED = 'guard rules repaired'
ACTION_UNCHANGED = 'unchanged'

#: What became of the user's older tokens once the rules were tightened.
SESSIONS_ENDED = 'ended'
SESSIONS_KEPT = 'kept (--keep-sessions)'
SESSIONS_UNSUPPORTED = (
    'kept: this Keystone cannot revoke them (DELETE '
    '/v3/users/{user_id}/tokens is new in Keystone 30); tokens issued '
    'before stay valid until they expire'
)
SESSIONS_PLANNED = 'to be ended'
SESSIONS_UNTOUCHED = ''
#: The start of ``sessions`` when the revocation failed.
SESSIONS_FAILED = 'not ended'


@dataclasses.dataclass
class EnforceResult:
    user_id: str
    action: str
    enforced: bool
    rules: mfa_rules.Rules
    #: One of the ``SESSIONS_`` values (empty when nothing was tightened).
    sessions: str = SESSIONS_UNTOUCHED
    #: With guard rules: what still signs in (:func:`guard_wording`).
    still_signs_in: str = ''

    @property
    def sessions_failed(self) -> bool:
        return self.sessions.startswith(SESSIONS_FAILED)


def revocation_mark() -> dict[str, str]:
    """The extra attribute, PATCHed with the rules that tighten, that
    says the user's older tokens are still to be revoked."""
    return {mfa_client_records.REVOKE_KEY: bookkeeping.now()}


def tighten(
    client: mfa_client.Keystone,
    user_id: str,
    rules: mfa_rules.Rules,
    options: mfa_rules.MFAOptions,
    *,
    keep_sessions: bool = False,
) -> None:
    """Put ``rules`` in force, and mark the revocation that is now due.

    One request: the rules and the mark arrive together, so a run
    interrupted before the revocation leaves the mark, and the next run
    of ``enforce --user``, ``enforce --all`` or ``policy set`` revokes.
    ``options``: the account's, whose enabled methods the rules are
    written by (refused when those could not be read).
    """
    client.update_user_options(
        user_id,
        mfa_rules.turned_on(rules, options.write_methods()),
        extra=None if keep_sessions else revocation_mark(),
    )


def _clear_mark(client: mfa_client.Keystone, user_id: str) -> None:
    client.update_user_options(
        user_id, {}, extra={mfa_client_records.REVOKE_KEY: None}
    )


#: Seconds to wait after revoking tokens (:func:`settle`): the
#: granularity of Keystone's revocation check.
REVOCATION_SECOND = 1.0


def end_sessions(
    client: mfa_client.Keystone,
    user_id: str,
    *,
    keep: bool = False,
    marked: bool = False,
) -> str:
    """Revoke the user's older tokens, after their rules were tightened.

    Called only once the new rules are on, so a sign-in in between is
    checked against them. Application credentials keep working: their
    next sign-in gets a token under the new rules. A failure is returned,
    not raised: the rules are on, which is what matters most.

    ``marked``: the user record says the revocation is due
    (:func:`tighten`); the mark is cleared once Keystone revoked (or has
    no revocation to offer), and stays after a failure, for the next run.
    For the signed-in user the mark is cleared first, as nothing can be
    sent once the session's own token is revoked, and set again if the
    revocation fails.
    """
    if keep:
        return SESSIONS_KEPT
    if _signed_in_as(client, user_id):
        return _end_own(client, user_id, marked)
    return _end_other(client, user_id, marked)


def _signed_in_as(client: mfa_client.Keystone, user_id: str) -> bool:
    try:
        return user_id == client.current_user_id()
    except mfa_client.ClientError:
        return False


def _failed(exc: mfa_client.ClientError) -> str:
    return (
        f'{SESSIONS_FAILED} ({exc}); tokens issued before stay valid until '
        'they expire'
    )


def _end_own(client: mfa_client.Keystone, user_id: str, marked: bool) -> str:
    """:func:`end_sessions` for the signed-in user: the mark cleared
    first, and set again if the revocation fails."""
    if marked:
        try:
            _clear_mark(client, user_id)
        except mfa_client.ClientError as exc:
            return _failed(exc)
    try:
        revoked = client.revoke_user_tokens(user_id)
    except mfa_client.ClientError as exc:
        if marked:
            try:
                client.update_user_options(
                    user_id, {}, extra=revocation_mark()
                )
            except mfa_client.ClientError:
                pass
        return _failed(exc)
    if revoked:
        # NOTE: the signed-in user's next command signs in again at once.
        settle(client)
    return SESSIONS_ENDED if revoked else SESSIONS_UNSUPPORTED


def settle(client: mfa_client.Keystone) -> None:
    """Wait until a sign-in made now outlives this client's revocations.

    Keystone compares a token's issue time, in whole seconds, with the
    revocation's: a token issued in the same second as a revocation of
    its user counts as revoked too (its first use fails with 404). A
    command that revoked tokens returns only once a sign-in can no longer
    land in that second, so a script's next command (the user's, or the
    signed-in administrator's own) gets a token that works. At most
    :data:`REVOCATION_SECOND` once per command, whatever the number of
    users revoked: the wait is counted from the last revocation.
    """
    if client.revoked_at is None:
        return
    left = client.revoked_at + REVOCATION_SECOND - time.monotonic()
    if left > 0:
        time.sleep(left)


def _end_other(client: mfa_client.Keystone, user_id: str, marked: bool) -> str:
    """:func:`end_sessions` for another user: the mark cleared after."""
    try:
        revoked = client.revoke_user_tokens(user_id)
    except mfa_client.ClientError as exc:
        return _failed(exc)
    if marked:
        try:
            _clear_mark(client, user_id)
        except mfa_client.ClientError:
            # NOTE: revoked all the same; the mark left makes the next run
            # revoke again, which ends sessions opened since, no worse.
            pass
    return SESSIONS_ENDED if revoked else SESSIONS_UNSUPPORTED


def plan_rules(
    account: mfa_account.Account, application_credentials: bool | None
) -> mfa_rules.Rules:
    """The rules that enforce MFA on ``account``.

    ``application_credentials`` None keeps what the account allows today:
    rules an administrator wrote that refuse application credentials stay
    that way; an account without rules lets them in, as before. A
    federated user's own protocol keeps a rule of its own
    (:meth:`mfa_osc.rules.MFAOptions.enforced`, as enroll's).
    """
    options = account.options
    if application_credentials is None:
        application_credentials = options.app_creds_allowed
    return options.enforced(application_credentials)


def guard_wording(options: mfa_rules.MFAOptions) -> str:
    """What still signs in under guard rules, as a sentence's end."""
    if options.password_alone_ok:
        return 'the password still does'
    if options.signs_in('password', 'totp'):
        return (
            'the password and the code together still do, as before (the '
            'password alone did not sign in before either)'
        )
    return 'every other way in that worked before still does'


def enforce(
    client: mfa_client.Keystone,
    user: mfa_client.User,
    *,
    application_credentials: bool | None = None,
    keep_sessions: bool = False,
) -> EnforceResult:
    """Set the rules that require TOTP, once a verified device exists.

    Whenever the rules are tightened, the user's older tokens are revoked
    afterwards (unless ``keep_sessions``); for the signed-in user that is
    the session's own token, so nothing is sent after it. A revocation
    an earlier run could not do (the user record's mark) is done here,
    whatever else happens.

    An account where a hand-made credential lets the code alone sign in,
    and no verified device exists, gets guard rules: the code alone is
    refused and nothing else that worked stops working. Guard rules of
    an earlier release (which refused federated sign-ins) are replaced by
    today's.
    """
    account = mfa_account.load_account(client, user)
    due = bool(account.user.revoke_due)
    try:
        result = _enforce(
            client,
            account,
            application_credentials=application_credentials,
            keep_sessions=keep_sessions,
        )
    except errors.WorkflowError as exc:
        if due and not keep_sessions:
            sessions = end_sessions(client, account.user_id, marked=True)
            raise type(exc)(
                f'{exc} The older tokens of the user, due to be revoked '
                f'since an earlier run, were: {sessions}.'
            ) from exc
        raise
    if due and not result.sessions:
        result.sessions = end_sessions(
            client, account.user_id, keep=keep_sessions, marked=True
        )
    settle(client)
    return result


def _enforce(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    *,
    application_credentials: bool | None,
    keep_sessions: bool,
) -> EnforceResult:
    options = account.options
    # NOTE: before anything is judged or written: rules are written only
    # by the methods the cloud says it enables.
    options.write_methods()
    flag = errors.user_flag(client, account.user_id)
    marked = not keep_sessions
    if not account.verified:
        if account.usable and options.requires_totp and not options.void_rules:
            # NOTE: enforced by hand, with a hand-made device: as it is.
            return EnforceResult(
                account.user_id, ACTION_UNCHANGED, True, options.rules
            )
        if account.usable and (
            not options.totp_alone_refused or options.void_rules
        ):
            # NOTE: a rule of only disabled methods lets the code alone
            # in before Keystone 28; the guard drops it.
            guard = options.guard()
            if guard is None:
                raise errors.WouldLockOut(
                    f'A TOTP code alone signs in to user '
                    f'{account.user.name or account.user_id} (rules: '
                    f'{mfa_rules.text(options.rules)}), and no other way in '
                    'works today, so refusing the code alone could lock the '
                    'account out; nothing was changed. Adopt the hand-made '
                    'credential as a verified device (`openstack mfa enroll'
                    f'{flag} --adopt {(account.hand_made or ["ID"])[0]}`, a '
                    'code from it is checked), which then requires the '
                    'password and the code.'
                )
            _patch(client, account, guard, keep_sessions)
            return EnforceResult(
                account.user_id,
                ACTION_GUARDED,
                False,
                guard,
                end_sessions(
                    client, account.user_id, keep=keep_sessions, marked=marked
                ),
                guard_wording(options.with_rules(guard, True)),
            )
        if options.legacy_guard:
            # NOTE: an earlier release's guard refused federated, external
            # and oauth1 sign-ins: today's lets them in (no tightening).
            guard = options.guard() or mfa_rules.guard_rules(options.methods)
            _patch(client, account, guard, True)
            return EnforceResult(
                account.user_id, ACTION_REPAIRED, False, guard
            )
        hint = ''
        if account.hand_made:
            hint = (
                ' A hand-made TOTP credential exists: adopt it as a verified '
                f'device with `openstack mfa enroll{flag} --adopt '
                f'{account.hand_made[0]}` (a code from it is checked), which '
                'enforces MFA.'
            )
        raise errors.WouldLockOut(
            f'User {account.user.name or account.user_id} has no verified '
            'TOTP device: requiring TOTP now could lock the account out. '
            f'Enroll a device first (`openstack mfa enroll{flag}`).' + hint
        )
    rules = plan_rules(account, application_credentials)
    if options.requires_totp and mfa_rules.same(options.rules, rules):
        return EnforceResult(account.user_id, ACTION_UNCHANGED, True, rules)
    _patch(client, account, rules, keep_sessions)
    return EnforceResult(
        account.user_id,
        ACTION_ENFORCED,
        True,
        rules,
        end_sessions(
            client, account.user_id, keep=keep_sessions, marked=marked
        ),
    )


def _patch(
    client: mfa_client.Keystone,
    account: mfa_account.Account,
    rules: mfa_rules.Rules,
    keep_sessions: bool,
) -> None:
    user_id = account.user_id
    try:
        tighten(
            client,
            user_id,
            rules,
            account.options,
            keep_sessions=keep_sessions,
        )
    except mfa_client.Forbidden as exc:
        raise errors.NeedsAdministrator(
            'This account may not set MFA rules (Keystone policy '
            'identity:update_user); an administrator runs `openstack mfa '
            f'enforce --user {user_id}`.'
        ) from exc
