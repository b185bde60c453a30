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

"""The sessions of ``mfa exec --session``: durations, the checks that
refuse before anything is made, the credential asked for, the sweep."""

from __future__ import annotations

from collections.abc import Sequence
import datetime
from typing import Any

from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc.client import records as app_records
from mfa_osc.workflows import sessions

H = datetime.timedelta(hours=1)
ENFORCED = [['password', 'totp'], ['application_credential']]


class FakeAppCredentials:
    """An in-memory :class:`app_records.AppCredentials`."""

    def __init__(self, rules: Any = ENFORCED) -> None:
        self.clock_skew: float | None = 0.0
        self.rules = rules
        self.creds: dict[str, app_records.AppCredential] = {}
        self.calls: list[str] = []
        self.forbid = False
        #: 403 on the list, or on a delete (Keystone's policy).
        self.forbid_list = False
        self.forbid_delete = False
        self.made: list[dict[str, Any]] = []

    def current_user_id(self) -> str:
        return 'u1'

    def get_user(self, user_id: str) -> mfa_client.User:
        self.calls.append('get_user')
        options = {'multi_factor_auth_rules': self.rules}
        return mfa_client.User.from_json({'id': user_id, 'options': options})

    def enabled_methods(self) -> frozenset[str] | None:
        return frozenset({'password', 'totp', 'application_credential'})

    def create_app_credential(
        self,
        user_id: str,
        *,
        name: str,
        description: str,
        expires_at: datetime.datetime,
        roles: Sequence[str] = (),
    ) -> app_records.AppCredential:
        self.calls.append('create')
        if self.forbid:
            raise mfa_client.Forbidden('Keystone refused (HTTP 403).')
        self.made.append({'name': name, 'roles': list(roles)})
        return self.add(name, description, expires_at, secret='s3cret')

    def add(
        self,
        name: str,
        description: str,
        expires_at: datetime.datetime | None,
        secret: str | None = None,
    ) -> app_records.AppCredential:
        cid = f'ac{len(self.creds) + 1}'
        cred = app_records.AppCredential(
            id=cid, name=name, description=description, project_id='p',
            expires_at=expires_at, unrestricted=False, roles=(),
            secret=secret,
        )  # fmt: skip
        self.creds[cid] = cred
        return cred

    def list_app_credentials(
        self, user_id: str
    ) -> list[app_records.AppCredential]:
        self.calls.append('list')
        if self.forbid_list:
            raise mfa_client.Forbidden('Keystone refused (HTTP 403).')
        return list(self.creds.values())

    def delete_app_credential(self, user_id: str, cid: str) -> None:
        self.calls.append(f'delete {cid}')
        if self.forbid_delete:
            raise mfa_client.Forbidden('Keystone refused (HTTP 403).')
        self.creds.pop(cid, None)


def request(**kw: Any) -> sessions.Request:
    args: dict[str, Any] = {
        'duration': 8 * H,
        'verb': 'exec',
        'host': 'box.example',
        'pid': 4242,
        'project_id': 'p',
        'token_roles': [('r-m', 'member'), ('r-r', 'reader')],
    }
    args.update(kw)
    return sessions.Request(**args)


class TestDurations(base.BaseTestCase):
    def test_parse(self) -> None:
        for text, expected in (
            ('8h', 8 * H),
            ('90m', 90 * datetime.timedelta(minutes=1)),
            ('2h30m', 2.5 * H),
            ('1d', 24 * H),
            (' 45M ', 45 * datetime.timedelta(minutes=1)),
        ):
            self.assertEqual(expected, sessions.parse_duration(text), text)

    def test_malformed(self) -> None:
        for text in ('', '8', '8x', 'h', '-1h', '1h 2m', '30m2h'):
            exc = self.assertRaises(ValueError, sessions.parse_duration, text)
            self.assertIn('is not a duration', str(exc))
            self.assertIn('8h, 90m or 2h30m', str(exc))

    def test_ceiling_and_floor(self) -> None:
        self.assertIsNone(
            sessions.check_duration(24 * H, sessions.DEFAULT_CEILING)
        )
        why = sessions.check_duration(25 * H, sessions.DEFAULT_CEILING)
        self.assertEqual(
            'A session of 25h is longer than the ceiling of 24h: give a '
            'shorter one, or raise the ceiling with --max-session 25h.',
            why,
        )
        self.assertIsNone(sessions.check_duration(25 * H, 48 * H))
        why = sessions.check_duration(
            datetime.timedelta(seconds=30), sessions.DEFAULT_CEILING
        )
        self.assertIn('too short', str(why))

    def test_shown(self) -> None:
        self.assertEqual('2h30m', sessions.shown(2.5 * H))
        self.assertEqual('0s', sessions.shown(datetime.timedelta()))


