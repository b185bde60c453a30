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

"""MFA rules read as Keystone 30 reads them (mfa_osc.rules)."""

from __future__ import annotations

from typing import Any

from oslotest import base

from mfa_osc import rules as mfa_rules

METHODS = frozenset({'password', 'token', 'totp', 'application_credential'})
ENFORCED = [['password', 'totp'], ['application_credential']]


def of(
    rules: Any = None, flag: Any = None, methods: Any = METHODS
) -> mfa_rules.MFAOptions:
    options: dict[str, Any] = {}
    if rules is not None:
        options[mfa_rules.RULES_OPTION] = rules
    if flag is not None:
        options[mfa_rules.ENABLED_OPTION] = flag
    return mfa_rules.MFAOptions.of(options, methods)


class TestFlag(base.BaseTestCase):
    def test_unset_is_on(self) -> None:
        options = of(ENFORCED)
        self.assertIsNone(options.flag)
        self.assertTrue(options.enabled)
        self.assertTrue(options.requires_totp)
        self.assertTrue(options.totp_alone_refused)
        self.assertFalse(options.password_alone_ok)

    def test_true(self) -> None:
        options = of(ENFORCED, True)
        self.assertIs(True, options.flag)
        self.assertTrue(options.enabled)
        self.assertTrue(options.requires_totp)

    def test_false_ignores_the_rules(self) -> None:
        options = of(ENFORCED, False)
        self.assertIs(False, options.flag)
        self.assertFalse(options.enabled)
        self.assertEqual([], options.effective)
        self.assertEqual(ENFORCED, options.ignored)
        self.assertTrue(options.signs_in('totp'))
        self.assertFalse(options.totp_alone_refused)
        self.assertTrue(options.password_alone_ok)
        self.assertFalse(options.requires_totp)
        # The rules are kept as stored: restoring them keeps them.
        self.assertEqual(ENFORCED, options.rules)

    def test_no_options(self) -> None:
        for options in (
            mfa_rules.MFAOptions.of(None),
            mfa_rules.MFAOptions.of({}),
        ):
            self.assertIsNone(options.flag)
            self.assertEqual([], options.rules)
            self.assertEqual(mfa_rules.ASSUMED_METHODS, options.methods)
            self.assertTrue(options.signs_in('totp'))
            self.assertFalse(options.totp_alone_refused)

    def test_stored(self) -> None:
        self.assertEqual(
            {
                mfa_rules.RULES_OPTION: None,
                mfa_rules.ENABLED_OPTION: None,
            },
            of().stored(),
        )
        self.assertEqual(
            {
                mfa_rules.RULES_OPTION: ENFORCED,
                mfa_rules.ENABLED_OPTION: False,
            },
            of(ENFORCED, False).stored(),
        )

    def test_with_rules(self) -> None:
        options = of(methods={'password', 'totp'})
        guarded = options.with_rules(mfa_rules.LEGACY_GUARD_RULES, True)
        self.assertEqual(mfa_rules.LEGACY_GUARD_RULES, guarded.rules)
        self.assertIs(True, guarded.flag)
        self.assertEqual(options.methods, guarded.methods)
        cleared = guarded.with_rules(None, None)
        self.assertEqual([], cleared.rules)
        self.assertIsNone(cleared.flag)


