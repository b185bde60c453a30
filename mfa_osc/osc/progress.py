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

"""Progress of long administrator commands, on a terminal's stderr only.

Drawn by rich (already installed with cliff, through rich-argparse), and
only when standard error is a terminal: in a pipe, a log or CI nothing is
drawn, and nothing ever goes to standard output, so ``-f json`` and
``-f csv`` stay clean. rich is imported only when a bar is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
from typing import Any

from mfa_osc import client as mfa_client
from mfa_osc.osc import common

#: (done, total) after each user changed.
OnChange = Callable[[int, int], None]


@contextlib.contextmanager
def shown(app: Any, client: mfa_client.MFAClient) -> Iterator[OnChange | None]:
    """Show pages read and users changed; yields the change callback."""
    stream = app.stderr
    if not common.is_terminal(stream):
        yield None
        return
    from rich import console as rich_console
    from rich import progress as rich_progress

    bar = rich_progress.Progress(
        rich_progress.TextColumn('{task.description}'),
        rich_progress.BarColumn(),
        rich_progress.MofNCompleteColumn(),
        rich_progress.TimeElapsedColumn(),
        console=rich_console.Console(file=stream),
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def on_page(what: str, rows: int) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(f'Reading {what}', total=None)
        bar.update(tasks[what], completed=rows)

    def on_change(done: int, total: int) -> None:
        if 'changes' not in tasks:
            tasks['changes'] = bar.add_task('Changing users', total=total)
        bar.update(tasks['changes'], completed=done)

    client.on_page = on_page
    try:
        with bar:
            yield on_change
    finally:
        client.on_page = None
