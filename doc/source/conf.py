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

"""Sphinx configuration of the mfa-osc documentation.

Built with ``tox -e docs`` (``sphinx-build -W --keep-going -b html
doc/source doc/build/html``): every warning is an error.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys

# NOTE: the local extension that renders the plugin options table from the
# keystoneauth loader itself, so the table cannot drift from the code.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '_exts'))

project = 'mfa-osc'
author = 'mfa-osc developers'
copyright = 'mfa-osc developers'  # noqa: A001 - Sphinx's name

try:
    release = importlib.metadata.version('mfa-osc')
except importlib.metadata.PackageNotFoundError:
    release = ''
version = release

extensions = [
    'cliff.sphinxext',
    'mfa_osc_options',
]

# -- cliff.sphinxext: the ``openstack mfa`` reference ------------------------

autoprogram_cliff_application = 'openstack'
# NOTE: the output-formatting options every OSC command shares are described
# once, in the prose of the reference page, rather than under each command.
autoprogram_cliff_ignored = [
    '--help',
    '--format',
    '--column',
    '--max-width',
    '--fit-width',
    '--print-empty',
    '--noindent',
    '--prefix',
    '--quote',
    '--sort-column',
    '--sort-ascending',
    '--sort-descending',
]

# -- General ------------------------------------------------------------------

root_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'sphinx'
# NOTE: quotes only: command help says --all, which must not become an
# en dash.
smartquotes_action = 'q'
nitpicky = False

# -- HTML ---------------------------------------------------------------------

# NOTE: the stock theme that ships with Sphinx keeps doc/requirements.txt
# down to sphinx and reno.
html_theme = 'alabaster'
html_theme_options = {
    'description': 'Multi-factor sign-in for OpenStack clients',
    'fixed_sidebar': True,
    'page_width': '1100px',
    'sidebar_width': '240px',
}
html_title = 'mfa-osc'
html_static_path: list[str] = []
