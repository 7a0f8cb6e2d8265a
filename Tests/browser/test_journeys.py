"""The console's sign-in journeys in a real Chromium against a real `strongroom serve`.

Run by Scripts/test-browser.sh, which sets up the store, the people and the server. Each test
is one journey a person takes; screenshots of every step go to $SCREENSHOTS.
"""

import http.server
import os
import re
import socket
import sys
import tempfile
import threading
import time
import unittest

from selenium.webdriver.common.by import By

from harness import (PASSPHRASE, RECORD, IDLE_SECONDS, STEP_UP_SECONDS, URL, Authenticator, add_passkey_authenticator,
                     browser, click, decode_qr, enrolment_url, error_summary, fetch_json, fetch_status, shot, type_into, visible, wait,
                     wait_for_path)


def enrol_with_app(driver, name, prefix=None):
    """Enrols `name` with a passphrase and an authenticator app; returns the app and the recovery codes."""
    driver.get(enrolment_url(name))
    visible(driver, "#step-choose")
    if prefix:
        shot(driver, prefix + "-1-choose")
    click(driver, "#choose-app")
    type_into(driver, "#passphrase", PASSPHRASE)
    type_into(driver, "#confirmPassphrase", PASSPHRASE)
    if prefix:
        shot(driver, prefix + "-2-passphrase")
    click(driver, "#passphrase-form button[type=submit]")
    visible(driver, "#step-app")
    wait(driver).until(lambda d: d.execute_script("const i = document.getElementById('qr-code'); return i.complete && i.naturalWidth > 0"))
    secret = driver.execute_script("return document.getElementById('totp-secret').textContent").replace(" ", "")
    app = Authenticator(secret)
    if prefix:
        shot(driver, prefix + "-3-app")
    type_into(driver, "#code", app.next_code())
    click(driver, "#totp-form button[type=submit]")
    visible(driver, "#step-codes")
    codes = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#recovery-codes li")]
    return app, codes, driver


def finish_enrolment(driver):
    driver.find_element(By.ID, "written").click()
    click(driver, "#codes-form button[type=submit]")
    wait_for_path(driver, "/sign-in")


def sign_in(driver, name, code=None, recovery_code=None, passphrase=PASSPHRASE):
    driver.get(URL + "/sign-in")
    type_into(driver, "#name", name)
    type_into(driver, "#passphrase", passphrase)
    if recovery_code:
        click(driver, "#use-recovery-code")
        type_into(driver, "#recoveryCode", recovery_code)
    else:
        type_into(driver, "#code", code)
    click(driver, "#sign-in-button")


def signed_in_as(driver, name):
    wait_for_path(driver, "/account")
    return visible(driver, "#account-name").text == name


