"""The transfer journeys in a real Chromium against a real `strongroom serve`, with two schools
of one vault: a DSL of ST1 (Oakfield) drafts the transfer of child C31's file to ST9 (Riverside)
from the chronology, checking what will travel; a deputy of ST1 approves it after confirming it
is them and is shown the link once; a DSL of ST9 adds Oakfield's card by typing the fingerprint
read out to them, then receives the file by pasting the link (a wrong link first, refused with
nothing stored; the same package again as a file afterwards, refused as a replay), and downloads
the receipt, which the sending DSL adds to the transfer: it shows Received, and the file's records
say where they came from.

Run by Scripts/test-browser.sh, which makes the cards and records (Tests/browser/seed/transfers.*).
"""

import json
import os
import tempfile
import unittest
import urllib.request

from selenium.webdriver.common.by import By

from harness import URL, browser, click, error_summary, shot, type_into, visible, wait, wait_for_path
from test_journeys import enrol_with_app, finish_enrolment, sign_in, signed_in_as
from test_reading import fits_a_phone


def seeded():
    with open(os.path.join(os.environ["STRONGROOM_WORK"], "transfers.json")) as f:
        return json.load(f)


class Transfers(unittest.TestCase):
    def setUp(self):
        self.drivers = []
        self.data = seeded()

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()

    def signed_in(self, name):
        driver = browser()
        self.drivers.append(driver)
        app, _, _ = enrol_with_app(driver, name)
        finish_enrolment(driver)
        sign_in(driver, name, code=app.next_code())
        self.assertTrue(signed_in_as(driver, name))
        return driver, app

    def step_up_if_asked(self, driver, app, path, name):
        """The page sends the person to confirm it is them when the last factor is too old; back
        on `path`, they act again (a page never acts by itself when it is opened)."""
        wait(driver, 20).until(lambda d: d.current_url.split("?")[0] in (URL + "/confirm", URL + path))
        if driver.current_url.split("?")[0] != URL + "/confirm":
            return False
        shot(driver, name)
        type_into(driver, "#code", app.next_code())
        click(driver, "#confirm-button")
        wait_for_path(driver, path)
        return True

    def test_a_file_goes_from_one_school_to_another_and_its_receipt_comes_back(self):
        data = self.data

        # The sending DSL drafts the transfer from the child's chronology.
        dsl, dsl_app = self.signed_in("tia.dsl")
        dsl.get(URL + "/children/C31?school=ST1")
        click(dsl, "#send-file")
        wait_for_path(dsl, "/transfers/new")
        self.assertIn("Poppy Hartley", visible(dsl, ".caption").text)
        shot(dsl, "transfers-a-1-choose")
        click(dsl, "#continue")
        summary = error_summary(dsl)
        self.assertIn("Choose the school the child is moving to", summary)
        self.assertIn("Say why the file is going to this school", summary)
        shot(dsl, "transfers-a-2-errors")
        click(dsl, "label[for=to-0]")
        type_into(dsl, "#reason", "Joined Riverside Academy on 2 November")
        click(dsl, "#continue")
        visible(dsl, "#check-section")
        self.assertEqual(visible(dsl, "#check-school").text, "Riverside Academy")
        self.assertEqual(visible(dsl, "#check-school-id").text, "ST9")
        self.assertRegex(visible(dsl, "#check-fingerprint").text, r"^(\d{5} ){5}\d{5}$")
        self.assertIn("2 records", visible(dsl, "#check-count").text)
        shot(dsl, "transfers-a-3-check")
        click(dsl, "#draft-transfer")
        wait(dsl).until(lambda d: "/transfers/" in d.current_url and "/transfers/new" not in d.current_url)
        transfer = dsl.current_url.split("?")[0].rsplit("/", 1)[-1]
        self.assertIn("You cannot approve your own transfer", visible(dsl, "#waiting-notice").text)
        self.assertEqual(dsl.find_elements(By.ID, "approve-form"), [])
        shot(dsl, "transfers-a-4-draft")

        # A deputy of the same school approves it and is shown the link once.
        deputy, deputy_app = self.signed_in("tom.deputy")
        here = "/transfers/" + transfer
        deputy.get(URL + here)
        self.assertIn("Riverside Academy (ST9)", visible(deputy, "#transfer-details").text)
        shot(deputy, "transfers-a-5-to-approve")
        click(deputy, "#approve")
        self.assertIn("Confirm you have checked", error_summary(deputy))
        click(deputy, "label[for=checked]")
        click(deputy, "#approve")
        if self.step_up_if_asked(deputy, deputy_app, here, "transfers-a-6-confirm"):
            visible(deputy, "#approve-again")
            click(deputy, "label[for=checked]")
            click(deputy, "#approve")
        link = visible(deputy, "#sent-link", 60).text
        self.assertTrue(link.startswith(URL + "/v1/transfer-packages/"), link)
        self.assertEqual(visible(deputy, "#transfer-state").text, "Sent")
        self.assertEqual(visible(deputy, "#transfer-travel-key").text, "Records sent")
        self.assertRegex(visible(deputy, "#transfer-travel-value").text, r"^[1-9][0-9]*$")
        shot(deputy, "transfers-a-7-sent")
        deputy.get(URL + here)
        visible(deputy, "#transfer-details")
        self.assertNotIn(link.rsplit("/", 1)[-1], deputy.page_source, "the link is shown once")
        # The same package as a file, as it could reach the receiving school by another channel.
        package = os.path.join(tempfile.mkdtemp(), "transfer.age")
        with urllib.request.urlopen(link) as answer, open(package, "wb") as f:
            f.write(answer.read())

        # The receiving school's DSL adds Oakfield's card, typing the fingerprint read out to them.
        receiver, receiver_app = self.signed_in("tess.dsl")
        receiver.get(URL + "/schools")
        self.assertEqual(visible(receiver, "#fingerprint").get_attribute("value"), "", "never filled in for them")
        shot(receiver, "transfers-a-8-schools")

        def add_card():
            receiver.find_element(By.ID, "card-file").send_keys(data["card"])
            type_into(receiver, "#fingerprint", data["fingerprint"])
            click(receiver, "#add-school-button")
        add_card()
        if self.step_up_if_asked(receiver, receiver_app, "/schools", "transfers-a-9-confirm"):
            add_card()
        wait(receiver, 20).until(lambda d: "Oakfield Primary School" in (d.find_element(By.ID, "directory").text
                                                                          if d.find_elements(By.ID, "directory") else ""))
        shot(receiver, "transfers-a-10-added")

        # A wrong link fetches nothing, and says why; nothing is stored. Then the right one.
        receiver.get(URL + "/transfers")
        click(receiver, "#receive-link")
        wait_for_path(receiver, "/transfers/receive")
        click(receiver, "label[for=how-link]")
        type_into(receiver, "#package-link", URL + "/v1/transfer-packages/" + "A" * 43)
        click(receiver, "#receive")
        self.assertIn("Nothing was received", error_summary(receiver))
        self.assertIn("the link no longer works", error_summary(receiver))
        shot(receiver, "transfers-a-11-refused")
        type_into(receiver, "#package-link", link)
        click(receiver, "#receive")
        wait(receiver, 60).until(lambda d: d.find_element(By.ID, "receive-result").is_displayed()
                                 or (d.find_element(By.ID, "receive").is_enabled() and d.find_element(By.ID, "error-summary").is_displayed()))
        self.assertFalse(receiver.find_element(By.ID, "receive-form").is_displayed(),
                         receiver.find_element(By.ID, "error-summary").text)
        heading = visible(receiver, "#receive-result-heading").text
        self.assertEqual(heading, "2 records received from Oakfield Primary School (ST1) for child C31")
        visible(receiver, "#receipt-download")
        shot(receiver, "transfers-a-12-received")
        downloads = tempfile.mkdtemp()
        receiver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        click(receiver, "#receipt-download")
        # Chromium may create the file before it has written it: wait for its bytes too.
        wait(receiver, 30).until(lambda d: any(f.endswith(".json") and os.path.getsize(os.path.join(downloads, f)) > 0
                                               for f in os.listdir(downloads)))
        saved = os.path.join(downloads, [f for f in os.listdir(downloads) if f.endswith(".json")][0])
        with open(saved) as f:
            self.assertEqual(json.load(f)["records"], 2)
        self.assertEqual(receiver.find_element(By.ID, "receive-result-chronology").get_attribute("href"), URL + "/children/C31?school=ST9")

        # The same package again, now as a file: refused as a replay, in the API's own words.
        receiver.get(URL + "/transfers/receive")
        click(receiver, "label[for=how-file]")
        receiver.find_element(By.ID, "package-file").send_keys(package)
        click(receiver, "#receive")
        self.assertIn("was received before", error_summary(receiver))
        shot(receiver, "transfers-a-12b-replay")
        receiver.get(URL + "/children/C31?school=ST9")
        visible(receiver, "h1")
        origins = [e.text for e in receiver.find_elements(By.CSS_SELECTOR, ".record-origin")]
        self.assertEqual(len(origins), 2)
        self.assertTrue(all(o.startswith("Received from Oakfield Primary School (ST1) on ") for o in origins), origins)
        shot(receiver, "transfers-a-13-chronology")

        # The sending DSL adds the receipt the receiving DSL gave them: the transfer is Received.
        sign_in(dsl, "tia.dsl", code=dsl_app.next_code())
        self.assertTrue(signed_in_as(dsl, "tia.dsl"))
        dsl.get(URL + here)
        dsl.find_element(By.ID, "receipt-file").send_keys(saved)
        click(dsl, "#add-receipt")
        # The page reloads once the receipt is accepted: read the tag by script, never a stale element.
        wait(dsl, 20).until(lambda d: d.execute_script(
            "const tag = document.getElementById('transfer-state'); return tag ? tag.textContent : ''") == "Received")
        self.assertIn("Shred request", visible(dsl, "#after-receipt").text)
        shot(dsl, "transfers-a-14-received")
        dsl.get(URL + "/transfers")
        self.assertIn("Received", visible(dsl, "#sent").text)
        shot(dsl, "transfers-a-15-list")

        # On a phone, the transfer pages fit the screen.
        dsl.set_window_size(390, 844)
        for path, name in (("/transfers", "list"), (here, "transfer"), ("/schools", "schools"), ("/transfers/receive", "receive")):
            dsl.get(URL + path)
            visible(dsl, "h1")
            self.assertTrue(fits_a_phone(dsl), path)
            shot(dsl, "transfers-a-16-phone-" + name)
