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

"""The v3multifactor plugin's requests, paths and errors, on requests-mock."""

from __future__ import annotations

import email.utils
import io
import json
import logging
import os
import stat
import sys
import time
from typing import Any
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ksa_exc
from oslotest import base

from mfa_osc import recovery
from mfa_osc import totp
from mfa_osc.auth import exceptions
from mfa_osc.auth import plugin
from mfa_osc.auth import policy as auth_policy
from mfa_osc.auth import policy_read
from tests.unit.auth.fakes import AUTH_URL
from tests.unit.auth.fakes import PASSWORD_ALONE
from tests.unit.auth.fakes import PASSWORD_TOKEN_RESPONSE
from tests.unit.auth.fakes import POLICY_CHECK
from tests.unit.auth.fakes import RECEIPT
from tests.unit.auth.fakes import SECRET
from tests.unit.auth.fakes import TOKEN_BODY
from tests.unit.auth.fakes import TOKEN_ID
from tests.unit.auth.fakes import TOKEN_RESPONSE
from tests.unit.auth.fakes import TOKEN_URL
from tests.unit.auth.fakes import UNAUTHORIZED
from tests.unit.auth.fakes import PluginTestCase
from tests.unit.auth.fakes import receipt_response


def totp_part(code: str) -> dict[str, Any]:
    return {
        'user': {
            'name': 'alice',
            'domain': {'id': 'default'},
            'passcode': code,
        }
    }


