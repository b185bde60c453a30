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

"""Base class for functional tests: the real CLI against a real Keystone.

Every test process shares one :class:`LocalKeystone`, started on first use
and stopped at exit (stestr runs several worker processes; each has its
own).  Tests create their own users (:meth:`FunctionalTestCase.make_user`),
so they do not depend on each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
import time
from typing import Any

import fixtures
from oslotest import base

import mfa_osc
from mfa_osc import totp
from mfa_osc.testing.keystone import GUARD_ENV
from mfa_osc.testing.keystone import KeystoneUser
from mfa_osc.testing.keystone import LocalKeystone
from mfa_osc.testing.keystone import find_executable
from mfa_osc.testing.terminal import Answer
from mfa_osc.testing.terminal import PtyTimeoutError  # noqa: F401
from mfa_osc.testing.terminal import run_on_pty

#: Seconds a single CLI run may take before the test fails.
CLI_TIMEOUT = 120.0

#: ``openstack`` arguments that sign in and print only the user's id.
TOKEN_USER_ID = ('token', 'issue', '-f', 'value', '-c', 'user_id')


def _package_modules() -> list[str]:
    root = os.path.dirname(os.path.abspath(mfa_osc.__file__))
    names = []
    for folder, _dirs, files in os.walk(root):
        package = os.path.relpath(folder, os.path.dirname(root))
        prefix = package.replace(os.sep, '.')
        for name in files:
            if name == '__init__.py':
                names.append(prefix)
            elif name.endswith('.py'):
                names.append(f'{prefix}.{name[:-3]}')
    return sorted(names)


#: Warnings of other packages are theirs to fix and stay off (OSC's
#: dependencies print several); those raised in mfa_osc's modules (its
#: own, or a library's deprecation it triggers) are shown, and fail the
#: test (:meth:`FunctionalTestCase.assert_no_unexpected_stderr`).
#: NOTE: a -W module field is an exact name, not a pattern: each module
#: is named. Later entries win, so 'ignore' comes first.
_PYTHONWARNINGS = ','.join(
    ['ignore', *(f'default:::{name}' for name in _package_modules())]
)
#: How the warnings module prints a warning raised in mfa_osc's code:
#: ``.../mfa_osc/path.py:line: Category: ...`` (under ``-v`` OSC shows
#: every package's, which are not ours to fail on).
_WARNING = re.compile(
    r'^\S*/mfa_osc/\S+\.py:\d+: \w*Warning: .*$', re.MULTILINE
)

#: Seconds a window must still last for :meth:`Passcodes.fresh` to hand
#: out the previous window's code (which Keystone accepts until the current
#: window ends): a CLI that starts slowly still sends it in time.
PREVIOUS_WINDOW_MARGIN = 10

#: Seconds after its start within which a command signs in (its first
#: sign-in, or the one after waiting for the next window).
SIGN_IN_WITHIN = 40

#: ``[totp] included_previous_windows`` of the suite's Keystone behind the
#: guard (Keystone's default is 1).
GUARDED_PREVIOUS_WINDOWS = 4


def _key(secret: str) -> str:
    # NOTE: not totp.normalize_secret, which refuses the short secrets
    # some tests give Keystone on purpose.
    return re.sub(r'[\s-]+', '', secret).upper()


class Passcodes:
    """The passcodes a test handed out, per secret.

    NOTE: behind the guard a passcode that signed a user in is refused a
    second time (no replay). A test that signs in several times gets one
    code per sign-in from :meth:`fresh`, with a wait only when both
    windows' codes were handed out already. Kept per test: each test signs
    its own users in (the guard remembers a code per user).
    """

    #: Waits for the next window, all tests of this process together.
    waits = 0

    def __init__(self, once: bool = True, previous_windows: int = 1) -> None:
        #: Whether a code works once (behind the guard); else every call
        #: gives the current window's code, as Keystone alone accepts it
        #: again (no wait).
        self.once = once
        #: The earlier windows whose codes Keystone accepts too.
        self.previous_windows = previous_windows
        self._handed: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def fresh(self, secret: str, beside_current: bool = False) -> str:
        """A passcode of ``secret`` that Keystone accepts now and that was
        not handed out before: the current window's, else the previous
        window's (Keystone accepts both, ``[totp]
        included_previous_windows = 1``), else the next window's, waited
        for.

        ``beside_current``: never the current window's code, which the
        command the code is for signs in with itself (``OS_TOTP_SECRET``,
        or a passcode command printing the current code): the previous
        window's, else a later window's previous one, waited for.
        """
        key = _key(secret)
        if not self.once:
            return totp.passcode(key)
        with self._lock:
            handed = self._handed.setdefault(key, set())
            while True:
                now = time.time()
                current = totp.passcode(key, now)
                if current not in handed and not beside_current:
                    handed.add(current)
                    return current
                for back in range(1, self.previous_windows + 1):
                    # NOTE: the code of `back` windows ago is accepted
                    # until (previous_windows - back) windows after this.
                    lasts = totp.seconds_left(now) + totp.PERIOD * (
                        self.previous_windows - back
                    )
                    previous = totp.passcode(key, now - totp.PERIOD * back)
                    fresh = previous not in handed
                    if fresh and lasts > PREVIOUS_WINDOW_MARGIN:
                        handed.add(previous)
                        return previous
                Passcodes.waits += 1
                time.sleep(totp.PERIOD - now % totp.PERIOD + 0.05)

    def used_from(self, secret: str, started: float, ended: float) -> None:
        """A command given ``secret`` (``OS_TOTP_SECRET``) ran from
        ``started`` to ``ended``: the plugin may have signed in with the
        code of any window it started in (or, after a used code, the
        next), never handed out then.

        NOTE: the plugin signs in as the command starts; marking every
        window of a long command (a terminal's set-up) used up all codes.
        """
        key = _key(secret)
        ended = min(ended, started + SIGN_IN_WITHIN)
        with self._lock:
            handed = self._handed.setdefault(key, set())
            moment = started
            while True:
                handed.add(totp.passcode(key, moment))
                if moment >= ended:
                    break
                moment = min(moment + totp.PERIOD, ended)

    def give_back(self, secret: str, code: str) -> None:
        """``code`` of ``secret``, from :meth:`fresh`, signed no one in
        (Keystone's answer was not a token): it may be handed out again."""
        with self._lock:
            self._handed.get(_key(secret), set()).discard(code)


_keystone: LocalKeystone | None = None
_keystone_error: BaseException | None = None
_keystone_lock = threading.Lock()


class ModuleKeystone:
    """A test module's own LocalKeystone (settings of its own, e.g. behind
    the guard), started on first call and stopped at exit, as LocalKeystone
    registers. Call it where :func:`get_keystone` would be called."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._keystone: LocalKeystone | None = None
        self._lock = threading.Lock()

    def __call__(self) -> LocalKeystone:
        with self._lock:
            if self._keystone is None:
                keystone = LocalKeystone(**self._settings)
                keystone.start()
                self._keystone = keystone
            return self._keystone


def get_keystone() -> LocalKeystone:
    """The LocalKeystone of this test process, started on first use.

    If it cannot start, every later call raises the same error at once
    instead of trying again.
    """
    global _keystone, _keystone_error
    with _keystone_lock:
        if _keystone_error is not None:
            raise RuntimeError(
                f'the local Keystone failed to start: {_keystone_error}'
            ) from _keystone_error
        if _keystone is None:
            # NOTE: federation (an assertion read from request headers, as
            # Keystone's own tests do) and `external` (REMOTE_USER from a
            # test header) for the tests of every account shape: guard
            # rules must not lock such users out (issue 20).
            keystone = LocalKeystone(
                # Keystone's own, with REMOTE_USER from a test header.
                application='mfa_osc.testing.remote_user:application',
                config={
                    'federation': {'assertion_prefix': 'HTTP_'},
                    # NOTE: REMOTE_DOMAIN names the user's domain (the
                    # default domain without it, as by default).
                    'auth': {'external': 'Domain'},
                    # NOTE: behind the guard (tox -e functional-guard), a
                    # policy a test sets applies at once, on both uWSGI
                    # processes (by default each keeps a domain's policy a
                    # minute); the guard's other settings are its defaults.
                    'mfa_guard': {'policy_cache_time': '0'},
                    # NOTE: a passcode works once behind the guard: with
                    # the codes of 4 earlier windows accepted too, a test
                    # has 5 codes of a secret at once instead of 2 (a new
                    # one each 30 seconds), and rarely waits for one.
                    **(
                        {
                            'totp': {
                                'included_previous_windows': str(
                                    GUARDED_PREVIOUS_WINDOWS
                                )
                            }
                        }
                        if os.environ.get(GUARD_ENV, '') == '1'
                        else {}
                    ),
                },
            )
            try:
                keystone.start()  # registers its own atexit stop()
            except BaseException as exc:
                _keystone_error = exc
                raise
            _keystone = keystone
        return _keystone


def openstack_executable() -> str:
    path = find_executable('openstack')
    if path is None:
        raise RuntimeError(
            f'the openstack CLI was found neither next to {sys.executable} '
            'nor on PATH'
        )
    return path


@dataclasses.dataclass(frozen=True)
class CLIResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f'command: {" ".join(self.argv)}\n'
            f'exit status: {self.returncode}\n'
            f'--- stdout ---\n{self.stdout}\n'
            f'--- stderr ---\n{self.stderr}'
        )


class FunctionalTestCase(base.BaseTestCase):
    """Runs the real ``openstack`` CLI against the shared local Keystone."""

    # A hung test fails instead of hanging the run (OS_TEST_TIMEOUT wins).
    DEFAULT_TIMEOUT = 600

    keystone: LocalKeystone
    home: str

    def setUp(self) -> None:
        # Start (or get) the Keystone before oslotest's NestedTempfile
        # fixture: it must not live in this test's temporary directory.
        keystone = get_keystone()
        super().setUp()
        self.keystone = keystone
        self.home = self.useFixture(fixtures.TempDir()).path

    @property
    def guarded(self) -> bool:
        """Whether the test's Keystone runs behind mfa-osc's guard
        (``tox -e functional-guard``): the server refuses first."""
        return self.keystone.guard

    @property
    def passcodes(self) -> Passcodes:
        """The passcodes this test handed out (made on first use: some
        test classes set up without this class's setUp)."""
        codes: Passcodes | None = self.__dict__.get('_passcodes')
        if codes is None:
            codes = Passcodes(
                once=self.keystone.guard,
                previous_windows=(
                    GUARDED_PREVIOUS_WINDOWS
                    if self.keystone is _keystone and self.keystone.guard
                    else 1
                ),
            )
            self.__dict__['_passcodes'] = codes
        return codes

    def good_code(self, secret: str) -> str:
        """A passcode of ``secret`` for one sign-in
        (:meth:`Passcodes.fresh`)."""
        return self.passcodes.fresh(secret)

    def proof_code(self, secret: str) -> str:
        """A passcode of ``secret`` for a command's proof (``--passcode``)
        where that command signs in with the current code itself
        (:meth:`Passcodes.fresh` beside it)."""
        return self.passcodes.fresh(secret, beside_current=True)

    def give_back(self, secret: str, code: str) -> None:
        """See :meth:`Passcodes.give_back`."""
        self.passcodes.give_back(secret, code)

    @property
    def openstack_path(self) -> str:
        """The ``openstack`` console script (next to sys.executable)."""
        return openstack_executable()

    def make_user(
        self,
        rules: Sequence[Sequence[str]] | None = None,
        project: bool = True,
    ) -> KeystoneUser:
        """A fresh user with a unique name (member of its own project)."""
        return self.keystone.create_user(project=project, rules=rules)

    def make_totp_user(
        self,
        rules: Sequence[Sequence[str]] | None = None,
        secret: str | None = None,
    ) -> tuple[KeystoneUser, str]:
        """:meth:`make_user` with a TOTP credential of ``secret`` (a new
        one by default) made by hand, not by ``mfa enroll``: the user and
        the secret."""
        user = self.make_user(rules=rules)
        secret = secret or totp.generate_secret()
        self.keystone.create_totp_credential(user.id, secret)
        return user, secret

    def multifactor_cloud(
        self, user: KeystoneUser, **auth: str
    ) -> dict[str, Any]:
        """A ``clouds.yaml`` cloud: v3multifactor on this test's Keystone
        as ``user`` (password and project, Default domain), ``auth``
        added to its ``auth``."""
        return {
            'auth_type': 'v3multifactor',
            'auth': {
                'auth_url': self.keystone.auth_url,
                'username': user.name,
                'password': user.password,
                'project_name': user.project_name,
                'user_domain_name': 'Default',
                'project_domain_name': 'Default',
                **auth,
            },
            'region_name': self.keystone.region_name,
            'identity_api_version': '3',
        }

    def write_clouds_yaml(
        self, config: Mapping[str, Any], folder: str | None = None
    ) -> str:
        """Write ``config`` as ``clouds.yaml`` (JSON is YAML) in ``folder``
        (this test's home by default): its path."""
        path = os.path.join(folder or self.home, 'clouds.yaml')
        with open(path, 'w') as out:
            json.dump(config, out)
        return path

    def cli_env(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a CLI run.

        os.environ without any OS_* variable, HOME (and XDG directories)
        in this test's temporary directory, OS_CLIENT_CONFIG_FILE=/dev/null,
        then ``env`` on top (which may override any of these).
        """
        result = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(('OS_', 'XDG_'))
        }
        result.update(
            HOME=self.home,
            XDG_CONFIG_HOME=os.path.join(self.home, '.config'),
            XDG_CACHE_HOME=os.path.join(self.home, '.cache'),
            XDG_DATA_HOME=os.path.join(self.home, '.local', 'share'),
            OS_CLIENT_CONFIG_FILE='/dev/null',
            PYTHONWARNINGS=_PYTHONWARNINGS,
        )
        if env:
            result.update(env)
        return result

    def run_command(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        expect_fail: bool = False,
        stdin: str | None = None,
        timeout: float = CLI_TIMEOUT,
        check: bool = True,
    ) -> CLIResult:
        """Run a program without a TTY with :meth:`cli_env` (``env`` on
        top) in this test's home directory.

        stdin is ``stdin`` (or /dev/null).  Asserts the exit status is 0,
        or not 0 with ``expect_fail`` (either, without ``check``); fails the
        test after ``timeout`` seconds.
        """
        argv = list(argv)
        started = time.time()
        try:
            proc = subprocess.run(
                argv,
                input=stdin,
                stdin=subprocess.DEVNULL if stdin is None else None,
                capture_output=True,
                text=True,
                env=self.cli_env(env),
                cwd=self.home,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            self.fail(
                f'{" ".join(argv)} did not end within {timeout:g} s\n'
                f'--- stdout ---\n{_text(exc.stdout)}\n'
                f'--- stderr ---\n{_text(exc.stderr)}'
            )
        self._mark_secret(env, started, argv)
        result = CLIResult(argv, proc.returncode, proc.stdout, proc.stderr)
        if argv[0] == openstack_executable():
            # NOTE: the openstack command's; a Python program of a test
            # that is to fail may well end with its own traceback.
            self.assert_no_unexpected_stderr(result)
        if not check:
            return result
        if expect_fail and result.returncode == 0:
            self.fail(f'expected a failure:\n{result.describe()}')
        if not expect_fail and result.returncode != 0:
            self.fail(f'expected success:\n{result.describe()}')
        return result

    def run_unchecked(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> CLIResult:
        """Run a program as :meth:`run_command` does (no TTY, stdin
        /dev/null), checking nothing, not even its stderr: for the fault
        tests, which judge each failure themselves."""
        argv = list(argv)
        started = time.time()
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=self.cli_env(env),
                cwd=self.home,
                timeout=CLI_TIMEOUT,
                check=False,
            )
        finally:
            # NOTE: as run_command: the codes its sign-in may have used.
            self._mark_secret(env, started, argv)
        return CLIResult(argv, proc.returncode, proc.stdout, proc.stderr)

    def openstack_unchecked(
        self, *args: str, env: Mapping[str, str] | None = None
    ) -> CLIResult:
        """Run the real ``openstack ARGS``; see :meth:`run_unchecked`."""
        return self.run_unchecked([openstack_executable(), *args], env)

    def assert_no_unexpected_stderr(self, result: CLIResult) -> None:
        """No traceback (but with ``--debug``, where OSC prints them on
        purpose) and no Python warning raised in mfa_osc's code, whatever
        the exit status: a user never gets either from mfa-osc."""
        if '--debug' not in result.argv:
            self.assertNotIn(
                'Traceback (most recent call last)',
                result.stderr,
                f'a traceback on stderr:\n{result.describe()}',
            )
        warning = _WARNING.search(result.stderr)
        if warning is not None:
            self.fail(
                f'a Python warning on stderr ({warning.group(0)}):\n'
                f'{result.describe()}'
            )

    def openstack(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        expect_fail: bool = False,
        stdin: str | None = None,
        timeout: float = CLI_TIMEOUT,
        check: bool = True,
    ) -> CLIResult:
        """Run the real ``openstack ARGS``; see :meth:`run_command`."""
        return self.run_command(
            [openstack_executable(), *args],
            env=env,
            expect_fail=expect_fail,
            stdin=stdin,
            timeout=timeout,
            check=check,
        )

    def openstack_json(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = CLI_TIMEOUT,
    ) -> Any:
        """Run ``openstack ARGS -f json`` (must succeed); parsed output."""
        result = self.openstack(
            *args, '-f', 'json', env=env, stdin=stdin, timeout=timeout
        )
        try:
            return json.loads(result.stdout)
        except ValueError:
            self.fail(f'output is not JSON:\n{result.describe()}')

    def run_python(
        self,
        script: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        expect_fail: bool = False,
        stdin: str | None = None,
        timeout: float = CLI_TIMEOUT,
    ) -> str:
        """Run ``python -c SCRIPT ARGS`` like :meth:`openstack`; stdout."""
        return self.run_command(
            [sys.executable, '-c', script, *args],
            env=env,
            expect_fail=expect_fail,
            stdin=stdin,
            timeout=timeout,
        ).stdout

    def run_on_pty(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        inputs: Sequence[tuple[str, Answer]] = (),
        timeout: float = CLI_TIMEOUT,
    ) -> tuple[int, str]:
        """:func:`run_on_pty` with :meth:`cli_env` (``env`` on top)."""
        started = time.time()
        try:
            return run_on_pty(argv, self.cli_env(env), inputs, timeout)
        finally:
            self._mark_secret(env, started, argv)

    def _mark_secret(
        self,
        env: Mapping[str, str] | None,
        started: float,
        argv: Sequence[str] = (),
    ) -> None:
        """See :meth:`Passcodes.used_from`: the secret of ``--os-totp-secret``
        on the command line, else of ``OS_TOTP_SECRET``."""
        secret = (env or {}).get('OS_TOTP_SECRET')
        args = list(argv)
        for at, arg in enumerate(args):
            if arg == '--os-totp-secret' and at + 1 < len(args):
                secret = args[at + 1]
            elif arg.startswith('--os-totp-secret='):
                secret = arg.partition('=')[2]
        if not secret:
            return
        try:
            self.passcodes.used_from(secret, started, time.time())
        except ValueError:
            # NOTE: a planted value that is no base32 TOTP secret (the
            # secrets tests') signs no one in: nothing to mark.
            pass

    def openstack_on_pty(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        inputs: Sequence[tuple[str, Answer]] = (),
        timeout: float = CLI_TIMEOUT,
    ) -> tuple[int, str]:
        """Run ``openstack ARGS`` on a pty; see :func:`run_on_pty`."""
        return self.run_on_pty(
            [openstack_executable(), *args], env, inputs, timeout
        )


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ''
    if isinstance(data, bytes):
        return data.decode(errors='replace')
    return data
