"""Staff add evidence to a concern in a real Chromium against a real `strongroom serve`: files
attached several at once (a program named .pdf refused in plain words, the others stored), and
body maps drawn with the mouse and with the keyboard alone.

Run by Scripts/test-browser.sh; screenshots of every step go to $SCREENSHOTS.
"""

import os
import shutil
import sys
import tempfile
import unittest

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from harness import SCREENSHOTS, URL, browser, click, fetch_json, shot, type_into, visible, wait
from test_journeys import enrol_with_app, finish_enrolment, sign_in, signed_in_as

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "VaultTests", "Samples")


def signed_in_staff(driver, name):
    app, _, _ = enrol_with_app(driver, name)
    finish_enrolment(driver)
    sign_in(driver, name, code=app.next_code())
    assert signed_in_as(driver, name)


def records(driver, child):
    """The records of `child` in ST1 the signed-in person may list (staff: their own uploads)."""
    reply = fetch_json(driver, f"/v1/children/{child}/attachments?school=ST1")
    assert reply["status"] == 200, reply
    return reply["body"]["records"]


def click_at(driver, element, fx, fy):
    """Clicks `element` at fractions (fx, fy) of its width and height (offsets count from the
    centre of the part in view, so the whole element is brought into view first)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    size = element.size
    ActionChains(driver).move_to_element_with_offset(
        element, int((fx - 0.5) * size["width"]), int((fy - 0.5) * size["height"])).click().perform()


def as_phone(driver):
    """A 390 by 844 phone screen: headless Chromium's windows are no narrower than 500 px."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})


def phone_shot(driver, name):
    """The whole page on the phone screen: the emulated screen made as tall as the page, then back."""
    height = driver.execute_script("window.scrollTo(0, 0); return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": min(height, 4000), "deviceScaleFactor": 1,
                                                                 "mobile": True})
    driver.save_screenshot(os.path.join(SCREENSHOTS, name + ".png"))
    as_phone(driver)


def as_desktop(driver):
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def drawing(driver, side):
    return visible(driver, f'.body-map__drawing[data-side="{side}"] svg')


