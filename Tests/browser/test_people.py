"""The console's people and recipients journeys in a real Chromium against a real `strongroom
serve`: an administrator's request to make someone a DSL waits for a second person (the link
says so), a DSL sees the count in the header change without a reload, approves, and then the
link enrols; a DSL adds and removes a recipient. Every page is screenshotted and checked with
axe-core (harness.shot).

Run by Scripts/test-browser.sh; its people come from seed/people.people.
"""

import time
import unittest

from selenium.webdriver.common.by import By

from harness import (PASSPHRASE, URL, Authenticator, browser, click, error_summary, shot, type_into, visible, wait,
                     wait_for_path)
from test_journeys import enrol_with_app, finish_enrolment, sign_in, signed_in_as

AGENCY = "Northshire Children's Services"


def waiting_count(driver):
    return driver.execute_script("return document.getElementById('header-waiting-count').textContent")


def shown(driver, element_id):
    """Whether the element is on the page and not hidden (asked of the page, so a page being
    replaced by the next one answers no rather than failing)."""
    return driver.execute_script("const e = document.getElementById(arguments[0]); return !!e && !e.hidden", element_id)


def press_confirming_if_asked(driver, app, button, arrived):
    """Presses `button`; when the page sends the person to confirm it is them first, confirms
    with a code and presses it again on the page they come back to. Waits for `arrived`."""
    click(driver, button)
    wait(driver).until(lambda d: arrived(d) or d.current_url.split("?")[0] == URL + "/confirm")
    if arrived(driver):
        return
    shot(driver, "people-confirm")
    type_into(driver, "#code", app.next_code())
    click(driver, "#confirm-button")
    wait(driver).until(lambda d: d.current_url.split("?")[0] != URL + "/confirm")
    click(driver, button)
    wait(driver).until(arrived)


