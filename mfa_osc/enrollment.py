"""MFA workflows: enroll, enforce, verify, remove, status, audit, recovery.

Independent of OSC: every function takes an :class:`~mfa_osc.client.
MFAClient` and raises :class:`EnrollmentError` with a message that says
what happened and what to run next. None of them puts a secret, passcode or
recovery code into a message.

Where things live in Keystone:

* a device is a ``totp`` credential whose blob is its base32 secret;
* a recovery code (80 bits, shown as ``XXXX-XXXX-XXXX-XXXX``) stands for
  one more ``totp`` credential whose secret is derived from it
  (:func:`mfa_osc.totp.recovery_secret`: Keystone ignores TOTP secrets
  under 128 bits, and the code itself is not stored); signing in with it
  means password plus the passcode of that secret, then deleting that
  credential, so a used code never works twice;
* one ``mfa-osc`` credential per user holds the bookkeeping, no secret:
  device names, which credentials are recovery codes, and the rules the
  user had before MFA. ``totp`` credentials it does not list are leftovers
  of an interrupted run (unverified): ``status`` reports them and
  ``enroll`` deletes them.

The invariant every workflow keeps, at each step and when interrupted
between any two requests: the account is never weaker than before (no
moment where a TOTP code alone signs in, which a ``totp`` credential with
no MFA rules allows) and never locked out (no rule requires TOTP before a
verified device exists). Guard rules ``[["password"],
["application_credential"]]`` refuse a TOTP-only sign-in and leave password
and application-credential sign-in as they were; they go on before any
credential is created and stay on until the last one is gone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from collections.abc import Iterable
import dataclasses
import datetime
import hmac
import json
import re
import secrets
from typing import Any

from mfa_osc import client as mfa_client
from mfa_osc import redact
from mfa_osc import totp

Rules = list[list[str]]

GUARD_RULES: Rules = [['password'], ['application_credential']]
ENFORCED_RULE = ['password', 'totp']
APP_CRED_RULE = ['application_credential']
DEFAULT_RECOVERY_CODES = 8
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters
RECOVERY_CODE_LENGTH = 16
PASSCODE_ATTEMPTS = 3
BOOK_VERSION = 1

STATE_NOT_ENROLLED = 'not enrolled'
STATE_NOT_ENFORCED = 'enrolled, not enforced'
STATE_ENFORCED = 'enforced'
STATE_LOCKED_OUT = 'locked out'
STATE_CODE_ALONE = 'code alone signs in'

#: (attempt number, message about the previous attempt or '') -> a
#: passcode, or None when there is no (further) passcode to try.
PasscodeSource = Callable[[int, str], 'str | None']


class EnrollmentError(Exception):
    """A workflow stopped; the message says why and what to do next."""


class NeedsAdministrator(EnrollmentError):
    """The signed-in user may not change the MFA rules this needs."""


class PasscodeRefused(EnrollmentError):
    """The passcode or recovery code was not accepted."""


class WouldLockOut(EnrollmentError):
    """The change would leave rules requiring TOTP and no device."""


class NotFound(EnrollmentError):
    """No such user, device or recovery code."""


# -- rules --------------------------------------------------------------


def _norm(rule: Iterable[str]) -> list[str]:
    return sorted({str(m) for m in rule})


def totp_alone_refused(enabled: bool, rules: Rules) -> bool:
    """Whether Keystone refuses a sign-in with a TOTP code alone."""
    return (
        enabled
        and bool(rules)
        and all(not set(rule) <= {'totp'} for rule in rules)
    )


def password_alone_ok(enabled: bool, rules: Rules) -> bool:
    """Whether a password alone signs in."""
    return (
        not enabled
        or not rules
        or any(set(rule) <= {'password'} for rule in rules)
    )


def requires_totp(enabled: bool, rules: Rules) -> bool:
    """Whether a person needs TOTP to sign in (MFA is enforced)."""
    return (
        enabled
        and bool(rules)
        and not password_alone_ok(enabled, rules)
        and any('totp' in rule for rule in rules)
    )


def app_creds_allowed(enabled: bool, rules: Rules) -> bool:
    """Whether an application credential alone signs in."""
    return (
        not enabled
        or not rules
        or any(set(rule) <= {'application_credential'} for rule in rules)
    )


def enforced_rules(base: Rules, application_credentials: bool) -> Rules:
    """The rules that enforce MFA, merged with the rules in ``base``.

    Rules a password or a TOTP code satisfies alone are dropped (they
    would make MFA pointless or the code alone enough), and so is the
    application-credential rule when those are not to be allowed.
    """
    out: Rules = [list(ENFORCED_RULE)]
    if application_credentials:
        out.append(list(APP_CRED_RULE))
    for rule in base:
        methods = set(rule)
        if methods <= {'password'} or methods <= {'totp'}:
            continue
        if methods == {'application_credential'} and not (
            application_credentials
        ):
            continue
        if _norm(rule) not in [_norm(r) for r in out]:
            out.append(list(rule))
    return out


# -- recovery codes -----------------------------------------------------


def new_recovery_code() -> str:
    """A new 80-bit recovery code: 16 base32 characters."""
    raw = secrets.token_bytes(RECOVERY_CODE_BYTES)
    return base64.b32encode(raw).decode('ascii')


def format_recovery_code(code: str) -> str:
    """``ABCDEFGHIJKLMNOP`` -> ``ABCD-EFGH-IJKL-MNOP``."""
    return '-'.join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_recovery_code(text: str) -> str:
    """The bare code from what a person typed, or EnrollmentError."""
    cleaned = re.sub(r'[\s\-]+', '', text or '').upper()
    redact.register(text, cleaned)
    if len(cleaned) != RECOVERY_CODE_LENGTH or not re.fullmatch(
        r'[A-Z2-7]+', cleaned
    ):
        raise PasscodeRefused(
            'That is not a recovery code: recovery codes have 16 letters '
            'and digits, shown as XXXX-XXXX-XXXX-XXXX.'
        )
    return cleaned


def looks_like_recovery_code(text: str) -> bool:
    cleaned = re.sub(r'[\s\-]+', '', text or '')
    return len(cleaned) == RECOVERY_CODE_LENGTH


# -- what Keystone holds for one user -----------------------------------


@dataclasses.dataclass
class Book:
    """The ``mfa-osc`` bookkeeping credential of a user (no secrets)."""

    credential_id: str | None = None
    devices: dict[str, dict[str, str]] = dataclasses.field(
        default_factory=dict
    )
    recovery_codes: list[str] = dataclasses.field(default_factory=list)
    #: ``{"enabled": ..., "rules": [...]}`` before the first enrollment.
    rules_before: dict[str, Any] | None = None

    @classmethod
    def from_credential(cls, credential: dict[str, Any]) -> Book:
        try:
            data = json.loads(credential.get('blob') or '{}')
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        devices = data.get('devices')
        codes = data.get('recovery_codes')
        before = data.get('rules_before')
        return cls(
            credential_id=str(credential['id']),
            devices={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in (devices or {}).items()
                if isinstance(v, dict)
            }
            if isinstance(devices, dict)
            else {},
            recovery_codes=[str(c) for c in codes]
            if isinstance(codes, list)
            else [],
            rules_before=before if isinstance(before, dict) else None,
        )

    def blob(self) -> str:
        return mfa_client.dump_blob(
            {
                'version': BOOK_VERSION,
                'devices': self.devices,
                'recovery_codes': self.recovery_codes,
                'rules_before': self.rules_before,
            }
        )


@dataclasses.dataclass
class Account:
    """One user's MFA state as Keystone holds it."""

    user: dict[str, Any]
    enabled: bool
    rules: Rules
    #: credential id -> base32 secret of every ``totp`` credential.
    totp: dict[str, str]
    book: Book

    @property
    def user_id(self) -> str:
        return str(self.user['id'])

    @property
    def devices(self) -> dict[str, dict[str, str]]:
        """Verified devices whose credential exists."""
        return {k: v for k, v in self.book.devices.items() if k in self.totp}

    @property
    def recovery_ids(self) -> list[str]:
        return [c for c in self.book.recovery_codes if c in self.totp]

    @property
    def orphans(self) -> list[str]:
        """``totp`` credentials the bookkeeping does not know."""
        known = set(self.book.devices) | set(self.book.recovery_codes)
        return sorted(c for c in self.totp if c not in known)

    @property
    def stale(self) -> bool:
        """The bookkeeping names credentials that are gone."""
        return len(self.devices) != len(self.book.devices) or len(
            self.recovery_ids
        ) != len(self.book.recovery_codes)

    def state(self) -> str:
        if self.totp and not totp_alone_refused(self.enabled, self.rules):
            return STATE_CODE_ALONE
        if requires_totp(self.enabled, self.rules):
            if not self.totp:
                return STATE_LOCKED_OUT
            return STATE_ENFORCED
        if self.devices:
            return STATE_NOT_ENFORCED
        return STATE_NOT_ENROLLED

    def orphans_deletable(self) -> bool:
        # NOTE: TOTP credentials made by other tools look like orphans; when
        # the rules need TOTP and no verified device exists they may be
        # what the user signs in with, so they are left alone then.
        return bool(self.devices) or not requires_totp(
            self.enabled, self.rules
        )


