"""The console's reading journeys in a real Chromium against a real `strongroom serve`: a DSL
finds a child, reads the chronology, previews a PDF's pages and a photo, and downloads after
confirming it is them; staff, a DSL of another school and a DPO each get only what their role
allows. Every page visited is screenshotted and checked with axe-core (harness.shot).

Run by Scripts/test-browser.sh, which stores the records (STRONGROOM_READING) and names the
child before serving.
"""

import os
import re
import tempfile
import time
import unittest

from selenium.webdriver.common.by import By

from harness import (STEP_UP_SECONDS, URL, browser, click, reading, shot, type_into, visible, wait, wait_for_path)
from test_journeys import enrol_with_app, finish_enrolment, sign_in, signed_in_as


def header_links(driver):
    # Without the count of what waits, which other journeys' drafts and requests change.
    return [re.sub(r"\s*\(\d+\)$", "", a.text) for a in driver.find_elements(By.CSS_SELECTOR, ".header__nav a")]


def heading(driver):
    return visible(driver, "h1").text


def fits_a_phone(driver):
    """Nothing on the page is wider than a 390 px screen."""
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def upload_from_the_page(driver, text, child):
    """What the attach page does: POST /v1/attachments with the session's cookie and CSRF token."""
    return driver.execute_async_script(
        """
        const [text, child, done] = arguments;
        (async () => {
          const session = await (await fetch("/v1/session", { credentials: "same-origin" })).json();
          const response = await fetch(`/v1/attachments?school=ST1&child=${child}&concern=K6&kind=disclosure&filename=note.txt`, {
            method: "POST", credentials: "same-origin", body: text,
            headers: { "Content-Type": "text/plain", "X-CSRF-Token": session.csrfToken },
          });
          done({ status: response.status, body: await response.json() });
        })().catch((error) => done({ status: 0, body: String(error) }));
        """, text, child)


