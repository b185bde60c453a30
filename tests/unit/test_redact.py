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

"""Log scrubbing of secrets osc-lib's masking lets through."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from unittest import mock

import fixtures
from oslotest import base

from mfa_osc import redact


class RedactState(fixtures.Fixture):
    """A fresh redact module state; the log record factory restored."""

    def _setUp(self) -> None:
        factory = logging.getLogRecordFactory()
        self.addCleanup(logging.setLogRecordFactory, factory)
        self.useFixture(fixtures.MockPatchObject(redact, '_installed', False))
        self.useFixture(fixtures.MockPatchObject(redact, '_known', set()))


class TestRedact(base.BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.useFixture(RedactState())

    def test_keyed_values(self) -> None:
        text = (
            "{'passcode': '123456', 'recovery_code': 'ABCD-EFGH', "
            '\'totp_secret\': \'JBSW\', "password": "hunter22", '
            "'username': 'alice'}"
        )
        clean = redact.scrub(text)
        for secret in ('123456', 'ABCD-EFGH', 'JBSW', 'hunter22'):
            self.assertNotIn(secret, clean)
        self.assertIn("'username': 'alice'", clean)

    def test_a_block_forgets_what_it_registered(self) -> None:
        redact.register('KEPTSECRET1')
        with redact.forgotten_after():
            redact.register('REQUEST-SECRET-1', '654321')
            self.assertEqual(
                f'a {redact.MASK} b {redact.MASK} c {redact.MASK}',
                redact.scrub('a REQUEST-SECRET-1 b 654321 c KEPTSECRET1'),
            )
            with redact.forgotten_after():
                redact.register('INNER-SECRET-2')
            self.assertIn('INNER-SECRET-2', redact.scrub('INNER-SECRET-2'))
            self.assertNotIn('654321', redact.scrub('code 654321'))
        self.assertEqual({'KEPTSECRET1'}, redact._known)
        self.assertIn('654321', redact.scrub('code 654321'))
        self.assertNotIn('KEPTSECRET1', redact.scrub('KEPTSECRET1'))

    def test_flags_and_environment(self) -> None:
        found = redact.secrets_in(
            [
                'openstack',
                '--os-passcode',
                '135790',
                '--os-password=pw-123',
                '--os-username',
                'alice',
            ],
            {'OS_TOTP_SECRET': 'JBSWY3DPEHPK3PXP', 'OS_USERNAME': 'alice'},
        )
        self.assertEqual(
            sorted(['135790', 'pw-123', 'JBSWY3DPEHPK3PXP']), sorted(found)
        )

    def test_installed_factory_scrubs_records(self) -> None:
        redact.install(['openstack', '--os-passcode', '864209'], {})
        logger = logging.getLogger('mfa_osc.test')
        captured = self.useFixture(
            fixtures.FakeLogger(name='mfa_osc.test', level=logging.DEBUG)
        )
        logger.debug('START with options: %s', '--os-passcode 864209')
        redact.register('late-secret-value')
        logger.debug('late: %s', 'late-secret-value')
        self.assertNotIn('864209', captured.output)
        self.assertNotIn('late-secret-value', captured.output)
        self.assertIn('START with options', captured.output)


class TestWordsAroundSecrets(base.BaseTestCase):
    """A secret that is also a word: option names stay, the secret never
    shows (issue 20: ``--***-file`` when the password was "recovery")."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(RedactState())

    def test_option_names_are_not_mangled(self) -> None:
        redact.install(['openstack', '--os-password', 'recovery'], {})
        line = (
            "START with options: ['--os-password', 'recovery', 'mfa', "
            "'recovery', 'code', 'create', '--recovery-file', 'codes.txt', "
            "'--recovery-code-file', '-']"
        )
        clean = redact.scrub(line)
        self.assertEqual(
            "START with options: ['--os-password', '***', 'mfa', '***', "
            "'code', 'create', '--recovery-file', 'codes.txt', "
            "'--recovery-code-file', '-']",
            clean,
        )
        joined = (
            'START with options: --os-password recovery mfa recovery code '
            'create --recovery-file codes.txt'
        )
        self.assertEqual(
            'START with options: --os-password *** mfa *** code create '
            '--recovery-file codes.txt',
            redact.scrub(joined),
        )
        self.assertEqual(
            'the recovery-codes file, recovery_code, unrecoverable',
            redact.scrub(
                'the recovery-codes file, recovery_code, unrecoverable'
            ),
        )

    def test_the_secret_itself_never_shows(self) -> None:
        secret = 'recovery'
        redact.register(secret)
        texts = [
            'recovery',
            'password recovery.',
            '(recovery)',
            '"recovery"',
            "{'pw': 'recovery'}",
            'https://alice:recovery@keystone.example.com/v3',
            'password=recovery&user=alice',
            'password%3Drecovery%26user',
            "b'\\x00recovery\\n'",
            "'line\\nrecovery'",
            '"\\u003drecovery"',
            'recovery\trecovery recovery',
            'Wrong: recovery, recovery; recovery!',
            '--os-password=recovery',
            "['--os-password', 'recovery']",
        ]
        for text in texts:
            clean = redact.scrub(text)
            self.assertNotRegex(
                clean, r'(?<![A-Za-z0-9_-])recovery(?![A-Za-z0-9_-])', text
            )
            self.assertIn('***', clean, text)

    def test_secrets_that_begin_or_end_with_a_sign(self) -> None:
        redact.register('p@ss!word', '-hidden-')
        self.assertEqual('x***y', redact.scrub('xp@ss!wordy'))
        self.assertEqual('a *** b', redact.scrub('a -hidden- b'))
        self.assertNotIn('hidden', redact.scrub('--os-password=-hidden-'))

    def test_flag_values_masked_unknown(self) -> None:
        # Nothing registered: where only a value can be, it is masked.
        text = (
            "['--os-passcode', '135790', '--os-recovery-code', 'ABCD-EFGH', "
            "'--os-passcode-command', 'oathtool --totp -b JBSWY3DP', "
            "'--password', 'hunter2', '--os-token', 'gAAAAAB'] "
            '--os-recovery-code=WXYZ-2345 --secret=JBSWY3DPEHPK3PXP'
        )
        clean = redact.scrub(text)
        for secret in (
            '135790',
            'ABCD-EFGH',
            'JBSWY3DP',
            'hunter2',
            'gAAAAAB',
            'WXYZ-2345',
            'JBSWY3DPEHPK3PXP',
        ):
            self.assertNotIn(secret, clean)
        self.assertIn("'--os-passcode-command', '***'", clean)

    def test_advice_naming_secret_flags_is_left_alone(self) -> None:
        text = (
            'give --passcode CODE or --recovery-code-file PATH, or '
            '--os-passcode or --os-totp-secret or --os-passcode-command; '
            'prefer --secret-file'
        )
        self.assertEqual(text, redact.scrub(text))


