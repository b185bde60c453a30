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

"""The account model: bookkeeping blobs, and credentials classified."""

from __future__ import annotations

import base64
import json
from typing import Any
from unittest import mock

from oslotest import base

from mfa_osc import account as mfa_account
from mfa_osc import bookkeeping
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import rules as mfa_rules
from mfa_osc import totp

METHODS = frozenset({'password', 'token', 'totp', 'application_credential'})
ENFORCED = [['password', 'totp'], ['application_credential']]
LIMIT = 256


def book_cred(blob: Any, cred_id: str = 'b') -> mfa_client.Credential:
    text = blob if isinstance(blob, str) else json.dumps(blob)
    return mfa_client.Credential(cred_id, 'u1', mfa_client.BOOK_TYPE, text)


def totp_cred(
    cred_id: str, blob: str, user_id: str | None = 'u1'
) -> mfa_client.Credential:
    return mfa_client.Credential(cred_id, user_id, mfa_client.TOTP_TYPE, blob)


def user(options: dict[str, Any] | None = None) -> mfa_client.User:
    return mfa_client.User('u1', 'alice', 'default', True, options or {})


class TestBook(base.BaseTestCase):
    def test_not_json(self) -> None:
        for blob in ('{', 'not json', '', '\x00'):
            book = bookkeeping.Book.from_credential(book_cred(blob))
            self.assertEqual('b', book.credential_id)
            self.assertEqual({}, book.devices)
            self.assertEqual([], book.recovery_codes)
            self.assertEqual([], book.pending)
            self.assertIsNone(book.before)

    def test_json_not_an_object(self) -> None:
        for blob in ([1, 2], 'text', 42, None, True):
            book = bookkeeping.Book.from_credential(
                book_cred(json.dumps(blob))
            )
            self.assertEqual({}, book.devices)
            self.assertEqual([], book.recovery_codes)
            self.assertIsNone(book.before)

    def test_devices_not_dicts(self) -> None:
        for devices in (['d1'], 'd1', 7, None):
            book = bookkeeping.Book.from_credential(
                book_cred({'devices': devices})
            )
            self.assertEqual({}, book.devices)
        book = bookkeeping.Book.from_credential(
            book_cred(
                {
                    'devices': {
                        'd1': 'phone',
                        'd2': ['phone'],
                        'd3': {
                            'name': 'phone',
                            'created_at': 5,
                            'secret': 'JBSWY3DP',
                        },
                    }
                }
            )
        )
        self.assertEqual({'d3': {'name': 'phone'}}, book.devices)

    def test_corrupt_lists(self) -> None:
        book = bookkeeping.Book.from_credential(
            book_cred(
                {
                    'recovery_codes': ['r1', 2, None, ['r3'], 'r4'],
                    'pending': 'abc',
                }
            )
        )
        self.assertEqual(['r1', 'r4'], book.recovery_codes)
        self.assertEqual([], book.pending)

    def test_device_and_recovery_code_is_a_device(self) -> None:
        book = bookkeeping.Book.from_credential(
            book_cred(
                {
                    'devices': {'d1': {'name': 'phone'}},
                    'recovery_codes': ['r1', 'd1'],
                }
            )
        )
        self.assertEqual(['d1'], list(book.devices))
        self.assertEqual(['r1'], book.recovery_codes)

    def test_huge_lists_capped(self) -> None:
        many = [f'c{n}' for n in range(10000)]
        book = bookkeeping.Book.from_credential(
            book_cred(
                {
                    'devices': {c: {'name': c} for c in many},
                    'recovery_codes': many,
                    'pending': many,
                }
            )
        )
        self.assertEqual(LIMIT, len(book.devices))
        self.assertEqual(LIMIT, len(book.pending))
        # The first 256 names are the devices: none is a recovery code.
        self.assertEqual([], book.recovery_codes)
        book = bookkeeping.Book.from_credential(
            book_cred({'recovery_codes': many})
        )
        self.assertEqual(many[:LIMIT], book.recovery_codes)

    def test_blob_round_trip(self) -> None:
        book = bookkeeping.Book(
            'b',
            {'d1': {'name': 'phone', 'created_at': '2026-01-01T00:00:00Z'}},
            ['r1'],
            ['f' * 32],
            bookkeeping.Before(None, [['password']]),
        )
        data = json.loads(book.blob())
        self.assertEqual(bookkeeping.BOOK_VERSION, data['version'])
        self.assertEqual(
            {'flag': None, 'rules': [['password']]}, data['rules_before']
        )
        again = bookkeeping.Book.from_credential(book_cred(book.blob()))
        self.assertEqual(book, again)
        self.assertIsNone(
            json.loads(bookkeeping.Book().blob())['rules_before']
        )


