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

"""Enroll a device (new, or a hand-made one adopted), then enforce MFA.

Order, so that an interruption between any two requests leaves the
account no weaker and not locked out:

1. the code is checked against the secret here, before anything changes;
2. guard rules go on (a code alone is refused from now on; where a code
   alone could sign in before, another user's record is marked, so the
   sessions it may have opened are revoked by this run or the next
   ``enforce``/``policy set`` run);
3. a new device's secret is fingerprinted in the bookkeeping, then its
   credential is created and Keystone checks the code;
4. leftovers of earlier interrupted runs (fingerprinted, never verified,
   marked more than ``PENDING_GRACE`` ago, so never the device of a run
   still going) are deleted, recovery codes made, and the bookkeeping
   written over a fresh read of it, merged (a run at the same time keeps
   its device and codes);
5. the rules that require TOTP go on, with the revocation mark for
   another user (:func:`enforce.tighten`), then that user's older tokens
   are revoked and the mark cleared (:func:`enforce.end_sessions`): a
   revocation that fails or is interrupted is retried by the next
   ``enforce`` or ``policy set`` run.

Hand-made credentials are never deleted here: they may be what the user
signs in with today.

The steps are safe only in this order, so they stay in one module, read
top to bottom. The checks and the plan before any of them (and before any
secret is shown) are :mod:`mfa_osc.workflows.enroll_plan`; checking the
new device's code is :mod:`mfa_osc.workflows.device_code`.
"""

from __future__ import annotations

import dataclasses

from mfa_osc import account as mfa_account
from mfa_osc import bookkeeping
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.workflows import device_code
from mfa_osc.workflows import enforce as enforce_flow
from mfa_osc.workflows import enroll_plan
from mfa_osc.workflows import errors
from mfa_osc.workflows import recovery as recovery_flow


@dataclasses.dataclass
class EnrollResult:
    user_id: str
    device_id: str
    device_name: str
    #: Formatted recovery codes, shown once; empty if none were made.
    recovery_codes: list[str]
    enforced: bool
    rules: mfa_rules.Rules
    adopted: bool = False
    #: The command an administrator runs to enforce, when we may not.
    admin_command: str | None = None
    #: What became of the user's older tokens (``enforce.SESSIONS_*``).
    sessions: str = enforce_flow.SESSIONS_UNTOUCHED
    warnings: list[str] = dataclasses.field(default_factory=list)
    repaired: list[str] = dataclasses.field(default_factory=list)

    @property
    def sessions_failed(self) -> bool:
        return self.sessions.startswith(enforce_flow.SESSIONS_FAILED)


def _verify(
    client: mfa_client.Keystone,
    plan: enroll_plan.EnrollPlan,
    secret: str,
    passcodes: errors.PasscodeSource,
    create: bool,
    codes: list[str],
    keep_sessions: bool,
) -> str:
    """Check codes (here, then by Keystone); the device's credential id."""
    account = plan.account
    code, used, hint = device_code.local_code(secret, passcodes)
    if code is None:
        raise errors.PasscodeRefused(
            (hint + ' ' if hint else '')
            + 'The device was not enrolled and nothing was changed; run the '
            'command again with the current code.'
        )
    _guard(client, plan, keep_sessions)
    device_id = plan.adopt
    if create or codes:
        # NOTE: earlier runs' marks stay until their leftovers are gone.
        account.book.mark(*recovery_flow.fingerprints(codes))
        if create:
            account.book.mark(bookkeeping.fingerprint(secret))
        # NOTE: merged: a run that ended since this one read the account
        # keeps its device listed.
        mfa_account.write_book_merged(client, account)
    if create:
        device_id = client.create_credential(
            account.user_id, mfa_client.TOTP_TYPE, secret
        ).id
        account.totp[device_id] = secret
    assert device_id is not None
    while True:
        if client.check_totp_alone(account.user_id, code):
            return device_id
        offset = totp.window_offset(secret, code) or 0
        hint, final = device_code.why_refused(client, account.user, offset)
        if not final and used < errors.PASSCODE_ATTEMPTS:
            code, tries, hint = device_code.local_code(
                secret, device_code.shifted(passcodes, used), hint
            )
            used += max(tries, 1)
            if code is not None:
                continue
        if create:
            client.delete_credential(device_id)
            account.totp.pop(device_id, None)
        raise errors.PasscodeRefused(
            (hint + ' ' if hint else '')
            + 'The device was not enrolled and nothing is enforced; run the '
            'command again with the current code.'
        )


