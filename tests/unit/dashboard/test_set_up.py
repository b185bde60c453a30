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


"""The set-up at sign-in's verdict (mfa_osc.dashboard.set_up)."""

from __future__ import annotations

import datetime
from typing import Any
from unittest import mock

from oslotest import base

from mfa_osc import client as mfa_client
from mfa_osc import policy_record
from mfa_osc.dashboard import set_up


def _client(policy: Any, *, devices: bool = False) -> mock.Mock:
    client = mock.Mock()
    client.clock_skew = 0.0
    if isinstance(policy, Exception):
        client.get_domain_extra.side_effect = policy
    else:
        client.get_domain_extra.return_value = policy
    client.list_credentials.return_value = []
    return client


def _verdict(
    client: mock.Mock, roles: set[str] | None = None, devices: bool = False
) -> set_up.Verdict:
    with mock.patch.object(set_up, '_has_device', return_value=devices):
        return set_up.verdict(
            client,
            user_id='u1',
            user_name='alice',
            domain_id='d1',
            role_names=roles or {'member'},
        )


def _day(offset: int) -> str:
    today = datetime.datetime.now(datetime.UTC).date()
    return (today + datetime.timedelta(days=offset)).isoformat()


class TestVerdict(base.BaseTestCase):
    def test_no_policy_nothing_to_do(self) -> None:
        client = _client(None)
        self.assertEqual(set_up.NOTHING, _verdict(client))
        client.get_domain_extra.assert_called_once_with(
            'd1', policy_record.KEY
        )
        client.list_credentials.assert_not_called()

    def test_in_force_without_device_is_due(self) -> None:
        verdict = _verdict(_client({'required': True}))
        self.assertEqual(set_up.DUE, verdict.kind)
        self.assertIn('requires multi-factor sign-in', verdict.sentence)

    def test_past_the_deadline_is_due_and_says_since(self) -> None:
        day = _day(-3)
        verdict = _verdict(_client({'required': True, 'deadline': day}))
        self.assertEqual(set_up.DUE, verdict.kind)
        self.assertIn(f'since {day}', verdict.sentence)

    def test_on_the_deadline_is_due(self) -> None:
        verdict = _verdict(_client({'required': True, 'deadline': _day(0)}))
        self.assertEqual(set_up.DUE, verdict.kind)

    def test_before_the_deadline_is_a_reminder(self) -> None:
        day = _day(5)
        verdict = _verdict(_client({'required': True, 'deadline': day}))
        self.assertEqual(set_up.REMINDER, verdict.kind)
        self.assertIn('5 days left', verdict.sentence)

    def test_a_device_is_left_alone(self) -> None:
        client = _client({'required': True})
        self.assertEqual(set_up.NOTHING, _verdict(client, devices=True))

    def test_roles_not_held_are_not_covered(self) -> None:
        client = _client({'required': True, 'roles': ['admin']})
        self.assertEqual(set_up.NOTHING, _verdict(client, {'member'}))
        verdict = _verdict(client, {'member', 'admin'})
        self.assertEqual(set_up.DUE, verdict.kind)

    def test_unreadable_policy_without_device_is_due(self) -> None:
        client = _client(mfa_client.Forbidden('no'))
        verdict = _verdict(client)
        self.assertEqual(set_up.DUE, verdict.kind)
        self.assertIn('could not be read', verdict.sentence)
        self.assertEqual(set_up.NOTHING, _verdict(client, devices=True))

    def test_unreadable_device_counts_as_none(self) -> None:
        client = _client({'required': True})
        with mock.patch.object(
            set_up,
            '_has_device',
            side_effect=mfa_client.Unavailable('down'),
        ):
            verdict = set_up.verdict(
                client,
                user_id='u1',
                user_name=None,
                domain_id='d1',
                role_names=set(),
            )
        self.assertEqual(set_up.DUE, verdict.kind)

    def test_keystones_clock_decides(self) -> None:
        # Keystone is a day behind this machine: the deadline of today
        # is tomorrow by its clock.
        client = _client({'required': True, 'deadline': _day(0)})
        client.clock_skew = 86400.0
        verdict = _verdict(client)
        self.assertEqual(set_up.REMINDER, verdict.kind)