def load_account(
    client: mfa_client.MFAClient, user: str | dict[str, Any]
) -> Account:
    """Read the user and their credentials: two requests."""
    record = client.get_user(user) if isinstance(user, str) else user
    enabled, rules = mfa_client.rules_of(record)
    creds = client.list_credentials(user_id=str(record['id']))
    return _account(record, enabled, rules, creds)


def _account(
    record: dict[str, Any],
    enabled: bool,
    rules: Rules,
    creds: Iterable[dict[str, Any]],
) -> Account:
    found: dict[str, str] = {}
    book = Book()
    for cred in creds:
        if cred.get('user_id') not in (None, record['id']):
            continue
        if cred.get('type') == mfa_client.TOTP_TYPE:
            blob = str(cred.get('blob') or '')
            redact.register(blob)
            found[str(cred['id'])] = blob
        elif cred.get('type') == mfa_client.BOOK_TYPE:
            book = Book.from_credential(cred)
    return Account(record, enabled, rules, found, book)


def resolve_user(
    client: mfa_client.MFAClient,
    name_or_id: str | None,
    domain: str | None = None,
) -> dict[str, Any]:
    """The user record for ``--user``/``--user-domain``, or the own one."""
    if not name_or_id:
        return client.get_user(client.current_user_id())
    domain_id = client.find_domain_id(domain) if domain else None
    users = client.find_users(name_or_id, domain_id)
    if len(users) == 1:
        return users[0]
    if len(users) > 1:
        raise NotFound(
            f'More than one user is named {name_or_id!r}; give the domain '
            'with --user-domain, or the user ID.'
        )
    try:
        record = client.get_user(name_or_id)
    except mfa_client.NotFound:
        raise NotFound(
            f'No user {name_or_id!r} found'
            + (f' in domain {domain!r}' if domain else '')
            + '; check the name or give the user ID.'
        ) from None
    if domain_id and record.get('domain_id') != domain_id:
        raise NotFound(
            f'User {name_or_id!r} is not in domain {domain!r}; check '
            '--user-domain.'
        )
    return record


