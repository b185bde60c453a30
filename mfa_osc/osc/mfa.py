"""``openstack mfa ...`` commands: enroll, status, remove, enforce, codes.

The commands parse options, talk to the person (QR code, prompts,
confirmation) and format output; the workflows are in
:mod:`mfa_osc.enrollment` and every error they raise becomes one
``CommandError`` that says what to do next.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from collections.abc import Sequence
import contextlib
import itertools
import logging
import os
import sys
from typing import Any
from typing import TextIO
from urllib.parse import urlparse

from cliff import columns as cliff_columns
from osc_lib import exceptions
from osc_lib.command import command

from mfa_osc import client as mfa_client
from mfa_osc import enrollment
from mfa_osc import redact
from mfa_osc import sources
from mfa_osc import totp

LOG = logging.getLogger(__name__)

# NOTE: ANSI black on white, drawn explicitly, so that the code scans on a
# dark terminal theme as well as on a light one.
_QR_COLOURS = '\x1b[30;107m'
_QR_RESET = '\x1b[0m'


# -- helpers ------------------------------------------------------------


class LinesColumn(cliff_columns.FormattableColumn[list[Any]]):
    """A list: one item per line in a table, a list in json/yaml."""

    def human_readable(self) -> str:
        return '\n'.join(str(item) for item in self._value or [])

    def machine_readable(self) -> list[Any]:
        return list(self._value or [])


class RulesColumn(cliff_columns.FormattableColumn[list[list[str]]]):
    """MFA rules as ``password+totp; application_credential``."""

    def human_readable(self) -> str:
        return _rules_text(self._value or [])

    def machine_readable(self) -> list[list[str]]:
        return [list(rule) for rule in self._value or []]


class DevicesColumn(cliff_columns.FormattableColumn[list[dict[str, Any]]]):
    """Devices, one ``name (id, created)`` per line in a table."""

    def human_readable(self) -> str:
        return '\n'.join(
            f'{d.get("name")} ({d.get("id")}, {d.get("created_at")})'
            for d in self._value or []
        )

    def machine_readable(self) -> list[dict[str, Any]]:
        return [dict(d) for d in self._value or []]


def qr_text(data: str, colour: bool = True) -> str:
    """A QR code as UTF-8 half blocks, two modules per character cell."""
    import segno

    qr = segno.make(data, error='m')
    rows = [[bool(m) for m in row] for row in qr.matrix_iter(border=4)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    lines = []
    for top, bottom in zip(rows[0::2], rows[1::2], strict=True):
        cells = []
        for upper, lower in zip(top, bottom, strict=True):
            if upper and lower:
                cells.append('\u2588')
            elif upper:
                cells.append('\u2580')
            elif lower:
                cells.append('\u2584')
            else:
                cells.append(' ')
        line = ''.join(cells)
        lines.append(f'{_QR_COLOURS}{line}{_QR_RESET}' if colour else line)
    return '\n'.join(lines) + '\n'


def _open_new(path: str) -> TextIO:
    """Open a new file, mode 0600; never overwrite one that exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise exceptions.CommandError(
            f'{path} already exists and is never overwritten (it may hold '
            'secrets); give a new file name.'
        ) from None
    except OSError as exc:
        raise exceptions.CommandError(
            f'Cannot create {path}: {exc.strerror}.'
        ) from None
    return os.fdopen(fd, 'w', encoding='utf-8')


def _check_new_path(path: str | None, what: str) -> None:
    if path is None:
        return
    if os.path.lexists(path):
        raise exceptions.CommandError(
            f'{path} already exists and is never overwritten ({what} holds '
            'secrets); give a new file name. Nothing was changed.'
        )
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise exceptions.CommandError(
            f'The directory of {path} does not exist. Nothing was changed.'
        )


def write_qr_file(path: str, data: str) -> None:
    import segno

    ext = os.path.splitext(path)[1].lower()
    if ext not in ('.png', '.svg'):
        raise exceptions.CommandError(
            '--qr-file must end in .png or .svg. Nothing was changed.'
        )
    qr = segno.make(data, error='m')
    if ext == '.png':
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as out:
            qr.save(out, kind='png', scale=8, border=4)
    else:
        with _open_new(path) as text:
            text.write(
                qr.svg_inline(scale=8, border=4, dark='#000', light='#fff')
            )