class People(unittest.TestCase):
    def setUp(self):
        self.drivers = []

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()

    def open(self):
        driver = browser()
        self.drivers.append(driver)
        return driver

    def enrolled(self, name):
        driver = self.open()
        app, _, _ = enrol_with_app(driver, name)
        finish_enrolment(driver)
        return driver, app

    def test_a_a_new_dsl_waits_for_a_second_person_then_enrols(self):
        admin, admin_app = self.enrolled("peg.admin")
        dsl, dsl_app = self.enrolled("pia.dsl")

        sign_in(admin, "peg.admin", code=admin_app.next_code())
        self.assertTrue(signed_in_as(admin, "peg.admin"))
        sign_in(dsl, "pia.dsl", code=dsl_app.next_code())
        self.assertTrue(signed_in_as(dsl, "pia.dsl"))
        wait(dsl).until(lambda d: d.execute_script("return document.getElementById('header-waiting-count').dataset.total") == "0")
        self.assertEqual(waiting_count(dsl), "")

        # The administrator adds a DSL: a form, then "check before adding", then the link once.
        admin.get(URL + "/people")
        visible(admin, "#people")
        shot(admin, "people-a-1-list")
        click(admin, "#add-person")
        wait_for_path(admin, "/people/add")
        type_into(admin, "#name", "pax.newdsl")
        admin.find_element(By.ID, "role-dsl").click()
        shot(admin, "people-a-2-add")
        click(admin, "#continue")
        wait_for_path(admin, "/people/add/check")
        shot(admin, "people-a-3-check")
        press_confirming_if_asked(admin, admin_app, "#add-button", lambda d: shown(d, "added"))
        link = visible(admin, "#enrolment-link").get_attribute("value")
        self.assertTrue(link.startswith(URL + "/enrol/"), link)
        self.assertTrue(admin.find_element(By.ID, "added-waiting").is_displayed())
        shot(admin, "people-a-4-added")

        # The link says it waits for approval.
        newcomer = self.open()
        newcomer.get(link)
        self.assertEqual(visible(newcomer, "h1").text, "Waiting for approval")
        shot(newcomer, "people-a-5-link-waits")

        # The DSL's header counts it without a reload, when they come back to the tab.
        dsl.execute_script("window.dispatchEvent(new Event('focus'))")
        wait(dsl).until(lambda d: waiting_count(d) == "(1)")
        shot(dsl, "people-a-6-header-count")
        click(dsl, 'a[href="/waiting"]')
        wait_for_path(dsl, "/waiting")
        self.assertEqual(visible(dsl, "#waiting-people").text, "1")
        shot(dsl, "people-a-7-waiting")
        click(dsl, 'a[href="/people/approvals"]')
        wait_for_path(dsl, "/people/approvals")
        shot(dsl, "people-a-8-approvals")
        click(dsl, "#approvals a.link")
        visible(dsl, "#approve-button")
        shot(dsl, "people-a-9-decide")
        press_confirming_if_asked(dsl, dsl_app, "#approve-button",
                                  lambda d: d.current_url.startswith(URL + "/people/approvals?done=approved"))
        visible(dsl, "#approvals-notice")
        shot(dsl, "people-a-10-approved")

        # Now the same link enrols.
        newcomer.get(link)
        visible(newcomer, "#step-choose")
        click(newcomer, "#choose-app")
        type_into(newcomer, "#passphrase", PASSPHRASE)
        type_into(newcomer, "#confirmPassphrase", PASSPHRASE)
        click(newcomer, "#passphrase-form button[type=submit]")
        visible(newcomer, "#step-app")
        secret = newcomer.execute_script("return document.getElementById('totp-secret').textContent").replace(" ", "")
        app = Authenticator(secret)
        type_into(newcomer, "#code", app.next_code())
        click(newcomer, "#totp-form button[type=submit]")
        visible(newcomer, "#step-codes")
        finish_enrolment(newcomer)
        sign_in(newcomer, "pax.newdsl", code=app.next_code())
        self.assertTrue(signed_in_as(newcomer, "pax.newdsl"))
        shot(newcomer, "people-a-11-new-dsl-signed-in")

        # The people list shows them active.
        admin.get(URL + "/people")
        row = [r.text for r in admin.find_elements(By.CSS_SELECTOR, "#people tbody tr") if "pax.newdsl" in r.text]
        self.assertEqual(len(row), 1)
        self.assertIn("Active", row[0])
        shot(admin, "people-a-12-list-after")

    def test_b_a_dsl_adds_and_removes_a_recipient(self):
        driver, app = self.enrolled("pru.dsl")
        sign_in(driver, "pru.dsl", code=app.next_code())
        self.assertTrue(signed_in_as(driver, "pru.dsl"))
        click(driver, 'a[href="/recipients"]')
        wait_for_path(driver, "/recipients")
        visible(driver, "#add-recipient")
        self.assertNotIn(AGENCY, driver.find_element(By.ID, "main").text)
        shot(driver, "people-b-1-directory")

        # A key that is not an age key is caught before anything is sent.
        type_into(driver, "#recipient-name", AGENCY)
        driver.find_element(By.ID, "lock-age").click()
        type_into(driver, "#recipient-key", "not-a-key")
        click(driver, "#add-recipient-button")
        self.assertIn("age public key", error_summary(driver))
        shot(driver, "people-b-2-error")

        driver.find_element(By.ID, "lock-passphrase").click()
        type_into(driver, "#recipient-contact", "Front door team, 01632 960000")
        click(driver, "#add-recipient-button")
        visible(driver, "#recipients-notice")
        self.assertIn(AGENCY, visible(driver, "#recipients").text)
        shot(driver, "people-b-3-added")

        remove = [a for a in driver.find_elements(By.CSS_SELECTOR, "#recipients a.link") if AGENCY in a.text]
        self.assertEqual(len(remove), 1)
        remove[0].click()
        wait_for_path(driver, "/recipients/remove")
        shot(driver, "people-b-4-remove")
        click(driver, "#remove-recipient-button")
        visible(driver, "#recipients-notice")
        self.assertIn("Recipient removed", driver.find_element(By.ID, "recipients-notice").text)
        self.assertNotIn(AGENCY, driver.find_element(By.ID, "main").text.replace("Recipient removed", ""))
        shot(driver, "people-b-5-removed")


if __name__ == "__main__":
    unittest.main()
