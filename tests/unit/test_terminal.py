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

"""mfa_osc.terminal: the one terminal check."""

import io
import sys
from unittest import mock

import testtools

from mfa_osc import terminal


class _Stream:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        if isinstance(self.answer, Exception):
            raise self.answer
        return bool(self.answer)


class TestIsTerminal(testtools.TestCase):
    def test_a_terminal_is(self) -> None:
        self.assertTrue(terminal.is_terminal(_Stream(True)))

    def test_a_file_is_not(self) -> None:
        self.assertFalse(terminal.is_terminal(io.StringIO()))

    def test_missing_closed_or_without_isatty_is_not(self) -> None:
        closed = io.StringIO()
        closed.close()
        for stream in (closed, object(), _Stream(OSError()), _Stream(False)):
            self.assertFalse(terminal.is_terminal(stream))

    def test_standard_input_by_default(self) -> None:
        with mock.patch.object(sys, 'stdin', _Stream(True)):
            self.assertTrue(terminal.is_terminal())
        with mock.patch.object(sys, 'stdin', None):
            self.assertFalse(terminal.is_terminal())