def _is_guard(rules: Rules) -> bool:
    return [_norm(r) for r in rules] == [_norm(r) for r in GUARD_RULES]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def _clock_hint(client: mfa_client.MFAClient) -> str:
    return totp.describe_skew(client.clock_skew)


def _admin_enforce_command(user_id: str) -> str:
    return f'openstack mfa enforce --user {user_id}'


def _admin_guard_command(user_id: str) -> str:
    return (
        'openstack user set --enable-multi-factor-auth '
        '--multi-factor-auth-rule password '
        f'--multi-factor-auth-rule application_credential {user_id}'
    )


# -- enroll -------------------------------------------------------------


@dataclasses.dataclass
class EnrollResult:
    user_id: str
    device_id: str
    device_name: str
    #: Formatted recovery codes, shown once; empty if none were made.
    recovery_codes: list[str]
    enforced: bool
    rules: Rules
    #: The command an administrator runs to enforce, when we may not.
    admin_command: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    repaired: list[str] = dataclasses.field(default_factory=list)


def _check_code(
    client: mfa_client.MFAClient,
    user_id: str,
    secret: str,
    code: str,
) -> tuple[bool, str]:
    """Check a code of ``secret`` against Keystone: (accepted, hint)."""
    offset = totp.window_offset(secret, code)
    if offset is None:
        return False, (
            'That passcode is not the current code of this secret; enter '
            'the 6 digits the authenticator app shows now.'
        )
    if client.check_totp_alone(user_id, code):
        return True, ''
    if offset != 0:
        way = 'ahead of' if offset > 0 else 'behind'
        return False, (
            f'That passcode is the code of about {abs(offset) * 30} seconds '
            f"{way} this machine's clock: the phone's clock or this "
            "machine's is off; set both to network time and try again."
            + _clock_hint(client)
        )
    return False, (
        "Keystone refused a passcode that is right by this machine's "
        "clock: Keystone's clock or this machine's is off."
        + (_clock_hint(client) or ' Check both against network time.')
    )


