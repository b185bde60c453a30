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

"""The workflow fakes' old name, for importers not yet moved.

The tests are in ``tests/unit/workflows/test_<module>.py`` and the fakes
in :mod:`tests.unit.workflows.fakes`. ``tests/unit/test_bulk.py``,
``test_policy.py`` and ``test_recovery_file.py`` still import them from
here; once they import ``tests.unit.workflows.fakes``, this module goes.
"""

from __future__ import annotations

from mfa_osc import client as mfa_client
from mfa_osc.workflows import status as status_flow
from tests.unit.workflows.fakes import METHODS
from tests.unit.workflows.fakes import Boom
from tests.unit.workflows.fakes import FakeKeystone
from tests.unit.workflows.fakes import as_keystone
from tests.unit.workflows.fakes import do_enroll
from tests.unit.workflows.fakes import get_status

__all__ = [
    'METHODS',
    'Boom',
    'FakeKeystone',
    'as_keystone',
    'do_enroll',
    'get_status',
    'mfa_client',
    'status_flow',
]
