"""The bundle journeys in a real Chromium against a real `strongroom serve`: a DSL prepares a
bundle of a photo with GPS in it, a two-page PDF and a note, drawing a box on the photo and one
on page 2 of the PDF by dragging, and taking a name out of the note; a second person (a deputy)
checks each item as stored beside it as it will be sent, and approves after confirming it is
them; the bundle fetched through its link opens with stock age, its manifest verifies with
stock minisign, and in the files delivered the boxes are solid, the GPS is gone and the name is
gone. The creator cannot approve their own draft; a draft can be sent back with a comment.

Run by Scripts/test-browser.sh, which stores the records and adds the agency
(Tests/browser/seed/bundles.*).
"""

import json
import os
import subprocess
import tempfile
import time
import unittest
import urllib.request
import zipfile

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from harness import URL, browser, click, error_summary, shot, type_into, visible, wait, wait_for_path
from test_journeys import enrol_with_app, finish_enrolment, sign_in, signed_in_as

# The first line of the minutes' page ("Strategy discussion - minutes"), in points from the top left.
LINE = (55, 28, 170, 22)
PAGE_WIDTH = 595.2756


def seeded():
    with open(os.path.join(os.environ["STRONGROOM_WORK"], "bundles.json")) as f:
        return json.load(f)


def ppm(path):
    """Width, height and RGB bytes of a binary PPM (P6) file."""
    with open(path, "rb") as f:
        data = f.read()
    fields, at = [], 2
    while len(fields) < 3:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at)
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(int(data[at:end]))
        at = end
    width, height, _ = fields
    return width, height, data[at + 1:]


def solid(picture, box):
    """Whether every pixel on a grid inside `box` (x0, y0, x1, y1, in the picture's pixels) is near black."""
    width, _, pixels = picture
    x0, y0, x1, y1 = box
    for i in range(1, 10):
        for j in range(1, 10):
            x, y = int(x0 + (x1 - x0) * i / 10), int(y0 + (y1 - y0) * j / 10)
            r, g, b = pixels[(y * width + x) * 3:(y * width + x) * 3 + 3]
            if max(r, g, b) > 40:
                return False
    return True


def drag(driver, element, start, end):
    """Presses at `start`, moves to `end` and lets go; both in pixels from the element's top left."""
    driver.execute_script("arguments[0].scrollIntoView({ block: 'center' })", element)
    size = element.size
    # Selenium 4 measures an offset from the centre of the element's part in view: all of it, once scrolled there.
    ActionChains(driver).move_to_element_with_offset(element, start[0] - size["width"] / 2, start[1] - size["height"] / 2) \
        .click_and_hold().move_by_offset((end[0] - start[0]) / 2, (end[1] - start[1]) / 2) \
        .move_by_offset((end[0] - start[0]) / 2, (end[1] - start[1]) / 2).release().perform()


def draft_from_page(driver, record, reason):
    """A draft of one record as-is, made by the page's own session (as the builder would post it)."""
    return driver.execute_async_script("""
        const [record, reason, done] = arguments;
        (async () => {
          const session = await (await fetch("/v1/session", { credentials: "same-origin" })).json();
          const r = await fetch("/v1/bundles", { method: "POST", credentials: "same-origin",
            headers: { "X-CSRF-Token": session.csrfToken, "Content-Type": "application/json" },
            body: JSON.stringify({ school: "ST1", recipient: "Children's Social Care", reason,
                                   items: [{ record, mode: "as-is" }] }) });
          done(await r.json());
        })();""", record, reason)


def image_loaded(driver, element_id):
    return driver.execute_script(
        "const i = document.getElementById(arguments[0]); return !i.hidden && i.complete && i.naturalWidth > 0", element_id)