def prepare_enrollment(
    client: mfa_client.MFAClient,
    user: dict[str, Any],
    *,
    name: str | None,
    allow_weaker: bool = False,
) -> tuple[Account, str, bool, list[str]]:
    """Steps before any secret is shown: read, check, repair.

    Returns the account, the device name, whether the signed-in user may
    set the rules, and warnings. Raises before anything is created when
    enrolling could weaken the account.
    """
    account = load_account(client, user)
    user_id = account.user_id
    warnings: list[str] = []
    names = {d.get('name') for d in account.devices.values()}
    if name is None:
        number = 1
        while f'device-{number}' in names:
            number += 1
        name = f'device-{number}'
    elif name in names and account.state() == STATE_NOT_ENFORCED:
        raise EnrollmentError(
            f'Device {name!r} is already verified but MFA is not enforced '
            '(an earlier run was interrupted, or this account may not set '
            'its own rules): run `openstack mfa enforce'
            + (
                ''
                if client.current_user_id() == user_id
                else f' --user {user_id}'
            )
            + '` (an administrator adds `--user '
            + user_id
            + '`), or enroll under another --name.'
        )
    elif name in names:
        raise EnrollmentError(
            f'This user already has a device named {name!r}; choose another '
            'name with --name, or remove that device first with `openstack '
            f'mfa remove --device {name}`.'
        )
    if len(name) > 64 or not name.strip():
        raise EnrollmentError(
            'A device name must be 1 to 64 characters; choose another with '
            '--name.'
        )
    can_update = client.can_update_user(account.user)
    if not can_update and not totp_alone_refused(
        account.enabled, account.rules
    ):
        if not allow_weaker:
            raise NeedsAdministrator(
                'This account may not set its own MFA rules (Keystone policy '
                'identity:update_user), and a TOTP device without rules '
                'would let the code alone sign in, without the password: '
                'nothing was changed. Ask an administrator to enroll you '
                f'(`openstack mfa enroll --user {user_id}`, handing you the '
                'QR code), or to allow self-enrollment by setting guard '
                f'rules first (`{_admin_guard_command(user_id)}`), then run '
                'this command again.'
            )
        warnings.append(
            'WARNING: --allow-weaker: this account has no MFA rules and may '
            'not set them, so until an administrator runs '
            f'`{_admin_enforce_command(user_id)}` the TOTP code ALONE, '
            'without the password, signs in to this account.'
        )
    return account, name, can_update, warnings


