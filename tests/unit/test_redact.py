"""Log scrubbing of secrets osc-lib's masking lets through."""

from __future__ import annotations

import logging

import fixtures
from oslotest import base

from mfa_osc import redact


class TestRedact(base.BaseTestCase):
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