class TestOneRequest(PluginTestCase):
    def test_passcode_goes_with_password_in_one_request(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(passcode='123 456')

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(TOKEN_ID, ref.auth_token)
        self.assertEqual(
            [
                {
                    'auth': {
                        'identity': {
                            'methods': ['password', 'totp'],
                            'password': PASSWORD_ALONE['password'],
                            'totp': totp_part('123456'),
                        },
                        'scope': self.scope(),
                    }
                }
            ],
            self.bodies(),
        )
        headers = self.requests.last_request.headers
        self.assertNotIn('Openstack-Auth-Receipt', headers)
        self.assertEqual('application/json', headers['Accept'])
        self.assertEqual(1, auth.sign_in_requests)

    def test_secret_computes_current_code(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(totp_secret='jbsw y3dp-ehpk 3pxp jbsw y3dp ehpk 3pxp')

        with mock.patch('time.time', return_value=1_700_000_000.0):
            auth.get_auth_ref(self.session)
            expected = totp.passcode(SECRET, 1_700_000_000.0)

        sent = self.bodies()[0]['auth']['identity']
        self.assertEqual(['password', 'totp'], sent['methods'])
        self.assertEqual(expected, sent['totp']['user']['passcode'])
        self.assertEqual(1, len(self.requests.request_history))

    def test_passcode_wins_over_secret_and_command(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(
            passcode='111111',
            totp_secret=SECRET,
            passcode_command='false',
        )
        auth.get_auth_ref(self.session)
        sent = self.bodies()[0]['auth']['identity']
        self.assertEqual('111111', sent['totp']['user']['passcode'])

    def test_user_id_sent_without_domain(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(
            username=None,
            user_domain_id=None,
            user_id='u1',
            passcode='1234 56',
        )
        auth.get_auth_ref(self.session)
        ident = self.bodies()[0]['auth']['identity']
        self.assertEqual(
            {'id': 'u1', 'password': 's3cret-pass'}, ident['password']['user']
        )
        self.assertEqual(
            {'id': 'u1', 'passcode': '123456'}, ident['totp']['user']
        )

    def test_totp_alone(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(auth_methods='totp', password=None, passcode='123456')
        auth.get_auth_ref(self.session)
        ident = self.bodies()[0]['auth']['identity']
        self.assertEqual(['totp'], ident['methods'])
        self.assertEqual(totp_part('123456'), ident['totp'])


class TestAdaptive(PluginTestCase):
    def test_user_without_rules_signs_in_with_password_alone(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make()

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(TOKEN_ID, ref.auth_token)
        self.assertEqual(
            [
                {
                    'auth': {
                        'identity': {
                            'methods': ['password'],
                            **PASSWORD_ALONE,
                        },
                        'scope': self.scope(),
                    }
                }
            ],
            self.bodies(),
        )
        self.prompt.assert_not_called()
        self.assertEqual(1, auth.sign_in_requests)

    def test_receipt_then_prompted_passcode(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), TOKEN_RESPONSE])
        self.prompt.return_value = ' 654 321 '
        auth = self.make()

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(TOKEN_ID, ref.auth_token)
        first, second = self.requests.request_history
        self.assertNotIn('Openstack-Auth-Receipt', first.headers)
        self.assertEqual(RECEIPT, second.headers['Openstack-Auth-Receipt'])
        self.assertEqual(
            {
                'auth': {
                    'identity': {
                        'methods': ['totp'],
                        'totp': totp_part('654321'),
                    },
                    'scope': self.scope(),
                }
            },
            second.json(),
        )
        self.prompt.assert_called_once_with('Passcode: ')
        self.assertEqual(2, auth.sign_in_requests)

    def test_receipt_then_passcode_command(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), TOKEN_RESPONSE])
        auth = self.make(
            passcode_command=f'{sys.executable} -c "print(\'acct 246810\')"'
        )
        auth.get_auth_ref(self.session)
        second = self.requests.request_history[1]
        self.assertEqual(
            '246810',
            second.json()['auth']['identity']['totp']['user']['passcode'],
        )
        self.prompt.assert_not_called()

    def test_user_without_rules_never_runs_the_command(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(passcode_command='/nonexistent/never-run')
        auth.get_auth_ref(self.session)
        self.assertEqual(1, len(self.requests.request_history))

    def test_no_passcode_source_names_the_four_ways(self) -> None:
        self.requests.post(TOKEN_URL, **receipt_response())
        auth = self.make()
        exc = self.assertRaises(
            exceptions.NoPasscodeSource, auth.get_auth_ref, self.session
        )
        for way in (
            '--os-passcode',
            '--os-totp-secret',
            '--os-passcode-command',
            'prompted',
        ):
            self.assertIn(way, str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_rules_the_plugin_cannot_satisfy(self) -> None:
        self.requests.post(
            TOKEN_URL,
            **receipt_response([['password', 'application_credential']]),
        )
        auth = self.make(passcode_command='/nonexistent/never-run')
        exc = self.assertRaises(
            exceptions.UnsatisfiableRules, auth.get_auth_ref, self.session
        )
        self.assertIn('password+application_credential', str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_password_only_methods_report_rules(self) -> None:
        self.requests.post(TOKEN_URL, **receipt_response())
        auth = self.make(auth_methods=['v3password'])
        exc = self.assertRaises(
            exceptions.UnsatisfiableRules, auth.get_auth_ref, self.session
        )
        self.assertIn('password+totp', str(exc))

    def test_expired_receipt(self) -> None:
        self.requests.post(TOKEN_URL, **receipt_response(expires_in=-5))
        self.prompt.return_value = '123456'
        auth = self.make()
        exc = self.assertRaises(
            exceptions.ReceiptExpired, auth.get_auth_ref, self.session
        )
        self.assertIn('Run the command again', str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_project_without_a_role_is_not_a_wrong_passcode(self) -> None:
        self.requests.post(
            TOKEN_URL,
            [receipt_response(), UNAUTHORIZED, TOKEN_RESPONSE],
        )
        self.prompt.side_effect = ['111111']
        auth = self.make()
        exc = self.assertRaises(
            exceptions.NoRoleOnScope, auth.get_auth_ref, self.session
        )
        self.assertIn('alice has no role on project demo', str(exc))
        self.assertNotIn('passcode was not', str(exc))
        self.assertEqual(3, len(self.requests.request_history))
        # NOTE: the unscoped token is kept, for a rescope without a code.
        self.assertIsNotNone(auth.get_unscoped_auth_state())

    def test_prompt_retries_a_refused_code(self) -> None:
        self.requests.post(
            TOKEN_URL,
            [receipt_response(), UNAUTHORIZED, UNAUTHORIZED, TOKEN_RESPONSE],
        )
        self.prompt.side_effect = ['111111', '222222']
        tell = self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.sources.tell')
        ).mock
        auth = self.make()
        auth.get_auth_ref(self.session)
        tell.assert_called_once()
        self.assertIn('not accepted', tell.call_args.args[0])
        codes = [
            r.json()['auth']['identity']['totp']['user']['passcode']
            for r in self.requests.request_history[1:]
        ]
        # NOTE: the refused code is sent once more unscoped, to tell a
        # wrong code from a project without a role (refused too, here).
        self.assertEqual(['111111', '111111', '222222'], codes)
        self.assertEqual(
            'unscoped',
            self.requests.request_history[2].json()['auth']['scope'],
        )
        for r in self.requests.request_history[1:]:
            self.assertEqual(RECEIPT, r.headers['Openstack-Auth-Receipt'])


class TestPasscodeChecks(PluginTestCase):
    def test_malformed_passcodes_send_nothing(self) -> None:
        for bad in ('12345', '1234567', '12a456', '', '１２３４５６'):
            auth = self.make(passcode=bad or ' ')
            self.assertRaises(
                exceptions.PasscodeFormatError,
                auth.get_auth_ref,
                self.session,
            )
        self.assertEqual(0, len(self.requests.request_history))

    def test_malformed_message_holds_no_code(self) -> None:
        auth = self.make(passcode='98765')
        exc = self.assertRaises(
            exceptions.PasscodeFormatError, auth.get_auth_ref, self.session
        )
        self.assertNotIn('98765', str(exc))
        self.assertIn('5 digits', str(exc))

    def test_bad_secret_sends_nothing(self) -> None:
        self.useFixture(
            fixtures.EnvironmentVariable('OS_TOTP_SECRET', 'not base32 !!')
        )
        auth = self.make(totp_secret='not base32 !!')
        exc = self.assertRaises(
            exceptions.SecretFormatError, auth.get_auth_ref, self.session
        )
        self.assertIn('OS_TOTP_SECRET', str(exc))
        self.assertNotIn('base32 !!', str(exc))
        self.assertEqual(0, len(self.requests.request_history))

    def test_failing_command(self) -> None:
        self.requests.post(TOKEN_URL, **receipt_response())
        auth = self.make(passcode_command='false')
        exc = self.assertRaises(
            exceptions.PasscodeCommandFailed, auth.get_auth_ref, self.session
        )
        self.assertIn('exit status 1', str(exc))

    def test_missing_command(self) -> None:
        self.requests.post(TOKEN_URL, **receipt_response())
        auth = self.make(passcode_command='/nonexistent/otp-tool --code')
        exc = self.assertRaises(
            exceptions.PasscodeCommandFailed, auth.get_auth_ref, self.session
        )
        self.assertIn('was not found', str(exc))

    def test_no_password_without_terminal(self) -> None:
        auth = self.make(password=None)
        exc = self.assertRaises(
            exceptions.NoPassword, auth.get_auth_ref, self.session
        )
        self.assertIn('OS_PASSWORD', str(exc))
        self.assertEqual(0, len(self.requests.request_history))


def refused_with_date(offset: float) -> dict[str, Any]:
    date = email.utils.formatdate(time.time() + offset, usegmt=True)
    return dict(UNAUTHORIZED, headers={'Date': date})


NO_TOTP_METHODS = {
    'status_code': 401,
    'json': {
        'error': {
            'code': 401,
            'message': 'The request you have made requires authentication.',
            'identity': {'methods': ['password', 'token']},
        }
    },
}


class TestRefusals(PluginTestCase):
    def test_wrong_code_mentions_clock_skew(self) -> None:
        # NOTE: refused with the password, a receipt for the password alone:
        # the passcode was wrong, and the clock is why.
        self.requests.post(
            TOKEN_URL, [refused_with_date(-95), receipt_response()]
        )
        auth = self.make(passcode='123456')
        exc = self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        self.assertIn(
            'Keystone refused the sign-in: the password was accepted, the '
            'passcode from passcode under auth: in clouds.yaml was not.',
            str(exc),
        )
        self.assertRegex(str(exc), r'clock is 9\d seconds ahead of')

    def test_wrong_code_without_skew_says_nothing_of_clocks(self) -> None:
        self.requests.post(
            TOKEN_URL, [refused_with_date(0), receipt_response()]
        )
        auth = self.make(passcode='123456')
        exc = self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        self.assertNotIn('clock', str(exc))

    def test_receipt_path_blames_the_passcode(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), UNAUTHORIZED])
        auth = self.make(passcode_command='echo 123456')
        exc = self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        self.assertIn(
            'Keystone refused the sign-in: the password was accepted, the '
            'passcode that the passcode command printed was not.',
            str(exc),
        )

    def test_totp_alone_not_enabled(self) -> None:
        self.requests.post(TOKEN_URL, **NO_TOTP_METHODS)
        auth = self.make(auth_methods='totp', password=None, passcode='123456')
        exc = self.assertRaises(
            exceptions.TOTPNotEnabled, auth.get_auth_ref, self.session
        )
        self.assertIn('[auth] methods', str(exc))
        self.assertIn('password, token', str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_wrong_password_alone_is_a_keystoneauth_401(self) -> None:
        self.requests.post(TOKEN_URL, **UNAUTHORIZED)
        auth = self.make()
        exc = self.assertRaises(
            ksa_exc.Unauthorized, auth.get_auth_ref, self.session
        )
        self.assertIsInstance(exc, exceptions.PasswordRejected)
        self.assertIn('Keystone refused the password: check', str(exc))
        self.assertNotIn('s3cret-pass', str(exc))


class TestUpFrontCodeNotNeeded(PluginTestCase):
    """A code given up front never turns a good password into a failure."""

    def setUp(self) -> None:
        super().setUp()
        self.logger = self.useFixture(
            fixtures.FakeLogger(
                name='mfa_osc.auth.plugin',
                level=logging.DEBUG,
                format='%(levelname)s %(message)s',
            )
        )

    def second_body(self) -> Any:
        return self.bodies()[1]

    def test_account_without_totp_signs_in_with_password_alone(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('OS_PASSCODE', '123456'))
        self.requests.post(TOKEN_URL, [UNAUTHORIZED, PASSWORD_TOKEN_RESPONSE])
        auth = self.make(passcode='123456')

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(TOKEN_ID, ref.auth_token)
        first, second = self.bodies()
        self.assertEqual(
            ['password', 'totp'], first['auth']['identity']['methods']
        )
        self.assertEqual(
            {
                'auth': {
                    'identity': {'methods': ['password'], **PASSWORD_ALONE},
                    'scope': self.scope(),
                }
            },
            second,
        )
        self.assertEqual(
            'WARNING Signed in with the password alone: Keystone did not '
            'accept the passcode from OS_PASSCODE, and the MFA rules of this '
            'account do not ask for one. To sign in with one request, unset '
            'OS_PASSCODE for this account.\n',
            self.logger.output,
        )
        self.assertNotIn('123456', self.logger.output)
        self.assertFalse(auth.fresh_second_factor)
        self.assertEqual(2, auth.sign_in_requests)

    def test_said_once_per_plugin(self) -> None:
        self.requests.post(
            TOKEN_URL, [UNAUTHORIZED, PASSWORD_TOKEN_RESPONSE] * 2
        )
        auth = self.make(totp_secret=SECRET)
        auth.get_auth_ref(self.session)
        auth.get_auth_ref(self.session)
        self.assertEqual(1, self.logger.output.count('WARNING'))
        self.assertIn(
            'the passcode computed from the TOTP secret in totp_secret under '
            'auth: in clouds.yaml',
            self.logger.output,
        )
        self.assertIn('leave out totp_secret under auth:', self.logger.output)

    def test_flag_named_as_flag(self) -> None:
        self.useFixture(
            fixtures.MonkeyPatch(
                'sys.argv', ['openstack', '--os-passcode', '123 456']
            )
        )
        self.requests.post(TOKEN_URL, [UNAUTHORIZED, PASSWORD_TOKEN_RESPONSE])
        self.make(passcode='123 456').get_auth_ref(self.session)
        self.assertIn(
            'To sign in with one request, leave out --os-passcode',
            self.logger.output,
        )

    def test_cloud_without_totp_says_so_and_signs_in(self) -> None:
        self.requests.post(
            TOKEN_URL, [NO_TOTP_METHODS, PASSWORD_TOKEN_RESPONSE]
        )
        auth = self.make(passcode='123456')
        auth.get_auth_ref(self.session)
        self.assertIn('does not accept TOTP passcodes', self.logger.output)
        self.assertIn('[auth] methods in keystone.conf', self.logger.output)

    def test_wrong_passcode_with_good_password(self) -> None:
        self.requests.post(TOKEN_URL, [UNAUTHORIZED, receipt_response()])
        auth = self.make(passcode='123456')
        exc = self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        self.assertEqual(
            'Keystone refused the sign-in: the password was accepted, the '
            'passcode from passcode under auth: in clouds.yaml was not. '
            'Passcodes change every 30 seconds; use the current one from the '
            'authenticator app.',
            str(exc),
        )
        self.assertEqual(
            {'methods': ['password'], **PASSWORD_ALONE},
            self.second_body()['auth']['identity'],
        )
        self.assertEqual('', self.logger.output)

    def test_wrong_password_with_a_code(self) -> None:
        self.requests.post(TOKEN_URL, [UNAUTHORIZED, UNAUTHORIZED])
        auth = self.make(totp_secret=SECRET)
        exc = self.assertRaises(
            exceptions.PasswordRejected, auth.get_auth_ref, self.session
        )
        self.assertIsInstance(exc, ksa_exc.Unauthorized)
        self.assertIn('also when sent without the passcode', str(exc))
        self.assertEqual(2, len(self.requests.request_history))

    def test_good_code_one_request(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        auth = self.make(passcode='123456')
        auth.get_auth_ref(self.session)
        self.assertEqual(1, len(self.requests.request_history))
        self.assertTrue(auth.fresh_second_factor)
        self.assertEqual('', self.logger.output)


class TestPrompt(PluginTestCase):
    """The Passcode: prompt forgives typos and takes recovery codes."""

    def setUp(self) -> None:
        super().setUp()
        self.terminal.return_value = True
        self.tell = self.useFixture(
            fixtures.MockPatch('mfa_osc.auth.sources.tell')
        ).mock

    def told(self) -> list[str]:
        return [c.args[0] for c in self.tell.call_args_list]

    def test_typos_are_asked_again(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), TOKEN_RESPONSE])
        self.prompt.side_effect = ['12345', '', '654 321']
        auth = self.make()

        auth.get_auth_ref(self.session)

        self.assertEqual(
            [
                mock.call('Passcode: '),
                mock.call('Passcode (try again): '),
                mock.call('Passcode (try again): '),
            ],
            self.prompt.call_args_list,
        )
        told = self.told()
        self.assertEqual(2, len(told))
        self.assertIn('5 digits where 6 are needed', told[0])
        self.assertIn('The passcode is empty', told[1])
        # NOTE: the typos cost no request.
        self.assertEqual(2, len(self.requests.request_history))
        self.assertEqual(
            '654321',
            self.bodies()[1]['auth']['identity']['totp']['user']['passcode'],
        )
        self.assertTrue(auth.fresh_second_factor)

    def test_three_typos_end_the_sign_in(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response()])
        self.prompt.side_effect = ['1', '12', '123']
        auth = self.make()
        exc = self.assertRaises(
            exceptions.PasscodeFormatError, auth.get_auth_ref, self.session
        )
        self.assertIn('3 tries used', str(exc))
        self.assertEqual(1, len(self.requests.request_history))

    def test_three_refusals_end_the_sign_in(self) -> None:
        self.requests.post(
            TOKEN_URL,
            [receipt_response()] + [UNAUTHORIZED] * 6,
        )
        self.prompt.side_effect = ['111111', '222222', '333333']
        auth = self.make()
        exc = self.assertRaises(
            exceptions.PasscodeRejected, auth.get_auth_ref, self.session
        )
        self.assertIn('the passcode (after 3 tries) was not.', str(exc))
        self.assertEqual(2, len(self.told()))
        # NOTE: the receipt, then each code scoped and once unscoped.
        self.assertEqual(7, len(self.requests.request_history))

    def test_ctrl_d_is_not_no_terminal(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response()])
        self.prompt.return_value = None  # getpass's EOFError
        auth = self.make()
        exc = self.assertRaises(
            exceptions.PromptCancelled, auth.get_auth_ref, self.session
        )
        self.assertIn('Ctrl-D', str(exc))
        self.assertNotIn('terminal', str(exc))

    def test_ctrl_d_at_the_password_prompt(self) -> None:
        self.prompt.return_value = None
        auth = self.make(password=None)
        exc = self.assertRaises(
            exceptions.PromptCancelled, auth.get_auth_ref, self.session
        )
        self.assertIn('No password entered', str(exc))
        self.assertEqual(0, len(self.requests.request_history))

    def test_malformed_recovery_code_is_asked_again(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), TOKEN_RESPONSE])
        self.prompt.side_effect = ['ABCD-EFGH-IJKL-MNO1', '123456']
        self.make().get_auth_ref(self.session)
        self.assertIn('not a recovery code', self.told()[0])