def write_recovery_file(path: str, user: str, codes: Sequence[str]) -> None:
    with _open_new(path) as out:
        out.write(f'# mfa-osc recovery codes for {user}; each works once\n')
        for code in codes:
            out.write(code + '\n')


def is_terminal() -> bool:
    return sources.terminal_attached()


@contextlib.contextmanager
def command_errors() -> Iterator[None]:
    """Turn workflow and client errors into one CommandError."""
    try:
        yield
    except (enrollment.EnrollmentError, mfa_client.ClientError) as exc:
        raise exceptions.CommandError(str(exc)) from None
    except (totp.InvalidSecret, totp.InvalidPasscode) as exc:
        raise exceptions.CommandError(str(exc)) from None


def _add_proof_options(
    parser: argparse.ArgumentParser, when: str, used: str = ''
) -> None:
    """--passcode or --recovery-code: proof that the user holds a device."""
    proof = parser.add_mutually_exclusive_group()
    proof.add_argument(
        '--passcode',
        metavar='<passcode>',
        help=f'Current code of one of your devices{when}',
    )
    proof.add_argument(
        '--recovery-code',
        metavar='<code>',
        help=f'One of your recovery codes{used}{when}',
    )


def _add_user_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        '--user',
        metavar='<user>',
        help=f'{what} (name or ID; administrators), default: yourself',
    )
    parser.add_argument(
        '--user-domain',
        metavar='<domain>',
        help='Domain the user belongs to (name or ID)',
    )


def _mfa(app: Any) -> mfa_client.MFAClient:
    return app.client_manager.mfa  # type: ignore[no-any-return]


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not is_terminal():
        raise exceptions.CommandError(
            'Confirmation is needed and there is no terminal to ask on; add '
            '--yes to confirm. Nothing was changed.'
        )
    sys.stderr.write(question + ' [y/N] ')
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ('y', 'yes'):
        raise exceptions.CommandError('Not confirmed; nothing was changed.')


def _proof(
    given_passcode: str | None, given_recovery: str | None, what: str
) -> str:
    proof = given_passcode or given_recovery
    if proof:
        redact.register(proof)
        return proof
    if is_terminal():
        answer = sources.prompt('Current passcode or a recovery code: ')
        if answer:
            redact.register(answer)
            return answer
    raise exceptions.CommandError(
        f'{what} needs a current passcode or a recovery code: give '
        '--passcode CODE or --recovery-code CODE, or run the command on a '
        'terminal to be prompted. Nothing was changed.'
    )


def _issuer(mfa: mfa_client.MFAClient, region: str | None) -> str:
    url = mfa.auth_url()
    host = urlparse(url).hostname if url else None
    if host and host not in ('localhost', '127.0.0.1', '::1'):
        return host
    return region or host or 'OpenStack'


def _rules_text(rules: Sequence[Sequence[str]]) -> str:
    return '; '.join('+'.join(rule) for rule in rules) or 'none'


# -- enroll -------------------------------------------------------------


