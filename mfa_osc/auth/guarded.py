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

"""The answers of mfa-osc's guard in front of Keystone, as the plugin reads
them.

Where Keystone is served behind the guard (``mfa_osc.guard.wsgi``), every
answer to a token request carries ``OpenStack-MFA-Guard: 1``, and the
guard's own refusals keep Keystone's error shape with
``error.mfa_guard.reason``: ``locked`` (429, ``until``, ``retry_after``),
``replayed`` (401), ``policy`` (403, ``deadline``) and ``unavailable``
(503). Here each becomes the plugin's error
(:class:`~mfa_osc.auth.exceptions.GuardRefusal`), worded as what to do
next; what a sign-in does with each (a used passcode at the prompt is
asked again, ...) is :mod:`mfa_osc.auth.guard_answers`. The guard's
module is a server-side layer that the plugin never imports: the
contract is the answer's shape, read here. Standard library and
keystoneauth only.
"""

from __future__ import annotations

import datetime
import math
import re
import sys
import time
from typing import Any
from typing import TextIO

from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.client import errors

#: The header on every answer the guard gave to a token request.
HEADER = 'OpenStack-MFA-Guard'
#: Keystone's TOTP period, in seconds.
PERIOD = 30
#: Seconds past the next window's start (by Keystone's clock) before a
#: passcode command runs again: its own clock may be a little behind.
MARGIN = 2
UNLOCK_COMMAND = 'openstack mfa unlock --user {user}'
ENROLL_COMMAND = 'openstack mfa enroll'
#: What the person at the prompt is told (the guard's own words).
REPLAYED_AT_PROMPT = 'That passcode was used already: wait for the next one.'


def enforced(response: Any) -> bool:
    """Whether the answer came through the guard (which then holds the
    domain's MFA policy on the server)."""
    headers = getattr(response, 'headers', None) or {}
    return str(headers.get(HEADER, '')).strip() == '1'


def _message(response: Any) -> str:
    try:
        message = response.json()['error']['message']
    except (AttributeError, KeyError, TypeError, ValueError):
        return ''
    return message if isinstance(message, str) else ''


def refusal(response: Any, user: str | None) -> exceptions.GuardRefusal | None:
    """The plugin's error for a guard's refusal in ``response``, or None
    when the answer is not one. ``user``: who signs in, as the plugin
    knows them (an ID, else a name), for the unlock command."""
    guard = errors.guard_details(response)
    if guard is None:
        return None
    status = getattr(response, 'status_code', None)
    reason = guard['reason']
    if reason == 'locked' and status == 429:
        return locked(response, guard, user)
    if reason == 'replayed' and status == 401:
        return exceptions.PasscodeReplayed(REPLAYED_AT_PROMPT)
    if reason == 'policy' and status == 403:
        deadline = guard.get('deadline')
        return policy_refused(deadline if isinstance(deadline, str) else None)
    if reason == 'unavailable' and status == 503:
        return exceptions.GuardUnavailable(
            "Keystone's MFA guard could not check this sign-in and refused "
            'it (HTTP 503): try again in a minute, and if it persists tell '
            'the operator of this cloud.'
        )
    return None


def _retry_after(response: Any, guard: dict[str, Any]) -> int | None:
    value: Any = guard.get('retry_after')
    if value is None:
        headers = getattr(response, 'headers', None) or {}
        value = headers.get('Retry-After')
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _until(guard: dict[str, Any]) -> datetime.datetime | None:
    value = guard.get('until')
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def how_long(seconds: int) -> str:
    """``seconds`` in words, rounded up: 45 seconds, 29 minutes, 1 hour
    and 5 minutes."""
    if seconds < 60:
        return f'{seconds} second{"s" if seconds != 1 else ""}'
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f'{minutes} minute{"s" if minutes != 1 else ""}'
    hours, minutes = divmod(minutes, 60)
    text = f'{hours} hour{"s" if hours != 1 else ""}'
    if minutes:
        text += f' and {minutes} minute{"s" if minutes != 1 else ""}'
    return text


