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

"""Section 6 of ``tox -e bench``: the audit at cloud scale.

A Keystone of its own on PostgreSQL (a throwaway cluster in a temporary
directory, on loopback, run as the ``postgres`` system user since initdb
refuses root), or on sqlite where PostgreSQL is missing; 20,000 users
inserted straight into its database (no passwords: hashing is what makes
users slow to make, and the audit never reads one), some with TOTP
credentials made through the API. Then, in the same run, the audit
against listing the same users page by page, in process and through
the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import datetime
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
import uuid

from keystoneauth1 import session as ks_session

from mfa_osc import client as mfa_client
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.workflows import status as status_flow

PAGE = 1000

_USER_SQL = (
    'INSERT INTO "user" (id, domain_id, enabled, extra, created_at) '
    'VALUES (%s, %s, %s, %s, %s)'
)
_LOCAL_USER_SQL = (
    'INSERT INTO local_user (user_id, domain_id, name, failed_auth_count) '
    'VALUES (%s, %s, %s, 0)'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> str | None:
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    if not found or shutil.which('runuser') is None:
        return None
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return None
    return os.path.dirname(found[-1])


@contextlib.contextmanager
def postgresql() -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster; yields its SQLAlchemy URL or None."""
    bindir = _pg_bin()
    if bindir is None:
        yield None
        return
    root = tempfile.mkdtemp(prefix='mfa-osc-pg-')
    # NOTE: the postgres user must reach its data directory; nothing
    # secret is kept there (trust auth on loopback, a throwaway cluster).
    os.chmod(root, 0o755)  # noqa: S103
    data = os.path.join(root, 'data')
    port = _free_port()
    as_pg = ['runuser', '-u', 'postgres', '--'] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(root, 'postgres')
    quiet = {'stdout': subprocess.DEVNULL, 'stderr': subprocess.STDOUT}
    try:
        subprocess.run(
            [*as_pg, f'{bindir}/initdb', '-D', data, '-A', 'trust',
             '-U', 'keystone'],
            check=True, **quiet,
        )  # fmt: skip
        subprocess.run(
            [*as_pg, f'{bindir}/pg_ctl', '-D', data, '-w', '-l',
             os.path.join(root, 'log'), '-o',
             f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off",
             'start'],
            check=True, **quiet,
        )  # fmt: skip
        subprocess.run(
            [*as_pg, f'{bindir}/createdb', '-h', '127.0.0.1', '-p',
             str(port), '-U', 'keystone', 'keystone'],
            check=True, **quiet,
        )  # fmt: skip
        yield f'postgresql+psycopg2://keystone@127.0.0.1:{port}/keystone'
    finally:
        subprocess.run(
            [*as_pg, f'{bindir}/pg_ctl', '-D', data, '-m', 'immediate',
             'stop'],
            check=False, **quiet,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def _insert_users(url: str | None, path: str | None, count: int) -> None:
    """``count`` users of the Default domain, straight into the database."""
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    users = [(uuid.uuid4().hex, f'scale-{n:05d}') for n in range(count)]
    if url is not None:
        import psycopg2

        conn: Any = psycopg2.connect(
            url.replace('postgresql+psycopg2', 'postgresql')
        )
        mark = '%s'
    else:
        import sqlite3

        conn = sqlite3.connect(str(path))
        mark = '?'
    cur = conn.cursor()
    cur.executemany(
        _USER_SQL.replace('%s', mark),
        [(uid, 'default', True, '{}', now) for uid, _ in users],
    )
    cur.executemany(
        _LOCAL_USER_SQL.replace('%s', mark),
        [(uid, 'default', name) for uid, name in users],
    )
    conn.commit()
    conn.close()


def _list_pages(session: ks_session.Session, auth_url: str) -> int:
    """Every user, following ``links.next``: the baseline."""
    rows = 0
    url: str | None = f'{auth_url}/users?limit={PAGE}'
    while url:
        body = session.get(url).json()
        rows += len(body['users'])
        url = (body.get('links') or {}).get('next')
    return rows


SDK_LIST = """
import sys, openstack
conn = openstack.connect(auth_type='password', auth=dict(
    auth_url=sys.argv[1], username='admin', password=sys.argv[2],
    project_name='admin', user_domain_name='Default',
    project_domain_name='Default'), identity_api_version='3')
print(sum(1 for _ in conn.identity.users(limit=1000)))
"""


def bench(
    openstack: str,
    clean_env: Any,
    line: Any,
    users: int,
    with_totp: int,
) -> None:
    with postgresql() as url:
        config: dict[str, dict[str, str]] = {}
        if url is not None:
            config['database'] = {'connection': url}
        with local_keystone.LocalKeystone(config=config) as ks:
            backend = 'PostgreSQL' if url else 'sqlite (no PostgreSQL here)'
            started = time.perf_counter()
            db = None if url else os.path.join(str(ks.work_dir), 'keystone.db')
            _insert_users(url, db, users)
            api = ks.admin_adapter()
            ids = [
                u['id']
                for u in api.get(f'/users?limit={with_totp}').json()['users']
            ]
            for user_id in ids:
                ks.create_totp_credential(user_id, totp.generate_secret())
            made = time.perf_counter() - started
            print(
                f'6. Audit at scale: {users} users on {backend} '
                f'({with_totp} with TOTP; made in {made:.0f} s)'
            )
            session = ks.admin_session()
            client = mfa_client.MFAClient(session)
            _in_process(client, session, ks.auth_url, line)
            _cli(ks, openstack, clean_env, line)


def _in_process(
    client: mfa_client.MFAClient,
    session: ks_session.Session,
    auth_url: str,
    line: Any,
) -> None:
    timings: dict[str, list[float]] = {'list': [], 'audit': []}
    # NOTE: one unmeasured run of each first, then interleaved runs, so
    # that a warming cache or a busy moment weighs on both alike.
    _list_pages(session, auth_url)
    status_flow.audit(client)
    for _ in range(5):
        start = time.perf_counter()
        listed = _list_pages(session, auth_url)
        timings['list'].append(time.perf_counter() - start)
        client.requests = 0
        start = time.perf_counter()
        rows = status_flow.audit(client)
        timings['audit'].append(time.perf_counter() - start)
    list_s = statistics.median(timings['list'])
    audit_s = statistics.median(timings['audit'])
    line(
        'users listed page by page (baseline, in process)',
        f'{listed} users, {-(-listed // PAGE)} requests, median '
        f'{list_s:.2f} s',
    )
    line(
        'audit (in process)',
        f'{len(rows)} rows, {client.requests} requests, median '
        f'{audit_s:.2f} s',
    )
    line(
        'ratio audit / paged listing (time, in process)',
        f'{audit_s / list_s:.2f}',
    )


def _cli(
    ks: local_keystone.LocalKeystone, openstack: str, clean_env: Any, line: Any
) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = clean_env(home, ks.os_env())
        timings: dict[str, float] = {}
        for name, argv in (
            (
                'sdk',
                [sys.executable, '-c', SDK_LIST, ks.auth_url,
                 ks.admin_password],
            ),
            ('audit', [openstack, 'mfa', 'audit', '-f', 'json']),
        ):  # fmt: skip
            best = None
            for _ in range(3):
                start = time.perf_counter()
                out = subprocess.run(
                    argv, env=env, stdin=subprocess.DEVNULL,
                    capture_output=True, text=True, check=True,
                ).stdout  # fmt: skip
                took = time.perf_counter() - start
                best = took if best is None else min(best, took)
            timings[name] = best or 0.0
            count = len(json.loads(out)) if name == 'audit' else int(out)
            line(
                'openstacksdk identity.users(limit=1000) (baseline)'
                if name == 'sdk'
                else 'openstack mfa audit -f json',
                f'{count} users, {timings[name]:.2f} s',
            )
        line(
            'ratio audit / sdk paged listing (time, whole commands)',
            f'{timings["audit"] / timings["sdk"]:.2f}',
        )