def enroll(
    client: mfa_client.MFAClient,
    account: Account,
    *,
    name: str,
    can_update: bool,
    secret: str,
    passcodes: PasscodeSource,
    recovery_codes: int = DEFAULT_RECOVERY_CODES,
    application_credentials: bool | None = None,
    warnings: list[str] | None = None,
) -> EnrollResult:
    """Add a verified device, recovery codes, and enforce MFA.

    ``account``, ``name`` and ``can_update`` come from
    :func:`prepare_enrollment`; the caller shows the secret (QR code) in
    between. ``passcodes`` gives the codes to verify.
    """
    user_id = account.user_id
    result_warnings = list(warnings or [])
    repaired: list[str] = []
    redact.register(secret)
    if application_credentials is None:
        application_credentials = not requires_totp(
            account.enabled, account.rules
        ) or app_creds_allowed(account.enabled, account.rules)

    # Leftovers of an interrupted run: never verified, safe to delete.
    if account.orphans and account.orphans_deletable():
        for cred_id in account.orphans:
            client.delete_credential(cred_id)
            account.totp.pop(cred_id, None)
        repaired.append(
            'deleted unverified TOTP credentials left by an interrupted run'
        )

    # Guard rules before any credential exists: TOTP alone refused,
    # password and application credentials as before.
    rules_before: dict[str, Any] = {
        'enabled': account.enabled,
        'rules': account.rules,
    }
    if can_update and not totp_alone_refused(account.enabled, account.rules):
        client.update_user_options(
            user_id,
            {
                'multi_factor_auth_rules': GUARD_RULES,
                'multi_factor_auth_enabled': True,
            },
        )
        account.enabled, account.rules = True, [list(r) for r in GUARD_RULES]

    # Create the device once a code looks right locally, then verify it.
    device_id: str | None = None
    hint = ''
    for attempt in range(PASSCODE_ATTEMPTS):
        raw = passcodes(attempt, hint)
        if raw is None:
            break
        redact.register(raw)
        try:
            code = totp.normalize_passcode(raw)
        except totp.InvalidPasscode as exc:
            hint = str(exc)
            continue
        if totp.window_offset(secret, code) is None:
            hint = (
                'That passcode is not the current code of this secret; enter '
                'the 6 digits the authenticator app shows now.'
            )
            continue
        if device_id is None:
            device_id = str(
                client.create_credential(
                    user_id, mfa_client.TOTP_TYPE, secret
                )['id']
            )
            account.totp[device_id] = secret
        ok, hint = _check_code(client, user_id, secret, code)
        if ok:
            break
    else:
        raw = None
    if raw is None:
        if device_id is not None:
            client.delete_credential(device_id)
        raise PasscodeRefused(
            (hint + ' ' if hint else '')
            + 'The device was not enrolled and nothing is enforced; run '
            'the command again with the current code.'
        )
    assert device_id is not None

    # Recovery codes, for a user who has none left.
    shown: list[str] = []
    book = account.book
    if not account.recovery_ids and recovery_codes > 0:
        new_ids = []
        for _ in range(recovery_codes):
            code = new_recovery_code()
            redact.register(code, format_recovery_code(code))
            cred = client.create_credential(
                user_id, mfa_client.TOTP_TYPE, totp.recovery_secret(code)
            )
            new_ids.append(str(cred['id']))
            shown.append(format_recovery_code(code))
        book.recovery_codes = new_ids
    else:
        book.recovery_codes = account.recovery_ids

    # Bookkeeping: names, recovery code ids, the rules before MFA.
    book.devices = dict(account.devices)
    book.devices[device_id] = {'name': name, 'created_at': _now()}
    if book.rules_before is None and not requires_totp(
        account.enabled, account.rules
    ):
        before_rules = rules_before['rules']
        if [_norm(r) for r in before_rules] == [_norm(r) for r in GUARD_RULES]:
            # NOTE: guard rules are ours (or an administrator's way to allow
            # self-enrollment), not rules the user had before MFA.
            rules_before = {'enabled': False, 'rules': []}
        book.rules_before = rules_before
    _write_book(client, user_id, book)

    # Enforce.
    rules = enforced_rules(account.rules, application_credentials)
    enforced = False
    admin_command = None
    if can_update:
        client.update_user_options(
            user_id,
            {
                'multi_factor_auth_rules': rules,
                'multi_factor_auth_enabled': True,
            },
        )
        enforced = True
    elif requires_totp(account.enabled, account.rules):
        # NOTE: already enforced (a second device): nothing to change.
        enforced = True
        rules = account.rules
    else:
        admin_command = _admin_enforce_command(user_id)
        rules = account.rules
    return EnrollResult(
        user_id=user_id,
        device_id=device_id,
        device_name=name,
        recovery_codes=shown,
        enforced=enforced,
        rules=rules,
        admin_command=admin_command,
        warnings=result_warnings,
        repaired=repaired,
    )


def _write_book(
    client: mfa_client.MFAClient, user_id: str, book: Book
) -> None:
    if book.credential_id:
        client.update_credential(book.credential_id, book.blob())
    else:
        cred = client.create_credential(
            user_id, mfa_client.BOOK_TYPE, book.blob()
        )
        book.credential_id = str(cred['id'])


# -- enforce ------------------------------------------------------------


def enforce(
    client: mfa_client.MFAClient,
    user: dict[str, Any],
    *,
    application_credentials: bool = True,
) -> Rules:
    """Set the rules that require TOTP, once a verified device exists."""
    account = load_account(client, user)
    if not account.devices:
        raise WouldLockOut(
            f'User {account.user_id} has no verified TOTP device: requiring '
            'TOTP now would lock the account out. Enroll a device first '
            f'(`openstack mfa enroll --user {account.user_id}`).'
        )
    rules = enforced_rules(account.rules, application_credentials)
    client.update_user_options(
        account.user_id,
        {'multi_factor_auth_rules': rules, 'multi_factor_auth_enabled': True},
    )
    return rules


# -- proof of possession ------------------------------------------------