class EnrollMFA(command.ShowOne):
    """Enroll a TOTP device, create recovery codes and enforce MFA"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--name',
            metavar='<name>',
            help='Device name, unique per user (default: device-N)',
        )
        parser.add_argument(
            '--secret',
            metavar='<secret>',
            help='Base32 secret of a token you already have '
            '(default: a new 160-bit secret)',
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
            default=enrollment.DEFAULT_RECOVERY_CODES,
            help='Recovery codes to create for a user who has none '
            '(default: %(default)s)',
        )
        parser.add_argument(
            '--recovery-file',
            metavar='<path>',
            help='Also write the recovery codes to a new file (mode 0600)',
        )
        parser.add_argument(
            '--no-application-credentials',
            action='store_true',
            help='Do not let application credentials sign in without TOTP',
        )
        parser.add_argument(
            '--allow-weaker',
            action='store_true',
            help='Enroll even though the account may not set MFA rules: '
            'the code alone signs in until an administrator enforces',
        )
        _add_user_options(parser, 'User to enroll')
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        args = parsed_args
        redact.register(args.secret, args.passcode)
        interactive = is_terminal()
        _check_new_path(args.recovery_file, 'the recovery file')
        _check_new_path(args.qr_file, 'the QR file')
        if args.qr_file and os.path.splitext(args.qr_file)[1].lower() not in (
            '.png',
            '.svg',
        ):
            raise exceptions.CommandError(
                '--qr-file must end in .png or .svg. Nothing was changed.'
            )
        if not args.passcode and not interactive:
            raise exceptions.CommandError(
                'No terminal to ask for the code on: give the current code '
                'of the device with --passcode (with --secret, --qr-file or '
                '--show-secret to get the secret into the app). Nothing was '
                'changed.'
            )
        if not (args.secret or args.qr_file or args.show_secret) and (
            args.no_qr or not interactive
        ):
            raise exceptions.CommandError(
                'The secret would reach no authenticator app: use --secret, '
                '--qr-file or --show-secret, or run on a terminal for the QR '
                'code. Nothing was changed.'
            )
        secret = None
        if args.secret:
            secret = totp.normalize_secret(args.secret)
            redact.register(secret)
        mfa = _mfa(self.app)
        with command_errors():
            user = enrollment.resolve_user(mfa, args.user, args.user_domain)
            account, name, can_update, warnings = (
                enrollment.prepare_enrollment(
                    mfa,
                    user,
                    name=args.name,
                    allow_weaker=args.allow_weaker,
                )
            )
            for warning in warnings:
                LOG.warning(warning)
            if secret is None:
                secret = totp.generate_secret()
            redact.register(secret)
            uri = self._uri(mfa, account, args, secret)
            redact.register(uri)
            if args.qr_file:
                write_qr_file(args.qr_file, uri)
            if interactive:
                self._show(args, name, secret, uri)
            result = enrollment.enroll(
                mfa,
                account,
                name=name,
                can_update=can_update,
                secret=secret,
                passcodes=self._passcodes(args.passcode, interactive),
                recovery_codes=max(0, args.recovery_codes),
                application_credentials=(
                    False if args.no_application_credentials else None
                ),
                warnings=warnings,
            )
        if args.recovery_file and result.recovery_codes:
            write_recovery_file(
                args.recovery_file,
                str(user.get('name')),
                result.recovery_codes,
            )
        for note in result.repaired:
            LOG.warning('Repaired: %s.', note)
        if result.recovery_codes:
            sys.stderr.write(
                'Recovery codes are shown once: store them safely. Each '
                'signs in once, with the password, instead of a passcode.\n'
            )
        if result.admin_command:
            sys.stderr.write(
                'The device is verified but MFA is not enforced yet: this '
                'account may not set its own MFA rules. Ask an administrator '
                f'to run: {result.admin_command}\n'
            )
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
            RulesColumn(result.rules),
            LinesColumn(result.recovery_codes),
        ]
        if result.admin_command:
            columns.append('next_step')
            values.append(result.admin_command)
        if args.show_secret:
            columns += ['secret', 'otpauth_uri']
            values += [secret, uri]
        return columns, values

    @staticmethod
    def _uri(
        mfa: mfa_client.MFAClient,
        account: enrollment.Account,
        args: argparse.Namespace,
        secret: str,
    ) -> str:
        issuer = args.issuer or _issuer(mfa, os.environ.get('OS_REGION_NAME'))
        domain = args.user_domain or account.user.get('domain_id')
        if not args.user:
            try:
                access = mfa.session.auth.get_access(  # type: ignore[union-attr]
                    mfa.session
                )
                domain = access.user_domain_name or domain
            except AttributeError:
                pass
        label = f'{account.user.get("name")}@{domain}'
        return totp.provisioning_uri(secret, label, issuer)

    @staticmethod
    def _show(
        args: argparse.Namespace, name: str, secret: str, uri: str
    ) -> None:
        out = sys.stderr
        if not args.no_qr:
            out.write(
                f'Scan this QR code with the authenticator app ({name}):\n'
            )
            out.write(qr_text(uri))
        if args.show_secret or args.no_qr:
            grouped = ' '.join(
                secret[i : i + 4] for i in range(0, len(secret), 4)
            )
            out.write(f'Secret: {grouped}\nURI: {uri}\n')
        out.flush()

    @staticmethod
    def _passcodes(
        given: str | None, interactive: bool
    ) -> enrollment.PasscodeSource:
        def source(attempt: int, hint: str) -> str | None:
            if given:
                return given if attempt == 0 else None
            if hint:
                sys.stderr.write(hint + '\n')
            if not interactive:
                return None
            return sources.prompt('Code shown by the app: ')

        return source


# -- enforce ------------------------------------------------------------


class EnforceMFA(command.ShowOne):
    """Require TOTP for a user who has a verified device"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--no-application-credentials',
            action='store_true',
            help='Do not let application credentials sign in without TOTP',
        )
        _add_user_options(parser, 'User to enforce MFA for')
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        mfa = _mfa(self.app)
        with command_errors():
            user = enrollment.resolve_user(
                mfa, parsed_args.user, parsed_args.user_domain
            )
            try:
                rules = enrollment.enforce(
                    mfa,
                    user,
                    application_credentials=(
                        not parsed_args.no_application_credentials
                    ),
                )
            except mfa_client.Forbidden:
                raise exceptions.CommandError(
                    'This account may not set MFA rules (Keystone policy '
                    'identity:update_user); an administrator runs `openstack '
                    f'mfa enforce --user {user["id"]}`.'
                ) from None
        return ('user_id', 'enforced', 'rules'), (
            user['id'],
            True,
            RulesColumn(rules),
        )