def local_time(
    moment: datetime.datetime, today: datetime.date | None = None
) -> str:
    """``moment`` in this machine's time zone: the time, with the date
    when it is not today."""
    local = moment.astimezone()
    today = today or datetime.datetime.now().astimezone().date()
    shown = (
        local.strftime('%H:%M:%S')
        if local.date() == today
        else local.strftime('%Y-%m-%d %H:%M:%S')
    )
    zone = local.strftime('%Z')
    return f'{shown} {zone}' if zone else shown


def _unlock_user(response: Any, user: str | None) -> str:
    # NOTE: the guard names the user as it counted them (the ID when
    # Keystone knows the user), which the unlock command takes.
    found = re.search(r'--user ([^\s`]+)`', _message(response))
    if found:
        return found.group(1)
    return user or '<user>'


def locked(
    response: Any, guard: dict[str, Any], user: str | None
) -> exceptions.TOTPLocked:
    """The sentence for a locked TOTP sign-in: until when (this machine's
    local time), in how long, and who can end it."""
    retry_after = _retry_after(response, guard)
    until = _until(guard)
    if until is None and retry_after is not None:
        until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            seconds=retry_after
        )
    if until is not None:
        when = f' until {local_time(until)} local time'
        if retry_after is not None:
            when += f' (in {how_long(retry_after)})'
    else:
        when = ''
    command = UNLOCK_COMMAND.format(user=_unlock_user(response, user))
    return exceptions.TOTPLocked(
        'TOTP sign-in of this account is locked after too many wrong '
        f'passcodes{when}: it ends by itself then, or an administrator can '
        f'end it early with `{command}`.'
    )


def policy_refused(deadline: str | None) -> exceptions.GuardPolicyRefused:
    """The guard refused a token without a second factor."""
    since = f' since {deadline}' if deadline else ''
    return exceptions.GuardPolicyRefused(
        f"Your domain's policy requires MFA{since}, so Keystone refused this "
        'sign-in without a passcode: sign in with a passcode (--os-passcode, '
        '--os-passcode-command, or at the prompt on a terminal), or set up a '
        f'device with `{ENROLL_COMMAND}` on a terminal.',
        deadline,
    )


def replayed_fixed(
    given: str, recovering: bool
) -> exceptions.PasscodeReplayed:
    """A passcode given up front was used already (it cannot be read
    again)."""
    if recovering:
        return exceptions.PasscodeReplayed(
            f'The recovery code from {given} signed in already and works '
            'once: use another recovery code, or a current passcode from a '
            'device.'
        )
    return exceptions.PasscodeReplayed(
        f'The passcode from {given} signed in already and a passcode works '
        'once: give the next code of the authenticator app (it changes '
        'every 30 seconds), or a passcode command (--os-passcode-command) '
        'that reads a new one each time.'
    )


def replayed_again(
    origin: str, given: str = ''
) -> exceptions.PasscodeReplayed:
    """A used passcode again: after the wait (a passcode command, a TOTP
    secret's code), or at the prompt's last try."""
    if origin in ('command', 'totp_secret'):
        what = (
            'The passcode command printed'
            if origin == 'command'
            else f'The TOTP secret in {given} gave'
        )
        return exceptions.PasscodeReplayed(
            f'{what} a passcode that signed in already, also after waiting '
            "for the next 30-second window by Keystone's clock: check this "
            "machine's clock, and that no other sign-in of this account "
            'uses the same device at the same time.'
        )
    return exceptions.PasscodeReplayed(
        'That passcode was used already, and the prompt has no tries left: '
        'run the command again with the next code.'
    )


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def wait_for_next_window(
    skew: float | None, out: TextIO | None = None
) -> float:
    """Wait until the next 30-second window by Keystone's clock (``skew``:
    seconds this machine's is ahead), saying so on standard error; the
    seconds waited."""
    now = clock.server_now(skew)
    wait = PERIOD - (now % PERIOD) + MARGIN
    out = out or sys.stderr
    out.write(
        'That passcode was used already: waiting '
        f"{math.ceil(wait)} seconds for the next one (by Keystone's clock).\n"
    )
    out.flush()
    _sleep(wait)
    return wait