class TestMethods(base.BaseTestCase):
    def test_totp_with_disabled_method_is_code_alone(self) -> None:
        options = of([['totp', 'bogus']])
        self.assertEqual([['totp']], options.effective)
        self.assertEqual([['bogus']], options.ignored)
        self.assertTrue(options.signs_in('totp'))
        self.assertFalse(options.totp_alone_refused)
        self.assertFalse(options.password_alone_ok)

    def test_rule_with_disabled_method_lets_password_alone(self) -> None:
        options = of(
            [
                ['password', 'totp'],
                ['application_credential'],
                ['password', 'bogus'],
            ]
        )
        self.assertIn(['password'], options.effective)
        self.assertTrue(options.password_alone_ok)
        self.assertFalse(options.requires_totp)
        self.assertTrue(options.totp_alone_refused)
        self.assertTrue(options.app_creds_allowed)

    def test_all_rules_disabled_lets_everything_in(self) -> None:
        # Keystone: every rule empty once reduced, "to prevent lockout".
        options = of([['oauth1']])
        self.assertEqual([], options.effective)
        self.assertEqual([['oauth1']], options.ignored)
        for methods in (('totp',), ('password',), ('token',), ()):
            self.assertTrue(options.signs_in(*methods), methods)
        self.assertFalse(options.totp_alone_refused)

    def test_keystone_default_methods_have_no_totp(self) -> None:
        options = mfa_rules.MFAOptions.of(
            {mfa_rules.RULES_OPTION: [['password', 'totp']]},
            mfa_rules.DEFAULT_METHODS,
        )
        self.assertNotIn('totp', options.methods)
        self.assertEqual([['password']], options.effective)
        self.assertTrue(options.password_alone_ok)
        self.assertFalse(options.requires_totp)

    def test_superset_passes(self) -> None:
        options = of(ENFORCED)
        self.assertTrue(options.signs_in('password', 'totp', 'token'))
        self.assertFalse(options.signs_in('password', 'token'))
        self.assertTrue(options.signs_in('application_credential'))
        self.assertTrue(options.person_can_sign_in)

    def test_guard(self) -> None:
        options = of(mfa_rules.LEGACY_GUARD_RULES)
        self.assertTrue(options.totp_alone_refused)
        self.assertTrue(options.password_alone_ok)
        self.assertTrue(options.app_creds_allowed)
        self.assertFalse(options.requires_totp)
        self.assertTrue(mfa_rules.is_guard(options.rules))
        self.assertTrue(
            mfa_rules.is_guard([['application_credential'], ['password']])
        )
        self.assertFalse(mfa_rules.is_guard(ENFORCED))

    def test_requires_totp_refuses_app_creds(self) -> None:
        options = of([['password', 'totp']])
        self.assertTrue(options.requires_totp)
        self.assertFalse(options.app_creds_allowed)

    def test_totp_rule_requiring_disabled_method_is_locked(self) -> None:
        # Password and TOTP do not satisfy a rule that needs token too.
        options = of([['password', 'totp', 'token']])
        self.assertFalse(options.person_can_sign_in)
        self.assertFalse(options.requires_totp)


#: The methods of a cloud with federation and Kerberos: the test Keystone's.
CLOUD = frozenset(
    {'external', 'password', 'token', 'totp', 'application_credential',
     'mapped'}
)  # fmt: skip
#: Every method a sign-in may carry (oauth1 is not enabled on CLOUD).
SIGN_IN_METHODS = sorted(CLOUD | {'oauth1', 'openid'})
#: The rules shapes of real clouds, hand-made ones included (issue 20).
SHAPES: list[Any] = [
    None,
    [['password', 'totp']],
    [['totp'], ['password']],
    [['totp'], ['application_credential']],
    [['totp'], ['token']],
    [['totp'], ['external']],
    [['totp'], ['mapped']],
    [['totp'], ['password', 'application_credential']],
    [['totp', 'bogus'], ['password', 'totp']],
    [['totp', 'oauth1'], ['application_credential']],
    [['password'], ['application_credential']],
    [['password']],
    [['bogus']],
]


def sign_ins() -> list[frozenset[str]]:
    out = []
    for mask in range(1, 2 ** len(SIGN_IN_METHODS)):
        out.append(
            frozenset(
                m for i, m in enumerate(SIGN_IN_METHODS) if mask & (1 << i)
            )
        )
    return out