class Bundles(unittest.TestCase):
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

    def row(self, driver, record):
        return driver.find_element(By.CSS_SELECTOR, f'.builder-item[data-record="{record}"]')

    def choose_redacted(self, driver, record):
        Select(self.row(driver, record).find_element(By.CSS_SELECTOR, ".item-mode")).select_by_value("redacted")
        visible(driver, "#redaction")

    def show_as_sent(self, driver):
        click(driver, "#redaction-show")
        wait(driver, 30).until(lambda d: image_loaded(d, "redaction-result"))

    def test_a_dsl_draws_redactions_a_deputy_checks_them_side_by_side_and_the_agency_gets_exactly_that(self):
        data = self.data
        driver, _ = self.signed_in("bud.dsl")
        driver.get(URL + "/children/C7?school=ST1")
        click(driver, "#share-records")
        wait_for_path(driver, "/bundles/new")
        self.assertEqual(visible(driver, "h1").text, "Share records of Oliver Brightwater")
        shot(driver, "bundles-a-1-builder")

        # Nothing chosen yet: the error summary names what is missing.
        click(driver, "#save-draft")
        summary = error_summary(driver)
        self.assertIn("Choose who the bundle is for", summary)
        self.assertIn("Say why the records are being shared", summary)
        Select(driver.find_element(By.ID, "recipient")).select_by_visible_text("Children's Social Care")
        type_into(driver, "#reason", "Strategy meeting on Thursday")

        # The photo: one box dragged over its top left quarter, then Strongroom's own redaction shown.
        self.choose_redacted(driver, data["photo"])
        wait(driver).until(lambda d: image_loaded(d, "redaction-image"))
        svg = visible(driver, "#redaction-svg")
        w, h = svg.size["width"], svg.size["height"]
        drag(driver, svg, (0.2 * w, 0.2 * h), (0.5 * w, 0.45 * h))
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#redaction-list li")) == 1)
        self.show_as_sent(driver)
        shot(driver, "bundles-a-2-photo-box")
        click(driver, "#redaction-done")

        # The PDF: to page 2, a box dragged over its first line.
        self.choose_redacted(driver, data["pdf"])
        wait(driver).until(lambda d: image_loaded(d, "redaction-image"))
        self.assertEqual(visible(driver, "#redaction-page-text").text, "Page 1 of 2")
        first = driver.find_element(By.ID, "redaction-image").get_attribute("src")
        click(driver, "#redaction-next")
        wait(driver).until(lambda d: d.find_element(By.ID, "redaction-page-text").text == "Page 2 of 2")
        wait(driver).until(lambda d: d.find_element(By.ID, "redaction-image").get_attribute("src") != first and image_loaded(d, "redaction-image"))
        svg = visible(driver, "#redaction-svg")
        scale = svg.size["width"] / PAGE_WIDTH
        x, y, bw, bh = LINE
        drag(driver, svg, (x * scale, y * scale), ((x + bw) * scale, (y + bh) * scale))
        wait(driver).until(lambda d: "on page 2" in d.find_element(By.ID, "redaction-list").text)
        self.show_as_sent(driver)
        shot(driver, "bundles-a-3-pdf-page-2-box")
        click(driver, "#redaction-done")

        # The note: a misspelt name is flagged before saving; the right one is found once.
        self.choose_redacted(driver, data["note"])
        type_into(driver, "#term", "Jordan Milles")
        click(driver, "#term-add")
        wait(driver).until(lambda d: "not found: check the spelling" in d.find_element(By.ID, "term-list").text)
        shot(driver, "bundles-a-4-term-not-found")
        click(driver, "#save-draft")
        self.assertIn("“Jordan Milles” is not in the", error_summary(driver))
        click(driver, "#term-list button")
        type_into(driver, "#term", "jordan mills")
        click(driver, "#term-add")
        wait(driver).until(lambda d: "found 1 time" in d.find_element(By.ID, "term-list").text)
        self.assertEqual([m.text for m in driver.find_elements(By.CSS_SELECTOR, "#term-text mark")], ["Jordan Mills"])
        shot(driver, "bundles-a-5-term-found")
        click(driver, "#redaction-done")

        click(driver, "#save-draft")
        wait(driver).until(lambda d: d.current_url.split("?")[0].rsplit("/", 1)[-1] not in ("new",) and "/bundles/" in d.current_url)
        bundle = driver.current_url.split("?")[0].rsplit("/", 1)[-1]
        self.assertIn("You cannot approve your own bundle", visible(driver, "#waiting-notice").text)
        self.assertEqual(driver.find_elements(By.ID, "approve-form"), [], "no approval for the creator")
        # Nor through the API with the page's own session.
        refused = driver.execute_async_script("""
            const [id, done] = arguments;
            (async () => {
              const session = await (await fetch("/v1/session", { credentials: "same-origin" })).json();
              const r = await fetch(`/v1/bundles/${id}/approve`, { method: "POST", credentials: "same-origin",
                headers: { "X-CSRF-Token": session.csrfToken } });
              done(r.status);
            })();""", bundle)
        self.assertEqual(refused, 403)
        shot(driver, "bundles-a-6-draft-waiting")

        # The deputy: the queue, then each item as stored beside it as it will be sent.
        deputy, app = self.signed_in("bev.deputy")
        deputy.get(URL + "/bundles/queue")
        self.assertIn("Children's Social Care", visible(deputy, "#waiting").text)
        shot(deputy, "bundles-a-7-queue")
        deputy.find_element(By.CSS_SELECTOR, "#waiting a").click()
        wait_for_path(deputy, "/bundles/" + bundle)
        wait(deputy, 60).until(lambda d: len([s for s in d.find_elements(By.CSS_SELECTOR, ".bundle-item .side-by-side") if s.is_displayed()]) == 3)
        details = visible(deputy, "#bundle-details").text
        self.assertIn("age1", details, "the approver sees the recipient's key")
        self.assertIn("Added to the directory by", details)
        self.assertIn("Strategy meeting on Thursday", details)
        note_item = deputy.find_element(By.CSS_SELECTOR, f'.bundle-item[data-record="{data["note"]}"]')
        wait(deputy).until(lambda d: "[REDACTED]" in note_item.find_element(By.CSS_SELECTOR, ".item-sent-text").text)
        self.assertIn("Jordan Mills", note_item.find_element(By.CSS_SELECTOR, ".item-original-text").text)
        pdf_item = deputy.find_element(By.CSS_SELECTOR, f'.bundle-item[data-record="{data["pdf"]}"]')
        self.assertEqual(pdf_item.find_element(By.CSS_SELECTOR, ".item-page-text").text, "Page 1 of 2")
        shot(deputy, "bundles-a-8-side-by-side")
        pdf_item.find_element(By.CSS_SELECTOR, ".item-next").click()
        wait(deputy).until(lambda d: pdf_item.find_element(By.CSS_SELECTOR, ".item-page-text").text == "Page 2 of 2")

        # Approving asks for the check box, then for a second factor, then sends.
        click(deputy, "#approve")
        self.assertIn("Confirm you have checked every item", error_summary(deputy))
        click(deputy, "#checked")
        time.sleep(7)  # the step-up window of the run (6 s) has passed since signing in
        click(deputy, "#approve")
        wait_for_path(deputy, "/confirm")
        type_into(deputy, "#code", app.next_code())
        click(deputy, "#confirm-button")
        # Back on the bundle, nothing is sent until they tick and approve again.
        visible(deputy, "#approve-again")
        self.assertEqual(deputy.find_elements(By.CSS_SELECTOR, "#release-result:not([hidden])"), [])
        click(deputy, "#checked")
        click(deputy, "#approve")
        link_text = visible(deputy, "#release-link", 60).text
        self.assertTrue(link_text.startswith(URL + "/v1/shared/"), link_text)
        shot(deputy, "bundles-a-9-sent")

        # The agency: the link, stock age, stock minisign, and the files themselves.
        folder = tempfile.mkdtemp()
        with urllib.request.urlopen(link_text) as response:
            encrypted = response.read()
        with open(os.path.join(folder, "bundle.age"), "wb") as f:
            f.write(encrypted)
        subprocess.run(["age", "-d", "-i", data["identity"], "-o", os.path.join(folder, "bundle.zip"), os.path.join(folder, "bundle.age")], check=True)
        with zipfile.ZipFile(os.path.join(folder, "bundle.zip")) as z:
            z.extractall(folder)
        top = next(os.path.join(folder, d) for d in os.listdir(folder) if d.startswith("bundle-"))
        with urllib.request.urlopen(URL + "/v1/signing-key.pub") as response:
            with open(os.path.join(folder, "vault.pub"), "wb") as f:
                f.write(response.read())
        verify = subprocess.run(["minisign", "-Vm", os.path.join(top, "manifest.json"), "-p", os.path.join(folder, "vault.pub")],
                                capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stderr + verify.stdout)
        with open(os.path.join(top, "manifest.json")) as f:
            items = {item["record"]: os.path.join(top, item["path"]) for item in json.load(f)["items"]}

        photo = items[data["photo"]]
        exif = subprocess.run(["exiftool", "-a", "-G", "-s", photo], capture_output=True, text=True).stdout
        self.assertNotIn("GPS", exif)
        subprocess.run(["vips", "copy", photo, os.path.join(folder, "photo.ppm")], check=True)
        picture = ppm(os.path.join(folder, "photo.ppm"))
        pw, ph = picture[0], picture[1]
        self.assertTrue(solid(picture, (0.22 * pw, 0.22 * ph, 0.48 * pw, 0.43 * ph)), "the drawn box is solid in the photo sent")
        self.assertFalse(solid(picture, (0.55 * pw, 0.55 * ph, 0.95 * pw, 0.95 * ph)), "and only there")

        pdf = items[data["pdf"]]
        text = subprocess.run(["pdftotext", "-f", "2", "-l", "2", pdf, "-"], capture_output=True, text=True).stdout
        self.assertNotIn("Strategy", text)
        subprocess.run(["pdftoppm", "-r", "72", pdf, os.path.join(folder, "page")], check=True)
        pages = sorted(p for p in os.listdir(folder) if p.startswith("page") and p.endswith(".ppm"))
        self.assertEqual(len(pages), 2)
        page1, page2 = ppm(os.path.join(folder, pages[0])), ppm(os.path.join(folder, pages[1]))
        s = page2[0] / PAGE_WIDTH
        x, y, bw, bh = LINE
        inside = (x * s + 3, y * s + 3, (x + bw) * s - 3, (y + bh) * s - 3)
        self.assertTrue(solid(page2, inside), "the box drawn on page 2 is solid")
        self.assertFalse(solid(page1, inside), "page 1 had no box")

        with open(items[data["note"]], encoding="utf-8") as f:
            note = f.read()
        self.assertNotIn("Jordan", note)
        self.assertEqual(note, "[REDACTED] told me her stepdad hit her. She is scared to go home.\n")

        # The list shows it sent; the chronology shows the share.
        deputy.get(URL + "/bundles")
        self.assertIn("Sent", visible(deputy, "#released").text)
        self.assertIn("1 of 3", deputy.find_element(By.ID, "released").text)
        shot(deputy, "bundles-a-10-list")
        deputy.get(URL + "/children/C7?school=ST1")
        self.assertIn("Children's Social Care", visible(deputy, "#shares").text)

    def test_c_a_link_that_asks_to_approve_does_not_release_anything(self):
        data = self.data
        driver, _ = self.signed_in("bix.dsl")
        made = draft_from_page(driver, data["note"], "Planted")
        deputy, _ = self.signed_in("bex.deputy")
        # Straight after signing in the step-up window is open: the link's approve=1 would be enough, were it obeyed.
        deputy.get(URL + f"/bundles/{made['id']}?approve=1&days=90&max=100")
        visible(deputy, "#approve-again")
        time.sleep(2)
        state = deputy.execute_async_script("""
            const [id, done] = arguments;
            fetch(`/v1/bundles/${id}`, { credentials: "same-origin" }).then((r) => r.json()).then((b) => done(b.state));""", made["id"])
        self.assertEqual(state, "draft")
        self.assertFalse(deputy.find_element(By.ID, "checked").is_selected())

    def test_b_a_second_person_sends_a_draft_back_and_its_creator_sees_why(self):
        data = self.data
        driver, _ = self.signed_in("bri.dsl")
        made = draft_from_page(driver, data["note"], "Core group")
        bundle = made["id"]
        deputy, _ = self.signed_in("bel.deputy")
        deputy.get(URL + "/bundles/" + bundle)
        click(deputy, "#send-back-details summary")
        click(deputy, "#send-back")
        self.assertIn("Say what needs changing", error_summary(deputy))
        type_into(deputy, "#comment", "Take out the third party's name first")
        click(deputy, "#send-back")
        wait(deputy).until(lambda d: d.find_elements(By.ID, "returned-notice"))
        self.assertEqual(deputy.find_elements(By.ID, "approve-form"), [])
        shot(deputy, "bundles-b-1-sent-back")

        driver.get(URL + "/bundles")
        mine = visible(driver, "#mine").text
        self.assertIn("Sent back", mine)
        self.assertIn("Take out the third party's name first", mine)
        shot(driver, "bundles-b-2-creator-list")
        driver.get(URL + "/bundles/" + bundle)
        click(driver, "#draft-again")
        wait_for_path(driver, "/bundles/new")
        wait(driver).until(lambda d: d.find_element(By.ID, "reason").get_attribute("value") == "Core group")
        included = [r.get_attribute("data-record") for r in driver.find_elements(By.CSS_SELECTOR, ".builder-item")
                    if r.find_element(By.CSS_SELECTOR, ".item-include").is_selected()]
        self.assertEqual(included, [data["note"]])
        shot(driver, "bundles-b-3-draft-again")


if __name__ == "__main__":
    unittest.main()