def verify_proof(
    client: mfa_client.MFAClient, account: Account, proof: str
) -> str | None:
    """Check a passcode or a recovery code against Keystone.

    Uses the session's token plus the passcode (methods ``token`` and
    ``totp``). Returns the id of the recovery-code credential used (the
    caller deletes it) or None for a device passcode.
    """
    redact.register(proof)
    if looks_like_recovery_code(proof):
        code = normalize_recovery_code(proof)
        secret = totp.recovery_secret(code)
        redact.register(secret)
        matches = [
            cid
            for cid, blob in account.totp.items()
            if hmac.compare_digest(blob, secret)
            and cid not in account.book.devices
        ]
        if not matches:
            raise PasscodeRefused(
                'That recovery code is not valid for this account (each '
                'code works once); use another code or a current passcode.'
            )
        passcode = totp.passcode(secret)
        redact.register(passcode)
        if not client.check_totp_with_token(account.user_id, passcode):
            raise PasscodeRefused(
                'Keystone refused the recovery code.' + _clock_hint(client)
            )
        return matches[0]
    try:
        passcode = totp.normalize_passcode(proof)
    except totp.InvalidPasscode as exc:
        raise PasscodeRefused(str(exc)) from None
    if not client.check_totp_with_token(account.user_id, passcode):
        raise PasscodeRefused(
            'Keystone refused the passcode; use the current code of one of '
            'your devices, or a recovery code.' + _clock_hint(client)
        )
    return None


# -- remove -------------------------------------------------------------


@dataclasses.dataclass
class RemoveResult:
    user_id: str
    removed: list[str]
    last: bool
    rules: Rules
    enabled: bool


def find_device(account: Account, name_or_id: str) -> str:
    for cred_id, info in account.devices.items():
        if name_or_id in (cred_id, info.get('name')):
            return cred_id
    if name_or_id in account.orphans:
        return name_or_id
    names = ', '.join(
        sorted(str(d.get('name')) for d in account.devices.values())
    )
    raise NotFound(
        f'No device {name_or_id!r} for this user; devices: '
        f'{names or "none"} (see `openstack mfa status`).'
    )


def plan_removal(
    client: mfa_client.MFAClient,
    user: dict[str, Any],
    *,
    device: str | None,
    all_devices: bool,
) -> tuple[Account, list[str], bool]:
    """Which credentials go and whether it is the last device.

    Raises before anything changes when the signed-in user may not relax
    the rules that removing the last device needs relaxed.
    """
    account = load_account(client, user)
    if all_devices:
        targets = sorted(account.devices) + account.orphans
    else:
        if not device:
            raise EnrollmentError(
                'Say which device to remove: --device NAME_OR_ID, or --all.'
            )
        targets = [find_device(account, device)]
    # NOTE: rules that require TOTP with no TOTP credential at all lock
    # the account out; relaxing them cannot let a code alone in, as there
    # is no code.
    locked_out = requires_totp(account.enabled, account.rules) and not (
        account.totp
    )
    leftovers = (
        account.book.credential_id is not None
        or _is_guard(account.rules)
        or locked_out
    )
    if not targets and all_devices and leftovers:
        # NOTE: an interrupted removal left bookkeeping or guard rules and
        # no TOTP credential, or the account is locked out: finishing or
        # resetting needs no passcode.
        return account, [], True
    if not targets:
        raise NotFound(
            'This user has no TOTP device to remove (see `openstack mfa '
            'status`).'
        )
    last = not (set(account.devices) - set(targets))
    if last and not password_alone_ok(account.enabled, account.rules):
        if not client.can_update_user(account.user):
            raise NeedsAdministrator(
                'This is the last device and the MFA rules require TOTP; '
                'removing it needs the rules relaxed first, which this '
                'account may not do (Keystone policy identity:update_user). '
                'Nothing was changed. Ask an administrator to run '
                f'`openstack mfa remove --user {account.user_id} --all`, '
                'or enroll another device first (`openstack mfa enroll '
                '--name NAME`) and then remove this one.'
            )
    return account, targets, last


