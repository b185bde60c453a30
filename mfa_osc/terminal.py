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

"""Whether a stream is a terminal: the one check of the whole package.

The sign-in plugin asks before it prompts, the commands before they ask
for proof or draw a progress bar.
"""

from __future__ import annotations

import sys
from typing import Any


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (standard input by default) is a terminal.

    Standard input: a person can answer a prompt; standard error: a
    progress bar may be drawn. A stream that is missing, closed or has no
    ``isatty`` is not a terminal.
    """
    if stream is None:
        stream = sys.stdin
    isatty = getattr(stream, 'isatty', None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False
