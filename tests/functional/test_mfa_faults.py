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

"""Enroll and remove interrupted at every Keystone request in turn.

A loopback proxy fails the Nth request (503, a closed connection, or a
response lost after Keystone acted) for N = 1, 2, ... until the command
succeeds. After each failure the invariant is checked by signing in for
real: a TOTP code alone never signs in, the password with a code does,
and a password alone is refused only when a verified device exists.
Enrolling, each run starts from what the previous failure left, so every
run is also the repair of the one before; removing, each failure is
followed by the run that repairs it.

Behind mfa-osc's guard (``MFA_OSC_KEYSTONE_GUARD=1``) a code signs in once
and Keystone takes 5 codes of a secret at a time (then one per 30 s): each
run enrolls a new secret, or removes from a new user, so no run waits for
a code. A code tested alone (a receipt) counts as a try towards the
guard's lock; the password with that code then signs in, which ends the
count.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import time
from typing import Any

import testtools.content

from mfa_osc import rules as mfa_rules
from mfa_osc import totp
from mfa_osc.guard import guard
from mfa_osc.testing import keystone as local_keystone
from tests.functional import base
from tests.functional import mfa_base

MAX_RUNS = 40

#: The guard's ``[mfa_guard] max_failures`` on the suite's Keystone (its
#: default, :class:`mfa_osc.guard.guard.Settings`).
GUARD_MAX_FAILURES = guard.Settings().max_failures


class FaultCase(mfa_base.MFATestCase):
    """Helpers: the CLI through the failing proxy, and state checks."""

    def setUp(self) -> None:
        super().setUp()
        self.proxy = self.start_proxy()
        #: Secrets the test's commands sign in or prove with: the
        #: invariant's probe takes another credential's code where it can.
        self.busy: set[str] = set()

    def needs_totp(self, user: local_keystone.KeystoneUser) -> bool:
        """Whether the account's rules in force need a code to sign in."""
        return mfa_rules.MFAOptions.of(
            self.user_record(user.id)['options'],
            local_keystone.AUTH_METHODS.split(','),
        ).requires_totp

    def device_secret(self, user: local_keystone.KeystoneUser) -> str | None:
        """The secret of a verified device (a credential's blob is its
        bare secret), else of any TOTP credential of the user."""
        creds = self.credentials(user.id)
        devices = (self.book(user.id) or {}).get('devices', {})
        for cred in creds:
            if cred['id'] in devices:
                return str(cred['blob'])
        return str(creds[0]['blob']) if creds else None

    def user_env(
        self, user: local_keystone.KeystoneUser, secret: str | None = None
    ) -> dict[str, str]:
        """Sign in as the account's current rules want, via the proxy:
        with the codes of ``secret`` (else of the user's device) when they
        need one."""
        if not self.needs_totp(user):
            return self.env(user, auth_url=self.proxy.auth_url)
        return self.env(
            user,
            secret or self.device_secret(user),
            auth_url=self.proxy.auth_url,
        )

    def passcode_env(
        self, user: local_keystone.KeystoneUser, secret: str
    ) -> dict[str, str]:
        """:meth:`user_env`, signing in with a code of ``secret`` handed out
        for it (``OS_PASSCODE``) where the rules need one.

        NOTE: not ``OS_TOTP_SECRET``, whose sign-in takes the current
        window's code: behind the guard a second command in the same
        window would wait for the next code.
        """
        if not self.needs_totp(user):
            return self.env(user, auth_url=self.proxy.auth_url)
        return self.mfa_env(
            user,
            auth_url=self.proxy.auth_url,
            OS_PASSCODE=self.good_code(secret),
        )

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> base.CLIResult:
        """:meth:`openstack_unchecked`; the codes its ``OS_TOTP_SECRET``
        sign-in may have used are not handed out afterwards."""
        started = time.time()
        try:
            return self.openstack_unchecked(*args, env=env)
        finally:
            secret = (env or {}).get('OS_TOTP_SECRET')
            if secret:
                self.passcodes.used_from(secret, started, time.time())

    def assert_invariant(
        self, user: local_keystone.KeystoneUser, probe: str | None = None
    ) -> None:
        """Never weaker, never locked out: checked by signing in.

        NOTE: as :meth:`mfa_base.MFATestCase.assert_invariant`, and the
        password with the probe's code signs in. Behind the guard the
        probe (and an enroll's own check of a code alone) earns a receipt,
        a counted try; that sign-in ends the count, so that the runs'
        probes never add up to a lock. The code is one credential's that
        no command signs in with where there is one (a recovery code's,
        an earlier run's) unless ``probe`` names one: Keystone takes a code
        of any.
        """
        creds = self.credentials(user.id)
        if creds:
            blob = self.probe_blob(creds, probe, self.spare_blob(creds))
            code = self.good_code(blob)
            alone = self.sign_in(
                {
                    'methods': ['totp'],
                    'totp': {'user': {'id': user.id, 'passcode': code}},
                }
            )
            self.assertNotEqual(201, alone.status_code, 'TOTP alone signed in')
            self.assertEqual(401, alone.status_code, alone.text)
            self.assertEqual(201, self.password_and_code_status(user, code))
        status = self.unscoped_password_status(user)
        if status != 201:
            # Only a verified device may make the password insufficient.
            self.assertEqual(401, status)
            book = self.book(user.id) or {'devices': {}}
            verified = set(book['devices']) & {c['id'] for c in creds}
            self.assertTrue(verified, 'locked out: rules need TOTP')

    def spare_blob(self, creds: list[dict[str, Any]]) -> str:
        """The blob of a credential whose secret the test does not sign in
        with (``self.busy``), where there is one."""
        ordered = sorted(
            creds, key=lambda c: (c['blob'] in self.busy, c['id'])
        )
        return str(ordered[0]['blob'])

    def changed_keystone(self, n: int, mode: str) -> bool:
        """Whether a request that writes (not a sign-in) reached Keystone
        in the proxy's last run, failing its ``n``-th request as ``mode``
        (a lost answer's request reached Keystone)."""
        for number, (method, path) in enumerate(self.proxy.requests, 1):
            if number == n and mode != 'lost':
                continue
            if method in ('GET', 'HEAD'):
                continue
            if method == 'POST' and path.split('?')[0].endswith('/tokens'):
                continue
            return True
        return False

    def account_state(self, user: local_keystone.KeystoneUser) -> Any:
        """The user's MFA options and credentials (TOTP and mfa-osc's)."""
        return (
            self.user_record(user.id)['options'],
            sorted(c['id'] for c in self.credentials(user.id)),
            sorted(c['id'] for c in self.credentials(user.id, 'mfa-osc')),
        )

    def assert_clean_failure(self, result: base.CLIResult) -> None:
        self.assertNotEqual(0, result.returncode)
        self.assertNotIn('Traceback', result.stderr, result.describe())

    def enroll_phone_args(self, secret: str) -> list[str]:
        return self.enroll_args(secret, '--recovery-codes', '2', name='phone')

    def reset_user(self, user: local_keystone.KeystoneUser) -> None:
        api = self.keystone.admin_adapter()
        for type in ('totp', 'mfa-osc'):
            for cred in self.credentials(user.id, type):
                api.delete(f'/credentials/{cred["id"]}')
        self.keystone.set_mfa_rules(user.id, [], enabled=False)
        api.patch(
            f'/users/{user.id}',
            json={
                'user': {
                    'options': {
                        'multi_factor_auth_rules': None,
                        'multi_factor_auth_enabled': None,
                    }
                }
            },
        )

    def enroll_phone(
        self, user: local_keystone.KeystoneUser, secret: str
    ) -> None:
        """An administrator's enrollment, without the CLI's start-up."""
        self.enroll_in_process(user.id, secret, name='phone', recovery_codes=2)

    def assert_enrolled(
        self, user: local_keystone.KeystoneUser, secret: str
    ) -> None:
        status = self.openstack_json(
            'mfa', 'status', env=self.env(user, secret)
        )
        self.assertEqual('enforced', status['state'])
        self.assertEqual(['phone'], [d['name'] for d in status['devices']])
        self.assertEqual(2, status['recovery_codes_left'])
        self.assert_leftovers_only(user, status)
        self.assert_invariant(user)

    def assert_leftovers_only(
        self, user: local_keystone.KeystoneUser, status: dict[str, Any]
    ) -> None:
        """Unverified credentials are an interrupted run's recovery codes.

        NOTE: a run right after an interrupted one does not delete them:
        marked less than PENDING_GRACE ago, they might be another run's,
        under verification (the unit tests delete them after it). They
        are never devices, and none is of the device's secret.
        """
        book = self.book(user.id) or {}
        for cred_id in status['unverified_credentials']:
            self.assertNotIn(cred_id, book.get('devices', {}))
            self.assertNotIn(cred_id, {d['id'] for d in status['devices']})

    def assert_removed(self, user: local_keystone.KeystoneUser) -> None:
        self.assertEqual([], self.credentials(user.id))
        self.assertEqual([], self.credentials(user.id, 'mfa-osc'))
        self.assertEqual({}, self.user_record(user.id)['options'])
        self.assertEqual(201, self.password_status(user))