class TestGuardFor(base.BaseTestCase):
    """The guard of an account: code alone refused, nothing else changed."""

    def test_no_rules_or_flag_off_get_the_guard_rules(self) -> None:
        every = CLOUD | {'oauth1'}
        guard = [
            ['password'],
            ['application_credential'],
            ['external'],
            ['oauth1'],
            ['mapped'],
        ]
        self.assertEqual(guard, of(methods=every).guard())
        self.assertEqual(
            guard, of([['password', 'totp']], False, every).guard()
        )
        self.assertEqual(guard, mfa_rules.guard_rules(every))
        # Federation protocols the cloud enables under their own name.
        self.assertEqual(
            [*guard, ['openid']],
            of(methods=every | {'openid'}).guard(),
        )
        # The legacy guard is repaired to today's.
        self.assertEqual(
            guard, of(mfa_rules.LEGACY_GUARD_RULES, methods=every).guard()
        )

    def test_guard_names_only_enabled_methods(self) -> None:
        """Before Keystone 28 a rule of methods the cloud does not enable
        is reduced to the empty set, which every sign-in satisfies: the
        guard rules name none (here: no oauth1, no external)."""
        self.assertEqual(
            [['password'], ['application_credential']], of().guard()
        )
        self.assertEqual(
            [['password'], ['application_credential'], ['mapped']],
            mfa_rules.guard_rules(METHODS | {'mapped'}),
        )
        # On such a cloud the legacy guard is today's: nothing to repair.
        legacy = of(mfa_rules.LEGACY_GUARD_RULES)
        self.assertFalse(legacy.legacy_guard)
        self.assertTrue(
            of(mfa_rules.LEGACY_GUARD_RULES, None, CLOUD).legacy_guard
        )

    def test_every_way_in_kept_but_the_code_alone(self) -> None:
        """Issue 20: for each shape, every sign-in (methods as Keystone
        collects them) passes the guard exactly when it passed before,
        unless its methods are the code alone, which never passes; and a
        token of each can still be rescoped. (A rescope carries its
        parent's methods plus ``token``: the tokens of code-alone
        sign-ins are revoked with the guard, and no new ones are made.)"""
        for rules in SHAPES:
            options = of(rules, methods=CLOUD)
            guard = options.guard()
            if rules == mfa_rules.LEGACY_GUARD_RULES:
                continue
            assert guard is not None, rules
            guarded = options.with_rules(guard, True)
            for used in sign_ins():
                if 'token' in used:
                    continue
                code_alone = not (used & CLOUD) - {'totp'}
                expected = options.signs_in(*used) and not code_alone
                seen = f'{rules} -> {guard}: {sorted(used)}'
                self.assertEqual(expected, guarded.signs_in(*used), seen)
                if expected:
                    # A token of it can be rescoped (it carries the
                    # sign-in's methods, plus token).
                    self.assertTrue(
                        guarded.signs_in(*used, 'token'), seen + ' rescope'
                    )

    def test_item_2_shapes_keep_password_and_code(self) -> None:
        for second in (
            ['application_credential'],
            ['token'],
            ['external'],
            ['password', 'application_credential'],
        ):
            options = of([['totp'], second], methods=CLOUD)
            guard = options.guard()
            assert guard is not None
            guarded = options.with_rules(guard, True)
            self.assertTrue(guarded.signs_in('password', 'totp'), second)
            self.assertFalse(guarded.signs_in('totp'), second)
            self.assertFalse(guarded.signs_in('password'), second)
            self.assertTrue(guarded.signs_in(*second), second)

    def test_code_alone_rules_widened_others_kept(self) -> None:
        options = of([['totp'], ['password']])
        guard = options.guard()
        # NOTE: password+totp is covered by ["password"]: not added.
        self.assertEqual(
            [['password'], ['totp', 'application_credential']], guard
        )
        guarded = options.with_rules(guard, True)
        self.assertTrue(guarded.totp_alone_refused)
        self.assertTrue(guarded.password_alone_ok)
        # NOTE: the rules refused application credentials alone; so does
        # the guard (the legacy guard rules would have let them in).
        self.assertFalse(options.app_creds_allowed)
        self.assertFalse(guarded.app_creds_allowed)

    def test_disabled_method_reduces_a_rule_to_the_code(self) -> None:
        self.assertEqual(
            [
                ['password', 'totp'],
                ['totp', 'bogus', 'application_credential'],
            ],
            of([['totp', 'bogus'], ['password', 'totp']]).guard(),
        )

    def test_is_guard(self) -> None:
        for methods in (
            METHODS,
            mfa_rules.DEFAULT_METHODS,
            CLOUD,
            CLOUD | {'openid'},
        ):
            self.assertTrue(mfa_rules.is_guard(mfa_rules.guard_rules(methods)))
        self.assertTrue(mfa_rules.is_guard(mfa_rules.LEGACY_GUARD_RULES))
        self.assertTrue(
            mfa_rules.is_legacy_guard(
                [['application_credential'], ['password']]
            )
        )
        self.assertFalse(
            mfa_rules.is_legacy_guard(mfa_rules.guard_rules(CLOUD))
        )
        self.assertFalse(mfa_rules.is_guard([['password']]))
        # Today's guard on a cloud enabling fewer methods is recognised
        # there; rules refusing one of its ways in are not the guard.
        self.assertTrue(
            mfa_rules.is_guard(mfa_rules.guard_rules(METHODS), METHODS)
        )
        self.assertTrue(
            mfa_rules.is_guard(mfa_rules.guard_rules(CLOUD), CLOUD)
        )
        self.assertFalse(
            mfa_rules.is_guard(
                [['password'], ['application_credential'], ['external']],
                CLOUD,
            )
        )
        self.assertFalse(
            mfa_rules.is_guard([*mfa_rules.guard_rules(CLOUD), ['token']])
        )

    def test_federated_account_refused_its_protocol_is_locked_out(
        self,
    ) -> None:
        legacy = mfa_rules.MFAOptions.of(
            {mfa_rules.RULES_OPTION: mfa_rules.LEGACY_GUARD_RULES},
            CLOUD,
            own=['mapped'],
        )
        self.assertTrue(legacy.refuses_own)
        self.assertEqual(
            mfa_rules.STATE_LOCKED_OUT, mfa_rules.state(legacy, 0, 0)
        )
        guard = legacy.guard()
        assert guard is not None
        fixed = legacy.with_rules(guard, True)
        self.assertFalse(fixed.refuses_own)
        self.assertEqual(
            mfa_rules.STATE_NOT_ENROLLED, mfa_rules.state(fixed, 0, 0)
        )

    def test_code_alone_the_only_way_in_has_no_guard(self) -> None:
        self.assertIsNone(of([['totp']]).guard())
        self.assertIsNone(of([['totp', 'bogus']]).guard())

    def test_code_alone_rules_do_not_require_totp(self) -> None:
        # A password alone is refused, but a code alone signs in: that is
        # not "enforced".
        for rules in (
            [['totp']],
            [['totp', 'bogus']],
            [['totp'], ENFORCED[0]],
        ):
            options = of(rules)
            self.assertFalse(options.totp_alone_refused, rules)
            self.assertFalse(options.requires_totp, rules)