# -- status -------------------------------------------------------------

STATUS_COLUMNS = (
    'user_id',
    'user',
    'domain_id',
    'state',
    'enforced',
    'mfa_enabled',
    'rules',
    'application_credentials_allowed',
    'devices',
    'recovery_codes_left',
    'unverified_credentials',
    'session_used_totp',
    'clock_skew_seconds',
    'warnings',
)
AUDIT_COLUMNS = (
    'id',
    'name',
    'domain_id',
    'devices',
    'recovery_codes_left',
    'unverified',
    'state',
    'admin',
)


class ShowMFAStatus(command.ShowOne):
    """Show where an account stands with MFA, or every account with --all"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_user_options(parser, 'User to show')
        parser.add_argument(
            '--all',
            action='store_true',
            help='One row per user (administrators)',
        )
        parser.add_argument(
            '--domain',
            metavar='<domain>',
            help='With --all: only users of this domain (name or ID)',
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Any]:
        mfa = _mfa(self.app)
        if parsed_args.domain and not parsed_args.all:
            raise exceptions.CommandError('--domain goes with --all.')
        with command_errors():
            if parsed_args.all:
                rows = enrollment.audit(mfa, parsed_args.domain)
                if mfa.truncated:
                    LOG.warning(
                        'Keystone may have cut these lists short: %s (it '
                        'answers at most [DEFAULT] max_db_limit rows, 1000 '
                        'by default); users or credentials past that are '
                        'missing. Use --domain, or raise max_db_limit in '
                        'keystone.conf.',
                        ', '.join(sorted(set(mfa.truncated))),
                    )
                return AUDIT_COLUMNS, [
                    [row[c] for c in AUDIT_COLUMNS] for row in rows
                ]
            user = enrollment.resolve_user(
                mfa, parsed_args.user, parsed_args.user_domain
            )
            is_self = str(user['id']) == mfa.current_user_id()
            data = enrollment.status(mfa, user, is_self=is_self)
        for warning in data['warnings']:
            LOG.warning(warning)
        data['rules'] = RulesColumn(data['rules'])
        data['devices'] = DevicesColumn(data['devices'])
        data['warnings'] = LinesColumn(data['warnings'])
        data['unverified_credentials'] = LinesColumn(
            data['unverified_credentials']
        )
        return STATUS_COLUMNS, [data[c] for c in STATUS_COLUMNS]

    def produce_output(
        self,
        parsed_args: argparse.Namespace,
        column_names: Sequence[str],
        data: Any,
    ) -> int:
        if not parsed_args.all:
            return super().produce_output(parsed_args, column_names, data)
        # NOTE: --all is a list; the table, json, yaml and value formatters
        # of ShowOne can all print one.
        columns, selector = self._generate_columns_and_selector(
            parsed_args, column_names
        )
        rows = data
        if selector:
            rows = [list(itertools.compress(r, selector)) for r in data]
        emit = getattr(self.formatter, 'emit_list', None)
        if emit is None:
            raise exceptions.CommandError(
                'This output format cannot show a list; use -f table, json, '
                'yaml or value with --all.'
            )
        emit(columns, rows, self.app.stdout, parsed_args)
        return 0


# -- remove -------------------------------------------------------------


class RemoveMFA(command.Command):
    """Remove TOTP devices; removing the last one turns MFA off"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument(
            '--device',
            metavar='<name-or-id>',
            help='Device to remove',
        )
        which.add_argument(
            '--all',
            action='store_true',
            help='Remove every device and recovery code (turns MFA off)',
        )
        _add_proof_options(parser, ' (self-service)', ', used up')
        parser.add_argument(
            '--yes',
            action='store_true',
            help='Do not ask for confirmation',
        )
        _add_user_options(parser, 'User whose devices to remove')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> None:
        args = parsed_args
        redact.register(args.passcode, args.recovery_code)
        mfa = _mfa(self.app)
        with command_errors():
            user = enrollment.resolve_user(mfa, args.user, args.user_domain)
            is_self = str(user['id']) == mfa.current_user_id()
            account, targets, last = enrollment.plan_removal(
                mfa, user, device=args.device, all_devices=args.all
            )
            names = [
                account.book.devices.get(t, {}).get('name', t) for t in targets
            ]
            question = 'Remove {} of user {}{}?'.format(
                ', '.join(names),
                user.get('name'),
                ' and turn MFA off' if last else '',
            )
            _confirm(question, args.yes)
            used = None
            if is_self and account.totp:
                proof = _proof(
                    args.passcode, args.recovery_code, 'Removing a device'
                )
                used = enrollment.verify_proof(mfa, account, proof)
            result = enrollment.remove(
                mfa, account, targets, last, used_recovery=used
            )
        if result.last:
            what = (
                f'Removed {", ".join(result.removed)}'
                if result.removed
                else 'Reset'
            )
            sys.stderr.write(
                f'{what}: no TOTP device is left and MFA is off (rules: '
                f'{_rules_text(result.rules) if result.enabled else "none"}'
                ').\n'
            )


