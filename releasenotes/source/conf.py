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

"""Sphinx configuration of the mfa-osc release notes.

Built with ``tox -e releasenotes`` (``sphinx-build -W --keep-going -b html
releasenotes/source releasenotes/build/html``). reno's extension reads the
notes from git history: a note appears once it is committed.
"""

from __future__ import annotations

project = 'mfa-osc release notes'
author = 'mfa-osc developers'
copyright = 'mfa-osc developers'  # noqa: A001 - Sphinx's name

extensions = ['reno.sphinxext']

root_doc = 'index'
exclude_patterns = ['_build']
release = ''
version = ''

html_theme = 'alabaster'
html_static_path: list[str] = []