class TestParse(base.BaseTestCase):
    """As ``UserMFARulesValidator._parse_rule_structure`` parses them."""

    def test_not_a_list(self) -> None:
        for raw in ('password', {'password': 1}, 42, None, True):
            self.assertEqual([], mfa_rules.parse(raw), repr(raw))
            self.assertEqual([], of(raw).rules)
            self.assertTrue(of(raw).signs_in('totp'))

    def test_rules_not_lists_or_empty_dropped(self) -> None:
        self.assertEqual(
            [['password', 'totp']],
            mfa_rules.parse(
                [
                    'password',
                    [],
                    None,
                    {'totp': 1},
                    ['password', 'totp'],
                ]
            ),
        )
        self.assertEqual([], mfa_rules.parse([[]]))
        self.assertTrue(of([[]]).signs_in('totp'))

    def test_rules_with_non_string_items_dropped(self) -> None:
        self.assertEqual(
            [['password', 'totp']],
            mfa_rules.parse(
                [
                    ['password', 1],
                    ['totp', None],
                    [['password']],
                    ['password', 'totp'],
                ]
            ),
        )
        # Only the corrupt rule goes: TOTP alone still passes the other.
        options = of([['password', 7], ['totp']])
        self.assertEqual([['totp']], options.rules)
        self.assertFalse(options.totp_alone_refused)

    def test_duplicates_in_a_rule(self) -> None:
        self.assertEqual(
            [['password', 'totp']],
            mfa_rules.parse([['password', 'totp', 'password']]),
        )

    def test_same_and_text(self) -> None:
        self.assertTrue(
            mfa_rules.same(
                [['totp', 'password'], ['application_credential']],
                [['application_credential'], ['password', 'totp']],
            )
        )
        self.assertFalse(mfa_rules.same([['password']], [['totp']]))
        self.assertEqual(
            'password+totp; application_credential', mfa_rules.text(ENFORCED)
        )
        self.assertEqual('none', mfa_rules.text([]))


