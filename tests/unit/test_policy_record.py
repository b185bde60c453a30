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

"""mfa_osc.policy_record: the stored domain policy, parsed once."""

import testtools

from mfa_osc import policy_record


class TestParse(testtools.TestCase):
    def test_none_in_force(self) -> None:
        for value in (None, 'yes', [], {}, {'required': False}):
            self.assertIsNone(policy_record.parse(value), value)

    def test_a_policy(self) -> None:
        record = policy_record.parse(
            {'required': True, 'deadline': '2027-03-31', 'roles': ['admin', 7]}
        )
        assert record is not None
        self.assertEqual('2027-03-31', record.deadline)
        self.assertEqual('2027-03-31', record.stored_deadline)
        self.assertEqual(('admin', '7'), record.roles)

    def test_no_deadline_and_no_roles(self) -> None:
        record = policy_record.parse(
            {'required': True, 'deadline': None, 'roles': 'admin'}
        )
        assert record is not None
        self.assertIsNone(record.deadline)
        self.assertIsNone(record.stored_deadline)
        self.assertEqual((), record.roles)

    def test_a_deadline_not_a_date_is_none_but_kept_as_stored(self) -> None:
        # NOTE: none means in force at once, never later than stored; the
        # policy commands read stored_deadline to say what is wrong.
        record = policy_record.parse({'required': True, 'deadline': 'soon'})
        assert record is not None
        self.assertIsNone(record.deadline)
        self.assertEqual('soon', record.stored_deadline)

    def test_the_key(self) -> None:
        self.assertEqual('mfa_policy', policy_record.KEY)
