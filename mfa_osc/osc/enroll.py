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

"""``openstack mfa enroll``: a new device by QR code, or adopt one."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from collections.abc import Sequence
import contextlib
import logging
import os
from typing import Any

from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import account as mfa_account
from mfa_osc import client as mfa_client
from mfa_osc import recovery
from mfa_osc import redact
from mfa_osc import totp
from mfa_osc.osc import common
from mfa_osc.osc import files
from mfa_osc.workflows import enroll as enroll_flow
from mfa_osc.workflows import enroll_plan

LOG = logging.getLogger(__name__)


class EnrollMFA(command.ShowOne):
    """Enroll a TOTP device, create recovery codes and enforce MFA"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--name',
            metavar='<name>',
            help='Device name, unique per user (default: device-N)',
        )
        given = parser.add_mutually_exclusive_group()
        given.add_argument(
            '--secret-file',
            dest='secret',
            metavar='<path>',
            type=files.read_secret,
            help='Read the base32 secret of a token you already have from '
            'this file, or from standard input for "-" (default: a new '
            '160-bit secret)',
        )
        given.add_argument(
            '--secret',
            metavar='<secret>',
            help='Base32 secret of a token you already have'
            + files.VISIBLE
            + ': prefer --secret-file',
        )
        parser.add_argument(
            '--adopt',
            metavar='<credential-id>',
            help='Adopt a TOTP credential made by hand (openstack '
            'credential create --type totp) as a verified device: a code '
            'from it is checked, nothing new is made',
        )
        parser.add_argument(
            '--passcode',
            metavar='<passcode>',
            help='Current code of the device, to verify without a prompt',
        )
        parser.add_argument(
            '--show-secret',
            action='store_true',
            help='Show the base32 secret and the otpauth:// URI',
        )
        parser.add_argument(
            '--qr-file',
            metavar='<path>',
            help='Write the QR code to a new .png or .svg file (mode 0600)',
        )
        parser.add_argument(
            '--no-qr',
            action='store_true',
            help='Do not draw the QR code on the terminal',
        )
        parser.add_argument(
            '--issuer',
            metavar='<issuer>',
            help='Issuer shown by the authenticator app '
            '(default: the cloud host name or region)',
        )
        parser.add_argument(
            '--recovery-codes',
            metavar='<count>',
            type=int,
            default=recovery.DEFAULT_COUNT,
            help='Recovery codes to create for a user who has none '
            '(default: %(default)s)',
        )
        parser.add_argument(
            '--recovery-file',
            metavar='<path>',
            help='Also write the recovery codes to a new file (mode 0600)',
        )
        common.add_application_credential_options(parser)
        common.add_keep_sessions_option(parser)
        parser.add_argument(
            '--allow-weaker',
            action='store_true',
            help='Enroll even though the account may not set MFA rules: '
            'the code alone signs in until an administrator enforces',
        )
        common.add_user_options(parser, 'User to enroll')
        return parser

    def _check_args(self, args: argparse.Namespace) -> None:
        """The checks of the arguments alone (no terminal, no request)."""
        files.check_new_path(args.recovery_file, 'the recovery file')
        files.check_new_path(args.qr_file, 'the QR file')
        if args.qr_file and os.path.splitext(args.qr_file)[1].lower() not in (
            '.png',
            '.svg',
        ):
            raise exceptions.CommandError(
                '--qr-file must end in .png or .svg. Nothing was changed.'
            )
        if args.adopt and (args.secret or args.qr_file or args.show_secret):
            raise exceptions.CommandError(
                '--adopt uses the secret Keystone already holds; it goes '
                'without --secret, --secret-file, --qr-file and '
                '--show-secret.'
            )

    def _check_terminal(
        self, args: argparse.Namespace, interactive: bool
    ) -> None:
        """What needs a terminal when the arguments do not give it."""
        if not args.passcode and not interactive:
            raise exceptions.CommandError(
                'No terminal to ask for the code on: give the current code '
                'of the device with --passcode (with --secret-file, '
                '--qr-file or --show-secret to get the secret into the '
                'app). Nothing was changed.'
            )
        if (
            not args.adopt
            and not (args.secret or args.qr_file or args.show_secret)
            and (args.no_qr or not interactive)
        ):
            raise exceptions.CommandError(
                'The secret would reach no authenticator app: use '
                '--secret-file, --qr-file or --show-secret, or run on a '
                'terminal for the QR code. Nothing was changed.'
            )

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        args = parsed_args
        redact.register(args.secret, args.passcode)
        interactive = common.is_terminal()
        self._check_args(args)
        client = common.mfa(self.app)
        user = None
        if args.user:
            # NOTE: a user that does not exist is said first: no terminal
            # or passcode would help.
            user = common.resolve_user(client, args.user, args.user_domain)
        self._check_terminal(args, interactive)
        kept = files.RecoveryFile(args.recovery_file, '')
        with (
            kept.explained(),
            common.command_errors(),
            self._qr_file_kept_on_success(args),
        ):
            secret = (
                totp.normalize_secret(args.secret) if args.secret else None
            )
            redact.register(secret)
            user = user or mfa_account.resolve_user(
                client, args.user, args.user_domain
            )
            kept.user = str(user.name)
            plan = enroll_plan.prepare(
                client,
                user,
                name=args.name,
                allow_weaker=args.allow_weaker,
                adopt=args.adopt,
            )
            for warning in plan.warnings:
                LOG.warning(warning)
            uri = None
            if not args.adopt:
                secret = secret or totp.generate_secret()
                redact.register(secret)
                uri = self._uri(client, user, args, secret)
                redact.register(uri)
                if args.qr_file:
                    files.write_qr_file(args.qr_file, uri)
                    args._qr_inode = os.stat(args.qr_file).st_ino
                if interactive:
                    self._show(args, plan.name, secret, uri)
            result = enroll_flow.enroll(
                client,
                plan,
                secret=secret,
                passcodes=common.app_passcodes(
                    self.app.stderr, args.passcode, interactive
                ),
                recovery_codes=max(0, args.recovery_codes),
                application_credentials=args.application_credentials,
                keep_sessions=args.keep_sessions,
                keep=kept,
            )
        self._notes(result)
        columns = [
            'user_id',
            'device_id',
            'device_name',
            'enforced',
            'rules',
            'recovery_codes',
        ]
        values: list[Any] = [
            result.user_id,
            result.device_id,
            result.device_name,
            result.enforced,
            common.RulesColumn(result.rules),
            common.LinesColumn(result.recovery_codes),
        ]
        if result.sessions:
            columns.append('sessions')
            values.append(result.sessions)
        if result.admin_command:
            columns.append('next_step')
            values.append(result.admin_command)
        if args.show_secret:
            columns += ['secret', 'otpauth_uri']
            values += [secret, uri]
        return columns, values

    @staticmethod
    @contextlib.contextmanager
    def _qr_file_kept_on_success(args: argparse.Namespace) -> Iterator[None]:
        """Remove the QR file written by this run if the run fails.

        NOTE: the file holds the secret of a device that was not (or not
        wholly) enrolled; a new run makes a new secret, so the file would
        only be a secret left lying around.
        """
        try:
            yield
        except BaseException:
            if args.qr_file and os.path.isfile(args.qr_file):
                with contextlib.suppress(OSError):
                    if os.stat(args.qr_file).st_ino == getattr(
                        args, '_qr_inode', None
                    ):
                        os.unlink(args.qr_file)
            raise

    def _notes(self, result: enroll_flow.EnrollResult) -> None:
        err = self.app.stderr
        for note in result.repaired:
            LOG.warning('Repaired: %s.', note)
        if result.adopted:
            err.write(
                f'Adopted {result.device_id} as device {result.device_name}: '
                'Keystone accepted a code from it.\n'
            )
        if result.recovery_codes:
            err.write(
                'Recovery codes are shown once: store them safely. Each '
                'signs in once, with the password, instead of a passcode.\n'
            )
        common.warn_sessions(self.app, result.sessions)
        if result.admin_command:
            err.write(
                'The device is verified but MFA is not enforced yet: this '
                'account may not set its own MFA rules. Ask an administrator '
                f'to run: {result.admin_command}\n'
            )

    def _uri(
        self,
        client: mfa_client.MFAClient,
        user: mfa_client.User,
        args: argparse.Namespace,
        secret: str,
    ) -> str:
        region = getattr(self.app.client_manager, 'region_name', None)
        issuer = args.issuer or common.issuer(client, region)
        domain = args.user_domain or user.domain_id
        if not args.user:
            auth = client.session.auth
            get_access = getattr(auth, 'get_access', None)
            if callable(get_access):
                access = get_access(client.session)
                domain = getattr(access, 'user_domain_name', None) or domain
        label = f'{user.name}@{domain}'
        return totp.provisioning_uri(secret, label, issuer)

    def _show(
        self, args: argparse.Namespace, name: str, secret: str, uri: str
    ) -> None:
        common.show_new_device(
            self.app.stderr,
            name,
            secret,
            uri,
            qr=not args.no_qr,
            text=args.show_secret or args.no_qr,
        )