class Attach(unittest.TestCase):
    def setUp(self):
        self.drivers = []
        self.folder = tempfile.mkdtemp()

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()
        shutil.rmtree(self.folder, ignore_errors=True)

    def open(self, width=1280, height=900):
        driver = browser(width, height)
        self.drivers.append(driver)
        return driver

    def sample(self, name, source):
        path = os.path.join(self.folder, name)
        shutil.copyfile(source, path)
        return path

    def test_a_staff_attach_three_files_at_once_and_a_program_named_pdf_is_refused(self):
        driver = self.open()
        signed_in_staff(driver, "ivy.attach")
        # Without the ids the page asks for them; the only school is filled in.
        driver.get(URL + "/attach")
        self.assertEqual(visible(driver, "#school").get_attribute("value"), "ST1")
        type_into(driver, "#child", "C20")
        shot(driver, "attach-1-which-concern")
        click(driver, "form.attach-ids button[type=submit]")
        self.assertIn("Enter the concern", visible(driver, "#error-summary").text)
        shot(driver, "attach-2-concern-missing")
        type_into(driver, "#concern", "K20")
        click(driver, "form.attach-ids button[type=submit]")
        visible(driver, "#attach-form")
        self.assertIn("/attach?school=ST1&child=C20&concern=K20", driver.current_url)
        self.assertEqual(driver.find_element(By.ID, "your-uploads").get_attribute("href"), URL + "/uploads")
        shot(driver, "attach-3-page")

        files = [self.sample("strategy-meeting-minutes.pdf", os.path.join(SAMPLES, "strategy-meeting-minutes.pdf")),
                 self.sample("body-map-front.png", os.path.join(SAMPLES, "body-map-front.png")),
                 self.sample("evil.pdf", "/bin/true")]
        driver.find_element(By.ID, "files").send_keys("\n".join(files))
        items = wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#file-list .file-item")) == 3 and
                                   d.find_elements(By.CSS_SELECTOR, "#file-list .file-item"))
        self.assertEqual(driver.find_element(By.ID, "attach-button").text, "Attach 3 files")
        # A kind not chosen is asked for, by the file's name.
        click(driver, "#attach-button")
        self.assertIn("Choose what strategy-meeting-minutes.pdf is", visible(driver, "#error-summary").text)
        shot(driver, "attach-4-kinds-missing")
        for item, kind in zip(items, ["minutes", "body-map", "document"]):
            Select(item.find_element(By.CSS_SELECTOR, "select")).select_by_value(kind)
        shot(driver, "attach-5-chosen")
        click(driver, "#attach-button")
        visible(driver, "#attach-done")
        outcomes = [item.find_element(By.CSS_SELECTOR, "[data-outcome]").text for item in items]
        shot(driver, "attach-6-outcomes")
        self.assertRegex(outcomes[0], r"^Stored: PDF, \d+(\.\d)? KB$")
        self.assertRegex(outcomes[1], r"^Stored: PNG image, \d+(\.\d)? KB$")
        self.assertEqual(outcomes[2], "This file is a program, not a PDF. It was not stored.")
        self.assertEqual(driver.find_element(By.ID, "attach-outcome").text, "2 files stored, 1 file not stored.")
        stored = records(driver, "C20")
        self.assertEqual(sorted(r["filename"] for r in stored), ["body-map-front.png", "strategy-meeting-minutes.pdf"],
                         "the program is not kept")
        self.assertEqual({r["concern"] for r in stored}, {"K20"})
        # The same page on a phone.
        as_phone(driver)
        phone_shot(driver, "attach-7-outcomes-phone")

    def test_b_staff_draw_a_body_map_with_a_point_and_an_area_and_save_it(self):
        driver = self.open()
        signed_in_staff(driver, "jon.bodymap")
        driver.get(URL + "/body-map?school=ST1&child=C21&concern=K21")
        front, back = drawing(driver, "front"), drawing(driver, "back")
        shot(driver, "body-map-1-empty")
        # A point on the chest, by clicking.
        click_at(driver, front, 0.5, 0.24)
        self.assertIn("A point on the front, near: chest", visible(driver, "#place").text)
        type_into(driver, "#note", "Bruise, purple-blue, about 2 cm across")
        click(driver, "label[for=colour-purple]")
        Select(driver.find_element(By.ID, "size")).select_by_value("2")
        click(driver, "#add-mark")
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#marks tr")) == 1)
        # An area on the lower back: four corners, then "Finish area".
        click(driver, "label[for=shape-area]")
        for fx, fy in [(0.42, 0.36), (0.58, 0.36), (0.58, 0.44), (0.42, 0.44)]:
            click_at(driver, back, fx, fy)
        self.assertIn("4 corners so far", driver.find_element(By.ID, "place-instructions").text)
        shot(driver, "body-map-2-drawing-an-area")
        click(driver, "#finish-area")
        self.assertIn("An area (4 corners) on the back, near: lower back", visible(driver, "#place").text)
        type_into(driver, "#note", "Red marks in a line, like finger marks")
        click(driver, "label[for=colour-red]")
        Select(driver.find_element(By.ID, "size")).select_by_value("3")
        click(driver, "#add-mark")
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#marks tr")) == 2)
        rows = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#marks tr")]
        self.assertIn("Purple", rows[0])
        self.assertIn("Red", rows[1])
        # A mark's note changed from the table.
        driver.find_element(By.CSS_SELECTOR, "#marks tr:nth-child(1) button").click()
        self.assertEqual(driver.find_element(By.ID, "add-mark").text, "Save changes to mark 1")
        type_into(driver, "#note", "Bruise, purple-blue, about 3 cm across")
        click(driver, "#add-mark")
        wait(driver).until(lambda d: "3 cm" in d.find_element(By.CSS_SELECTOR, "#marks tr:nth-child(1)").text)
        shot(driver, "body-map-3-two-marks")
        as_phone(driver)
        phone_shot(driver, "body-map-4-two-marks-phone")
        as_desktop(driver)
        click(driver, "#save-body-map")
        visible(driver, "#saved")
        self.assertEqual(driver.find_element(By.ID, "saved-title").text, "Body map saved")
        self.assertEqual(driver.find_element(By.ID, "attach-more").get_attribute("href"),
                         URL + "/attach?school=ST1&child=C21&concern=K21")
        shot(driver, "body-map-5-saved")
        stored = records(driver, "C21")
        self.assertEqual([(r["kind"], r["sniffedType"]) for r in stored], [("body-map", "image/png")])

    def test_c_keyboard_only_a_mark_is_added_and_the_body_map_saved(self):
        driver = self.open()
        as_phone(driver)
        signed_in_staff(driver, "kit.keys")
        driver.get(URL + "/body-map?school=ST1&child=C22&concern=K22")
        drawing(driver, "front")
        phone_shot(driver, "body-map-keys-1-phone")
        # Nothing here is clicked: keys go to the focused element, as Tab and typing would.
        summary = driver.find_element(By.CSS_SELECTOR, "#keyboard-help summary")
        summary.send_keys(Keys.ENTER)
        visible(driver, "#region-side").send_keys("b")  # Back
        region = driver.find_element(By.ID, "region")
        region.send_keys("Left s")  # Left shoulder
        self.assertEqual(Select(region).first_selected_option.text, "Left shoulder")
        driver.find_element(By.ID, "place-from-list").send_keys(Keys.ENTER)
        self.assertIn("A point on the back, near: left shoulder", visible(driver, "#place").text)
        self.assertEqual(driver.switch_to.active_element.get_attribute("id"), "note", "focus moves on to the note")
        driver.switch_to.active_element.send_keys("Scratch, about 4 cm long")
        driver.find_element(By.ID, "colour-green").send_keys(Keys.SPACE)
        driver.find_element(By.ID, "size").send_keys("1")
        phone_shot(driver, "body-map-keys-2-details")
        driver.find_element(By.ID, "add-mark").send_keys(Keys.ENTER)
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#marks tr")) == 1)
        # A second mark with the cross on the front drawing: arrow keys, then Enter.
        front = drawing(driver, "front")
        front.send_keys(Keys.ARROW_UP, Keys.ARROW_UP)
        self.assertIn("Cross on the front", driver.find_element(By.ID, "place-instructions").text)
        front.send_keys(Keys.ENTER)
        self.assertIn("A point on the front", driver.find_element(By.ID, "place").text)
        driver.find_element(By.ID, "note").send_keys("Small dark mark")
        driver.find_element(By.ID, "colour-black").send_keys(Keys.SPACE)
        driver.find_element(By.ID, "size").send_keys("2")
        driver.find_element(By.ID, "add-mark").send_keys(Keys.ENTER)
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#marks tr")) == 2)
        self.assertIn("Green", driver.find_element(By.CSS_SELECTOR, "#marks tr:nth-child(1)").text)
        phone_shot(driver, "body-map-keys-3-marks")
        driver.find_element(By.ID, "save-body-map").send_keys(Keys.ENTER)
        visible(driver, "#saved")
        self.assertEqual(driver.switch_to.active_element.get_attribute("id"), "saved-title", "focus goes to what happened")
        phone_shot(driver, "body-map-keys-4-saved")
        self.assertEqual([r["kind"] for r in records(driver, "C22")], ["body-map"])


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    print(f"browser: {result.testsRun - failed - len(result.skipped)} passed, {failed} failed")
    sys.exit(0 if result.wasSuccessful() else 1)