class TestStart(base.BaseTestCase):
    def test_restricted_named_and_bounded(self) -> None:
        ks = FakeAppCredentials()
        ks.clock_skew = 120.0  # this machine is 2 minutes ahead
        cred = sessions.start(ks, request())
        self.assertEqual(['get_user', 'create'], ks.calls)
        self.assertTrue(cred.name.startswith('mfa-osc-session-box.example-'))
        self.assertTrue(cred.name.endswith('-4242'))
        self.assertIn('on box.example (pid 4242)', cred.description)
        self.assertIn('mfa exec --session 8h', cred.description)
        self.assertIn('deleted when the job ends', cred.description)
        # By Keystone's clock: 8 h from its now, not this machine's.
        keystone_now = datetime.datetime.now(
            datetime.UTC
        ) - datetime.timedelta(seconds=120)
        assert cred.expires_at is not None
        left = cred.expires_at - keystone_now
        self.assertLess(abs(left - 8 * H), datetime.timedelta(seconds=5))
        self.assertEqual([], ks.made[0]['roles'])  # the token's roles
        self.assertTrue(sessions.ours(cred))
        self.assertEqual(('box.example', 4242), sessions.holder(cred))

    def test_roles_asked_by_name_or_id(self) -> None:
        ks = FakeAppCredentials()
        sessions.start(ks, request(roles=['reader', 'r-m']))
        self.assertEqual(['r-r', 'r-m'], ks.made[0]['roles'])

    def test_role_the_token_lacks(self) -> None:
        ks = FakeAppCredentials()
        exc = self.assertRaises(
            sessions.SessionRefused, sessions.start, ks,
            request(roles=['admin']),
        )  # fmt: skip
        self.assertIn("no role 'admin'", str(exc))
        self.assertIn('member, reader', str(exc))
        self.assertEqual([], ks.calls)

    def test_no_project(self) -> None:
        ks = FakeAppCredentials()
        exc = self.assertRaises(
            sessions.SessionRefused, sessions.start, ks,
            request(project_id=None),
        )  # fmt: skip
        self.assertIn('sign in to a project', str(exc))
        self.assertEqual([], ks.calls)

    def test_rules_without_application_credentials(self) -> None:
        ks = FakeAppCredentials(rules=[['password', 'totp']])
        exc = self.assertRaises(
            sessions.SessionRefused, sessions.start, ks, request()
        )
        self.assertEqual(
            "Your account's MFA rules (password+totp) do not let an "
            'application credential sign in, so a session could not: an '
            'administrator runs `openstack mfa enforce --user u1 '
            '--application-credentials` to allow it, or run jobs shorter '
            'than a token with `openstack mfa exec` and no --session.',
            str(exc),
        )
        self.assertEqual(['get_user'], ks.calls)

    def test_no_rules_admit_sessions(self) -> None:
        ks = FakeAppCredentials(rules=[])
        sessions.start(ks, request())
        self.assertIn('create', ks.calls)

    def test_policy_forbids(self) -> None:
        ks = FakeAppCredentials()
        ks.forbid = True
        exc = self.assertRaises(
            sessions.SessionRefused, sessions.start, ks, request()
        )
        self.assertIn("This cloud's policy does not let you create", str(exc))
        self.assertEqual({}, ks.creds)

    def test_export_is_left_to_expire(self) -> None:
        ks = FakeAppCredentials()
        cred = sessions.start(ks, request(verb='export'))
        self.assertIn('left to expire', cred.description)
        self.assertIn('`openstack mfa session end` ends it', cred.description)