class TestFaults(FaultCase):
    def test_enroll_interrupted_everywhere(self) -> None:
        user = self.admin_user()
        log: list[str] = []
        for n in range(1, MAX_RUNS + 1):
            # NOTE: a new secret each run (as `mfa enroll` without
            # --secret makes one): behind the guard one secret's codes
            # would run out after 5 runs, then come one per 30 s.
            secret = totp.generate_secret()
            self.busy = {secret}
            mode = mfa_base.FAIL_MODES[n % len(mfa_base.FAIL_MODES)]
            env = self.user_env(user)
            self.proxy.reset(fail_at=n, mode=mode)
            result = self.cli(*self.enroll_phone_args(secret), env=env)
            injected = n <= len(self.proxy.requests)
            log.append(
                f'{n} {mode} rc={result.returncode}: '
                f'{result.stderr.strip()[:200]}'
            )
            if result.returncode == 0 and not injected:
                break
            if result.returncode != 0:
                self.assert_clean_failure(result)
                self.assert_invariant(user)
            if 'openstack mfa enforce' in result.stderr:
                # Verified, not enforced: the run the error names repairs.
                self.proxy.reset()
                self.cli('mfa', 'enforce', env=self.user_env(user, secret))
            if result.returncode == 0 or (
                'openstack mfa enforce' in result.stderr
                or "already has a device named 'phone'" in result.stderr
            ):
                # Done despite the failure (a retried or lost request).
                self.assert_enrolled(user, self.device_secret(user) or '')
                self.reset_user(user)
        else:
            self.fail('enroll never succeeded:\n' + '\n'.join(log))
        self.assertGreater(n, 12, '\n'.join(log))
        self.assert_enrolled(user, secret)

    def remove_all(
        self,
        user: local_keystone.KeystoneUser,
        secret: str,
        env: Mapping[str, str],
    ) -> base.CLIResult:
        return self.cli(
            'mfa',
            'remove',
            '--all',
            '--yes',
            '--passcode',
            self.proof_code(secret),
            env=env,
        )

    def test_remove_interrupted_everywhere(self) -> None:
        log: list[str] = []
        for n in range(1, MAX_RUNS + 1):
            # NOTE: a new user and secret each run, its failure repaired
            # by the next command: behind the guard one device's codes
            # would run out after a few runs (each signs in and proves
            # with one), then come one per 30 s.
            user = self.admin_user()
            secret = totp.generate_secret()
            self.busy = {secret}
            self.enroll_phone(user, secret)
            enrolled = self.account_state(user)
            mode = mfa_base.FAIL_MODES[n % len(mfa_base.FAIL_MODES)]
            env = self.user_env(user, secret)
            self.proxy.reset(fail_at=n, mode=mode)
            result = self.remove_all(user, secret, env)
            injected = n <= len(self.proxy.requests)
            log.append(
                f'{n} {mode} rc={result.returncode}: '
                f'{result.stderr.strip()[:200]}'
            )
            if result.returncode == 0 and not injected:
                break
            if result.returncode != 0:
                self.assert_clean_failure(result)
                self.assert_invariant(user)
            if result.returncode != 0 and self.changed_keystone(n, mode):
                # The same command, uninterrupted, finishes the job (or
                # finds it done: the lost answer was the last one).
                # NOTE: only after a run that wrote something: else the
                # account is as enrolled, and the last run, not failed,
                # removes from that.
                self.proxy.reset()
                again = self.remove_all(
                    user, secret, self.passcode_env(user, secret)
                )
                if 'no TOTP device to remove' not in again.stderr:
                    self.assertEqual(0, again.returncode, again.describe())
                # Done, despite the failure or after the repair.
                self.assert_removed(user)
            elif result.returncode == 0:
                self.assert_removed(user)
            else:
                self.assertEqual(enrolled, self.account_state(user))
        else:
            self.fail('remove never succeeded:\n' + '\n'.join(log))
        self.assertGreater(n, 8, '\n'.join(log))
        self.assert_removed(user)

    def test_request_counts(self) -> None:
        user = self.admin_user()
        secret = totp.generate_secret()
        self.proxy.reset()
        env = self.user_env(user, secret)
        args = self.enroll_phone_args(secret)
        args[-1] = '8'
        result = self.openstack_unchecked(*args, env=env)
        self.assertEqual(0, result.returncode, result.describe())
        enroll = [f'{m} {p.split("?")[0]}' for m, p in self.proxy.requests]
        self.proxy.reset()
        result = self.openstack_unchecked(
            'mfa',
            'remove',
            '--all',
            '--yes',
            '--passcode',
            self.proof_code(secret),
            env=self.user_env(user, secret),
        )
        self.assertEqual(0, result.returncode, result.describe())
        remove = [f'{m} {p.split("?")[0]}' for m, p in self.proxy.requests]
        self.addDetail(
            'request-counts',
            testtools.content.text_content(
                f'enroll {len(enroll)}: {enroll}\n'
                f'remove {len(remove)}: {remove}\n'
            ),
        )
        # OSC's discovery and sign-in, then 20 for enroll (8 recovery
        # codes): the user, credentials, enabled methods, the policy check,
        # guard rules, the bookkeeping with the new secrets' fingerprints
        # (read again, then written), the device, its check, 8 codes, the
        # bookkeeping (read again, then written), the rules;
        # sign-in, then 17 for removing the only device (the user,
        # credentials, enabled methods, the proof, the policy check, guard
        # rules, 10 deletions, the rules as before).
        self.assertEqual(22, len(enroll), str(enroll))
        self.assertEqual(18, len(remove), str(remove))


