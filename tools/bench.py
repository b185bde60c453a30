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

"""Benchmarks of mfa-osc, each a ratio against a baseline of the same run.

Run with ``tox -e bench``. Starts a throwaway local Keystone, then prints:

1. import cost of the plugin's entry point against ``keystoneauth1.loading``;
2. wall time of ``openstack token issue`` with v3multifactor against the
   in-tree v3password;
3. a cached command against an uncached one;
4. sign-in round trips per path (requests to /v3/auth/tokens);
5. the audit (``openstack mfa status --all``): its request count and its
   time against ``openstack user list`` for the same 1000 users;
6. the audit at cloud scale: 20,000 users on PostgreSQL (sqlite where it
   is missing), against listing the same users page by page;
7. sign-in round trips over a 100 ms network, per path, against upstream
   v3password and upstream v3multifactor;
8. Keystone behind mfa-osc's guard against Keystone served directly: the
   cost per sign-in, and the wrong passcodes an attacker gets checked
   (``tools/bench_guard.py``, which also runs alone).

No number here is a pass/fail threshold; tests assert behaviour, this
script measures it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
import urllib.parse

from keystoneauth1 import session as ks_session

from mfa_osc import totp
from mfa_osc.auth import plugin
from mfa_osc.testing import keystone as local_keystone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_guard  # noqa: E402
import bench_scale  # noqa: E402
import bench_trips  # noqa: E402

from tests.functional import mfa_base  # noqa: E402

RULES = [['password', 'totp'], ['application_credential']]
SECRET = totp.generate_secret()
OPENSTACK = local_keystone.find_executable('openstack') or 'openstack'


def line(name: str, value: str) -> None:
    print(f'  {name:<52} {value}')


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def compare(
    argv: list[str],
    baseline: dict[str, str],
    candidate: dict[str, str],
    runs: int,
) -> tuple[float, float]:
    """Median wall times of a baseline and a candidate, runs interleaved.

    One unmeasured warm-up run each first; interleaving keeps a change in
    the machine's load from favouring either side.
    """
    _timed(argv, baseline)
    _timed(argv, candidate)
    base, cand = [], []
    for _ in range(runs):
        base.append(_timed(argv, baseline))
        cand.append(_timed(argv, candidate))
    return statistics.median(base), statistics.median(cand)


def clean_env(home: str, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(('OS_', 'XDG_'))
    }
    env.update(HOME=home, OS_CLIENT_CONFIG_FILE='/dev/null')
    env.update(extra)
    return env


# -- 1. import cost ------------------------------------------------------


def import_times(module: str, runs: int) -> float:
    """Median cumulative import time (µs) of ``module`` after its deps."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [
                sys.executable,
                '-X',
                'importtime',
                '-c',
                f'import keystoneauth1.loading; import {module}',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        found = {}
        for row in out.splitlines():
            match = re.match(
                r'import time:\s+\d+ \|\s+(\d+) \|(\s*)(\S+)', row
            )
            if match:
                found[match.group(3)] = int(match.group(1))
        samples.append((found['keystoneauth1.loading'], found[module]))
    base = statistics.median(s[0] for s in samples)
    ours = statistics.median(s[1] for s in samples)
    return ours / base if base else float('nan')


def bench_imports(runs: int) -> None:
    print(f'1. Import cost (cumulative, -X importtime, median of {runs})')
    for module in ('mfa_osc.auth.loader', 'mfa_osc.osc.plugin'):
        ratio = import_times(module, runs)
        line(f'{module} / keystoneauth1.loading', f'{ratio:.3f}')


# -- 2-3. CLI wall time --------------------------------------------------


def bench_cli(ks: local_keystone.LocalKeystone, runs: int) -> None:
    plain = ks.create_user()
    mfa = ks.create_user(rules=RULES)
    ks.create_totp_credential(mfa.id, SECRET)
    with tempfile.TemporaryDirectory() as home:
        argv = [OPENSTACK, 'token', 'issue', '-f', 'value', '-c', 'id']
        pw_env = clean_env(home, ks.os_env(plain))
        pw_env['OS_AUTH_TYPE'] = 'v3password'
        mf_env = dict(pw_env, OS_AUTH_TYPE='v3multifactor')
        base, ours = compare(argv, pw_env, mf_env, runs)
        print(f'2. openstack token issue, median of {runs}')
        line('v3password (baseline), user without MFA', f'{base:.2f} s')
        line('v3multifactor, user without MFA', f'{ours:.2f} s')
        line('ratio v3multifactor / v3password', f'{ours / base:.2f}')
        mfa_env = clean_env(home, ks.os_env(mfa))
        mfa_env.update(OS_AUTH_TYPE='v3multifactor', OS_TOTP_SECRET=SECRET)
        _timed(argv, mfa_env)  # sign in once: fills the cache
        cached_env = dict(mfa_env)
        cached_env.pop('OS_TOTP_SECRET')
        cached_env.pop('OS_PASSWORD')
        uncached, cached = compare(
            argv, {**mfa_env, 'OS_TOKEN_CACHE': 'off'}, cached_env, runs
        )
        print(f'3. Token cache, user with MFA, median of {runs}')
        line('uncached (password + passcode sign-in)', f'{uncached:.2f} s')
        line('cached (no sign-in, one token validation)', f'{cached:.2f} s')
        line('ratio cached / uncached', f'{cached / uncached:.2f}')


# -- 4. round trips ------------------------------------------------------


