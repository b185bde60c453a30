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