def remove(
    client: mfa_client.MFAClient,
    account: Account,
    targets: list[str],
    last: bool,
    *,
    used_recovery: str | None = None,
) -> RemoveResult:
    """Delete devices; for the last one, relax rules first, then restore."""
    user_id = account.user_id
    book = account.book
    if used_recovery:
        client.delete_credential(used_recovery)
        account.totp.pop(used_recovery, None)
    names = [account.book.devices.get(t, {}).get('name', t) for t in targets]
    if not last:
        for cred_id in targets:
            client.delete_credential(cred_id)
            account.totp.pop(cred_id, None)
        book.devices = {
            k: v for k, v in account.devices.items() if k not in targets
        }
        book.recovery_codes = account.recovery_ids
        _write_book(client, user_id, book)
        return RemoveResult(
            user_id, names, False, account.rules, account.enabled
        )

    relaxed = False
    if not password_alone_ok(account.enabled, account.rules):
        client.update_user_options(
            user_id,
            {
                'multi_factor_auth_rules': GUARD_RULES,
                'multi_factor_auth_enabled': True,
            },
        )
        account.enabled, account.rules = True, [list(r) for r in GUARD_RULES]
        relaxed = True
    for cred_id in account.recovery_ids:
        client.delete_credential(cred_id)
    for cred_id in sorted(account.totp):
        if cred_id not in account.recovery_ids:
            client.delete_credential(cred_id)
    if book.credential_id:
        client.delete_credential(book.credential_id)
    before = book.rules_before or {'enabled': False, 'rules': []}
    before_rules = [list(r) for r in before.get('rules') or []]
    before_enabled = bool(before.get('enabled'))
    if relaxed or [_norm(r) for r in account.rules] == [
        _norm(r) for r in GUARD_RULES
    ]:
        try:
            client.update_user_options(
                user_id,
                {
                    'multi_factor_auth_rules': before_rules or None,
                    'multi_factor_auth_enabled': before_enabled or None,
                },
            )
            account.enabled, account.rules = before_enabled, before_rules
        except mfa_client.Forbidden:
            # NOTE: guard rules an administrator set stay; they refuse TOTP
            # alone and leave password sign-in as it was.
            pass
    return RemoveResult(user_id, names, True, account.rules, account.enabled)


# -- recovery codes -----------------------------------------------------


def regenerate_recovery_codes(
    client: mfa_client.MFAClient,
    account: Account,
    *,
    count: int = DEFAULT_RECOVERY_CODES,
    used_recovery: str | None = None,
) -> list[str]:
    """New codes first, then the bookkeeping, then delete the old ones."""
    if not account.devices:
        raise EnrollmentError(
            'This user has no verified TOTP device, so recovery codes would '
            'recover nothing; enroll a device first with `openstack mfa '
            'enroll`.'
        )
    if count < 1 or count > 32:
        raise EnrollmentError('Ask for between 1 and 32 recovery codes.')
    old = list(account.book.recovery_codes)
    if used_recovery and used_recovery not in old:
        old.append(used_recovery)
    shown = []
    new_ids = []
    for _ in range(count):
        code = new_recovery_code()
        redact.register(code, format_recovery_code(code))
        cred = client.create_credential(
            account.user_id, mfa_client.TOTP_TYPE, totp.recovery_secret(code)
        )
        new_ids.append(str(cred['id']))
        shown.append(format_recovery_code(code))
    account.book.devices = account.devices
    account.book.recovery_codes = new_ids
    _write_book(client, account.user_id, account.book)
    for cred_id in old:
        if cred_id in account.totp:
            client.delete_credential(cred_id)
    return shown


def consume_recovery_code(
    session_or_client: Any, user_id: str, code: str
) -> int:
    """Delete the recovery-code credential of ``code``; codes left.

    The sign-in plugin calls this once Keystone has accepted the passcode
    computed from ``code``, so that the code never works twice.
    """
    client = (
        session_or_client
        if hasattr(session_or_client, 'list_credentials')
        else mfa_client.MFAClient(session_or_client)
    )
    secret = totp.recovery_secret(normalize_recovery_code(code))
    redact.register(secret)
    account = load_account(client, user_id)
    match = [
        cid
        for cid, blob in account.totp.items()
        if hmac.compare_digest(blob, secret)
        and cid not in account.book.devices
    ]
    if not match:
        return len(account.recovery_ids)
    for cid in match:
        client.delete_credential(cid)
        account.totp.pop(cid, None)
    if account.book.credential_id:
        account.book.recovery_codes = account.recovery_ids
        account.book.devices = account.devices
        _write_book(client, user_id, account.book)
    return len(account.recovery_ids)


# -- status and audit ---------------------------------------------------