class TestEnforcedRules(base.BaseTestCase):
    def test_merge(self) -> None:
        self.assertEqual(
            ENFORCED,
            mfa_rules.enforced_rules(
                mfa_rules.LEGACY_GUARD_RULES, True, CLOUD
            ),
        )
        self.assertEqual(
            [['password', 'totp']],
            mfa_rules.enforced_rules(
                mfa_rules.LEGACY_GUARD_RULES, False, CLOUD
            ),
        )
        self.assertEqual(
            [
                ['password', 'totp'],
                ['application_credential'],
                ['password', 'mapped'],
            ],
            mfa_rules.enforced_rules(
                [['password'], ['totp'], ['password', 'mapped']], True, CLOUD
            ),
        )

    def test_no_duplicates(self) -> None:
        self.assertEqual(
            ENFORCED,
            mfa_rules.enforced_rules(
                [['totp', 'password'], ['application_credential']],
                True,
                CLOUD,
            ),
        )

    def test_result_requires_totp(self) -> None:
        for base_rules in ([], mfa_rules.LEGACY_GUARD_RULES, [['password']]):
            for app_creds in (True, False):
                rules = mfa_rules.enforced_rules(
                    base_rules, app_creds, METHODS
                )
                options = of(rules, True)
                self.assertTrue(options.requires_totp, rules)
                self.assertTrue(options.totp_alone_refused, rules)
                self.assertEqual(app_creds, options.app_creds_allowed)


class TestState(base.BaseTestCase):
    def test_states(self) -> None:
        state = mfa_rules.state
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, state(of(), 0, 0))
        self.assertEqual(mfa_rules.STATE_CODE_ALONE, state(of(), 1, 1))
        # Flag false: the rules are ignored, a code alone signs in.
        self.assertEqual(
            mfa_rules.STATE_CODE_ALONE, state(of(ENFORCED, False), 1, 1)
        )
        self.assertEqual(
            mfa_rules.STATE_CODE_ALONE, state(of([['totp', 'bogus']]), 1, 1)
        )
        guard = of(mfa_rules.LEGACY_GUARD_RULES)
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, state(guard, 0, 0))
        # Usable recovery codes but no device: not enrolled.
        self.assertEqual(mfa_rules.STATE_NOT_ENROLLED, state(guard, 3, 0))
        self.assertEqual(mfa_rules.STATE_NOT_ENFORCED, state(guard, 1, 1))
        self.assertEqual(mfa_rules.STATE_ENFORCED, state(of(ENFORCED), 1, 1))
        self.assertEqual(mfa_rules.STATE_LOCKED_OUT, state(of(ENFORCED), 0, 0))
        # Rules no password-and-code sign-in passes: locked out.
        self.assertEqual(
            mfa_rules.STATE_LOCKED_OUT,
            state(of([['password', 'totp', 'token']]), 1, 1),
        )
        # A rule naming a disabled method lets the password alone in.
        self.assertEqual(
            mfa_rules.STATE_NOT_ENFORCED,
            state(of([['password', 'totp'], ['password', 'bogus']]), 1, 1),
        )
        self.assertEqual(
            mfa_rules.STATE_NOT_ENROLLED, state(of([['oauth1']]), 0, 0)
        )

    def test_every_state_listed(self) -> None:
        self.assertEqual(5, len(set(mfa_rules.STATES)))


#: Methods a cloud may enable, for the shapes over every enabled set.
MAY_ENABLE = (
    'password',
    'token',
    'application_credential',
    'external',
    'oauth1',
    'mapped',
    'openid',
)


def enabled_sets() -> list[frozenset[str]]:
    """Every set of enabled methods with ``totp`` (an MFA cloud)."""
    return [
        frozenset({'totp'})
        | {m for i, m in enumerate(MAY_ENABLE) if mask & (1 << i)}
        for mask in range(2 ** len(MAY_ENABLE))
    ]