class TestWhenScrubbingGoesOn(base.BaseTestCase):
    """Scrubbing goes on when a secret may be logged, not at import."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(RedactState())
        self.useFixture(fixtures.MockPatch('sys.argv', ['openstack']))
        for name in redact.SECRET_ENV:
            self.useFixture(fixtures.EnvironmentVariable(name))
        self.factory = logging.getLogRecordFactory()

    def test_importing_the_osc_hooks_installs_nothing(self) -> None:
        import mfa_osc.osc

        # NOTE: the fresh import rebinds the package attribute too.
        previous = getattr(mfa_osc.osc, 'plugin', None)
        if previous is not None:
            self.addCleanup(setattr, mfa_osc.osc, 'plugin', previous)
        with mock.patch.dict(sys.modules):
            sys.modules.pop('mfa_osc.osc.plugin', None)
            importlib.import_module('mfa_osc.osc.plugin')
        self.assertIs(self.factory, logging.getLogRecordFactory())
        self.assertFalse(redact._installed)

    def test_option_parser_without_secrets_installs_nothing(self) -> None:
        from mfa_osc.osc import plugin as osc_plugin

        osc_plugin.build_option_parser(argparse.ArgumentParser())
        self.assertIs(self.factory, logging.getLogRecordFactory())

    def test_option_parser_with_a_secret_flag_installs(self) -> None:
        from mfa_osc.osc import plugin as osc_plugin

        self.useFixture(
            fixtures.MockPatch(
                'sys.argv', ['openstack', '--os-passcode', '246813']
            )
        )
        osc_plugin.build_option_parser(argparse.ArgumentParser())
        self.assertIsNot(self.factory, logging.getLogRecordFactory())
        self.assertEqual('x *** y', redact.scrub('x 246813 y'))

    def test_option_parser_with_a_secret_in_env_installs(self) -> None:
        from mfa_osc.osc import plugin as osc_plugin

        self.useFixture(
            fixtures.EnvironmentVariable('OS_TOTP_SECRET', 'JBSWY3DPEHPK3PXP')
        )
        osc_plugin.build_option_parser(argparse.ArgumentParser())
        self.assertIsNot(self.factory, logging.getLogRecordFactory())

    def test_option_parser_when_verbose_installs(self) -> None:
        from mfa_osc.osc import plugin as osc_plugin

        self.useFixture(
            fixtures.MockPatch('sys.argv', ['openstack', '--debug'])
        )
        osc_plugin.build_option_parser(argparse.ArgumentParser())
        self.assertIsNot(self.factory, logging.getLogRecordFactory())

    def test_constructing_the_auth_plugin_installs(self) -> None:
        from mfa_osc.auth import plugin

        plugin.MultiFactor(
            'http://keystone.test/v3',
            username='alice',
            password='pw-for-alice',
        )
        self.assertIsNot(self.factory, logging.getLogRecordFactory())
        self.assertTrue(redact._installed)
        self.assertEqual('***', redact.scrub('pw-for-alice'))


class TestTracebacks(base.BaseTestCase):
    """LOG.exception, as cliff uses it under --debug, prints no secret."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(RedactState())

    def test_exception_text_and_stack_scrubbed(self) -> None:
        redact.install([], {})
        redact.register('JBSWY3DPEHPK3PXP')
        logger = logging.getLogger('mfa_osc.test.tb')
        captured = self.useFixture(
            fixtures.FakeLogger(name='mfa_osc.test.tb', level=logging.DEBUG)
        )
        try:
            raise RuntimeError("bad {'passcode': '246810'} JBSWY3DPEHPK3PXP")
        except RuntimeError as exc:
            logger.exception(exc)
        logger.debug('here', stack_info=True)
        logger.error(
            'x', exc_info=(ValueError, ValueError('JBSWY3DPEHPK3PXP'), None)
        )
        self.assertIn('Traceback', captured.output)
        self.assertIn('RuntimeError', captured.output)
        self.assertNotIn('JBSWY3DPEHPK3PXP', captured.output)
        self.assertNotIn('246810', captured.output)

    def test_scrub_record_leaves_clean_records_alone(self) -> None:
        record = logging.LogRecord(
            'x', logging.INFO, 'f', 1, 'a %s', ('b',), None
        )
        redact.scrub_record(record)
        self.assertEqual('a %s', record.msg)
        self.assertEqual(('b',), record.args)