def status(
    client: mfa_client.MFAClient,
    user: dict[str, Any],
    *,
    is_self: bool,
) -> dict[str, Any]:
    """Where one account stands, with warnings (reads only)."""
    account = load_account(client, user)
    enabled, rules = account.enabled, account.rules
    state = account.state()
    warnings: list[str] = []
    user_id = account.user_id
    if state == STATE_CODE_ALONE:
        warnings.append(
            'The account has a TOTP credential but no MFA rules that refuse '
            'it alone: the 6-digit code ALONE, without the password, signs '
            'in. Finish with `openstack mfa enroll` or `openstack mfa '
            f'enforce --user {user_id}` (administrator), or remove the '
            'credentials with `openstack mfa remove --all`.'
        )
    if state == STATE_LOCKED_OUT:
        warnings.append(
            'The MFA rules require TOTP but the account has no TOTP '
            'credential: nobody can sign in with a password. An '
            f'administrator runs `openstack mfa remove --user {user_id} '
            '--all` to reset it.'
        )
    if account.orphans:
        warnings.append(
            f'{len(account.orphans)} TOTP credential(s) are not known to '
            'mfa-osc (left by an interrupted enrollment, or made by another '
            'tool); `openstack mfa enroll` deletes leftovers.'
        )
    if account.stale:
        warnings.append(
            'The bookkeeping names credentials that no longer exist; '
            '`openstack mfa enroll` or `openstack mfa recovery code create` '
            'repairs it.'
        )
    if state == STATE_NOT_ENFORCED:
        warnings.append(
            'A device is verified but the MFA rules do not require it yet: '
            f'an administrator runs `{_admin_enforce_command(user_id)}`.'
        )
    if account.devices and not account.recovery_ids:
        warnings.append(
            'No recovery codes left; make new ones with `openstack mfa '
            'recovery code create`.'
        )
    skew = client.clock_skew
    if skew is not None and abs(skew) > totp.CLOCK_SKEW_WARNING:
        warnings.append(_clock_hint(client).strip())
    session_totp = None
    if is_self:
        session_totp = 'totp' in client.current_methods()
    return {
        'user_id': user_id,
        'user': account.user.get('name'),
        'domain_id': account.user.get('domain_id'),
        'state': state,
        'enforced': requires_totp(enabled, rules),
        'mfa_enabled': enabled,
        'rules': rules,
        'application_credentials_allowed': app_creds_allowed(enabled, rules),
        'devices': [
            {
                'id': cid,
                'name': info.get('name'),
                'created_at': info.get('created_at'),
            }
            for cid, info in sorted(
                account.devices.items(),
                key=lambda item: item[1].get('created_at', ''),
            )
        ],
        'recovery_codes_left': len(account.recovery_ids),
        'unverified_credentials': account.orphans,
        'session_used_totp': session_totp,
        'clock_skew_seconds': None if skew is None else round(skew, 1),
        'warnings': warnings,
    }


def audit(
    client: mfa_client.MFAClient, domain: str | None = None
) -> list[dict[str, Any]]:
    """One row per user, from a fixed number of requests.

    Users, every ``totp`` credential, every ``mfa-osc`` credential, the
    admin role and its (effective) assignments: five requests (six with
    a domain name to look up) however many users there are.
    """
    domain_id = client.find_domain_id(domain) if domain else None
    users = client.list_users(domain_id)
    creds = client.list_credentials(type=mfa_client.TOTP_TYPE)
    creds += client.list_credentials(type=mfa_client.BOOK_TYPE)
    admins: set[str] = set()
    for role_id in client.find_role_ids('admin'):
        for assignment in client.role_assignments(role_id):
            user_id = (assignment.get('user') or {}).get('id')
            if user_id:
                admins.add(str(user_id))
    by_user: dict[str, list[dict[str, Any]]] = {}
    for cred in creds:
        by_user.setdefault(str(cred.get('user_id')), []).append(cred)
    rows = []
    for record in users:
        enabled, rules = mfa_client.rules_of(record)
        account = _account(
            record, enabled, rules, by_user.get(str(record['id']), [])
        )
        rows.append(
            {
                'id': account.user_id,
                'name': record.get('name'),
                'domain_id': record.get('domain_id'),
                'devices': len(account.devices),
                'recovery_codes_left': len(account.recovery_ids),
                'unverified': len(account.orphans),
                'state': account.state(),
                'admin': account.user_id in admins,
            }
        )
    rows.sort(key=lambda r: (str(r['domain_id']), str(r['name'])))
    return rows