#: Shapes with rules of only disabled methods, which before Keystone 28
#: let every sign-in in.
VOID_SHAPES: list[Any] = [
    [['password', 'totp'], ['application_credential'], ['external'],
     ['oauth1'], ['mapped']],
    [['password', 'totp'], ['oauth1']],
    [['totp'], ['oauth1']],
    [['password', 'totp'], ['bogus']],
]  # fmt: skip


class TestRulesOfDisabledMethods(base.BaseTestCase):
    """Keystone before 28 (bug 2102096) reduces a rule naming only methods
    it does not enable to the empty set, which every sign-in satisfies:
    mfa-osc never writes one, whatever the cloud enables."""

    def void(
        self, rules: mfa_rules.Rules, methods: frozenset[str]
    ) -> mfa_rules.Rules:
        return [r for r in rules if not set(r) & methods]

    def test_measured_on_keystone_25(self) -> None:
        # The shape measured (test_keystone_releases): the password alone
        # and the code alone sign in before 28, not on 28 and later.
        options = of(VOID_SHAPES[0], None, CLOUD)
        self.assertFalse(options.signs_in('password'))
        self.assertTrue(options.signs_in_before_28('password'))
        self.assertTrue(options.signs_in_before_28('totp'))
        self.assertEqual([['oauth1']], options.void_rules)

    def test_written_rules_never_name_only_disabled_methods(self) -> None:
        for methods in enabled_sets():
            for rules in SHAPES + VOID_SHAPES:
                options = of(rules, None, methods)
                seen = f'{rules} on {sorted(methods)}'
                guard = options.guard()
                if guard is not None:
                    self.assertEqual([], self.void(guard, methods), seen)
                    guarded = options.with_rules(guard, True)
                    self.assertFalse(guarded.signs_in_before_28('totp'), seen)
                    self.assertEqual(
                        guard,
                        mfa_rules.turned_on(guard, methods)[
                            mfa_rules.RULES_OPTION
                        ],
                        seen,
                    )
                for app_creds in (True, False):
                    enforced = options.enforced(app_creds)
                    self.assertEqual([], self.void(enforced, methods), seen)
                    if 'password' in methods:
                        after = options.with_rules(enforced, True)
                        self.assertFalse(
                            after.signs_in_before_28('totp'), seen
                        )
                        self.assertFalse(
                            after.signs_in_before_28('password'), seen
                        )
            guard = mfa_rules.guard_rules(methods)
            self.assertEqual([], self.void(guard, methods))
            if guard:
                self.assertTrue(
                    mfa_rules.is_guard(guard)
                    or (not mfa_rules.BASE_GUARD <= methods),
                    sorted(methods),
                )

    def test_void_rules_are_never_enforced(self) -> None:
        for rules in VOID_SHAPES:
            options = of(rules, None, CLOUD)
            self.assertTrue(options.void_rules, rules)
            for usable, verified in ((1, 1), (1, 0), (0, 0)):
                self.assertNotEqual(
                    mfa_rules.STATE_ENFORCED,
                    mfa_rules.state(options, usable, verified),
                    rules,
                )
            self.assertEqual(
                mfa_rules.STATE_CODE_ALONE, mfa_rules.state(options, 1, 1)
            )

    def test_turned_on_drops_void_rules_and_refuses_none_left(self) -> None:
        self.assertEqual(
            {
                mfa_rules.RULES_OPTION: [['password', 'totp']],
                mfa_rules.ENABLED_OPTION: True,
            },
            mfa_rules.turned_on([['password', 'totp'], ['oauth1']], CLOUD),
        )
        self.assertRaises(ValueError, mfa_rules.turned_on, [['oauth1']], CLOUD)

    def test_unknown_methods_refuse_writing(self) -> None:
        options = mfa_rules.MFAOptions.of({})
        self.assertFalse(options.known)
        exc = self.assertRaises(
            mfa_rules.MethodsUnknown, options.write_methods
        )
        self.assertIn('no MFA rules were changed', str(exc))
        self.assertTrue(str(exc).endswith('.'))
        # Reading keeps judging by the assumed methods.
        self.assertEqual(mfa_rules.ASSUMED_METHODS, options.methods)
        self.assertTrue(options.with_rules([], None).known is False)
        self.assertEqual(CLOUD, of(methods=CLOUD).write_methods())