class Journeys(unittest.TestCase):
    def setUp(self):
        self.drivers = []

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()

    def open(self, width=1280, height=900):
        driver = browser(width, height)
        self.drivers.append(driver)
        return driver

    def test_a_passkey_enrolment_then_sign_out_and_in_again_with_the_passkey(self):
        driver = self.open()
        add_passkey_authenticator(driver)
        driver.get(enrolment_url("ann.passkey"))
        shot(driver, "a-1-enrol")
        click(driver, "#passkey-enrol")
        visible(driver, "#step-passkey-done")
        shot(driver, "a-2-passkey-set-up")
        click(driver, "#go-to-sign-in")
        wait_for_path(driver, "/sign-in")
        shot(driver, "a-3-sign-in")
        click(driver, "#passkey-sign-in")
        self.assertTrue(signed_in_as(driver, "ann.passkey"))
        shot(driver, "a-4-account")
        click(driver, "#sign-out")
        wait_for_path(driver, "/sign-in")
        self.assertEqual(fetch_status(driver, "/v1/session")["status"], 401, "signed out")
        click(driver, "#passkey-sign-in")
        self.assertTrue(signed_in_as(driver, "ann.passkey"))
        # Step-up with the passkey on the confirm page, then on to the page named.
        driver.get(URL + "/confirm?next=/account")
        shot(driver, "a-5-confirm")
        click(driver, "#passkey-confirm")
        self.assertTrue(signed_in_as(driver, "ann.passkey"))

    def test_b_passphrase_and_app_enrolment_shows_recovery_codes_then_signs_in(self):
        driver = self.open()
        app, codes, _ = enrol_with_app(driver, "bea.app", prefix="b")
        self.assertEqual(len(codes), 10)
        self.assertTrue(all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes), codes)
        shot(driver, "b-4-recovery-codes")
        click(driver, "#codes-form button[type=submit]")
        self.assertIn("Confirm you have written down your recovery codes", error_summary(driver))
        shot(driver, "b-5-recovery-codes-not-ticked")
        finish_enrolment(driver)
        sign_in(driver, "bea.app", code=app.next_code())
        self.assertTrue(signed_in_as(driver, "bea.app"))
        shot(driver, "b-6-account")
        # On a phone (390 px), nothing is wider than the screen.
        driver.set_window_size(390, 844)
        for path in ("/account", "/confirm?next=/account"):
            driver.get(URL + path)
            visible(driver, "h1")
            width = driver.execute_script("return document.documentElement.scrollWidth")
            self.assertLessEqual(width, driver.execute_script("return window.innerWidth"), path)
            shot(driver, "b-7-phone-" + path.strip("/").split("?")[0])

    def test_b_the_qr_code_is_the_secret_shown_as_text(self):
        driver = self.open()
        driver.get(enrolment_url("bea.qr"))
        click(driver, "#choose-app")
        type_into(driver, "#passphrase", PASSPHRASE)
        type_into(driver, "#confirmPassphrase", PASSPHRASE + "x")
        click(driver, "#passphrase-form button[type=submit]")
        self.assertIn("The two passphrases are not the same", error_summary(driver))
        shot(driver, "b-qr-1-mismatch")
        type_into(driver, "#confirmPassphrase", PASSPHRASE)
        click(driver, "#passphrase-form button[type=submit]")
        visible(driver, "#step-app")
        wait(driver).until(lambda d: d.execute_script("const i = document.getElementById('qr-code'); return i.complete && i.naturalWidth > 0"))
        secret = driver.execute_script("return document.getElementById('totp-secret').textContent").replace(" ", "")
        uri = decode_qr(driver.find_element(By.ID, "qr-code").screenshot_as_png)
        self.assertTrue(uri.startswith("otpauth://totp/Strongroom:bea.qr?"), uri)
        self.assertIn("secret=" + secret + "&", uri)
        type_into(driver, "#code", "12345")
        click(driver, "#totp-form button[type=submit]")
        self.assertIn("The code must be 6 numbers", error_summary(driver))
        shot(driver, "b-qr-2-short-code")

    def test_c_a_download_asks_for_step_up_and_the_confirm_page_takes_a_code(self):
        self.assertTrue(RECORD, "the script stores a record before serving")
        driver = self.open()
        downloads = tempfile.mkdtemp()
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        app, _, _ = enrol_with_app(driver, "cal.dsl")
        finish_enrolment(driver)
        sign_in(driver, "cal.dsl", code=app.next_code())
        self.assertTrue(signed_in_as(driver, "cal.dsl"))
        download = "/v1/attachments/" + RECORD
        time.sleep(STEP_UP_SECONDS + 1)
        refused = fetch_status(driver, download)
        self.assertEqual((refused["status"], refused["problem"]), (403, "urn:strongroom:problem:step-up-required"),
                         "a download after the step-up window asks for a second factor")
        driver.get(URL + "/confirm?next=" + download)
        shot(driver, "c-1-confirm")
        type_into(driver, "#code", app.next_code())
        click(driver, "#confirm-button")
        # The page goes on to the download: the browser saves the file.
        wait(driver, 30).until(lambda d: any(not f.endswith(".crdownload") for f in os.listdir(downloads)))
        saved = [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]
        with open(os.path.join(downloads, saved[0]), "rb") as f:
            self.assertEqual(f.read(), b"Notes of the strategy meeting.\n")
        self.assertEqual(fetch_status(driver, download)["status"], 200)

    def test_d_an_idle_session_ends_and_the_next_page_is_sign_in(self):
        driver = self.open()
        app, _, _ = enrol_with_app(driver, "dan.idle")
        finish_enrolment(driver)
        sign_in(driver, "dan.idle", code=app.next_code())
        self.assertTrue(signed_in_as(driver, "dan.idle"))
        time.sleep(IDLE_SECONDS + 2)
        driver.get(URL + "/account")
        wait_for_path(driver, "/sign-in")
        self.assertIn("signed out because Strongroom was not used", visible(driver, "#session-ended").text)
        shot(driver, "d-1-session-ended")

    def test_e_sign_out_everywhere_signs_out_the_other_browser(self):
        laptop = self.open()
        app, codes, _ = enrol_with_app(laptop, "eve.everywhere")
        finish_enrolment(laptop)
        sign_in(laptop, "eve.everywhere", code=app.next_code())
        self.assertTrue(signed_in_as(laptop, "eve.everywhere"))
        phone = self.open(390, 844)
        sign_in(phone, "eve.everywhere", recovery_code=codes[0])
        self.assertTrue(signed_in_as(phone, "eve.everywhere"))
        shot(phone, "e-1-phone-account")
        laptop.get(URL + "/account")
        rows = laptop.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
        self.assertEqual(len(rows), 2)
        self.assertEqual(len(laptop.find_elements(By.ID, "this-session")), 1)
        shot(laptop, "e-2-two-sessions")
        click(laptop, "#sign-out-everywhere")
        wait_for_path(laptop, "/sign-in")
        phone.get(URL + "/account")
        wait_for_path(phone, "/sign-in")
        self.assertEqual(fetch_status(phone, "/v1/session")["status"], 401)
        shot(phone, "e-3-phone-signed-out")

    def test_f_a_form_posted_from_another_origin_is_refused(self):
        driver = self.open()
        app, _, _ = enrol_with_app(driver, "fay.csrf")
        finish_enrolment(driver)
        sign_in(driver, "fay.csrf", code=app.next_code())
        self.assertTrue(signed_in_as(driver, "fay.csrf"))
        chronology = "/v1/children/C2/attachments?school=ST1"
        before = fetch_json(driver, chronology)
        self.assertEqual(before["status"], 200, before)
        upload = URL + "/v1/attachments?school=ST1&child=C2&concern=K1&kind=document&filename=planted.txt"
        page = ("<!DOCTYPE html><title>Prize draw</title><form id=f method=post enctype=text/plain action='" + upload
                + "'><input name=a value=b></form><script>document.getElementById('f').submit()</script>").encode()

        class Attacker(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Attacker)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            # Another port of localhost: another origin, but the same site, so the browser does
            # send the SameSite=Strict cookie; the CSRF token and Origin check must refuse it.
            driver.get(f"http://localhost:{port}/")
            wait(driver).until(lambda d: d.current_url.startswith(URL + "/v1/attachments"))
            body = driver.find_element(By.TAG_NAME, "body").text
            shot(driver, "f-1-refused")
            self.assertIn("urn:strongroom:problem:csrf", body)
            self.assertIn('"status":403', body.replace(" ", ""))
        finally:
            server.shutdown()
            server.server_close()
        driver.get(URL + "/account")
        after = fetch_json(driver, chronology)
        self.assertEqual(after["status"], 200, after)
        self.assertEqual(after["body"]["records"], before["body"]["records"], "nothing was stored")

    def test_g_a_replayed_code_is_refused(self):
        driver = self.open()
        app, _, _ = enrol_with_app(driver, "gus.replay")
        finish_enrolment(driver)
        code = app.next_code()
        sign_in(driver, "gus.replay", code=code)
        self.assertTrue(signed_in_as(driver, "gus.replay"))
        click(driver, "#sign-out")
        wait_for_path(driver, "/sign-in")
        sign_in(driver, "gus.replay", code=code)
        self.assertIn("The details you entered are not right", error_summary(driver))
        self.assertEqual(driver.current_url.split("?")[0], URL + "/sign-in")
        self.assertEqual(driver.find_element(By.ID, "code").get_attribute("value"), "", "the used code is cleared")
        shot(driver, "g-1-replay-refused")

    def test_h_wrong_passphrases_slow_down_and_then_the_right_factors_work(self):
        driver = self.open()
        app, _, _ = enrol_with_app(driver, "hal.backoff")
        finish_enrolment(driver)
        message = ""
        for _ in range(8):
            sign_in(driver, "hal.backoff", code="000000", passphrase="not the passphrase at all")
            message = error_summary(driver)
            if "Too many attempts" in message:
                break
            wait(driver).until(lambda d: d.find_element(By.ID, "sign-in-button").is_enabled())
        shot(driver, "h-1-slow-down")
        found = re.search(r"Wait (\d+) seconds?", message)
        self.assertIsNotNone(found, message)
        time.sleep(int(found.group(1)) + 1)
        sign_in(driver, "hal.backoff", code=app.next_code())
        self.assertTrue(signed_in_as(driver, "hal.backoff"), "the wait runs out: never a permanent lock")


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"browser: {result.testsRun - failed - len(result.skipped)} passed, {failed} failed")
    sys.exit(0 if result.wasSuccessful() else 1)