class Counter:
    def __init__(self, session: ks_session.Session) -> None:
        self.calls: list[str] = []
        session.session.hooks['response'].append(self._hook)

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.calls.append(
            f'{response.request.method} '
            f'{urllib.parse.urlparse(response.request.url).path}'
        )

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


def bench_round_trips(ks: local_keystone.LocalKeystone, runs: int) -> None:
    plain = ks.create_user()
    mfa = ks.create_user(rules=RULES)
    ks.create_totp_credential(mfa.id, SECRET)
    command = (
        f'{sys.executable} -c "from mfa_osc import totp; '
        f"print(totp.passcode('{SECRET}'))\""
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        os.environ['MFA_OSC_CACHE_DIR'] = cache_dir

        def auth(user: local_keystone.KeystoneUser, **kw: Any) -> Any:
            params: dict[str, Any] = {
                'username': user.name,
                'password': user.password,
                'user_domain_name': 'Default',
                'project_name': user.project_name,
                'project_domain_name': 'Default',
                'token_cache': False,
                'prompt': False,
            }
            params.update(kw)
            return plugin.MultiFactor(ks.auth_url, **params)

        first = auth(mfa, totp_secret=SECRET, token_cache=True)
        first.get_auth_ref(ks_session.Session())  # fills the cache
        paths = [
            ('user without MFA rules (baseline)', lambda: auth(plain)),
            (
                'MFA, passcode given up front',
                lambda: auth(mfa, totp_secret=SECRET),
            ),
            (
                'MFA, passcode command after the receipt',
                lambda: auth(mfa, passcode_command=command),
            ),
            (
                'MFA, cached token (as in a new process)',
                lambda: auth(mfa, password=None, token_cache=True),
            ),
        ]
        print(
            '4. Sign-in per path, in process: requests to /v3/auth/tokens, '
            f'median time of {runs} and ratio to the baseline'
        )
        baseline = None
        for name, make in paths:
            times = []
            for _ in range(runs):
                session = ks_session.Session()
                counter = Counter(session)
                auth_plugin = make()
                start = time.perf_counter()
                auth_plugin.get_auth_ref(session)
                times.append(time.perf_counter() - start)
                calls = [
                    c for c in counter.take() if c.endswith('/auth/tokens')
                ]
            posts = sum(1 for c in calls if c.startswith('POST'))
            gets = sum(1 for c in calls if c.startswith('GET'))
            took = statistics.median(times)
            baseline = baseline or took
            line(
                name,
                f'{posts} POST, {gets} GET, {took * 1000:.0f} ms, '
                f'{took / baseline:.2f}',
            )


# -- 5. audit ------------------------------------------------------------


def bench_audit(ks: local_keystone.LocalKeystone, users: int) -> None:
    api = ks.admin_adapter()
    started = time.perf_counter()
    for index in range(users):
        # NOTE: no password: hashing one is what makes users slow to make.
        body = {'user': {'name': f'audit-{index:05d}', 'domain_id': 'default'}}
        created = api.post('/users', json=body).json()['user']
        if index % 10 == 0:
            ks.create_totp_credential(created['id'], totp.generate_secret())
    made = time.perf_counter() - started
    port = urllib.parse.urlparse(ks.auth_url).port
    assert port is not None
    proxy = mfa_base.Proxy(port)
    try:
        with tempfile.TemporaryDirectory() as home:
            env = clean_env(home, ks.os_env())
            env['OS_AUTH_URL'] = proxy.auth_url
            timings = {}
            counts = {}
            for name, argv in (
                ('user list', [OPENSTACK, 'user', 'list', '-f', 'json']),
                (
                    'mfa status --all',
                    [OPENSTACK, 'mfa', 'status', '--all', '-f', 'json'],
                ),
            ):
                proxy.reset()
                start = time.perf_counter()
                out = subprocess.run(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                timings[name] = time.perf_counter() - start
                counts[name] = len(proxy.requests)
                rows = len(json.loads(out))
        print(f'5. Audit over {rows} users ({users} made in {made:.0f} s)')
        for name in timings:
            line(
                f'openstack {name}',
                f'{counts[name]} requests, {timings[name]:.2f} s',
            )
        line(
            'ratio audit / user list (time)',
            f'{timings["mfa status --all"] / timings["user list"]:.2f}',
        )
    finally:
        proxy.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--users', type=int, default=1000)
    parser.add_argument(
        '--scale-users',
        type=int,
        default=20000,
        help='users of section 6 (0 skips it)',
    )
    parser.add_argument('--scale-totp', type=int, default=1000)
    args = parser.parse_args()
    bench_imports(max(args.runs, 5))
    # NOTE: Keystone returns at most [DEFAULT] max_db_limit (1000) rows of
    # a list; the audit of 1000 users and more needs a larger limit.
    # The local Keystone hashes passwords cheaply for fast tests; measure
    # sign-ins with Keystone's default bcrypt cost, as a real cloud has.
    config = {
        'DEFAULT': {'max_db_limit': str(max(1000, args.users * 2))},
        'identity': {'password_hash_rounds': '12'},
    }
    with local_keystone.LocalKeystone(config=config) as ks:
        bench_cli(ks, args.runs)
        bench_round_trips(ks, args.runs)
        bench_trips.bench(ks, line)
        bench_audit(ks, args.users)
    if args.scale_users:
        bench_scale.bench(
            OPENSTACK, clean_env, line, args.scale_users, args.scale_totp
        )
    print('8. Keystone behind the guard')
    bench_guard.bench(line)
    return 0


if __name__ == '__main__':
    sys.exit(main())