def _other_user(client: mfa_client.Keystone, user_id: str) -> bool:
    """Whether ``user_id`` is not the signed-in user (an administrator's
    enrollment, whose tightening revokes the user's older tokens)."""
    return user_id != client.current_user_id()


def _guard(
    client: mfa_client.Keystone,
    plan: enroll_plan.EnrollPlan,
    keep_sessions: bool,
) -> None:
    """Guard rules before any credential is made, and note the rules.

    Where a code alone could sign in (a hand-made or leftover credential
    under rules that let it), another user's record is marked with the
    rules: a session the code alone opened is revoked by this run's last
    step, or, if the run ends before, by the next ``enforce`` or
    ``policy set`` run.
    """
    account = plan.account
    options = account.options
    if account.book.before is None:
        account.book.before = (
            bookkeeping.Before(None, [])
            if mfa_rules.is_guard(options.rules, options.methods)
            else bookkeeping.Before(options.flag, options.rules)
        )
    if plan.can_update and not options.totp_alone_refused:
        # NOTE: rules under which a code alone signs in and nothing else
        # does ([["totp"]]) have no guard that keeps a way in: they get the
        # rules this enrollment ends with (password and code) at once.
        guard = options.guard() or enforce_flow.plan_rules(account, None)
        mark = (
            bool(account.usable)
            and not keep_sessions
            and _other_user(client, account.user_id)
        )
        enforce_flow.tighten(
            client, account.user_id, guard, options, keep_sessions=not mark
        )
        plan.marked = plan.marked or mark
        account.options = options.with_rules(guard, True)


def enroll(
    client: mfa_client.Keystone,
    plan: enroll_plan.EnrollPlan,
    *,
    secret: str | None,
    passcodes: errors.PasscodeSource,
    recovery_codes: int = recovery.DEFAULT_COUNT,
    application_credentials: bool | None = None,
    keep_sessions: bool = False,
    keep: recovery_flow.Keeper | None = None,
) -> EnrollResult:
    """Verify the device, make recovery codes, and enforce MFA.

    When an administrator's enrollment of another user tightens that
    user's rules, the user's older tokens are revoked afterwards (unless
    ``keep_sessions``), so a session opened with a password alone ends.

    ``secret`` is the new device's (the caller showed it as a QR code);
    None when adopting, whose secret Keystone already holds.
    ``application_credentials``: None keeps what the account allows today
    (allowed when it has no rules). ``keep`` saves the recovery codes
    before anything in Keystone changes; it is voided when the run ends
    before the codes are the account's.
    """
    account = plan.account
    user_id = account.user_id
    before = account.options
    if application_credentials is None:
        application_credentials = before.app_creds_allowed
    result = EnrollResult(user_id, '', plan.name, [], False, [])
    result.warnings = list(plan.warnings)
    adopted = plan.adopted_secret
    if adopted is not None:
        device_secret = adopted
    elif secret is not None:
        device_secret = totp.normalize_secret(secret)
    else:
        raise errors.WorkflowError('No secret to enroll.')
    redact.register(device_secret)
    # NOTE: only marks older than PENDING_GRACE: a younger one may be the
    # device of another enrollment of this user, running right now.
    # A credential of this very secret, left by an earlier attempt, is
    # the same device: a duplicate, whatever its age.
    seen = list(account.book.pending)
    stale = list(account.leftovers) + [
        c
        for c in account.pending
        if c not in account.leftovers and account.totp[c] == device_secret
    ]
    codes: list[str] = []
    if not account.recovery_ids and recovery_codes > 0:
        codes = recovery_flow.new_codes(recovery_codes)
        if keep is not None:
            keep.save([recovery.display(c) for c in codes])
    try:
        device_id = _verify(
            client,
            plan,
            device_secret,
            passcodes,
            adopted is None,
            codes,
            keep_sessions,
        )
        result.device_id, result.adopted = device_id, adopted is not None
        _record(client, plan, result, device_secret, stale, codes, seen)
    except BaseException:
        # NOTE: until the bookkeeping names them, the codes are leftovers
        # the next run deletes: the saved ones would not work.
        if codes and keep is not None:
            keep.void()
        raise
    _enforce(
        client, plan, result, before, application_credentials, keep_sessions
    )
    return result


