#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""How uWSGI serves a throwaway Keystone: its command line and the
modules it imports first.

:func:`uwsgi_argv` is how the server runs (one process by default, two
behind the guard, dying with its master on SIGTERM); the modules written
by :func:`write_module` give Keystone 26 and older Keystone 27's
``keystone.wsgi.api`` (:data:`COMPAT_SOURCE`), or put the guard inside a
test's wrapper of Keystone (:data:`GUARD_SOURCE`). The process itself is
:mod:`mfa_osc.testing.server`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
import importlib.util
import os

__all__ = [
    'COMPAT_MODULE',
    'COMPAT_SOURCE',
    'GUARD_MODULE',
    'GUARD_SOURCE',
    'application_root',
    'uwsgi_argv',
    'write_module',
]

#: The module uWSGI imports first when the guard is to wrap another
#: application than Keystone's (a test's wrapper of ``keystone.wsgi.api``):
#: Keystone's application in ``keystone.wsgi.api`` is replaced by itself
#: behind the guard, so that the wrapper wraps the guard.
GUARD_MODULE = '_mfa_osc_guarded_keystone'
GUARD_SOURCE = """\
from keystone.wsgi import api

from mfa_osc.guard import app

api.application = app.wrap(api.application)
"""

#: The module uWSGI imports first on Keystone 26 and older, which have no
#: ``keystone.wsgi``: it gives them Keystone 27's ``keystone.wsgi.api``,
#: whose ``application`` is what their ``keystone-wsgi-public`` script
#: serves (``initialize_public_application()``). One application name then
#: serves every release, and so does a test's wrapper of it.
COMPAT_MODULE = '_mfa_osc_keystone_wsgi'
COMPAT_SOURCE = """\
import sys
import types

import keystone
from keystone.server import wsgi

api = types.ModuleType('keystone.wsgi.api')
api.application = wsgi.initialize_public_application()
package = types.ModuleType('keystone.wsgi')
package.__path__ = []
package.api = api
keystone.wsgi = package
sys.modules['keystone.wsgi'] = package
sys.modules['keystone.wsgi.api'] = api
"""


def write_module(directory: str, name: str, source: str) -> None:
    """Write a module for uWSGI to ``--import`` from ``directory``."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f'{name}.py'), 'w') as f:
        f.write(source)


def application_root(application: str) -> str | None:
    """The directory to put on uWSGI's path for ``application``'s
    top-level package, as this process finds it."""
    top = application.partition(':')[0].partition('.')[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.origin:
        return None
    # NOTE: a package's origin is its __init__.py. For
    # mfa_osc.testing's wrappers that is this checkout (tox
    # installs it with usedevelop): nothing else of the
    # client's environment reaches the server.
    root = os.path.dirname(spec.origin)
    if spec.submodule_search_locations is not None:
        root = os.path.dirname(root)
    return root


def uwsgi_argv(
    uwsgi: str,
    port: int,
    application: str,
    processes: int,
    python_path: Sequence[str] = (),
    imports: Sequence[str] = (),
) -> list[str]:
    """uWSGI's command line serving ``application`` on ``port`` of
    127.0.0.1, with ``python_path`` on its path, importing ``imports``
    first; on the Python of ``uwsgi``'s virtualenv, if it is in one."""
    argv = [
        uwsgi,
        '--http',
        f'127.0.0.1:{port}',
        '--http-keepalive',
        *(arg for path in python_path for arg in ('--pythonpath', path)),
        *(arg for module in imports for arg in ('--import', module)),
        '--module',
        application,
        '--need-app',
        '--master',
        # By default one process, one thread: requests are served one
        # at a time. Keystone writes on every password sign-in
        # (last_active_at); two at once on sqlite can fail with
        # "database is locked" and leave the other request unanswered
        # until uWSGI's 60 s http-timeout (measured: 1 run in 40 of
        # two concurrent sign-ins under load). Behind the guard, two
        # (the sqlite database is in WAL mode).
        '--processes',
        str(processes),
        '--enable-threads',
        # Die on SIGTERM (not reload), workers die with the master.
        '--die-on-term',
        '--no-orphans',
        '--reload-mercy',
        '5',
        '--worker-reload-mercy',
        '5',
        '--buffer-size',
        '32768',
        '--disable-logging',
        '--ignore-sigpipe',
        '--ignore-write-errors',
        '--disable-write-exception',
        '--procname-prefix-spaced',
        'mfa-osc-keystone',
    ]
    home = os.path.dirname(os.path.dirname(os.path.abspath(uwsgi)))
    if os.path.exists(os.path.join(home, 'pyvenv.cfg')):
        argv += ['--home', home]
    return argv