# -- recovery codes -----------------------------------------------------


class CreateRecoveryCodes(command.ShowOne):
    """Create new recovery codes; the old ones stop working"""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--count',
            metavar='<count>',
            type=int,
            default=enrollment.DEFAULT_RECOVERY_CODES,
            help='How many codes (default: %(default)s)',
        )
        parser.add_argument(
            '--recovery-file',
            metavar='<path>',
            help='Also write the codes to a new file (mode 0600)',
        )
        _add_proof_options(
            parser, ', when this session did not sign in with TOTP'
        )
        _add_user_options(parser, 'User to create codes for')
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        args = parsed_args
        redact.register(args.passcode, args.recovery_code)
        _check_new_path(args.recovery_file, 'the recovery file')
        mfa = _mfa(self.app)
        with command_errors():
            user = enrollment.resolve_user(mfa, args.user, args.user_domain)
            is_self = str(user['id']) == mfa.current_user_id()
            account = enrollment.load_account(mfa, user)
            used = None
            if is_self and (
                args.passcode
                or args.recovery_code
                or 'totp' not in mfa.current_methods()
            ):
                proof = _proof(
                    args.passcode,
                    args.recovery_code,
                    'This session did not sign in with TOTP, so creating '
                    'recovery codes',
                )
                used = enrollment.verify_proof(mfa, account, proof)
            codes = enrollment.regenerate_recovery_codes(
                mfa, account, count=args.count, used_recovery=used
            )
        if args.recovery_file:
            write_recovery_file(
                args.recovery_file, str(user.get('name')), codes
            )
        sys.stderr.write(
            'New recovery codes, shown once; the old ones no longer work.\n'
        )
        return ('user_id', 'recovery_codes'), (user['id'], LinesColumn(codes))


# -- passcode -----------------------------------------------------------


class ShowPasscode(command.ShowOne):
    """Show the current passcode of a TOTP secret"""

    auth_required = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--secret',
            metavar='<secret>',
            default=os.environ.get('OS_TOTP_SECRET'),
            help='Base32 TOTP secret (Env: OS_TOTP_SECRET)',
        )
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[Sequence[str], Sequence[Any]]:
        if not parsed_args.secret:
            raise exceptions.CommandError(
                'No secret: give --secret or set OS_TOTP_SECRET.'
            )
        redact.register(parsed_args.secret)
        with command_errors():
            secret = totp.normalize_secret(parsed_args.secret)
        redact.register(secret)
        code = totp.passcode(secret)
        return ('passcode', 'seconds_left'), (code, totp.seconds_left())