class TestBefore(base.BaseTestCase):
    def test_v1_enabled(self) -> None:
        before = bookkeeping.Before.from_json
        self.assertEqual(
            bookkeeping.Before(True, ENFORCED),
            before({'enabled': True, 'rules': ENFORCED}),
        )
        # v1 wrote `bool(option)`: false may have been unset, which
        # Keystone reads as on; restoring "unset" never turns rules off.
        self.assertEqual(
            bookkeeping.Before(None, []),
            before({'enabled': False, 'rules': []}),
        )
        self.assertEqual(bookkeeping.Before(None, []), before({}))

    def test_v2_flag(self) -> None:
        before = bookkeeping.Before.from_json
        for flag in (True, False, None):
            self.assertEqual(
                bookkeeping.Before(flag, [['password']]),
                before({'flag': flag, 'rules': [['password']]}),
            )
        self.assertEqual(
            bookkeeping.Before(None, []), before({'flag': 'yes', 'rules': 7})
        )
        # The flag wins over a v1 key left beside it.
        self.assertEqual(
            bookkeeping.Before(False, []),
            before({'flag': False, 'enabled': True}),
        )

    def test_rules_parsed(self) -> None:
        before = bookkeeping.Before.from_json(
            {'flag': True, 'rules': [['password', 1], [], ['password']]}
        )
        assert before is not None
        self.assertEqual([['password']], before.rules)

    def test_not_a_mapping(self) -> None:
        data: object
        for data in (None, [], 'x', 1):
            self.assertIsNone(bookkeeping.Before.from_json(data))

    def test_in_book(self) -> None:
        book = bookkeeping.Book.from_credential(
            book_cred({'version': 1, 'rules_before': {'enabled': False}})
        )
        self.assertEqual(bookkeeping.Before(None, []), book.before)
        assert book.before is not None
        self.assertEqual({'flag': None, 'rules': []}, book.before.to_json())