class Reading(unittest.TestCase):
    def setUp(self):
        self.drivers = []
        self.data = reading()

    def tearDown(self):
        for driver in self.drivers:
            driver.quit()

    def signed_in(self, name, width=1280, height=900):
        """A browser with `name` enrolled (passphrase and app) and signed in; the app, for step-up."""
        driver = browser(width, height)
        self.drivers.append(driver)
        app, _, _ = enrol_with_app(driver, name)
        finish_enrolment(driver)
        sign_in(driver, name, code=app.next_code())
        self.assertTrue(signed_in_as(driver, name))
        return driver, app, time.time()

    def open_record(self, driver, record):
        driver.find_element(By.CSS_SELECTOR, f'#chronology a[href="/records/{record}"]').click()
        wait_for_path(driver, "/records/" + record)

    def test_a_dsl_finds_a_child_reads_the_chronology_previews_and_downloads(self):
        data = self.data
        driver, app, signed_in_at = self.signed_in("rea.dsl")
        downloads = tempfile.mkdtemp()
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        self.assertEqual(header_links(driver), ["Children", "Attach evidence", "My uploads", "Bundles", "Recipients", "Transfers",
                                                "Retention", "Oversight", "Waiting for you", "Your account"])
        shot(driver, "reading-a-1-account")

        click(driver, 'a.header__link[href="/children"]')
        wait_for_path(driver, "/children")
        shot(driver, "reading-a-2-find")
        type_into(driver, "#q", "amelia")
        click(driver, "#search-button")
        self.assertEqual(visible(driver, "#found-heading").text, "1 child found")
        rows = driver.find_elements(By.CSS_SELECTOR, "#found tbody tr")
        self.assertEqual([r.text.split("\n")[0] for r in rows], ["Amelia Whitfield C5 ST1"])
        shot(driver, "reading-a-3-found")

        driver.find_element(By.LINK_TEXT, "Amelia Whitfield").click()
        wait_for_path(driver, "/children/C5")
        self.assertEqual(heading(driver), "Amelia Whitfield")
        self.assertEqual(len(driver.find_elements(By.CSS_SELECTOR, "#chronology tbody tr")), 4, "a PDF, a photo, a note, a body map")
        self.assertIn("Bruising on arm (K5)", driver.find_element(By.ID, "chronology").text)
        shot(driver, "reading-a-4-chronology")

        # A DSL renames the child: the form sends the CSRF token and the page is drawn again.
        click(driver, "#label-details summary")
        type_into(driver, "#label", "Amelia W.")
        click(driver, "#label-save")
        # The page is drawn again: read the heading by script, as elements found before go stale.
        wait(driver).until(lambda d: d.execute_script("const h = document.querySelector('h1'); return h && h.textContent") == "Amelia W.")
        type_into(driver, "#concerns input[name=title]", "Bruise seen at break")
        click(driver, "#concerns button[type=submit]")
        wait(driver).until(lambda d: "Bruise seen at break (K5)" in d.execute_script("const t = document.getElementById('chronology'); return t ? t.textContent : ''"))
        shot(driver, "reading-a-5-renamed")

        # A two-page PDF: page one, then page two, drawn by the server.
        self.open_record(driver, data["pdf"])
        image = visible(driver, "#preview-image")
        wait(driver).until(lambda d: d.execute_script("const i = document.getElementById('preview-image'); return i.complete && i.naturalWidth > 0"))
        self.assertTrue(image.get_attribute("src").startswith("blob:"))
        self.assertEqual(visible(driver, "#preview-page-text").text, "Page 1 of 2")
        self.assertFalse(driver.find_element(By.ID, "preview-previous").is_enabled())
        first_page = image.get_attribute("src")
        shot(driver, "reading-a-6-pdf-page-1")
        click(driver, "#preview-next")
        wait(driver).until(lambda d: d.find_element(By.ID, "preview-page-text").text == "Page 2 of 2")
        wait(driver).until(lambda d: d.find_element(By.ID, "preview-image").get_attribute("src") != first_page)
        self.assertFalse(driver.find_element(By.ID, "preview-next").is_enabled())
        self.assertTrue(driver.current_url.endswith("?page=2"))
        self.assertGreater(len(driver.find_elements(By.CSS_SELECTOR, "#audit-trail tbody tr")), 0)
        shot(driver, "reading-a-7-pdf-page-2")

        # A photo: a PNG the server drew again, one page.
        driver.get(URL + data["chronology"])
        self.open_record(driver, data["image"])
        wait(driver).until(lambda d: d.execute_script("const i = document.getElementById('preview-image'); return !i.hidden && i.complete && i.naturalWidth > 0"))
        self.assertFalse(driver.find_element(By.ID, "preview-pages").is_displayed(), "no page buttons for one page")
        shot(driver, "reading-a-8-photo")

        # Text, set as text: markup in it stays characters on the page.
        driver.get(URL + data["chronology"])
        self.open_record(driver, data["text"])
        text = visible(driver, "#preview-text")
        self.assertEqual(text.text, data["textContent"].strip())
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "#preview-text *"), [], "no element was made from the text")

        # The download needs a recent second factor: wait the window out, then confirm.
        time.sleep(max(0, signed_in_at + STEP_UP_SECONDS + 1 - time.time()))
        click(driver, "#download")
        wait_for_path(driver, "/confirm")
        shot(driver, "reading-a-9-confirm")
        type_into(driver, "#code", app.next_code())
        click(driver, "#confirm-button")
        wait_for_path(driver, "/records/" + data["text"])
        wait(driver, 30).until(lambda d: any(not f.endswith(".crdownload") for f in os.listdir(downloads)))
        saved = [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]
        with open(os.path.join(downloads, saved[0]), "rb") as f:
            self.assertEqual(f.read().decode(), data["textContent"])
        self.assertNotIn("download=1", driver.current_url, "a reload does not download again")
        visible(driver, "#download-status")
        shot(driver, "reading-a-10-downloaded")

    def test_b_staff_see_their_own_uploads_and_nothing_else(self):
        data = self.data
        driver, _, _ = self.signed_in("rex.staff")
        self.assertEqual(header_links(driver), ["Attach evidence", "My uploads", "Waiting for you", "Your account"])
        uploaded = upload_from_the_page(driver, "He had a bruise on his arm at break.\n", "C6")
        self.assertEqual(uploaded["status"], 201, uploaded)
        click(driver, 'a.header__link[href="/uploads"]')
        wait_for_path(driver, "/uploads")
        rows = driver.find_elements(By.CSS_SELECTOR, "#uploads tbody tr")
        self.assertEqual(len(rows), 1)
        self.assertIn("C6", rows[0].text)
        shot(driver, "reading-b-1-my-uploads")
        rows[0].find_element(By.TAG_NAME, "a").click()
        wait_for_path(driver, "/records/" + uploaded["body"]["id"])
        self.assertEqual(driver.find_elements(By.ID, "preview-section"), [], "staff see no preview")
        self.assertEqual(driver.find_elements(By.ID, "download"), [], "nor a download")
        self.assertEqual(driver.find_elements(By.ID, "audit-trail"), [], "nor the audit trail")
        shot(driver, "reading-b-2-own-record")

        driver.get(URL + data["chronology"])
        self.assertEqual(heading(driver), "You cannot see this page")
        self.assertNotIn("Amelia", driver.page_source)
        shot(driver, "reading-b-3-chronology-not-allowed")
        driver.get(URL + "/records/" + data["pdf"])
        self.assertEqual(heading(driver), "Page not found")
        shot(driver, "reading-b-4-record-not-found")
        preview = driver.execute_async_script(
            "const done = arguments[0]; fetch('/v1/attachments/" + data["pdf"] + "/preview').then((r) => done(r.status));")
        self.assertEqual(preview, 403, "nor its preview")

    def test_c_a_dsl_of_another_school_gets_not_found(self):
        data = self.data
        driver, _, _ = self.signed_in("ros.dsl")
        driver.get(URL + data["chronology"])
        self.assertEqual(heading(driver), "Page not found")
        shot(driver, "reading-c-1-chronology-not-found")
        driver.get(URL + "/records/" + data["pdf"])
        self.assertEqual(heading(driver), "Page not found")
        driver.get(URL + "/children?q=amelia")
        self.assertEqual(visible(driver, "#found-heading").text, "No children found")
        shot(driver, "reading-c-2-search-finds-none")

    def test_d_a_dpo_sees_details_and_the_audit_trail_but_no_preview(self):
        data = self.data
        driver, _, _ = self.signed_in("ray.dpo")
        driver.get(URL + data["chronology"])
        self.assertEqual(driver.find_elements(By.ID, "label-form"), [], "a DPO does not name children")
        shot(driver, "reading-d-1-chronology")
        self.open_record(driver, data["pdf"])
        self.assertEqual(driver.find_elements(By.ID, "preview-section"), [], "a DPO sees no preview")
        self.assertEqual(driver.find_elements(By.ID, "download"), [])
        self.assertGreater(len(driver.find_elements(By.CSS_SELECTOR, "#audit-trail tbody tr")), 0)
        self.assertIn("PDF", driver.find_element(By.ID, "record-details").text)
        shot(driver, "reading-d-2-record")
        # On a phone, the chronology and the record fit the screen.
        driver.set_window_size(390, 844)
        for path, name in ((data["chronology"], "chronology"), ("/records/" + data["pdf"], "record")):
            driver.get(URL + path)
            visible(driver, "h1")
            self.assertTrue(fits_a_phone(driver), path)
            shot(driver, "reading-d-3-phone-" + name)

    def test_e_a_dsl_sees_a_body_maps_marks_and_prints_the_chronology(self):
        data = self.data
        driver, _, _ = self.signed_in("reb.dsl")
        driver.get(URL + "/records/" + data["bodyMap"])
        rows = wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#body-map-marks tbody tr"))
        self.assertEqual(len(rows), 1)
        self.assertIn("Bruise on left forearm", rows[0].text)
        self.assertIn("A point on the front", rows[0].text)
        wait(driver).until(lambda d: d.find_element(By.ID, "preview-image").is_displayed())
        shot(driver, "reading-e-1-body-map")
        driver.get(URL + data["chronology"])
        link = visible(driver, "#print-chronology")
        # The printout is fetched as the link would, with the session's cookie.
        answer = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status, r.headers.get('content-type'),"
            " String.fromCharCode(...new Uint8Array(b.slice(0, 5)))])));", link.get_attribute("href"))
        self.assertEqual(answer, [200, "application/pdf", "%PDF-"])
        shot(driver, "reading-e-2-chronology-with-print")


if __name__ == "__main__":
    unittest.main(verbosity=2)
