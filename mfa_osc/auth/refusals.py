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

"""What Keystone's refusal of a sign-in means, worded as what to do next.

Keystone answers 401 alike for a wrong password, a wrong passcode, a
used-up recovery code and a method it does not enable; an auth receipt
says which methods it accepted and which rules are left. These functions
read what the answer holds (the enabled methods, the receipt's user and
rules, the ``Date`` header) and build the plugin's error for it. They send
no request and keep no state: the plugin decides when each applies.
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ksa_exc

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.auth import clock
from mfa_osc.auth import exceptions
from mfa_osc.auth import options as auth_options

#: How many times a person may retype a refused passcode at the prompt.
PROMPT_ATTEMPTS = 3


def clock_skew(response: Any) -> float | None:
    """Seconds this machine's clock is ahead of the response's ``Date``."""
    return clock.skew_of(response)


def enabled_methods(error: ksa_exc.HttpError) -> list[str] | None:
    """The methods Keystone lists as enabled in a 401 body, if any."""
    if error.response is None:
        return None
    try:
        body = error.response.json()
        methods = body['error']['identity']['methods']
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return [str(m) for m in methods] if isinstance(methods, list) else None


def receipt_user(needs: ksa_exc.MissingAuthMethods) -> str | None:
    """The user ID of an auth receipt, if Keystone sent one."""
    try:
        user_id = needs.response.json()['receipt']['user']['id']
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return user_id if isinstance(user_id, str) else None


def receipt_expired_by_clock(
    needs: ksa_exc.MissingAuthMethods, skew: float | None = None
) -> bool:
    """Whether an auth receipt has expired by Keystone's clock.

    ``skew``: seconds this machine's clock is ahead of Keystone's (None:
    unknown, this machine's clock is all there is).
    """
    return bool(needs.expires_at) and (
        needs.expires_at.timestamp() < clock.server_now(skew)
    )


def password_refused(
    exc: ksa_exc.Unauthorized, why: str = ''
) -> exceptions.PasswordRejected:
    """Keystone refused a password sent alone."""
    return exceptions.PasswordRejected(
        f'Keystone refused the password{why}: check the password, the user '
        'name and its domain (a disabled or locked-out user is refused the '
        'same way)',
        response=exc.response,
        request_id=exc.request_id,
        url=exc.url,
        method=exc.method,
    )


def receipt_expired() -> exceptions.ReceiptExpired:
    """The passcode came after the auth receipt's end."""
    return exceptions.ReceiptExpired(
        'The password was accepted but the passcode came too late: '
        "Keystone's auth receipt expired (it lasts 5 minutes by "
        'default). Run the command again and enter the passcode sooner.'
    )


def totp_not_enabled(enabled: list[str]) -> exceptions.TOTPNotEnabled:
    """The cloud's Keystone does not enable the ``totp`` method."""
    return exceptions.TOTPNotEnabled(
        'This cloud does not accept TOTP passcodes: its Keystone '
        'enables only the methods {}. The operator must add totp to '
        '[auth] methods in keystone.conf (MFA rules naming totp are '
        'not enforced until then).'.format(', '.join(enabled))
    )


def passcode_refused(
    exc: ksa_exc.Unauthorized,
    source: str,
    given: str,
    *,
    recovering: bool,
    password_ok: bool | None,
) -> exceptions.MFAError:
    """The error for a refused passcode, saying what to do next.

    ``source``: the option the passcode came from, ``command`` or
    ``prompt``; ``given``: how that option was given (``OS_PASSCODE``...);
    ``recovering``: the code sent was a recovery code's; ``password_ok``:
    True when Keystone accepted the password (a receipt), None for a
    sign-in without a password.
    """
    enabled = enabled_methods(exc)
    if enabled is not None and 'totp' not in enabled:
        return totp_not_enabled(enabled)
    hint = totp.describe_skew(clock_skew(exc.response))
    if source == 'totp_secret':
        what = f'the passcode computed from the TOTP secret in {given}'
    elif source == 'command':
        what = 'the passcode that the passcode command printed'
    elif source == 'prompt':
        what = 'the recovery code' if recovering else 'the passcode'
        what += f' (after {PROMPT_ATTEMPTS} tries)'
    else:
        what = 'the recovery code' if recovering else 'the passcode'
        what += f' from {given}'
    if password_ok:
        head = (
            'Keystone refused the sign-in: the password was accepted, '
            f'{what} was not.'
        )
    else:
        head = f'Keystone refused the sign-in: {what} was not accepted.'
    if recovering:
        advice = (
            ' A recovery code works once: use another one, or a current '
            'passcode from a device. Check what is left with `openstack '
            'mfa status` once signed in, or ask an administrator to '
            'reset MFA.'
        )
    elif source == 'totp_secret':
        advice = (
            ' Check that it is the secret of a device of this account '
            '(`openstack mfa passcode show` prints its current code).'
        )
    elif source == 'command':
        advice = (
            ' Check that the command prints the current code of a '
            'device of this account.'
        )
    else:
        advice = (
            ' Passcodes change every 30 seconds; use the current one '
            'from the authenticator app.'
        )
    return exceptions.PasscodeRejected(head + advice + hint, hint=hint)


def unsatisfiable(
    needs: ksa_exc.MissingAuthMethods, methods: tuple[str, ...]
) -> exceptions.UnsatisfiableRules:
    """Keystone wants methods that a sign-in with ``methods`` lacks."""
    done = '+'.join(sorted(needs.methods)) or 'nothing'
    rules = needs.required_auth_methods or []
    reachable = [r for r in rules if set(r) <= {'password', 'totp'}]
    want = mfa_rules.text(rules)
    if reachable:
        wanted = ','.join(
            m for m in ('password', 'totp') if m in min(reachable, key=len)
        )
        given = auth_options.given_as('auth_methods', None)
        if given.startswith('--'):
            step = f'sign in with {given} {wanted}'
        elif given.startswith('OS_'):
            step = f'set {given}={wanted}'
        elif auth_options.in_openstack_cli():
            step = (
                f'sign in with --os-auth-methods {wanted} (or set '
                f'auth_methods: {wanted} under auth: in clouds.yaml)'
            )
        else:
            step = (
                f"give auth_methods='{wanted}' (an openstack.connect() "
                'argument or a key under auth: in clouds.yaml)'
            )
        return exceptions.UnsatisfiableRules(
            f'Keystone accepted {done}, but the MFA rules of this account '
            f'want one of: {want}, and this sign-in uses only '
            f'{"+".join(methods)}: {step}.'
        )
    user = receipt_user(needs)
    return exceptions.UnsatisfiableRules(
        f'Keystone accepted {done}, but the MFA rules of this account '
        f'want one of: {want}, and v3multifactor signs in with a '
        'password and a TOTP passcode only. Ask an administrator to '
        'check the rules (`openstack mfa status --user '
        f'{user or "USER"}`).'
    )


def _drop(given: str) -> str:
    """How to stop giving an option, from how it was given."""
    if given.startswith('OS_'):
        return f'unset {given}'
    return f'leave out {given}'


def not_needed(source: str, given: str, enabled: list[str] | None) -> str:
    """The notice that a code given up front was not used."""
    what = {
        'passcode': 'passcode from',
        'totp_secret': 'passcode computed from the TOTP secret in',
        'recovery_code': 'recovery code from',
    }[source]
    kept = ' (it is not used up)' if source == 'recovery_code' else ''
    if enabled is not None and 'totp' not in enabled:
        return (
            'Signed in with the password alone: this cloud does not '
            'accept TOTP passcodes (its Keystone enables only the '
            f'methods {", ".join(enabled)}), so the {what} {given} was not '
            f'used{kept}. The operator must add totp to [auth] methods in '
            'keystone.conf (MFA rules naming totp are not enforced until '
            'then).'
        )
    return (
        'Signed in with the password alone: Keystone did not accept '
        f'the {what} {given}{kept}, and the MFA rules of this account do not '
        f'ask for one. To sign in with one request, {_drop(given)} for this '
        'account.'
    )


def no_role(auth: Any, name: str | None) -> exceptions.NoRoleOnScope:
    """The user is signed in, but not on the scope ``auth`` (the plugin)
    asked for; ``name`` is the user's name from the token, if it has one."""
    if auth.project_id or auth.project_name:
        what = 'project ' + str(auth.project_id or auth.project_name)
        domain = auth.project_domain_id or auth.project_domain_name
        if auth.project_name and domain:
            what += f' (domain {domain})'
    elif auth.domain_id or auth.domain_name:
        what = 'domain ' + str(auth.domain_id or auth.domain_name)
    elif auth.system_scope:
        what = f'system scope {auth.system_scope}'
    else:
        what = 'the trust ' + str(auth.trust_id)
    who = name or auth.username or auth.user_id or 'this user'
    # NOTE: in the words of the program at hand: OSC's flags, or
    # openstacksdk's arguments (which clouds.yaml keys share).
    names = (
        '--os-project-name, --os-project-domain-name'
        if auth_options.in_openstack_cli()
        else 'project_name=, project_domain_name= or their clouds.yaml keys'
    )
    return exceptions.NoRoleOnScope(
        f'Signed in as {who}, but {who} has no role on {what}, or there '
        f'is no such project or domain: check the name and its domain '
        f'({names}), or ask an administrator for a role on it. The '
        'sign-in is kept: the next command does not ask for a passcode '
        'again.'
    )
