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

NOTE: "a rule left empty is ignored" holds from Keystone 28 (bug 2102096).
Before it (Keystone 21 to 27, which mfa-osc supports) a rule left empty is
kept, and every sign-in is a superset of the empty set: one rule whose
methods the cloud all disables lets ANY sign-in in, the code alone and the
password alone included. So mfa-osc never writes such a rule
(:func:`turned_on` drops them as a last line of defence), and an account
whose rules hold one is never reported enforced (:func:`state`).

One module, because each reading above builds on the last (the rules
reduced to the enabled methods, the guard rules, an account's state): a
change to how Keystone reads a rule is made here once, for every judgement.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
from typing import Any

Rules = list[list[str]]

#: Methods each put alone in a rule of the guard rules when the cloud
#: enables them: every way in that is not a TOTP code. Never one the cloud
#: does not enable: Keystone before 28 reduces such a rule to the empty
#: set, which every sign-in satisfies. Federated sign-ins are checked
#: against the rules too, under their protocol's ID (``mapped``, or a
#: protocol listed in ``[auth] methods``: :func:`guard_rules` adds those
#: the cloud enables).
GUARD_METHODS = (
    'password',
    'application_credential',
    'external',
    'oauth1',
    'mapped',
)
#: Never alone in a guard rule: the code itself, and ``token``: a rescope
#: carries its parent token's methods plus ``token``, so ``["token"]``
#: would let a token of a code-alone sign-in be rescoped.
NOT_GUARDED = frozenset({'totp', 'token'})
#: The guard rules of earlier mfa-osc releases: they also refused
#: federated, ``external`` and ``oauth1`` sign-ins, which locked those
#: users out. Recognised (:func:`is_legacy_guard`) and replaced by
#: :func:`guard_rules`, which refuse a TOTP code alone and nothing else.
LEGACY_GUARD_RULES: Rules = [['password'], ['application_credential']]
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

#: Methods every release mfa-osc supports enables by default: guard rules
#: written on any cloud that keeps them enabled name both.
BASE_GUARD = frozenset({'password', 'application_credential'})

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


class MethodsUnknown(ValueError):
    """The cloud's enabled auth methods are not known: no rules are written."""

    def __init__(self) -> None:
        super().__init__(
            'Keystone did not say which auth methods it enables (its answer '
            'to a sign-in with an unknown method had no error.identity.'
            'methods), so MFA rules cannot be checked against [auth] methods '
            '(before Keystone 28 a rule naming only methods it does not '
            'enable lets every sign-in in): no MFA rules were changed. Check '
            'that the auth URL reaches Keystone itself and not a proxy that '
            'rewrites its errors, then run the command again.'
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


def is_legacy_guard(rules: Rules) -> bool:
    """The guard rules of an earlier release (:data:`LEGACY_GUARD_RULES`)."""
    return same(rules, LEGACY_GUARD_RULES)


def is_guard(rules: Rules, methods: Collection[str] | None = None) -> bool:
    """Guard rules mfa-osc set, of this release or an earlier one.

    Today's are one rule per method the cloud enables but ``totp`` and
    ``token`` (:func:`guard_rules`): on clouds that enable fewer methods
    than Keystone's default they name fewer, so what is required is
    single-method rules, none ``totp`` or ``token``, with ``password``
    and ``application_credential`` among them (:data:`BASE_GUARD`,
    enabled by default on every release), and, when the cloud's
    ``methods`` are given, every rule :func:`guard_rules` gives there
    (so that rules an administrator wrote to refuse a way in are not
    taken for the guard).
    """
    if is_legacy_guard(rules):
        return True
    if not rules or any(len(rule) != 1 for rule in rules):
        return False
    named = {rule[0] for rule in rules}
    if not BASE_GUARD <= named or named & NOT_GUARDED:
        return False
    return methods is None or {r[0] for r in guard_rules(methods)} <= named


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
    #: Whether ``methods`` were read from the cloud (False: assumed, good
    #: for reading only; :meth:`write_methods` refuses).
    known: bool = True
    #: Ways in the account is known to have besides a password: the
    #: federated protocols of its user record (``GET /v3/users/{id}``
    #: says them; a list of users does not).
    own: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        options: Mapping[str, Any] | None,
        methods: Collection[str] | None = None,
        own: Collection[str] = (),
        known: bool | None = None,
    ) -> MFAOptions:
        """``known`` defaults to whether ``methods`` were given."""
        options = options or {}
        raw = options.get(ENABLED_OPTION)
        flag = None if raw is None else bool(raw)
        return cls(
            flag,
            parse(options.get(RULES_OPTION)),
            frozenset(methods) if methods else ASSUMED_METHODS,
            bool(methods) if known is None else known,
            frozenset(own),
        )

    def write_methods(self) -> frozenset[str]:
        """The enabled methods, to write rules by; raises
        :class:`MethodsUnknown` when they were assumed, not read: a check
        that cannot decide refuses."""
        if not self.known:
            raise MethodsUnknown()
        return self.methods

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

    @property
    def legacy_guard(self) -> bool:
        """The guard rules of an earlier release are in force, and today's
        differ (on a cloud that enables only ``password`` and
        ``application_credential`` of :data:`GUARD_METHODS` they are the
        same, and nothing is to repair)."""
        return (
            self.enabled
            and is_legacy_guard(self.rules)
            and not same(self.rules, guard_rules(self.methods))
        )

    @property
    def void_rules(self) -> Rules:
        """Rules in force none of whose methods the cloud enables.

        Keystone 28 and later ignore them; before 28 each is reduced to
        the empty set, which EVERY sign-in satisfies (the code alone
        included). The API does not say the release cheaply, so an
        account with one is never judged enforced (:func:`state`).
        """
        if not self.enabled:
            return []
        return [list(r) for r in self.rules if not self._reduced(r)]

    def signs_in(self, *methods: str) -> bool:
        """Whether a sign-in with exactly these methods passes the rules."""
        used = set(methods)
        return not self.effective or any(
            used >= set(rule) for rule in self.effective
        )

    def signs_in_before_28(self, *methods: str) -> bool:
        """:meth:`signs_in` as Keystone before 28 judges it: a rule
        reduced to nothing is kept, and every sign-in satisfies it."""
        if not self.enabled or not self.rules:
            return True
        used = set(methods)
        return any(used >= self._reduced(rule) for rule in self.rules)

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

    def _reduced(self, rule: Iterable[str]) -> set[str]:
        return {m for m in rule if m in self.methods}

    @property
    def ways(self) -> list[str]:
        """The methods that sign in alone without a code, as guard rules
        name them: :data:`GUARD_METHODS` and the other methods the cloud
        enables, ``totp`` and ``token`` aside."""
        return [r[0] for r in guard_rules(self.methods)]

    def guard(self) -> Rules | None:
        """Rules that refuse a code alone and nothing else that passes now.

        With no rules in force (none, or the flag off), and for the guard
        rules of an earlier release (which refused federated sign-ins),
        that is :func:`guard_rules`: one rule per way in that is not the
        code. With rules, each rule a code alone satisfies (``["totp"]``,
        or ``["totp", "oauth1"]`` where oauth1 is not enabled) is replaced
        by the same rule plus each other way in (``password+totp``,
        ``mapped+totp``, ...; one another rule already covers is left
        out), and the other rules are kept as written. So every sign-in
        that passes today still does, except those whose methods other
        than ``token`` are the code alone; and nothing passes that the
        rules refused (each new rule is a superset of one they had).
        None when every rule in force needs the code (``[["totp"]]``):
        the code may be the only way in the person knows.
        """
        if not self.effective or self.legacy_guard:
            return guard_rules(self.methods) or None
        ways = [m for m in self.ways if m in self.methods]
        out: Rules = []
        for rule in self.rules:
            reduced = self._reduced(rule)
            # NOTE: a rule of only disabled methods is dropped, not kept
            # as written: Keystone 28+ ignores it, and before 28 it lets
            # every sign-in in.
            if reduced - {'totp'}:
                out.append(list(rule))
        covered = [self._reduced(r) for r in out if self._reduced(r)]
        if not covered:
            # NOTE: every rule in force needs the code ([["totp"]]): the
            # code may be the only way in the person knows, so requiring
            # a password too could lock them out. Left to adopting the
            # credential (a code from it checked), or to enrollment.
            return None
        for rule in self.rules:
            reduced = self._reduced(rule)
            if not reduced or reduced - {'totp'}:
                continue
            for method in ways:
                wider = reduced | {method}
                if any(have <= wider for have in covered):
                    continue
                out.append([*rule, method])
                covered.append(wider)
        return out

    @property
    def refuses_own(self) -> bool:
        """The rules refuse a way in the account is known to have alone
        (a federated protocol of the user record: its only way in)."""
        return any(not self.signs_in(m) for m in self.own)

    @property
    def person_can_sign_in(self) -> bool:
        """Password, or password and TOTP, passes (devices aside)."""
        return self.signs_in('password', 'totp')

    def own_rules(self) -> Rules:
        """A rule for each federated protocol of the user record that the
        cloud enables and the rules let in today: a shadow user's only way
        in (no password, and a federated sign-in carries no code)."""
        return [
            [m]
            for m in sorted(self.own)
            if m in self.methods and self.signs_in(m)
        ]

    def enforced(self, application_credentials: bool) -> Rules:
        """The rules that require a password and a code, merged with the
        rules in force (:func:`enforced_rules`), keeping a federated
        user's own protocol (:meth:`own_rules`)."""
        return enforced_rules(
            self.effective + self.own_rules(),
            application_credentials,
            self.methods,
        )

    def with_rules(self, rules: Rules | None, flag: bool | None) -> MFAOptions:
        return MFAOptions(
            flag, parse(rules or []), self.methods, self.known, self.own
        )

    def stored(self) -> dict[str, Any]:
        """The options as PATCHed back: None removes an option."""
        return {
            RULES_OPTION: [list(r) for r in self.rules] or None,
            ENABLED_OPTION: self.flag,
        }


def guard_rules(methods: Collection[str]) -> Rules:
    """The guard rules: one rule per way in that is not a TOTP code.

    The :data:`GUARD_METHODS` the cloud enables (``methods``, its
    ``[auth] methods``), then each other method it enables (federation
    protocols such as ``openid`` or ``saml2`` sign in under their own
    name) but ``totp`` and ``token``. Never a method it does not enable:
    before Keystone 28 such a rule lets every sign-in in.
    """
    enabled = set(methods)
    extra = sorted(enabled - NOT_GUARDED - set(GUARD_METHODS))
    return [[m] for m in (*GUARD_METHODS, *extra) if m in enabled]


def turned_on(rules: Rules, methods: Collection[str]) -> dict[str, Any]:
    """The user options (a PATCH body) that put ``rules`` in force.

    ``methods``: the cloud's enabled methods
    (:meth:`MFAOptions.write_methods`). NOTE: the last line of defence,
    every rule written goes through here: a rule none of whose methods
    the cloud enables is dropped (before Keystone 28 it lets every
    sign-in in), and rules left empty are refused (no rules in force let
    a code alone in).
    """
    enabled = set(methods)
    kept = [list(r) for r in rules if enabled & set(r)]
    if not kept:
        raise ValueError(
            f'No rule of {text(rules)} names a method this cloud enables.'
        )
    return {RULES_OPTION: kept, ENABLED_OPTION: True}


def enforced_rules(
    base: Rules, application_credentials: bool, methods: Collection[str]
) -> Rules:
    """The rules that enforce MFA, merged with the rules in ``base``.

    Rules a password or a TOTP code satisfies alone are dropped (they
    would make MFA pointless or the code alone enough), and so is the
    application-credential rule when those are not to be allowed, and
    any rule none of whose methods the cloud enables (``methods``).
    """
    enabled = set(methods)
    out: Rules = [list(ENFORCED_RULE)]
    if application_credentials and enabled & set(APP_CRED_RULE):
        out.append(list(APP_CRED_RULE))
    for rule in base:
        named = set(rule)
        if not named & enabled:
            continue
        if named <= {'password'} or named <= {'totp'}:
            continue
        if named == {'application_credential'} and not (
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
    if options.void_rules:
        # NOTE: before Keystone 28 such a rule lets every sign-in in,
        # and the release cannot be read cheaply: never judged enforced.
        if usable:
            return STATE_CODE_ALONE
        return STATE_NOT_ENFORCED if verified else STATE_NOT_ENROLLED
    if options.refuses_own:
        # NOTE: a federated user has no password: rules that refuse their
        # protocol leave no way in (the guard rules of earlier releases).
        return STATE_LOCKED_OUT
    if not options.password_alone_ok:
        if not usable or not options.person_can_sign_in:
            return STATE_LOCKED_OUT
        return STATE_ENFORCED
    if verified:
        return STATE_NOT_ENFORCED
    return STATE_NOT_ENROLLED
