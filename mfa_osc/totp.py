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

"""TOTP maths: secrets, passcodes and time windows.

Keystone fixes TOTP at 6 digits, HMAC-SHA1 and a 30 second period, and
stores the bare upper-case base32 secret, so those are the only parameters
here. Nothing in this module talks to a server, and nothing in it ever puts a
secret or a passcode into an error message.

pyotp is imported inside the functions that need it (secret generation and
``otpauth://`` URIs), so the sign-in path never loads it.
"""

from __future__ import annotations

import base64
import binascii
import re
import time

DIGITS = 6
PERIOD = 30
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends
MIN_SECRET_BYTES = 16  # 128 bits, the least Keystone's TOTP accepts

_SECRET_JUNK = re.compile(r'[\s\-]+')
_BASE32 = re.compile(r'^[A-Z2-7]+=*$')


class InvalidSecret(ValueError):
    """A TOTP secret that is not base32."""


class InvalidPasscode(ValueError):
    """A passcode that is not 6 digits."""


def normalize_secret(secret: str) -> str:
    """Return a secret as Keystone wants it: upper case, no spaces or dashes.

    Authenticator apps and password managers show secrets in lower case and
    in groups of four; Keystone only accepts the bare upper-case form.
    """
    cleaned = _SECRET_JUNK.sub('', secret or '').upper().rstrip('=')
    if not cleaned:
        raise InvalidSecret('The TOTP secret is empty.')
    if not _BASE32.match(cleaned):
        raise InvalidSecret(
            'The TOTP secret is not base32: it may only hold the letters '
            'A-Z and the digits 2-7 (spaces and dashes are ignored).'
        )
    padded = cleaned + '=' * (-len(cleaned) % 8)
    try:
        raw = base64.b32decode(padded)
    except binascii.Error:
        raise InvalidSecret(
            'The TOTP secret is not valid base32 (its length is wrong); '
            'check that it was copied whole.'
        ) from None
    if len(raw) < MIN_SECRET_BYTES:
        # NOTE: Keystone computes passcodes with `cryptography`, which
        # refuses keys under 128 bits: such a credential never matches.
        raise InvalidSecret(
            f'The TOTP secret is too short: it holds {len(raw) * 8} bits '
            f'where Keystone needs at least {MIN_SECRET_BYTES * 8}.'
        )
    return cleaned


def generate_secret() -> str:
    """Return a new random 160-bit secret, base32 encoded."""
    import pyotp

    return str(pyotp.random_base32(length=32))


def normalize_passcode(passcode: str) -> str:
    """Drop spaces (``123 456``) and check that 6 digits remain."""
    cleaned = re.sub(r'[\s\-]+', '', passcode or '')
    if not cleaned:
        raise InvalidPasscode('The passcode is empty: enter the 6 digits.')
    if not cleaned.isdigit() or not cleaned.isascii():
        raise InvalidPasscode(
            'The passcode may only hold digits: enter the 6 digits your '
            'authenticator app shows.'
        )
    if len(cleaned) != DIGITS:
        raise InvalidPasscode(
            f'The passcode has {len(cleaned)} digits where {DIGITS} are '
            'needed: enter the code your authenticator app shows.'
        )
    return cleaned


def passcode(secret: str, for_time: float | None = None) -> str:
    """Return the passcode of a (normalised) secret at a time, or now.

    RFC 6238 with Keystone's parameters, written out with the standard
    library (a dozen lines, checked against the RFC's test vectors) so that
    signing in never loads pyotp.
    """
    import hashlib
    import hmac
    import struct

    when = time.time() if for_time is None else for_time
    key = base64.b32decode(secret + '=' * (-len(secret) % 8))
    counter = struct.pack('>Q', int(when) // PERIOD)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def seconds_left(for_time: float | None = None) -> int:
    """Seconds until the passcode of ``for_time`` (or now) changes."""
    when = time.time() if for_time is None else for_time
    return PERIOD - int(when) % PERIOD


def window_offset(
    secret: str,
    code: str,
    for_time: float | None = None,
    reach: int = 4,
) -> int | None:
    """Return which 30 s window ``code`` belongs to, relative to now.

    0 means the current window, -1 the previous one, 2 two windows ahead;
    None means no window within ``reach`` of now. Used to tell a wrong code
    from a clock that is off.
    """
    import hmac

    when = time.time() if for_time is None else for_time
    for offset in sorted(range(-reach, reach + 1), key=abs):
        candidate = passcode(secret, when + offset * PERIOD)
        if hmac.compare_digest(candidate, code):
            return offset
    return None


#: Clock difference (seconds) from Keystone worth telling the user about.
CLOCK_SKEW_WARNING = 15


def clock_skew(
    date_header: str | None, now: float | None = None
) -> float | None:
    """Seconds this machine's clock is ahead of a server's ``Date`` header."""
    import datetime
    import email.utils

    if not date_header:
        return None
    try:
        server = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if server.tzinfo is None:
        server = server.replace(tzinfo=datetime.UTC)
    return (time.time() if now is None else now) - server.timestamp()


def describe_skew(skew: float | None) -> str:
    """A sentence about the clock when it is off by more than 15 s, or ''."""
    if skew is None or abs(skew) <= CLOCK_SKEW_WARNING:
        return ''
    direction = 'ahead of' if skew > 0 else 'behind'
    return (
        f" This machine's clock is {abs(skew):.0f} seconds {direction} "
        "Keystone's, and passcodes depend on the time: synchronise the "
        'clock (for example `timedatectl set-ntp true`) and try again.'
    )


def keystone_key(blob: object) -> bytes | None:
    """The key Keystone computes passcodes from, or None if it cannot.

    Mirrors ``keystone.auth.plugins.totp._generate_totp_passcodes``: the
    blob is padded with ``=`` to a multiple of 8 and base32-decoded case
    sensitively (lower case, spaces or stray padding fail), and
    ``cryptography`` refuses keys under 128 bits; Keystone skips such a
    credential silently, so no code from it ever signs in.
    """
    if not isinstance(blob, str) or not blob:
        return None
    padded = blob + '=' * (-len(blob) % 8)
    try:
        key = base64.b32decode(padded.encode('utf-8'))
    except (binascii.Error, ValueError):
        return None
    return key if len(key) >= MIN_SECRET_BYTES else None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """Return the ``otpauth://totp/...`` URI that authenticator apps scan."""
    import pyotp

    return str(
        pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
            name=account, issuer_name=issuer
        )
    )
