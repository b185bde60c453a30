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

"""Sphinx extension: plugin option tables, and argparse defaults for cliff.

1. A table of an auth plugin's options, generated from its loader.

Usage::

    .. auth-plugin-options:: v3multifactor
       :names: passcode, totp-secret

The directive loads the keystoneauth1 plugin loader by name
(``keystoneauth1.loading.get_plugin_loader``), calls ``get_options()`` and
renders one row per option: its name, the ``openstack`` flag, the
environment variable, the clouds.yaml key, whether it is a secret, its
default and its help. Flags and variables come from the option itself
(``Opt.argparse_args``, ``Opt.argparse_envvars``), so deprecated aliases
appear too, and the table cannot drift from the code.

``:names:`` keeps only the listed options, in the listed order (a name
the loader does not declare is an error, so a renamed option breaks the
build instead of silently vanishing from the page).

2. ``%(default)s`` in command help. argparse expands it in ``openstack help``,
but ``cliff.sphinxext`` prints option help verbatim; this extension makes it
expand the help the way argparse does before the reference is rendered.
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

HEADERS = (
    'Option',
    'Flag',
    'Environment variable',
    'clouds.yaml',
    'Secret',
    'Default',
    'Description',
)
WIDTHS = (12, 18, 18, 16, 6, 8, 22)


def _literals(values: list[str]) -> nodes.entry:
    """A cell with each value as literal text on a line of its own."""
    entry = nodes.entry()
    for value in values:
        para = nodes.paragraph()
        para += nodes.literal(value, value)
        entry += para
    return entry


def _cell(*content: nodes.Node | str) -> nodes.entry:
    para = nodes.paragraph()
    for item in content:
        para += nodes.Text(item) if isinstance(item, str) else item
    entry = nodes.entry()
    entry += para
    return entry


def _row(cells: list[nodes.entry]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        row += cell
    return row


class AuthPluginOptions(SphinxDirective):
    """Render the options of a keystoneauth1 auth plugin as a table."""

    required_arguments = 1
    has_content = False
    option_spec = {'names': directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from keystoneauth1 import exceptions
        from keystoneauth1 import loading

        plugin = self.arguments[0]
        try:
            loader = loading.get_plugin_loader(plugin)
        except exceptions.NoMatchingPlugin:
            raise self.error(
                f'No keystoneauth1 auth plugin {plugin!r} is installed; '
                'install this package (pip install -e .) first.'
            ) from None
        options = list(loader.get_options())
        wanted = [
            name.strip()
            for name in self.options.get('names', '').split(',')
            if name.strip()
        ]
        if wanted:
            by_name = {opt.name: opt for opt in options}
            missing = [name for name in wanted if name not in by_name]
            if missing:
                raise self.error(
                    f'The {plugin} loader declares no option named '
                    + ', '.join(repr(name) for name in missing)
                )
            options = [by_name[name] for name in wanted]

        table = nodes.table(classes=['auth-plugin-options'])
        group = nodes.tgroup(cols=len(HEADERS))
        table += group
        for width in WIDTHS:
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += _row([_cell(title) for title in HEADERS])
        group += head
        body = nodes.tbody()
        for opt in options:
            body += _row(self._cells(opt))
        group += body
        return [table]

    @staticmethod
    def _cells(opt: Any) -> list[nodes.entry]:
        default = opt.default
        if default is None or default == '':
            default_cell = _cell('')
        else:
            default_cell = _cell(nodes.literal(str(default), str(default)))
        help_text = (opt.help or '').strip()
        if help_text and not help_text.endswith('.'):
            help_text += '.'
        return [
            _cell(nodes.literal(opt.name, opt.name)),
            _literals(list(opt.argparse_args)),
            _literals(list(opt.argparse_envvars)),
            _cell(nodes.literal(f'auth.{opt.dest}', f'auth.{opt.dest}')),
            _cell('yes' if opt.secret else ''),
            default_cell,
            _cell(help_text),
        ]


def _expand_help(action: argparse.Action) -> argparse.Action:
    """A copy of ``action`` whose help has ``%(default)s`` etc. filled in."""
    if not action.help or '%' not in action.help:
        return action
    params = dict(vars(action))
    for name, value in list(params.items()):
        if value is argparse.SUPPRESS:
            del params[name]
        elif hasattr(value, '__name__'):
            params[name] = value.__name__
    if params.get('choices') is not None:
        params['choices'] = ', '.join(str(c) for c in params['choices'])
    expanded = copy.copy(action)
    expanded.help = action.help % params
    return expanded


def _expand_cliff_help() -> None:
    from cliff import sphinxext

    if getattr(sphinxext, '_mfa_osc_expands_help', False):
        return
    for name in ('_format_optional_action', '_format_positional_action'):
        original = getattr(sphinxext, name)

        def wrapper(action: argparse.Action, _original: Any = original) -> Any:
            return _original(_expand_help(action))

        setattr(sphinxext, name, wrapper)
    sphinxext._mfa_osc_expands_help = True  # type: ignore[attr-defined]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive('auth-plugin-options', AuthPluginOptions)
    _expand_cliff_help()
    return {
        'version': '1',
        'parallel_read_safe': True,
        'parallel_write_safe': True,
    }