def _record(
    client: mfa_client.Keystone,
    plan: enroll_plan.EnrollPlan,
    result: EnrollResult,
    device_secret: str,
    stale: list[str],
    codes: list[str],
    seen: list[str],
) -> None:
    """Step 4: leftovers deleted, codes made, the bookkeeping written."""
    account = plan.account
    device_id = result.device_id
    # Leftovers of earlier interrupted runs: fingerprinted, never verified.
    leftovers = [c for c in stale if c != device_id]
    for cred_id in leftovers:
        client.delete_credential(cred_id)
        account.totp.pop(cred_id, None)
    if leftovers:
        result.repaired.append(
            'deleted unverified TOTP credentials left by an interrupted run'
        )

    book = account.book
    verified = dict(account.verified)
    verified[device_id] = {'name': plan.name, 'created_at': bookkeeping.now()}
    book.devices = verified
    book.pending = []
    if codes:
        result.recovery_codes = recovery_flow.make_codes(
            client, account, codes
        )
    else:
        book.recovery_codes = account.recovery_ids
    resolved = set(recovery_flow.fingerprints(codes))
    if not result.adopted:
        resolved.add(bookkeeping.fingerprint(device_secret))
    mfa_account.write_book_merged(client, account, resolved, seen=seen)


def _enforce(
    client: mfa_client.Keystone,
    plan: enroll_plan.EnrollPlan,
    result: EnrollResult,
    before: mfa_rules.MFAOptions,
    application_credentials: bool,
    keep_sessions: bool,
) -> None:
    """Step 5: the rules that require TOTP.

    The administrator's choice on application credentials is kept unless
    told otherwise.
    """
    account = plan.account
    user_id = account.user_id
    current = account.options
    # NOTE: a federated user's protocol (their only way in: a shadow user
    # has no password, and a federated sign-in carries no code) keeps a
    # rule of its own, as guard rules give it; else the rules that
    # require a password and a code would lock them out.
    rules = before.enforced(application_credentials)
    if plan.can_update:
        # NOTE: one's own tokens are not revoked (the session running this
        # command is one of them), so only another user's are marked.
        other = _other_user(client, user_id)
        marked = plan.marked
        if not (
            current.requires_totp and mfa_rules.same(current.rules, rules)
        ):
            # NOTE: the rules and the revocation mark in one request: a run
            # that fails or is interrupted before the revocation leaves the
            # mark, and the next enforce or policy set run revokes.
            enforce_flow.tighten(
                client,
                user_id,
                rules,
                current,
                keep_sessions=keep_sessions or not other,
            )
            account.options = current.with_rules(rules, True)
            marked = marked or (other and not keep_sessions)
            if other and keep_sessions:
                result.sessions = enforce_flow.SESSIONS_KEPT
        if marked:
            result.sessions = enforce_flow.end_sessions(
                client, user_id, marked=True
            )
            enforce_flow.settle(client)
            if result.sessions_failed:
                result.warnings.append(
                    f'MFA is enforced, but the older sessions of the user '
                    f'were {result.sessions}; the next `openstack mfa '
                    f'enforce --user {user_id}` (or `--all`) revokes them.'
                )
        result.enforced = True
    elif current.requires_totp:
        # NOTE: already enforced (a second device): nothing to change.
        result.enforced = True
        rules = current.rules
    else:
        result.admin_command = f'openstack mfa enforce --user {user_id}'
        rules = current.rules
    result.rules = rules
