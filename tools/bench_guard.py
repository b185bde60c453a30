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

"""Benchmark of mfa-osc's guard (mfa_osc.guard), against Keystone served
directly in the same run.

Two throwaway Keystones, alike but for the application uWSGI serves (two
processes each, Keystone's default bcrypt cost, Keystone's cache in one
memcached): ``keystone.wsgi.api:application`` and
``mfa_osc.guard.wsgi:application`` (``[mfa_guard]`` defaults). Prints:

1. the cost of a sign-in behind the guard as a ratio to Keystone served
   directly (median of interleaved runs): a password sign-in to a
   project (a token, judged by the domain policy) and a TOTP sign-in
   with a receipt and a wrong code (counted, refused by Keystone);
2. the wrong passcodes an attacker holding the password gets checked
   per second, on one connection with one receipt, as the issue measured
   it: directly, and behind the guard (which checks ``max_failures`` and
   then refuses until ``lockout_duration`` has passed).

Run ``python tools/bench_guard.py``; ``tox -e bench`` runs it as its
section 8. No number here is a threshold.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import statistics
import sys
import time
from typing import Any

import requests

from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.testing.memcached import LocalMemcached

RULES = [['password', 'totp']]
Line = Callable[[str, str], None]


def _line(name: str, value: str) -> None:
    print(f'  {name:<52} {value}')


def _user(
    ks: local_keystone.LocalKeystone,
) -> tuple[local_keystone.KeystoneUser, str]:
    user = ks.create_user()
    secret = totp.generate_secret()
    ks.create_totp_credential(user.id, secret)
    ks.set_mfa_rules(user.id, RULES)
    return user, secret


def _password_scoped(
    ks: local_keystone.LocalKeystone, user: local_keystone.KeystoneUser
) -> dict[str, Any]:
    return {
        'auth': {
            'identity': {
                'methods': ['password'],
                'password': {
                    'user': {'id': user.id, 'password': user.password}
                },
            },
            'scope': {'project': {'id': user.project_id}},
        }
    }


def _receipt(
    http: requests.Session,
    ks: local_keystone.LocalKeystone,
    user: local_keystone.KeystoneUser,
) -> str:
    body = _password_scoped(ks, user)
    del body['auth']['scope']
    response = http.post(f'{ks.auth_url}/auth/tokens', json=body, timeout=60)
    assert response.status_code == 401, response.text
    return str(response.headers['Openstack-Auth-Receipt'])


def _code_with_receipt(
    http: requests.Session,
    ks: local_keystone.LocalKeystone,
    user: local_keystone.KeystoneUser,
    receipt: str,
    passcode: str,
) -> requests.Response:
    return http.post(
        f'{ks.auth_url}/auth/tokens',
        json={
            'auth': {
                'identity': {
                    'methods': ['totp'],
                    'totp': {'user': {'id': user.id, 'passcode': passcode}},
                }
            }
        },
        headers={'Openstack-Auth-Receipt': receipt},
        timeout=60,
    )


def _wrong(secret: str, count: int) -> list[str]:
    near = {totp.passcode(secret, time.time() + 30 * k) for k in range(-3, 4)}
    codes = (f'{n:06d}' for n in range(1000000))
    return [code for code in codes if code not in near][:count]


def _timed(call: Callable[[], requests.Response], status: int) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    assert response.status_code == status, response.text
    return elapsed


def bench_cost(
    direct: local_keystone.LocalKeystone,
    guarded: local_keystone.LocalKeystone,
    runs: int,
    line: Line,
) -> None:
    print(f'1. Cost per sign-in behind the guard (median of {runs})')
    plain = {ks: ks.create_user() for ks in (direct, guarded)}
    times: dict[Any, list[float]] = {direct: [], guarded: []}
    for _ in range(runs + 1):
        for ks in (direct, guarded):
            body = _password_scoped(ks, plain[ks])
            times[ks].append(
                _timed(
                    lambda ks=ks, body=body: requests.post(
                        f'{ks.auth_url}/auth/tokens', json=body, timeout=60
                    ),
                    201,
                )
            )
    base, cand = (statistics.median(times[ks][1:]) for ks in (direct, guarded))
    line('password sign-in to a project, direct', f'{base * 1000:.1f} ms')
    line('password sign-in to a project, guarded', f'{cand * 1000:.1f} ms')
    line('ratio guarded / direct', f'{cand / base:.2f}')
    times = {direct: [], guarded: []}
    sessions = {ks: requests.Session() for ks in (direct, guarded)}
    users = {}
    for n in range(runs + 1):
        for ks in (direct, guarded):
            # NOTE: a new user every five tries: the guard locks at the
            # seventh wrong one.
            if n % 5 == 0:
                users[ks] = _user(ks)
            user, secret = users[ks]
            receipt = _receipt(sessions[ks], ks, user)
            (code,) = _wrong(secret, 1)
            times[ks].append(
                _timed(
                    lambda ks=ks, user=user, receipt=receipt, code=code: (
                        _code_with_receipt(
                            sessions[ks], ks, user, receipt, code
                        )
                    ),  # fmt: skip
                    401,
                )
            )
    base, cand = (statistics.median(times[ks][1:]) for ks in (direct, guarded))
    line('wrong TOTP code with a receipt, direct', f'{base * 1000:.1f} ms')
    line('wrong TOTP code with a receipt, guarded', f'{cand * 1000:.1f} ms')
    line('ratio guarded / direct', f'{cand / base:.2f}')


def _attack(
    ks: local_keystone.LocalKeystone, seconds: float
) -> tuple[int, int, int, bool]:
    """Wrong codes for ``seconds`` on one connection with one receipt:
    (answers, codes Keystone checked, refusals by the guard, whether the
    right code then signed in)."""
    user, secret = _user(ks)
    http = requests.Session()
    receipt = _receipt(http, ks, user)
    codes = iter(_wrong(secret, 100000))
    answers = checked = refused = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        response = _code_with_receipt(http, ks, user, receipt, next(codes))
        answers += 1
        if response.status_code == 401:
            checked += 1
        elif response.status_code == 429:
            refused += 1
    right = _code_with_receipt(http, ks, user, receipt, totp.passcode(secret))
    return answers, checked, refused, right.status_code == 201


def bench_attack(
    direct: local_keystone.LocalKeystone,
    guarded: local_keystone.LocalKeystone,
    seconds: float,
    line: Line,
) -> None:
    print(f'2. Wrong passcodes an attacker gets checked ({seconds:g} s, '
          'password known, one receipt, one connection)')  # fmt: skip
    for name, ks in (('direct', direct), ('guarded', guarded)):
        answers, checked, refused, right = _attack(ks, seconds)
        line(
            f'{name}: codes checked by Keystone',
            f'{checked} ({checked / seconds:.1f}/s; {answers} answers, '
            f'{refused} refused by the guard)',
        )
        line(
            f'{name}: the right code afterwards',
            'signed in' if right else 'refused (locked)',
        )
    line(
        'guarded, in the long run',
        '6 codes per 1800 s lockout_duration (0.0033/s), the defaults',
    )


def bench(line: Line = _line, runs: int = 20, seconds: float = 10) -> None:
    with LocalMemcached() as memcached:
        config = {
            'identity': {'password_hash_rounds': '12'},
            'cache': {
                'enabled': 'true',
                'backend': 'oslo_cache.memcache_pool',
                'memcache_servers': memcached.address,
            },
        }
        with (
            local_keystone.LocalKeystone(config=config, processes=2) as direct,
            local_keystone.LocalKeystone(
                config={'identity': config['identity']}, guard=True
            ) as guarded,
        ):
            bench_cost(direct, guarded, runs, line)
            bench_attack(direct, guarded, seconds, line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--seconds', type=float, default=10)
    args = parser.parse_args()
    bench(runs=args.runs, seconds=args.seconds)
    return 0


if __name__ == '__main__':
    sys.exit(main())