class TestMessagesWhereThePluginRuns(PluginTestCase):
    """Each message names the form the user used, or can use."""

    def test_openstacksdk_caller_gets_argument_names(self) -> None:
        self.cli.return_value = False
        self.requests.post(TOKEN_URL, **receipt_response())
        exc = self.assertRaises(
            exceptions.NoPasscodeSource,
            self.make().get_auth_ref,
            self.session,
        )
        for name in ('passcode_command', 'totp_secret', 'openstack.connect'):
            self.assertIn(name, str(exc))
        self.assertNotIn('--os-', str(exc))
        self.assertNotIn('OS_', str(exc))
        self.assertIn('run the program on a terminal', str(exc))

    def test_openstacksdk_no_password(self) -> None:
        self.cli.return_value = False
        exc = self.assertRaises(
            exceptions.NoPassword,
            self.make(password=None).get_auth_ref,
            self.session,
        )
        self.assertIn('password (an openstack.connect() argument', str(exc))
        self.assertNotIn('--os-password', str(exc))

    def test_malformed_passcode_names_its_origin(self) -> None:
        for argv, env, given in (
            (['openstack'], '12345', 'OS_PASSCODE'),
            (['openstack', '--os-passcode', '12345'], None, '--os-passcode'),
            (['openstack', '--os-passcode=12345'], None, '--os-passcode'),
            (['openstack'], None, 'passcode under auth: in clouds.yaml'),
        ):
            self.useFixture(fixtures.MonkeyPatch('sys.argv', argv))
            self.useFixture(fixtures.EnvironmentVariable('OS_PASSCODE', env))
            exc = self.assertRaises(
                exceptions.PasscodeFormatError,
                self.make(passcode='12345').get_auth_ref,
                self.session,
            )
            self.assertIn(f'It came from {given}.', str(exc))
        self.cli.return_value = False
        exc = self.assertRaises(
            exceptions.PasscodeFormatError,
            self.make(passcode='12345').get_auth_ref,
            self.session,
        )
        self.assertIn('It came from the passcode setting.', str(exc))

    def test_totp_alone_on_an_enforced_account(self) -> None:
        receipt = receipt_response()
        receipt['json']['receipt']['methods'] = ['totp']
        for argv, env, step in (
            (
                ['openstack', '--os-auth-methods', 'totp'],
                None,
                'sign in with --os-auth-methods password,totp.',
            ),
            (['openstack'], 'totp', 'set OS_AUTH_METHODS=password,totp.'),
        ):
            self.useFixture(fixtures.MonkeyPatch('sys.argv', argv))
            self.useFixture(
                fixtures.EnvironmentVariable('OS_AUTH_METHODS', env)
            )
            self.requests.post(TOKEN_URL, **receipt)
            auth = self.make(
                auth_methods='totp', password=None, passcode='123456'
            )
            exc = self.assertRaises(
                exceptions.UnsatisfiableRules, auth.get_auth_ref, self.session
            )
            self.assertEqual(
                'Keystone accepted totp, but the MFA rules of this account '
                'want one of: password+totp, and this sign-in uses only '
                f'totp: {step}',
                str(exc),
            )
        self.cli.return_value = False
        self.useFixture(fixtures.EnvironmentVariable('OS_AUTH_METHODS'))
        self.useFixture(fixtures.MonkeyPatch('sys.argv', ['python']))
        exc = self.assertRaises(
            exceptions.UnsatisfiableRules,
            self.make(
                auth_methods='totp', password=None, passcode='123456'
            ).get_auth_ref,
            self.session,
        )
        self.assertIn("give auth_methods='password,totp'", str(exc))

    def test_rules_beyond_password_and_totp_name_the_user(self) -> None:
        self.requests.post(
            TOKEN_URL,
            **receipt_response([['password', 'application_credential']]),
        )
        exc = self.assertRaises(
            exceptions.UnsatisfiableRules,
            self.make().get_auth_ref,
            self.session,
        )
        self.assertIn('openstack mfa status --user u1', str(exc))