class TestSweep(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.ks = FakeAppCredentials()
        now = datetime.datetime.now(datetime.UTC)
        self.now = now
        self.mine = sessions.start(self.ks, request())
        self.other_host = sessions.start(self.ks, request(host='other'))
        self.exported = sessions.start(self.ks, request(verb='export'))
        self.expired = self.ks.add(
            'mfa-osc-session-x-1',
            'Session of `openstack mfa exec --session 1h` on elsewhere '
            '(pid 1), made ..., expires ...; deleted when the job ends.',
            now - datetime.timedelta(minutes=1),
        )
        self.foreign = self.ks.add('ci', 'a CI credential', None)
        self.ks.calls.clear()

    def test_held_sessions_stay(self) -> None:
        found = sessions.sweep(self.ks, 'u1', 'box.example', lambda _: True)
        self.assertEqual([self.expired.id], found.removed)
        self.assertEqual(
            [self.mine.id, self.other_host.id, self.exported.id],
            [c.id for c in found.live],
        )
        self.assertEqual(['list', f'delete {self.expired.id}'], self.ks.calls)

    def test_an_orphan_of_this_host_goes(self) -> None:
        # No process holds any lock here: only exec's of this host go;
        # another host's, export's and one made by hand stay.
        found = sessions.sweep(self.ks, 'u1', 'box.example', lambda _: False)
        self.assertEqual(
            sorted([self.expired.id, self.mine.id]), sorted(found.removed)
        )
        self.assertIn(self.foreign.id, self.ks.creds)
        self.assertIn(self.exported.id, self.ks.creds)
        self.assertIn(self.other_host.id, self.ks.creds)

    def test_no_record_here_is_left_to_expire(self) -> None:
        found = sessions.sweep(self.ks, 'u1', 'box.example', lambda _: None)
        self.assertEqual([self.expired.id], found.removed)

    def test_reading_only(self) -> None:
        found = sessions.sweep(
            self.ks, 'u1', 'box.example', lambda _: False, remove=False
        )
        self.assertEqual([], found.removed)
        self.assertEqual(['list'], self.ks.calls)
        self.assertNotIn(self.expired.id, [c.id for c in found.live])


class SessionsOfAUser(base.BaseTestCase):
    """Sessions of every kind, a standing credential, and one that
    only looks like a session (its name, not its description)."""

    def setUp(self) -> None:
        super().setUp()
        self.ks = FakeAppCredentials()
        now = datetime.datetime.now(datetime.UTC)
        self.mine = sessions.start(self.ks, request())
        self.other_host = sessions.start(self.ks, request(host='other'))
        self.exported = sessions.start(self.ks, request(verb='export'))
        self.expired = self.ks.add(
            'mfa-osc-session-x-1',
            'Session of `openstack mfa exec --session 1h` on elsewhere '
            '(pid 1), made ..., expires ...; deleted when the job ends.',
            now - datetime.timedelta(minutes=1),
        )
        self.foreign = self.ks.add('ci', 'a CI credential', None)
        self.lookalike = self.ks.add('mfa-osc-session-mine', 'by hand', None)
        self.ks.calls.clear()


class TestListing(SessionsOfAUser):
    def test_only_ours_with_their_state(self) -> None:
        rows = sessions.listing(self.ks, 'u1', 'box.example', lambda _: False)
        self.assertEqual(
            [
                (self.mine.id, 'exec', 'box.example', 'left behind'),
                (self.other_host.id, 'exec', 'other', 'live'),
                (self.exported.id, 'export', 'box.example', 'live'),
                (self.expired.id, 'exec', 'elsewhere', 'expired'),
            ],
            [(r.credential.id, r.made_by, r.host, r.state) for r in rows],
        )
        self.assertEqual(['list'], self.ks.calls)

    def test_held_is_live(self) -> None:
        rows = sessions.listing(self.ks, 'u1', 'box.example', lambda _: True)
        self.assertEqual('live', rows[0].state)

    def test_forbidden_names_the_policy(self) -> None:
        self.ks.forbid_list = True
        exc = self.assertRaises(
            sessions.SessionRefused,
            sessions.listing,
            self.ks,
            'u2',
            'box.example',
            lambda _: None,
            'bob',
        )
        self.assertIn('identity:list_application_credentials', str(exc))
        self.assertIn("user bob's application credentials", str(exc))
        self.assertEqual(1, str(exc).count('. ') + 1)


class TestEnd(SessionsOfAUser):
    def test_all_ends_only_ours(self) -> None:
        gone = sessions.end(self.ks, 'u1', everything=True)
        self.assertEqual(4, len(gone))
        self.assertEqual(
            [self.foreign.id, self.lookalike.id], list(self.ks.creds)
        )

    def test_by_name_or_id(self) -> None:
        gone = sessions.end(self.ks, 'u1', [self.mine.name, self.exported.id])
        self.assertEqual([self.mine, self.exported], gone)
        self.assertEqual(
            ['list', f'delete {self.mine.id}', f'delete {self.exported.id}'],
            self.ks.calls,
        )

    def test_not_ours_refused_nothing_deleted(self) -> None:
        for word in ('ci', self.foreign.id, 'mfa-osc-session-mine'):
            exc = self.assertRaises(
                sessions.SessionRefused,
                sessions.end,
                self.ks,
                'u1',
                [self.mine.id, word],
            )
            self.assertIn('is not a session that mfa-osc made', str(exc))
        self.assertEqual(6, len(self.ks.creds))
        self.assertNotIn(f'delete {self.mine.id}', self.ks.calls)

    def test_not_found(self) -> None:
        exc = self.assertRaises(
            sessions.SessionRefused,
            sessions.end,
            self.ks,
            'u2',
            ['nope'],
            user_label='bob',
        )
        self.assertEqual(
            "There is no session 'nope' among user bob's application "
            'credentials: `openstack mfa session list --user bob` lists '
            'them, to give one of their names or IDs. Nothing was ended.',
            str(exc),
        )
        self.assertEqual(6, len(self.ks.creds))

    def test_forbidden_delete_names_the_policy(self) -> None:
        self.ks.forbid_delete = True
        exc = self.assertRaises(
            sessions.SessionRefused,
            sessions.end,
            self.ks,
            'u2',
            everything=True,
            user_label='bob',
        )
        self.assertIn('identity:delete_application_credential', str(exc))
        self.assertIn('a session cannot end sessions', str(exc))
