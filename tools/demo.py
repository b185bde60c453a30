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

"""A real MFA walkthrough against a throwaway local Keystone.

Run with ``tox -e demo``. Starts a local Keystone (sqlite, ``totp``
enabled), creates a user, and runs the ``openstack`` commands a person
would type: enrollment with a QR code, sign-in with MFA, status, the token
cache, a long job's session, an application credential for CI, a recovery
code, and removal. The demo plays the phone: it computes each code from
the enrolled secret. It needs no input, and stops Keystone at the end.

Its output is meant to be shown and recorded, so it shows no secret: the
passwords, the phone's secret (and its QR code), the recovery codes and
the application credential secret are masked (``***``) wherever they
appear, in the commands as in their output. ``--record-secrets PATH``
writes them to a new file (mode 0600), for the test that checks this.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile

from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.testing import keystone as local_keystone
from mfa_osc.testing import terminal

OPENSTACK = local_keystone.find_executable('openstack') or 'openstack'
BOLD = '\033[1m' if sys.stdout.isatty() else ''
DIM = '\033[2m' if sys.stdout.isatty() else ''
RESET = '\033[0m' if sys.stdout.isatty() else ''


class DemoFailed(Exception):
    pass


class Demo:
    def __init__(self, ks: local_keystone.LocalKeystone, home: str) -> None:
        self.ks = ks
        self.home = home
        self.phone = totp.generate_secret()
        # NOTE: hex, never a leading '-', which the commands' argument
        # parser would take for an option (token_urlsafe's, 1 run in 64).
        self.password = secrets.token_hex(12)
        self.codes_file = os.path.join(home, 'alice-recovery-codes.txt')
        #: Every secret of the walkthrough, masked in all it prints.
        self.secrets: set[str] = {ks.admin_password, self.password}

    # -- output without secrets -----------------------------------------

    def keep_secret(self, *values: str) -> None:
        for value in values:
            if value:
                self.secrets.add(value)
            if value and re.fullmatch('[A-Z2-7]+', value):
                # NOTE: the enroll output groups the secret by four.
                grouped = ' '.join(
                    value[i : i + 4] for i in range(0, len(value), 4)
                )
                self.secrets.add(grouped)

    def mask(self, text: str) -> str:
        # NOTE: a QR code on the screen is the secret, scannable.
        lines = []
        qr = 0
        for line in text.split('\n'):
            if set(line) & set('\u2580\u2584\u2588'):
                qr += 1
                continue
            if qr:
                lines.append(f'[QR code of the secret: {qr} lines, not shown]')
                qr = 0
            lines.append(line)
        if qr:
            lines.append(f'[QR code of the secret: {qr} lines, not shown]')
        text = '\n'.join(lines)
        for value in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(value, redact.MASK)
        return redact.scrub(text)

    def show(self, text: str) -> None:
        print(self.mask(text))

    # -- plumbing --------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(('OS_', 'XDG_'))
        }
        env.update(
            HOME=self.home,
            OS_CLIENT_CONFIG_FILE='/dev/null',
            PYTHONWARNINGS='ignore',
            CLIFF_MAX_TERM_WIDTH='140',
        )
        return env

    def admin_env(self) -> dict[str, str]:
        env = self.base_env()
        env.update(self.ks.os_env())
        return env

    def alice_env(self, **extra: str) -> dict[str, str]:
        env = self.base_env()
        env.update(
            OS_AUTH_URL=self.ks.auth_url,
            OS_IDENTITY_API_VERSION='3',
            OS_AUTH_TYPE='v3multifactor',
            OS_USERNAME='alice',
            OS_PASSWORD=self.password,
            OS_PROJECT_NAME='demo',
            OS_USER_DOMAIN_NAME='Default',
            OS_PROJECT_DOMAIN_NAME='Default',
        )
        env.update(extra)
        return env

    def run(
        self,
        who: str,
        args: list[str],
        env: dict[str, str],
        expect: str = 'ok',
        note: str = '',
    ) -> str:
        shown = ' '.join(shlex.quote(a) for a in args)
        self.show(f'\n{BOLD}{who}$ openstack {shown}{RESET}')
        if note:
            self.show(f'{DIM}# {note}{RESET}')
        proc = subprocess.run(
            [OPENSTACK, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        output = (proc.stdout + proc.stderr).rstrip()
        self.keep_secret(*self._secrets_in(proc.stdout))
        if output:
            self.show(output)
        if (proc.returncode == 0) != (expect == 'ok'):
            raise DemoFailed(
                f'`openstack {self.mask(shown)}` exited {proc.returncode}, '
                f'expected {"success" if expect == "ok" else "a refusal"}'
            )
        if expect != 'ok':
            print(f'{DIM}# (refused, as it should be){RESET}')
        return proc.stdout

    @staticmethod
    def _secrets_in(stdout: str) -> list[str]:
        """Secrets a command printed: an application credential's."""
        return re.findall(r'^secret="(.*)"$', stdout, re.MULTILINE)

    def enroll_on_terminal(self, env: dict[str, str]) -> None:
        """``mfa enroll`` as a person runs it: QR code, then the code."""
        args = [
            'mfa',
            'enroll',
            '--name',
            'phone',
            '--show-secret',
            '--recovery-file',
            self.codes_file,
        ]
        print(f'\n{BOLD}alice$ openstack {" ".join(args)}{RESET}')
        print(
            f'{DIM}# on a terminal: scan the QR code, type the code the app '
            f'shows (the demo plays the phone){RESET}'
        )

        def phone(screen: str) -> str:
            # The phone scans the secret (here: reads it off the screen).
            found = re.search(r'Secret: ([A-Z2-7 ]+)\n', screen)
            if found is None:
                raise DemoFailed('enroll showed no secret')
            self.phone = totp.normalize_secret(found.group(1))
            self.keep_secret(self.phone, found.group(1).strip())
            return totp.passcode(self.phone)

        code, output = terminal.run_on_pty(
            [OPENSTACK, *args],
            env,
            [('Code shown by the app: ', phone)],
            timeout=180,
        )
        self.keep_secret(*self.recovery_codes())
        self.show(output.rstrip())
        if code != 0:
            raise DemoFailed(f'`openstack mfa enroll` exited {code}')

    def set_up_at_sign_in(self, env: dict[str, str]) -> None:
        """A sign-in that a domain's MFA policy turns into a set-up."""
        args = ['token', 'issue', '-c', 'user_id', '-c', 'expires']
        print(f'\n{BOLD}bob$ openstack {" ".join(args)}{RESET}')
        print(
            f'{DIM}# on a terminal, after the deadline: set up a device, '
            f'then the command carries on (the demo plays the phone){RESET}'
        )
        phone: dict[str, str] = {}

        def scan(screen: str) -> str:
            found = re.search(r'Secret: ([A-Z2-7 ]+)\n', screen)
            if found is None:
                raise DemoFailed('the set-up showed no secret')
            phone['secret'] = totp.normalize_secret(found.group(1))
            self.keep_secret(phone['secret'], found.group(1).strip())
            return totp.passcode(phone['secret'])

        code, output = terminal.run_on_pty(
            [OPENSTACK, *args],
            env,
            [('Code shown by the app: ', scan)],
            timeout=180,
        )
        self.keep_secret(
            *re.findall(r'[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}', output)
        )
        self.show(output.rstrip())
        if code != 0:
            raise DemoFailed(f'the sign-in with set-up exited {code}')

    def recovery_codes(self) -> list[str]:
        if not os.path.exists(self.codes_file):
            return []
        with open(self.codes_file) as handle:
            return re.findall(r'[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}', handle.read())

    def say(self, text: str) -> None:
        print(f'\n{BOLD}== {text} =={RESET}')

    def phone_command(self) -> str:
        script = (
            f'from mfa_osc import totp; print(totp.passcode({self.phone!r}))'
        )
        return f'{shlex.quote(sys.executable)} -c {shlex.quote(script)}'

    # -- the walkthrough -------------------------------------------------

    def main(self) -> None:
        admin = self.admin_env()
        self.say('The administrator creates a user (as any cloud would)')
        self.run('admin', ['project', 'create', 'demo'], admin)
        self.run(
            'admin',
            [
                'user',
                'create',
                '--project',
                'demo',
                '--password',
                self.password,
                'alice',
            ],
            admin,
            note='the password is random for this demo',
        )
        self.run(
            'admin',
            ['role', 'add', '--user', 'alice', '--project', 'demo', 'member'],
            admin,
        )
        self.run(
            'admin',
            [
                'user',
                'set',
                '--enable-multi-factor-auth',
                '--multi-factor-auth-rule',
                'password',
                '--multi-factor-auth-rule',
                'application_credential',
                'alice',
            ],
            admin,
            note='default policy: users may not set their own MFA rules, so '
            'the administrator lets alice enroll safely (a password is '
            'still enough, and a code alone never is)',
        )

        alice = self.alice_env()
        self.say('Alice signs in as before: no MFA yet, so no passcode')
        self.run('alice', ['token', 'issue', '-c', 'user_id'], alice)

        self.say('Alice enrolls her phone')
        self.enroll_on_terminal(alice)
        self.run('alice', ['mfa', 'status'], alice)

        self.say('The administrator enforces MFA for alice')
        self.run('admin', ['mfa', 'enforce', '--user', 'alice'], admin)

        self.say('A password alone no longer signs in')
        self.run(
            'alice',
            ['--os-auth-type', 'v3password', 'token', 'issue'],
            alice,
            expect='refused',
        )
        self.say('Alice signs in with MFA (the code comes from her "phone")')
        with_phone = self.alice_env(OS_PASSCODE_COMMAND=self.phone_command())
        self.run(
            'alice',
            ['token', 'issue', '-c', 'user_id', '-c', 'expires'],
            with_phone,
            note=f'OS_PASSCODE_COMMAND={self.phone_command()}',
        )
        self.say('Later commands reuse the token: no password, no code')
        cached = self.alice_env()
        cached.pop('OS_PASSWORD')
        self.run('alice', ['project', 'list'], cached)
        self.run('alice', ['mfa', 'status', '-f', 'yaml'], cached)

        self.say(
            'Tools that do not speak MFA borrow the token: the upstream CLI '
            'as a child, with the token and nothing else'
        )
        self.run(
            'alice',
            ['mfa', 'exec', '--', OPENSTACK, 'project', 'list', '-f', 'value',
             '-c', 'Name'],
            cached,
            note='the child gets OS_AUTH_TYPE=v3token and OS_TOKEN, no '
            'password and no passcode',
        )  # fmt: skip

        self.say(
            'A long job outlives the token: a session, deleted when the job '
            'ends'
        )
        job = (
            'openstack project list -f value -c Name; '
            'openstack mfa session list -c Name -c "Made By" -c State'
        )
        with_path = dict(cached)
        if os.path.isabs(OPENSTACK):
            # NOTE: the child's `openstack` is the demo's.
            with_path['PATH'] = os.pathsep.join(
                [os.path.dirname(OPENSTACK), cached.get('PATH', os.defpath)]
            )
        during = self.run(
            'alice',
            ['mfa', 'exec', '--session', '1h', '--', 'sh', '-c', job],
            with_path,
            note='the job gets a restricted application credential that '
            'Keystone ends within the hour, and signs in again with it '
            'whenever its token expires (a Terraform apply, a playbook)',
        )
        after = self.run(
            'alice',
            ['mfa', 'session', 'list', '-c', 'Name', '-c', 'State',
             '--print-empty'],
            cached,
            note='none left: exec deleted it when the job ended (also on '
            'Ctrl-C); `openstack mfa session end` ends one made by '
            '`openstack mfa export --session`',
        )  # fmt: skip
        if 'mfa-osc-session-' not in during or 'mfa-osc-session-' in after:
            raise DemoFailed('the session was not made, or not deleted')

        self.say('CI: an application credential signs in without a code')
        created = self.run(
            'alice',
            [
                'application',
                'credential',
                'create',
                'ci-pipeline',
                '-f',
                'shell',
                '-c',
                'id',
                '-c',
                'secret',
            ],
            cached,
        )
        values = dict(re.findall(r'^(\w+)="(.*)"$', created, re.MULTILINE))
        ci = self.base_env()
        ci.update(
            OS_AUTH_URL=self.ks.auth_url,
            OS_IDENTITY_API_VERSION='3',
            OS_AUTH_TYPE='v3applicationcredential',
            OS_APPLICATION_CREDENTIAL_ID=values.get('id', ''),
            OS_APPLICATION_CREDENTIAL_SECRET=values.get('secret', ''),
        )
        self.run('ci', ['token', 'issue', '-c', 'user_id'], ci)

        self.say('Alice signs out; then she has lost her phone')
        self.run('alice', ['mfa', 'logout'], cached)
        codes = self.recovery_codes()
        if not codes:
            raise DemoFailed('no recovery codes were written')
        no_cache = self.alice_env(**{'OS_TOKEN_CACHE': 'off'})
        self.run(
            'alice',
            [
                '--os-recovery-code',
                codes[0],
                'token',
                'issue',
                '-c',
                'user_id',
            ],
            no_cache,
        )
        self.run(
            'alice',
            ['--os-recovery-code', codes[0], 'token', 'issue'],
            no_cache,
            expect='refused',
            note='each recovery code works once',
        )

        self.say('The administrator resets alice (lost phone): MFA off')
        self.run(
            'admin',
            ['mfa', 'remove', '--user', 'alice', '--all', '--yes'],
            admin,
        )
        self.run('admin', ['mfa', 'status', '--all'], admin)
        self.run(
            'alice',
            [
                '--os-auth-type',
                'v3password',
                'token',
                'issue',
                '-c',
                'user_id',
            ],
            alice,
            note='back to a password alone, until she enrolls a new phone',
        )

        self.say(
            'A rollout: the administrator requires MFA in a domain, with a '
            'deadline'
        )
        self.run('admin', ['domain', 'create', 'corp'], admin)
        self.run(
            'admin', ['project', 'create', '--domain', 'corp', 'web'], admin
        )
        self.run(
            'admin',
            ['user', 'create', '--domain', 'corp', '--password',
             self.password, 'bob'],
            admin,
        )  # fmt: skip
        self.run(
            'admin',
            ['role', 'add', '--user', 'bob', '--user-domain', 'corp',
             '--project', 'web', '--project-domain', 'corp', 'member'],
            admin,
        )  # fmt: skip
        deadline = (
            datetime.datetime.now(datetime.UTC).date()
            + datetime.timedelta(days=14)
        ).isoformat()
        self.run(
            'admin',
            ['mfa', 'policy', 'set', '--domain', 'corp', '--required',
             '--deadline', deadline],
            admin,
            note='guard rules go on every covered user without rules',
        )  # fmt: skip
        bob = self.alice_env(
            OS_USERNAME='bob',
            OS_USER_DOMAIN_NAME='corp',
            OS_PROJECT_NAME='web',
            OS_PROJECT_DOMAIN_NAME='corp',
        )
        self.run(
            'bob',
            ['token', 'issue', '-c', 'user_id'],
            bob,
            note='before the deadline: a reminder, and the command runs',
        )
        self.run(
            'admin',
            ['mfa', 'policy', 'set', '--domain', 'corp', '--required'],
            admin,
            note='no deadline: required from now on',
        )  # fmt: skip
        self.run(
            'bob',
            ['token', 'issue', '-c', 'user_id'],
            self.alice_env(
                OS_USERNAME='bob',
                OS_USER_DOMAIN_NAME='corp',
                OS_PROJECT_NAME='web',
                OS_PROJECT_DOMAIN_NAME='corp',
                **{'OS_TOKEN_CACHE': 'off'},
            ),
            expect='refused',
            note='without a terminal (a script): a clear error',
        )
        self.set_up_at_sign_in(bob)
        self.run(
            'admin',
            ['mfa', 'audit', '--domain', 'corp', '-c', 'name', '-c',
             'compliance'],
            admin,
        )  # fmt: skip
        self.run(
            'admin', ['mfa', 'enforce', '--all', '--domain', 'corp'], admin
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--record-secrets',
        metavar='PATH',
        help='write the secrets the demo masked to a new file (mode 0600), '
        'for the test that checks they never show',
    )
    args = parser.parse_args(argv)
    print('Starting a throwaway local Keystone (sqlite, totp enabled)...')
    with tempfile.TemporaryDirectory() as home:
        with local_keystone.LocalKeystone() as ks:
            print(f'Keystone is up at {ks.auth_url}')
            demo = Demo(ks, home)
            try:
                demo.main()
            except DemoFailed as exc:
                print(f'\nDEMO FAILED: {exc}', file=sys.stderr)
                return 1
            finally:
                if args.record_secrets:
                    _record(args.record_secrets, demo)
    print('\nDone: Keystone stopped, nothing left behind.')
    return 0


def _record(path: str, demo: Demo) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as out:
        json.dump(sorted(demo.secrets), out)


if __name__ == '__main__':
    sys.exit(main())