class TestFaultsOverHandMade(FaultCase):
    """The same interruptions on an account an administrator set up by hand:
    rules ``[["password", "totp"]]`` with the flag unset (on), and a
    ``totp`` credential made with ``openstack credential create``."""

    def hand_made(self) -> tuple[local_keystone.KeystoneUser, str, str]:
        user = self.make_user()
        self.keystone.admin_adapter().patch(
            f'/users/{user.id}',
            json={
                'user': {
                    'options': {
                        'multi_factor_auth_rules': [['password', 'totp']]
                    }
                }
            },
        )
        secret = totp.generate_secret()
        cred = self.keystone.create_totp_credential(user.id, secret)
        return user, secret, cred

    def admin_env(self) -> dict[str, str]:
        env = self.keystone.os_env()
        env.update(OS_AUTH_URL=self.proxy.auth_url, OS_TOKEN_CACHE='off')
        return env

    def assert_hand_made_kept(
        self,
        user: local_keystone.KeystoneUser,
        secret: str,
        cred: str,
        checked: set[tuple[frozenset[tuple[str, str]], str]] | None = None,
    ) -> None:
        """Still enforced, the hand-made device still signs in.

        The hand-made credential is there with its secret; a code alone
        is refused, so is the password alone, and the password with a
        code signs in. Without ``checked``, that code is the hand-made
        device's own. With it, the sign-ins are made once per state of
        the account (its TOTP credentials and options; the runs that
        fail before writing leave the same one), with a code of one of
        the other credentials, in turn, where there are others (Keystone
        takes a code of any, so with the hand-made one there, unchanged,
        its code signs in too).

        NOTE: behind the guard a code tested alone (a receipt) is a
        counted try, and the hand-made secret gives 5 codes at once, then
        one per 30 s: one probe per state, each followed by a sign-in
        that ends the count, never reach the lock.
        """
        creds = {c['id']: c['blob'] for c in self.credentials(user.id)}
        self.assertEqual(secret, creds.get(cred), 'hand-made credential')
        state = (
            frozenset(creds.items()),
            json.dumps(self.user_record(user.id)['options'], sort_keys=True),
        )
        if checked is not None and state in checked:
            return
        blob = secret
        if checked is not None:
            # NOTE: in turn, so that no secret's codes run out.
            others = sorted(i for i in creds if i != cred)
            if others:
                blob = creds[others[len(checked) % len(others)]]
        code = self.good_code(blob)
        alone = self.sign_in(
            {
                'methods': ['totp'],
                'totp': {'user': {'id': user.id, 'passcode': code}},
            }
        )
        self.assertEqual(401, alone.status_code, 'TOTP alone signed in')
        self.assertEqual(401, self.password_status(user))
        self.assertEqual(201, self.password_and_code_status(user, code))
        if checked is not None:
            checked.add(state)

    def test_admin_enroll_and_remove_interrupted_everywhere(self) -> None:
        user, hand_secret, hand_cred = self.hand_made()
        self.assert_hand_made_kept(user, hand_secret, hand_cred)
        checked: set[tuple[frozenset[tuple[str, str]], str]] = set()
        log: list[str] = []
        for n in range(1, MAX_RUNS + 1):
            # NOTE: a new secret each run (see test_enroll_...).
            secret = totp.generate_secret()
            mode = mfa_base.FAIL_MODES[n % len(mfa_base.FAIL_MODES)]
            args = [*self.enroll_phone_args(secret), '--user', user.id]
            self.proxy.reset(fail_at=n, mode=mode)
            result = self.openstack_unchecked(*args, env=self.admin_env())
            injected = n <= len(self.proxy.requests)
            log.append(
                f'{n} {mode} rc={result.returncode}: '
                f'{result.stderr.strip()[:200]}'
            )
            if result.returncode != 0:
                self.assert_clean_failure(result)
            self.assert_hand_made_kept(user, hand_secret, hand_cred, checked)
            if result.returncode == 0 or (
                "already has a device named 'phone'" in result.stderr
            ):
                self.proxy.reset()
                status = self.openstack_json(
                    'mfa', 'status', '--user', user.id, env=self.admin_env()
                )
                self.assertEqual('enforced', status['state'])
                self.assert_leftovers_only(user, status)
                self.assertEqual(
                    {'mfa-osc', 'hand-made'},
                    {d['origin'] for d in status['devices']},
                )
                if not injected:
                    break
                self.openstack_unchecked(
                    'mfa', 'remove', '--user', user.id, '--device', 'phone',
                    '--yes', env=self.admin_env(),
                )  # fmt: skip
                for cred in self.credentials(user.id):
                    if cred['id'] != hand_cred:
                        self.keystone.admin_adapter().delete(
                            f'/credentials/{cred["id"]}'
                        )
                self.assert_hand_made_kept(
                    user, hand_secret, hand_cred, checked
                )
        else:
            self.fail('enroll never succeeded:\n' + '\n'.join(log))
        self.assertGreater(n, 12, '\n'.join(log))
        self.assert_hand_made_kept(user, hand_secret, hand_cred)

        # Removing the verified device, interrupted everywhere: the
        # hand-made one stays, and so does enforcement.
        for n in range(1, MAX_RUNS + 1):
            mode = mfa_base.FAIL_MODES[n % len(mfa_base.FAIL_MODES)]
            self.proxy.reset(fail_at=n, mode=mode)
            result = self.openstack_unchecked(
                'mfa', 'remove', '--user', user.id, '--device', 'phone',
                '--yes', env=self.admin_env(),
            )  # fmt: skip
            injected = n <= len(self.proxy.requests)
            if result.returncode != 0:
                self.assert_clean_failure(result)
            self.assert_hand_made_kept(user, hand_secret, hand_cred, checked)
            done = result.returncode == 0 or "No device 'phone'" in (
                result.stderr
            )
            if done and not injected:
                break
            if done:
                # Removed despite the failure: put the device back.
                self.proxy.reset()
                secret = totp.generate_secret()
                args = [*self.enroll_phone_args(secret), '--user', user.id]
                back = self.openstack_unchecked(*args, env=self.admin_env())
                self.assertEqual(0, back.returncode, back.describe())
        else:
            self.fail('remove never succeeded')
        self.assertGreater(n, 6)
        self.proxy.reset()
        status = self.openstack_json(
            'mfa', 'status', '--user', user.id, env=self.admin_env()
        )
        self.assertEqual([hand_cred], [d['id'] for d in status['devices']])
        self.assertEqual('enforced', status['state'])
        self.assert_hand_made_kept(user, hand_secret, hand_cred)
        self.assert_tries_lock(user, hand_secret)

    def assert_tries_lock(
        self, user: local_keystone.KeystoneUser, secret: str
    ) -> None:
        """Wrong codes are refused; behind the guard each is a counted try
        (as each code alone tested was: probing every credential's at
        each step locked this user), and past max_failures the user's
        TOTP sign-ins are refused (429), the right code's too, until an
        administrator ends the lock."""
        wrong = (
            code
            for code in (f'{n:06d}' for n in range(1000000))
            if totp.window_offset(secret, code, reach=6) is None
        )
        for attempt in range(1, GUARD_MAX_FAILURES + 2):
            status = self.password_and_code_status(user, next(wrong))
            locked = self.guarded and attempt > GUARD_MAX_FAILURES
            self.assertEqual(429 if locked else 401, status, f'try {attempt}')
        code = self.good_code(secret)
        status = self.password_and_code_status(user, code)
        if not self.guarded:
            self.assertEqual(201, status)
            return
        self.assertEqual(429, status)
        self.give_back(secret, code)
        self.openstack(
            'mfa', 'unlock', '--user', user.id, env=self.keystone.os_env()
        )
        code = self.good_code(secret)
        self.assertEqual(201, self.password_and_code_status(user, code))
