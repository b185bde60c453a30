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

"""MFA rules as Keystone reads them, and the states of an account.

Pure functions, no I/O. Each mirrors Keystone 30's own code, not its docs
(``doc/source/security.rst`` names the function each one follows):

* the flag ``multi_factor_auth_enabled`` is on unless it is explicitly
  false: ``options.get('multi_factor_auth_enabled', True)``
  (``keystone.auth.core.UserMFARulesValidator``);
* rules that are not lists of strings, and empty rules, are dropped
  (``_parse_rule_structure``);
* each rule is reduced to the methods enabled in ``[auth] methods``; a rule
  left empty is ignored, and when every rule is left empty any sign-in
  passes ("to prevent lockout");
* a sign-in passes when its methods are a superset of one reduced rule.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
from typing import Any

Rules = list[list[str]]

#: Refuse a TOTP code alone; password and application credentials as
#: before. On before any TOTP credential exists, off once none is left.
GUARD_RULES: Rules = [['password'], ['application_credential']]
ENFORCED_RULE = ['password', 'totp']
APP_CRED_RULE = ['application_credential']

#: Keystone's default ``[auth] methods``: what a rule is judged against
#: until the cloud's own list is known.
DEFAULT_METHODS = frozenset(
    {'external', 'password', 'token', 'oauth1', 'mapped',
     'application_credential'}
)  # fmt: skip

#: What a rule is judged against when the cloud's list cannot be read:
#: Keystone's default with ``totp``, which any cloud doing MFA enables.
ASSUMED_METHODS = DEFAULT_METHODS | {'totp'}

ENABLED_OPTION = 'multi_factor_auth_enabled'
RULES_OPTION = 'multi_factor_auth_rules'

STATE_NOT_ENROLLED = 'not enrolled'
STATE_NOT_ENFORCED = 'enrolled, not enforced'
STATE_ENFORCED = 'enforced'
STATE_LOCKED_OUT = 'locked out'
STATE_CODE_ALONE = 'code alone signs in'

STATES = (
    STATE_NOT_ENROLLED,
    STATE_NOT_ENFORCED,
    STATE_ENFORCED,
    STATE_LOCKED_OUT,
    STATE_CODE_ALONE,
)


def parse(raw: object) -> Rules:
    """Rules as Keystone keeps them: lists of strings, none empty."""
    if not isinstance(raw, list):
        return []
    out: Rules = []
    for rule in raw:
        if not isinstance(rule, list) or not rule:
            continue
        if not all(isinstance(m, str) for m in rule):
            continue
        out.append(list(dict.fromkeys(rule)))
    return out


def norm(rule: Iterable[str]) -> list[str]:
    return sorted({str(m) for m in rule})


def same(a: Rules, b: Rules) -> bool:
    """Whether two rule lists are the same, order aside."""
    return sorted(norm(r) for r in a) == sorted(norm(r) for r in b)


def is_guard(rules: Rules) -> bool:
    return same(rules, GUARD_RULES)


_ORDER = {'password': 0, 'totp': 1, 'application_credential': 2}


def text(rules: Iterable[Iterable[str]]) -> str:
    """``password+totp; application_credential``, or ``none``.

    Methods within a rule go in one fixed order (password, totp, then the
    rest by name): Keystone hands rules back in set order, which varies.
    """
    return (
        '; '.join(
            '+'.join(sorted(rule, key=lambda m: (_ORDER.get(m, 3), m)))
            for rule in rules
        )
        or 'none'
    )


@dataclasses.dataclass(frozen=True)
class MFAOptions:
    """A user's MFA options as stored, and what Keystone makes of them.

    :param flag: ``multi_factor_auth_enabled`` as stored: True, False, or
        None when it is not set (which Keystone reads as on).
    :param rules: ``multi_factor_auth_rules`` as Keystone parses them.
    :param methods: the auth methods the cloud enables.
    """

    flag: bool | None
    rules: Rules
    methods: frozenset[str] = ASSUMED_METHODS

    @classmethod
    def of(
        cls,
        options: Mapping[str, Any] | None,
        methods: Collection[str] | None = None,
    ) -> MFAOptions:
        options = options or {}
        raw = options.get(ENABLED_OPTION)
        flag = None if raw is None else bool(raw)
        return cls(
            flag,
            parse(options.get(RULES_OPTION)),
            frozenset(methods) if methods else ASSUMED_METHODS,
        )

    @property
    def enabled(self) -> bool:
        """Keystone's reading of the flag: unset means on."""
        return self.flag is not False

    @property
    def effective(self) -> Rules:
        """The rules reduced to enabled methods, empty ones dropped."""
        if not self.enabled:
            return []
        out: Rules = []
        for rule in self.rules:
            kept = [m for m in rule if m in self.methods]
            if kept:
                out.append(kept)
        return out

    @property
    def ignored(self) -> Rules:
        """Rules or methods Keystone does not enforce on this cloud."""
        if not self.enabled:
            return [list(r) for r in self.rules]
        out: Rules = []
        for rule in self.rules:
            dropped = [m for m in rule if m not in self.methods]
            if dropped:
                out.append(dropped)
        return out

    def signs_in(self, *methods: str) -> bool:
        """Whether a sign-in with exactly these methods passes the rules."""
        used = set(methods)
        return not self.effective or any(
            used >= set(rule) for rule in self.effective
        )

    @property
    def totp_alone_refused(self) -> bool:
        return not self.signs_in('totp')

    @property
    def password_alone_ok(self) -> bool:
        return self.signs_in('password')

    @property
    def app_creds_allowed(self) -> bool:
        return self.signs_in('application_credential')

    @property
    def requires_totp(self) -> bool:
        """A person signs in with password and TOTP, not with either alone."""
        return (
            not self.password_alone_ok
            and self.totp_alone_refused
            and self.signs_in('password', 'totp')
        )

    def guard(self) -> Rules | None:
        """Rules that refuse a code alone and let in nothing these refuse.

        With no rules in force (none, or the flag off) that is
        :data:`GUARD_RULES`: password and application credentials as
        before. With rules, those a code alone satisfies (``["totp"]``,
        or ``["totp", "oauth1"]`` where oauth1 is not enabled) are
        dropped and the others kept as written, so no way in that the
        rules refuse opens (an application credential they refuse stays
        refused). None when no rule is left (``[["totp"]]``): refusing
        the code alone would then leave no way in that works today.
        """
        if not self.effective:
            return guard_rules()
        kept = [
            list(rule)
            for rule in self.rules
            if {m for m in rule if m in self.methods} - {'totp'}
        ]
        return kept or None

    @property
    def person_can_sign_in(self) -> bool:
        """Password, or password and TOTP, passes (devices aside)."""
        return self.signs_in('password', 'totp')

    def with_rules(self, rules: Rules | None, flag: bool | None) -> MFAOptions:
        return MFAOptions(flag, parse(rules or []), self.methods)

    def stored(self) -> dict[str, Any]:
        """The options as PATCHed back: None removes an option."""
        return {
            RULES_OPTION: [list(r) for r in self.rules] or None,
            ENABLED_OPTION: self.flag,
        }


def guard_rules() -> Rules:
    """A fresh copy of :data:`GUARD_RULES`."""
    return [list(r) for r in GUARD_RULES]


def turned_on(rules: Rules) -> dict[str, Any]:
    """The user options (a PATCH body) that put ``rules`` in force."""
    return {RULES_OPTION: [list(r) for r in rules], ENABLED_OPTION: True}


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
        if norm(rule) not in [norm(r) for r in out]:
            out.append(list(rule))
    return out


def state(options: MFAOptions, usable: int, verified: int) -> str:
    """Where an account stands.

    :param usable: ``totp`` credentials Keystone can check a code against.
    :param verified: of those, the ones that are devices (not recovery
        codes): any a code from the person's phone may match.
    """
    if usable and not options.totp_alone_refused:
        return STATE_CODE_ALONE
    if not options.password_alone_ok:
        if not usable or not options.person_can_sign_in:
            return STATE_LOCKED_OUT
        return STATE_ENFORCED
    if verified:
        return STATE_NOT_ENFORCED
    return STATE_NOT_ENROLLED