class TestPasscodeCommandErrors(base.BaseTestCase):
    """Why a passcode command could not start, named as it is."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def script(self, name: str, text: str, mode: int = 0o755) -> str:
        import os

        path = f'{self.dir}/{name}'
        with open(path, 'w') as handle:
            handle.write(text)
        os.chmod(path, mode)
        return path

    def error(self, command: str, given: str = 'OS_PASSCODE_COMMAND') -> str:
        from mfa_osc.auth import sources

        exc = self.assertRaises(
            exceptions.PasscodeCommandFailed,
            sources.run_command,
            command,
            given,
        )
        self.assertNotIn('Errno', str(exc))
        return str(exc)

    def test_not_executable(self) -> None:
        path = self.script('otp', '#!/bin/sh\necho 123456\n', 0o644)
        message = self.error(path)
        self.assertIn('is not executable', message)
        self.assertIn(f'chmod +x {path}', message)
        self.assertIn('have OS_PASSCODE_COMMAND run it', message)

    def test_directory(self) -> None:
        message = self.error(self.dir, 'the passcode_command setting')
        self.assertIn('is a directory, not a program', message)
        self.assertIn('set the passcode_command setting to', message)

    def test_bad_interpreter(self) -> None:
        path = self.script('otp', '#!/nonexistent/python3\nprint(1)\n')
        message = self.error(path)
        self.assertIn("names the interpreter '/nonexistent/python3'", message)
        self.assertNotIn('not found', message)

    def test_no_interpreter_line(self) -> None:
        path = self.script('otp', 'echo 123456\n')
        self.assertIn(
            "needs a first line such as '#!/bin/sh'", self.error(path)
        )

    def test_not_on_path(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('PATH', self.dir))
        message = self.error('no-such-otp-tool --code')
        self.assertIn("'no-such-otp-tool' was not found on PATH", message)

    def test_not_executable_on_path(self) -> None:
        self.script('otp-tool', '#!/bin/sh\necho 123456\n', 0o644)
        self.useFixture(fixtures.EnvironmentVariable('PATH', self.dir))
        self.assertIn('is not executable', self.error('otp-tool'))

    def test_exit_status_127(self) -> None:
        path = self.script('otp', '#!/bin/sh\nexit 127\n')
        self.assertIn('a program it runs was not found', self.error(path))


class TestMethodsAndCache(base.BaseTestCase):
    def test_parse_methods(self) -> None:
        for value in (
            None,
            '',
            'password,totp',
            'totp,password',
            'v3password,v3totp',
            ' v3totp , password ',
            ['totp', 'v3password'],
            ('password', 'totp'),
        ):
            self.assertEqual(
                ('password', 'totp'), plugin.parse_auth_methods(value)
            )
        self.assertEqual(('totp',), plugin.parse_auth_methods('totp'))
        self.assertEqual(
            ('password',), plugin.parse_auth_methods(['v3password'])
        )

    def test_unknown_method_names_the_valid_ones(self) -> None:
        exc = self.assertRaises(
            ksa_exc.OptionError, plugin.parse_auth_methods, 'password,sms'
        )
        self.assertIn("'sms'", str(exc))
        for valid in ('password', 'totp', 'v3password', 'v3totp'):
            self.assertIn(valid, str(exc))

    def test_cache_id_ignores_passcode(self) -> None:
        one = plugin.MultiFactor(
            AUTH_URL, username='a', user_domain_id='d', passcode='111111'
        )
        two = plugin.MultiFactor(
            AUTH_URL, username='a', user_domain_id='d', passcode='222222'
        )
        other = plugin.MultiFactor(
            AUTH_URL, username='b', user_domain_id='d', passcode='111111'
        )
        self.assertEqual(one.get_cache_id(), two.get_cache_id())
        self.assertNotEqual(one.get_cache_id(), other.get_cache_id())
        self.assertNotIn('111111', str(one.get_cache_id_elements()))


RECOVERY_CODE = 'ABCD-EFGH-IJKL-MNOP'
OTHER_CODE = 'QRST-UVWX-YZ23-4567'


class TestRecoveryCodeSignIn(PluginTestCase):
    """Signing in with a recovery code uses it up and says what is left."""

    def setUp(self) -> None:
        super().setUp()
        self.logger = self.useFixture(
            fixtures.FakeLogger(
                name='mfa_osc.auth.plugin',
                level=logging.DEBUG,
                format='%(levelname)s %(message)s',
            )
        )
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        book = {
            'version': 2,
            'devices': {'dev1': {'name': 'phone'}},
            'recovery_codes': ['rc1', 'rc2'],
            'pending': [],
            'rules_before': None,
        }
        credentials = [
            ('dev1', 'totp', SECRET),
            ('rc1', 'totp', recovery.secret('ABCDEFGHIJKLMNOP')),
            ('rc2', 'totp', recovery.secret('QRSTUVWXYZ234567')),
            ('book1', 'mfa-osc', json.dumps(book)),
        ]
        self.requests.get(
            AUTH_URL + '/users/u1',
            json={
                'user': {
                    'id': 'u1',
                    'name': 'alice',
                    'domain_id': 'default',
                    'enabled': True,
                    'options': {
                        'multi_factor_auth_rules': [['password', 'totp']],
                    },
                }
            },
        )
        self.requests.get(
            AUTH_URL + '/credentials?user_id=u1',
            json={
                'credentials': [
                    {'id': i, 'user_id': 'u1', 'type': t, 'blob': b}
                    for i, t, b in credentials
                ]
            },
        )
        self.deleted = self.requests.delete(
            AUTH_URL + '/credentials/rc1', status_code=204
        )
        self.book = self.requests.patch(
            AUTH_URL + '/credentials/book1', json={'credential': {}}
        )
        self.revoked = self.requests.delete(TOKEN_URL, status_code=204)
        # NOTE: the sign-in, then the client's probe of enabled methods.
        self.requests.post(TOKEN_URL, [TOKEN_RESPONSE, UNAUTHORIZED])

    def test_code_is_used_up_and_codes_left_logged(self) -> None:
        auth = self.make(recovery_code=RECOVERY_CODE.lower())
        before = recovery.passcode('ABCDEFGHIJKLMNOP')

        ref = auth.get_auth_ref(self.session)

        after = recovery.passcode('ABCDEFGHIJKLMNOP')
        self.assertEqual(TOKEN_ID, ref.auth_token)
        sign_in = self.requests.request_history[0]
        ident = sign_in.json()['auth']['identity']
        self.assertEqual(['password', 'totp'], ident['methods'])
        # NOTE: the code of the 30-second window of the sign-in, which may
        # have begun during it.
        self.assertIn(ident['totp']['user']['passcode'], {before, after})
        self.assertEqual(1, self.deleted.call_count)
        used_with = self.deleted.last_request.headers['X-Auth-Token']
        self.assertEqual(TOKEN_ID, used_with)
        written = json.loads(
            self.book.last_request.json()['credential']['blob']
        )
        self.assertEqual(['rc2'], written['recovery_codes'])
        self.assertFalse(self.revoked.called)
        self.assertIsNone(auth.sources.recovery_code)
        self.assertIn(
            'WARNING Signed in with a recovery code, which is now used up; '
            '1 recovery code left.',
            self.logger.output,
        )
        self.assertEqual('', self.stdout.getvalue())
        self.assertEqual('', self.stderr.getvalue())

    def test_code_that_cannot_be_used_up_cancels_the_sign_in(self) -> None:
        self.requests.delete(AUTH_URL + '/credentials/rc1', status_code=403)
        auth = self.make(recovery_code=RECOVERY_CODE)

        exc = self.assertRaises(
            exceptions.MFAError, auth.get_auth_ref, self.session
        )

        self.assertIn('could not be used up', str(exc))
        self.assertEqual(1, self.revoked.call_count)
        headers = self.revoked.last_request.headers
        self.assertEqual(TOKEN_ID, headers['X-Subject-Token'])
        self.assertNotIn('recovery code left', self.logger.output)
        self.assertEqual('', self.stdout.getvalue())
        self.assertEqual('', self.stderr.getvalue())

    def test_recovery_code_at_the_prompt_is_used_up(self) -> None:
        self.requests.post(
            TOKEN_URL, [receipt_response(), TOKEN_RESPONSE, UNAUTHORIZED]
        )
        self.terminal.return_value = True
        self.prompt.return_value = 'abcd efgh ijkl mnop'
        auth = self.make()

        auth.get_auth_ref(self.session)

        sent = self.requests.request_history[1].json()['auth']['identity']
        self.assertEqual(['totp'], sent['methods'])
        # NOTE: the code of Keystone's time (the receipt's time of issue,
        # to the second): this window's, or the one before near its end.
        self.assertIn(
            totp.window_offset(
                recovery.secret('ABCDEFGHIJKLMNOP'),
                sent['totp']['user']['passcode'],
            ),
            (0, -1),
        )
        self.assertEqual(1, self.deleted.call_count)
        self.assertIn('1 recovery code left', self.logger.output)
        self.assertTrue(auth.fresh_second_factor)

    def test_unneeded_recovery_code_is_not_used_up(self) -> None:
        self.requests.post(
            TOKEN_URL,
            [
                UNAUTHORIZED,
                {
                    'status_code': 201,
                    'headers': {'X-Subject-Token': TOKEN_ID},
                    'json': {
                        'token': dict(
                            TOKEN_BODY['token'], methods=['password']
                        )
                    },
                },
            ],
        )
        auth = self.make(recovery_code=RECOVERY_CODE)
        auth.get_auth_ref(self.session)
        self.assertFalse(self.deleted.called)
        self.assertIn('(it is not used up)', self.logger.output)

    def test_malformed_code_sends_nothing(self) -> None:
        self.useFixture(
            fixtures.EnvironmentVariable('OS_RECOVERY_CODE', 'not-a-code')
        )
        auth = self.make(recovery_code='not-a-code')
        exc = self.assertRaises(
            exceptions.PasscodeFormatError, auth.get_auth_ref, self.session
        )
        self.assertIn('OS_RECOVERY_CODE', str(exc))
        self.assertEqual(0, len(self.requests.request_history))


class TestReceiptRecord(PluginTestCase):
    """A user once asked for TOTP signs in with one request next time."""

    COMMAND = f'{sys.executable} -c "print(246810)"'

    def test_first_sign_in_records_then_one_request(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), TOKEN_RESPONSE])
        auth = self.make(passcode_command=self.COMMAND, token_cache=True)
        auth.get_auth_ref(self.session)
        self.assertEqual(2, len(self.requests.request_history))
        (record,) = [
            n for n in os.listdir(self.cache_dir) if n.endswith('.needs-totp')
        ]
        text = open(os.path.join(self.cache_dir, record)).read()
        self.assertEqual({'totp': True}, json.loads(text))
        self.assertNotIn('s3cret-pass', text)
        self.assertNotIn(TOKEN_ID, text)
        mode = os.stat(os.path.join(self.cache_dir, record)).st_mode
        self.assertEqual(0o600, stat.S_IMODE(mode))
        # A new command, the token gone (signed out): one request.
        for name in os.listdir(self.cache_dir):
            if name.endswith('.json'):
                os.unlink(os.path.join(self.cache_dir, name))
        seen = len(self.requests.request_history)
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        self.make(passcode_command=self.COMMAND).get_auth_ref(self.session)
        (post,) = self.requests.request_history[seen:]
        ident = post.json()['auth']['identity']
        self.assertEqual(['password', 'totp'], ident['methods'])
        self.assertEqual('246810', ident['totp']['user']['passcode'])

    def test_stale_record_one_extra_request_and_corrected(self) -> None:
        self.requests.post(TOKEN_URL, [receipt_response(), TOKEN_RESPONSE])
        self.make(passcode_command=self.COMMAND).get_auth_ref(self.session)
        for name in os.listdir(self.cache_dir):
            if name.endswith('.json'):
                os.unlink(os.path.join(self.cache_dir, name))
        password_only = json.loads(json.dumps(TOKEN_BODY))
        password_only['token']['methods'] = ['password']
        seen = len(self.requests.request_history)
        self.requests.post(
            TOKEN_URL,
            [
                UNAUTHORIZED,
                {
                    'status_code': 201,
                    'headers': {'X-Subject-Token': TOKEN_ID},
                    'json': password_only,
                },
            ],
        )
        self.make(passcode_command=self.COMMAND).get_auth_ref(self.session)
        self.assertEqual(2, len(self.requests.request_history[seen:]))
        self.assertEqual(
            [], [n for n in os.listdir(self.cache_dir) if 'needs' in n]
        )

    def test_no_record_no_prompt_up_front(self) -> None:
        self.terminal.return_value = True
        password_only = json.loads(json.dumps(TOKEN_BODY))
        password_only['token']['methods'] = ['password']
        self.requests.post(
            TOKEN_URL,
            status_code=201,
            headers={'X-Subject-Token': TOKEN_ID},
            json=password_only,
        )
        self.make().get_auth_ref(self.session)
        self.prompt.assert_not_called()
        self.assertEqual(1, len(self.requests.request_history))


class TestPolicyAtSignIn(PluginTestCase):
    """The domain's MFA policy after a sign-in without a second factor."""

    def test_checked_only_after_a_sign_in_without_totp(self) -> None:
        self.requests.post(TOKEN_URL, **TOKEN_RESPONSE)
        self.make(passcode='123456').get_auth_ref(self.session)
        self.policy_check.assert_not_called()
        self.requests.post(TOKEN_URL, **PASSWORD_TOKEN_RESPONSE)
        ref = self.make(token_cache=False).get_auth_ref(self.session)
        self.policy_check.assert_called_once_with(
            self.session, ref, AUTH_URL, server_enforced=False
        )

    def test_a_device_set_up_now_signs_in_again_with_its_code(self) -> None:
        self.requests.post(
            TOKEN_URL, [PASSWORD_TOKEN_RESPONSE, TOKEN_RESPONSE]
        )
        self.policy_check.return_value = '654321'
        auth = self.make()

        ref = auth.get_auth_ref(self.session)

        self.assertEqual(['password', 'totp'], plugin.token_methods(ref))
        again = self.bodies()[1]['auth']['identity']
        self.assertEqual(['password', 'totp'], again['methods'])
        self.assertEqual(totp_part('654321'), again['totp'])
        self.assertTrue(auth.fresh_second_factor)
        # The MFA token is kept: the next command asks for nothing.
        self.policy_check.return_value = None
        later = self.make()
        self.assertEqual(TOKEN_ID, later.get_auth_ref(self.session).auth_token)
        self.assertEqual(2, len(self.requests.request_history))

    def test_outside_any_policy_one_request_a_day(self) -> None:
        self.useFixture(
            fixtures.MonkeyPatch('mfa_osc.auth.policy.check', POLICY_CHECK)
        )
        self.requests.post(TOKEN_URL, **PASSWORD_TOKEN_RESPONSE)
        domain = self.requests.get(
            AUTH_URL + '/domains/default',
            json={'domain': {'id': 'default', 'name': 'Default'}},
        )
        for _ in range(3):
            self.make().get_auth_ref(self.session)
        self.assertEqual(1, domain.call_count)
        self.assertEqual(4, len(self.requests.request_history))
        state = os.path.join(self.cache_dir, policy_read.STATE_FILE)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(state).st_mode))

    def test_a_domain_it_cannot_read_refuses_without_a_device(self) -> None:
        # Issue 20: a 403 on the user's own domain is never "no policy".
        self.useFixture(
            fixtures.MonkeyPatch('mfa_osc.auth.policy.check', POLICY_CHECK)
        )
        self.requests.post(TOKEN_URL, **PASSWORD_TOKEN_RESPONSE)
        self.requests.get(AUTH_URL + '/domains/default', status_code=403)
        self.requests.get(
            AUTH_URL + '/credentials',
            json={'credentials': [], 'links': {'next': None}},
        )
        exc = self.assertRaises(
            auth_policy.PolicyUnreadable,
            self.make(token_cache=False).get_auth_ref,
            self.session,
        )
        self.assertIsInstance(exc, ksa_exc.AuthorizationFailure)
        self.assertIn('Keystone answered 403', str(exc))
        self.assertNotIn(TOKEN_ID, str(exc))