class TestConfigurationShow(base.BaseTestCase):
    """OSC's ``configuration show`` masks the plugin's secret options."""

    def run_show(
        self, config: dict[str, object], *args: str
    ) -> dict[str, object]:
        from openstackclient.common import configuration

        from mfa_osc.osc import plugin as osc_plugin

        osc_plugin.mask_configuration_show()
        osc_plugin.mask_configuration_show()  # idempotent
        app = mock.Mock()
        app.client_manager = mock.Mock(spec=['get_configuration'])
        app.client_manager.get_configuration.return_value = config
        cmd = configuration.ShowConfiguration(app, None)
        parsed = cmd.get_parser('show').parse_args(list(args))
        columns, data = cmd.take_action(parsed)
        return dict(zip(columns, data, strict=True))

    def config(self) -> dict[str, object]:
        return {
            'auth_type': 'v3multifactor',
            'auth': {'passcode': '123456', 'username': 'alice'},
            'totp_secret': 'JBSWY3DPEHPK3PXP',
            'recovery_code': 'ABCD-EFGH',
            'password': 'pw',
            'region_name': 'r1',
        }

    def test_masked(self) -> None:
        shown = self.run_show(self.config())
        for key in (
            'auth.passcode',
            'totp_secret',
            'recovery_code',
            'password',
        ):
            self.assertEqual('<redacted>', shown[key])
        self.assertEqual('alice', shown['auth.username'])
        self.assertEqual('r1', shown['region_name'])

    def test_unmask(self) -> None:
        shown = self.run_show(self.config(), '--unmask')
        self.assertEqual('JBSWY3DPEHPK3PXP', shown['totp_secret'])
        self.assertEqual('123456', shown['auth.passcode'])

    def test_other_auth_type(self) -> None:
        config = self.config()
        config['auth_type'] = 'v3applicationcredential'
        config['auth'] = {'application_credential_secret': 'ac-secret'}
        shown = self.run_show(config)
        self.assertEqual(
            '<redacted>', shown['auth.application_credential_secret']
        )
        self.assertEqual('<redacted>', shown['totp_secret'])
