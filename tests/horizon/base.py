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


"""Base class of the browser tests: Horizon in headless Chromium.

Each test module serves its own throwaway Keystone and Horizon
(:class:`ModuleHorizon`, started on first use, stopped at exit); each
test drives its own headless Chromium (Debian's ``chromium`` and
``chromium-driver``) through selenium, and checks the account against
Keystone with real sign-ins (the helpers of
:class:`tests.functional.mfa_base.MFATestCase`).

On a failure the test gets the page's screenshot and HTML as
attachments (stestr prints them with the failure; ``stestr last
--subunit`` keeps the PNG). ``MFA_OSC_HORIZON_SCREENSHOTS=DIR`` also
saves the screenshots the tests name (:meth:`HorizonTestCase.screenshot`)
into DIR: that is how doc/source/user/images/ is made.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import threading
from typing import Any
import zlib

import fixtures
from oslotest import base as oslotest_base
from selenium import webdriver
from selenium.webdriver.chrome import service as chrome_service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from testtools import content

from mfa_osc.testing.horizon import LocalHorizon
from mfa_osc.testing.keystone import KeystoneUser
from mfa_osc.testing.keystone import LocalKeystone
from tests.functional import base as functional_base
from tests.functional import mfa_base

CHROMIUM = os.environ.get('MFA_OSC_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('MFA_OSC_CHROMEDRIVER', '/usr/bin/chromedriver')
SCREENSHOTS_ENV = 'MFA_OSC_HORIZON_SCREENSHOTS'

#: Seconds to wait for a page (runserver on 2 shared cores).
WAIT = 60


class ModuleHorizon:
    """A test module's own Keystone and Horizon, started on first call
    and stopped at exit (both register that)."""

    def __init__(
        self, optional: tuple[str, ...] = (), **keystone_settings: Any
    ) -> None:
        self._optional = optional
        self._keystone = functional_base.ModuleKeystone(**keystone_settings)
        self._horizon: LocalHorizon | None = None
        self._lock = threading.Lock()

    def __call__(self) -> tuple[LocalKeystone, LocalHorizon]:
        keystone = self._keystone()
        with self._lock:
            if self._horizon is None:
                horizon = LocalHorizon(
                    keystone.auth_url,
                    cacert=keystone.ca_path,
                    optional=self._optional,
                )
                horizon.start()
                self._horizon = horizon
            return keystone, self._horizon


def session_data(cookie_value: str) -> str:
    """What a signed-cookie session holds, as text (its signature is not
    checked: this is what anyone who sees the cookie reads)."""
    payload = cookie_value.split(':', 1)[0]
    compressed = payload.startswith('.')
    raw = base64.urlsafe_b64decode(
        payload.lstrip('.') + '=' * (-len(payload.lstrip('.')) % 4)
    )
    return (zlib.decompress(raw) if compressed else raw).decode()


class HorizonTestCase(mfa_base.MFATestCase):
    """A browser on the module's Horizon, and Keystone's helpers."""

    #: Set by each test module to its own ModuleHorizon.
    servers: ModuleHorizon

    horizon: LocalHorizon
    driver: webdriver.Chrome

    def setUp(self) -> None:
        if not (os.access(CHROMIUM, os.X_OK) and shutil.which(CHROMEDRIVER)):
            self.fail(
                f"{CHROMIUM} or {CHROMEDRIVER} is missing: install Debian's "
                'chromium and chromium-driver (.ci/run does).'
            )
        keystone, horizon = self.servers()
        # NOTE: not FunctionalTestCase.setUp, which starts the process's
        # shared Keystone: this module's own serves Horizon.
        oslotest_base.BaseTestCase.setUp(self)
        self.keystone = keystone
        self.horizon = horizon
        self.home = self.useFixture(fixtures.TempDir()).path
        self.driver = self._browser()
        self.addCleanup(self.driver.quit)
        self.addOnException(self._attach_page)

    def _browser(self) -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            '--headless=new',
            # NOTE: CI runs as root, where Chromium's sandbox cannot start.
            '--no-sandbox',
            '--disable-dev-shm-usage',
            '--disable-gpu',
            '--window-size=1280,1024',
            f'--user-data-dir={self.home}/chromium',
        ):
            options.add_argument(argument)
        # NOTE: response headers (Cache-Control) come from the log.
        options.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
        service = chrome_service.Service(executable_path=CHROMEDRIVER)
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_page_load_timeout(WAIT)
        return driver

    def _attach_page(self, exc_info: Any) -> None:
        try:
            png = self.driver.get_screenshot_as_png()
            source = self.driver.page_source
            url = self.driver.current_url
        except Exception as exc:  # the browser may be gone
            self.addDetail('browser', content.text_content(repr(exc)))
            return
        self.addDetail(
            'screenshot',
            content.Content(
                content.ContentType('image', 'png'), lambda: [png]
            ),
        )
        self.addDetail('page', content.text_content(f'{url}\n{source}'))
        self.addDetail(
            'horizon-log', content.text_content(self.horizon.log()[-20000:])
        )
        folder = os.environ.get(SCREENSHOTS_ENV)
        if folder:
            os.makedirs(folder, exist_ok=True)
            with open(
                os.path.join(folder, f'failed-{self.id()}.png'), 'wb'
            ) as f:
                f.write(png)

    def screenshot(self, name: str) -> None:
        """Save the page as ``NAME.png`` under $MFA_OSC_HORIZON_SCREENSHOTS
        (the user guide's images), when it is set."""
        folder = os.environ.get(SCREENSHOTS_ENV)
        if folder:
            os.makedirs(folder, exist_ok=True)
            self.driver.save_screenshot(os.path.join(folder, f'{name}.png'))

    # -- the browser ---------------------------------------------------

    def open(self, path: str) -> None:
        self.driver.get(self.horizon.url + path)

    def wait_for(self, css: str) -> WebElement:
        return WebDriverWait(self.driver, WAIT).until(
            expected_conditions.presence_of_element_located(
                (By.CSS_SELECTOR, css)
            )
        )

    def wait_for_path(self, prefix: str) -> None:
        WebDriverWait(self.driver, WAIT).until(
            lambda d: d.current_url.startswith(self.horizon.url + prefix)
        )

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def type_into(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def submit(self, form_css: str) -> None:
        """Submit a form by its submit button, and wait for the next
        page."""
        old = self.find('html')
        self.find(f'{form_css} [type=submit]').click()
        WebDriverWait(self.driver, WAIT).until(
            expected_conditions.staleness_of(old)
        )

    def click_row_action(self, table: str, row_id: str, action: str) -> None:
        """A Horizon table's row action, by Horizon's id (those past the
        first are in the row's drop-down menu: clicked as the menu's item
        would be); waits for the next page."""
        element = self.find(f'#{table}__row_{row_id}__action_{action}')
        old = self.find('html')
        self.driver.execute_script('arguments[0].click()', element)
        WebDriverWait(self.driver, WAIT).until(
            expected_conditions.staleness_of(old)
        )
        self.wait_for(f'table#{table}')

    def page_text(self) -> str:
        return str(self.find('body').text)

    def alerts(self) -> list[str]:
        """Horizon's messages on the page."""
        return [
            str(e.get_attribute('textContent')).strip()
            for e in self.driver.find_elements(
                By.CSS_SELECTOR, '.messages .alert, .alert'
            )
        ]

    def browser_sign_in(
        self,
        user: KeystoneUser,
        secret: str | None = None,
        code: str | None = None,
    ) -> None:
        """Horizon's own sign-in: the password, then (``secret``: its
        current code; ``code``: that code, e.g. a recovery code) the TOTP
        step; waits for the dashboard."""
        self.submit_sign_in(user, secret, code)
        WebDriverWait(self.driver, WAIT).until(
            lambda d: '/auth/' not in d.current_url
        )

    def submit_sign_in(
        self,
        user: KeystoneUser,
        secret: str | None = None,
        code: str | None = None,
    ) -> None:
        """The sign-in pages filled in and sent; where they lead is the
        caller's to check."""
        self.open('/auth/login/')
        self.type_into('#id_username', user.name)
        self.type_into('#id_password', user.password)
        self.submit('form')
        if secret is not None or code is not None:
            self.wait_for_path('/auth/totp/')
            self.screenshot('sign-in-code')
            given = code if code is not None else self.good_code(str(secret))
            self.type_into('#id_totp', given)
            self.submit('form')

    def browser_sign_out(self) -> None:
        """Horizon's own sign-out (a POST, as its user menu sends it)."""
        old = self.find('html')
        self.driver.execute_script(
            'document.querySelector(\'form[action$="/auth/logout/"]\')'
            '.submit()'
        )
        WebDriverWait(self.driver, WAIT).until(
            expected_conditions.staleness_of(old)
        )
        self.wait_for_path('/auth/login/')

    def session_text(self) -> str:
        cookie = self.driver.get_cookie('sessionid')
        self.assertIsNotNone(cookie, 'no session cookie')
        assert cookie is not None
        return session_data(str(cookie['value']))

    def response_headers(self, path: str) -> dict[str, str]:
        """The headers of the last response to ``path`` the browser got
        (from Chromium's performance log, read and emptied here)."""
        found: dict[str, str] | None = None
        for entry in self.driver.get_log('performance'):
            message = json.loads(entry['message'])['message']
            if message.get('method') != 'Network.responseReceived':
                continue
            response = message['params']['response']
            if response['url'] == self.horizon.url + path:
                found = {k.lower(): v for k, v in response['headers'].items()}
        self.assertIsNotNone(found, f'no response to {path} was logged')
        assert found is not None
        return found


def qr_matrix(data_uri: str) -> list[list[bool]]:
    """The modules of a QR code image (a ``data:image/png`` URI), dark
    ones True, without the quiet zone: sampled at each module's centre,
    the module size read from the top-left finder pattern (7 modules)."""
    from PIL import Image

    prefix = 'data:image/png;base64,'
    assert data_uri.startswith(prefix), data_uri[:40]
    image = Image.open(io.BytesIO(base64.b64decode(data_uri[len(prefix) :])))
    image = image.convert('L')
    width, height = image.size
    pixels = image.load()
    dark = [
        (x, y)
        for y in range(height)
        for x in range(width)
        if pixels[x, y] < 128
    ]
    left = min(x for x, _ in dark)
    top = min(y for _, y in dark)
    right = max(x for x, _ in dark)
    run = 0
    while pixels[left + run, top] < 128:
        run += 1
    module = run / 7
    count = round((right - left + 1) / module)
    return [
        [
            pixels[
                int(left + (c + 0.5) * module), int(top + (r + 0.5) * module)
            ]
            < 128
            for c in range(count)
        ]
        for r in range(count)
    ]