class TestAccount(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.device = totp.generate_secret()
        self.hand = totp.generate_secret()
        self.pending = totp.generate_secret()
        self.code = recovery.new_code()
        short = base64.b32encode(b'\x01' * 10).decode()  # 80 bits
        self.creds = [
            totp_cred('d1', self.device),
            totp_cred('hand', self.hand),
            totp_cred('pend', self.pending),
            totp_cred('r1', recovery.secret(self.code)),
            totp_cred('lower', totp.generate_secret().lower()),
            totp_cred('json', json.dumps({'secret': self.device})),
            totp_cred('short', short),
            totp_cred('empty', ''),
            totp_cred('other', totp.generate_secret(), user_id='u2'),
            book_cred(
                {
                    'version': 2,
                    'devices': {
                        'd1': {'name': 'phone'},
                        'gone': {'name': 'old'},
                        'lower': {'name': 'bad'},
                    },
                    'recovery_codes': ['r1', 'gone-code'],
                    'pending': [bookkeeping.fingerprint(self.pending)],
                    'rules_before': {'flag': None, 'rules': []},
                }
            ),
            book_cred({'devices': {'hand': {'name': 'x'}}}, 'second-book'),
        ]

    def account(
        self, options: dict[str, Any] | None = None
    ) -> mfa_account.Account:
        return mfa_account.account_from(
            user(
                options
                or {
                    mfa_rules.RULES_OPTION: ENFORCED,
                    mfa_rules.ENABLED_OPTION: True,
                }
            ),
            self.creds,
            METHODS,
        )

    def test_has_second_factor(self) -> None:
        # Each kind of credential a code is accepted from, alone; the
        # verified devices alone would miss all but the first.
        kinds = {
            'verified device': ['d1'],
            'hand-made device': ['hand'],
            'recovery code': ['r1'],
            'interrupted enrollment': ['pend'],
        }
        books = [c for c in self.creds if c.type == mfa_client.BOOK_TYPE]
        for kind, ids in kinds.items():
            creds = [c for c in self.creds if c.id in ids] + books
            account = mfa_account.account_from(user(), creds, METHODS)
            self.assertTrue(account.has_second_factor, kind)
        unusable = [c for c in self.creds if c.id in ('short', 'empty')]
        for creds in ([], books, unusable + books):
            account = mfa_account.account_from(user(), creds, METHODS)
            self.assertFalse(account.has_second_factor, creds)

    def test_usable_and_unusable(self) -> None:
        account = self.account()
        self.assertEqual(['d1', 'hand', 'pend', 'r1'], account.usable)
        # Lower case, a JSON blob, under 128 bits, empty: Keystone can
        # compute no code from them.
        self.assertEqual(['empty', 'json', 'lower', 'short'], account.unusable)
        self.assertNotIn('other', account.totp)

    def test_classified(self) -> None:
        account = self.account()
        self.assertEqual('b', account.book.credential_id)
        # Only devices that exist and work are verified.
        self.assertEqual({'d1': {'name': 'phone'}}, account.verified)
        self.assertEqual(['r1'], account.recovery_ids)
        self.assertEqual(['pend'], account.pending)
        self.assertEqual(['hand'], account.hand_made)
        self.assertEqual(
            {
                'd1': {'name': 'phone'},
                'hand': {'name': 'hand', 'origin': 'hand-made'},
            },
            account.devices,
        )
        self.assertTrue(account.stale)
        self.assertEqual(mfa_rules.STATE_ENFORCED, account.state())
        self.assertEqual(METHODS, account.options.methods)

    def test_without_book_everything_is_hand_made(self) -> None:
        creds = [c for c in self.creds if c.type == mfa_client.TOTP_TYPE]
        account = mfa_account.account_from(user(), creds, METHODS)
        self.assertIsNone(account.book.credential_id)
        self.assertEqual(['d1', 'hand', 'pend', 'r1'], account.hand_made)
        self.assertEqual([], account.pending)
        self.assertEqual({}, account.verified)
        # Hand-made devices and no rules: the code alone signs in.
        self.assertEqual(mfa_rules.STATE_CODE_ALONE, account.state())

    def test_marks_of_a_second_book_are_leftovers(self) -> None:
        # Two first enrollments at once: the run that lost made a second
        # book, marked its credential there and was cut off.
        creds = [
            totp_cred('d1', self.device),
            totp_cred('pend', self.pending),
            book_cred({'devices': {'d1': {'name': 'phone'}}}, 'a-book'),
            book_cred(
                {'pending': [bookkeeping.fingerprint(self.pending)]}, 'b-book'
            ),
        ]
        account = mfa_account.account_from(user(), creds, METHODS)
        self.assertEqual('a-book', account.book.credential_id)
        self.assertEqual(['pend'], account.pending)
        self.assertEqual([], account.hand_made)
        self.assertEqual({'d1': {'name': 'phone'}}, account.verified)

    def test_fingerprint(self) -> None:
        value = bookkeeping.fingerprint(self.pending)
        self.assertEqual(32, len(value))
        self.assertNotIn(self.pending, value)
        self.assertEqual(value, bookkeeping.fingerprint(self.pending))
        self.assertNotEqual(value, bookkeeping.fingerprint(self.hand))

    def test_recovery_code_listed_as_device(self) -> None:
        creds = [
            totp_cred('d1', self.device),
            book_cred(
                {
                    'devices': {'d1': {'name': 'phone'}},
                    'recovery_codes': ['d1'],
                }
            ),
        ]
        account = mfa_account.account_from(user(), creds, METHODS)
        self.assertEqual(['d1'], list(account.verified))
        self.assertEqual([], account.recovery_ids)

    def test_states(self) -> None:
        self.assertEqual(
            mfa_rules.STATE_NOT_ENFORCED,
            self.account(
                {mfa_rules.RULES_OPTION: mfa_rules.LEGACY_GUARD_RULES}
            ).state(),
        )
        self.assertEqual(
            mfa_rules.STATE_CODE_ALONE,
            self.account(
                {
                    mfa_rules.RULES_OPTION: ENFORCED,
                    mfa_rules.ENABLED_OPTION: False,
                }
            ).state(),
        )
        only_bad = [c for c in self.creds if c.id in ('lower', 'short')]
        account = mfa_account.account_from(
            user({mfa_rules.RULES_OPTION: ENFORCED}), only_bad, METHODS
        )
        self.assertEqual(mfa_rules.STATE_LOCKED_OUT, account.state())

    def test_find(self) -> None:
        account = self.account()
        self.assertEqual('d1', account.find('phone'))
        self.assertEqual('d1', account.find('d1'))
        self.assertEqual('hand', account.find('hand'))
        self.assertEqual('pend', account.find('pend'))
        self.assertEqual('short', account.find('short'))
        # Neither a recovery code nor a credential that is gone.
        for name in ('r1', 'gone', 'old', 'other'):
            exc = self.assertRaises(mfa_account.NotFound, account.find, name)
            self.assertIn('phone (d1)', str(exc))
            self.assertIn('short (unusable)', str(exc))
            self.assertIn('alice', str(exc))

    def test_find_an_id_wins_over_a_crafted_name(self) -> None:
        # The user edited the bookkeeping: device d1 is named after the
        # hand-made credential, and two devices share a name.
        creds = [
            totp_cred('d1', self.device),
            totp_cred('d2', self.pending),
            totp_cred('hand', self.hand),
            book_cred(
                {
                    'devices': {
                        'd1': {'name': 'hand'},
                        'd2': {'name': 'hand'},
                    },
                }
            ),
        ]
        account = mfa_account.account_from(user(), creds, METHODS)
        self.assertEqual('hand', account.find('hand'))
        creds[-1] = book_cred(
            {'devices': {'d1': {'name': 'twin'}, 'd2': {'name': 'twin'}}}
        )
        account = mfa_account.account_from(user(), creds, METHODS)
        exc = self.assertRaises(mfa_account.NotFound, account.find, 'twin')
        self.assertIn('d1, d2', str(exc))
        self.assertEqual('d2', account.find('d2'))

    def test_find_names_hand_made_devices_when_missing(self) -> None:
        exc = self.assertRaises(
            mfa_account.NotFound, self.account().find, 'nosuch'
        )
        self.assertIn('hand', str(exc))

    def test_device_label(self) -> None:
        account = self.account()
        self.assertEqual('phone (d1)', account.device_label('d1'))
        self.assertEqual('hand', account.device_label('hand'))


class TestResolveUser(base.BaseTestCase):
    """A user that does not exist: one sentence naming the command that
    lists the users (no caller rewrites it by its text)."""

    def client(self) -> Any:
        client = mock.Mock()
        client.find_users.return_value = []
        client.get_user.side_effect = mfa_client.NotFound('gone')
        client.find_domain_id.return_value = 'd1'
        return client

    def test_no_such_user(self) -> None:
        exc = self.assertRaises(
            mfa_account.NotFound,
            mfa_account.resolve_user,
            self.client(),
            'nosuchuser',
        )
        self.assertEqual(
            "There is no user 'nosuchuser': `openstack user list` lists the "
            'users, to give one of their names or IDs with --user.',
            str(exc),
        )

    def test_no_such_user_in_domain(self) -> None:
        exc = self.assertRaises(
            mfa_account.NotFound,
            mfa_account.resolve_user,
            self.client(),
            'nosuchuser',
            'Example',
        )
        self.assertEqual(
            "There is no user 'nosuchuser' in domain Example: `openstack "
            'user list --domain Example` lists the users, to give one of '
            'their names or IDs with --user.',
            str(exc),
        )

    def test_a_value_that_is_no_id(self) -> None:
        client = self.client()
        client.get_user.side_effect = ValueError('not an ID')
        exc = self.assertRaises(
            mfa_account.NotFound,
            mfa_account.resolve_user,
            client,
            '../credentials',
        )
        self.assertIn('`openstack user list`', str(exc))

    def test_found_by_name_is_read_whole(self) -> None:
        # A list of users has no `federated`: the record by ID has.
        client = self.client()
        listed = mfa_client.User('f1', 'carol', 'd1', True, {})
        whole = mfa_client.User(
            'f1', 'carol', 'd1', True, {}, federated=('mapped',)
        )
        client.find_users.return_value = [listed]
        client.get_user.side_effect = None
        client.get_user.return_value = whole
        found = mfa_account.resolve_user(client, 'carol')
        self.assertEqual(('mapped',), found.federated)
        client.get_user.assert_called_once_with('f1')
