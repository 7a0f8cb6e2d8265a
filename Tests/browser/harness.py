"""What the browser journeys share: the running service, Chromium, TOTP codes, screenshots.

Scripts/test-browser.sh starts `strongroom serve` and passes, in the environment:
STRONGROOM_URL (http://localhost:PORT), STRONGROOM_PEOPLE (a JSON file of `user add --json`
answers by name), STRONGROOM_RECORD (a record id in school ST1), STRONGROOM_READING (a JSON file of the reading
journeys' records and child), STRONGROOM_IDLE_SECONDS, STRONGROOM_STEP_UP_SECONDS and SCREENSHOTS
(a folder).

Every screenshot of a console page also runs axe-core on it (from the axe-core-python package,
when installed: Scripts/test-browser.sh puts it in .build/browser-venv), and a serious or
critical violation fails the journey.
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ.get("STRONGROOM_URL", "http://localhost:8080")
RECORD = os.environ.get("STRONGROOM_RECORD", "")
IDLE_SECONDS = int(os.environ.get("STRONGROOM_IDLE_SECONDS", "1800"))
STEP_UP_SECONDS = int(os.environ.get("STRONGROOM_STEP_UP_SECONDS", "300"))
SCREENSHOTS = os.environ.get("SCREENSHOTS", tempfile.mkdtemp())
PASSPHRASE = "kettle orbit daffodil lantern"


def people():
    with open(os.environ["STRONGROOM_PEOPLE"]) as f:
        return json.load(f)


def enrolment_url(name):
    """The one-time link `strongroom user add` printed for this person, on this test's port."""
    link = people()[name]["enrolmentUrl"]
    return URL + link[link.index("/enrol/"):]


def browser(width=1280, height=900):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", f"--window-size={width},{height}", "--disable-dev-shm-usage",
                     "--lang=en-GB", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


def add_passkey_authenticator(driver):
    """A platform authenticator (as in a laptop or phone) that keeps resident keys and verifies the user."""
    options = VirtualAuthenticatorOptions(
        protocol=VirtualAuthenticatorOptions.Protocol.CTAP2, transport=VirtualAuthenticatorOptions.Transport.INTERNAL,
        has_resident_key=True, has_user_verification=True, is_user_verified=True, is_user_consenting=True)
    driver.add_virtual_authenticator(options)


def reading():
    with open(os.environ["STRONGROOM_READING"]) as f:
        return json.load(f)


try:
    from axe_core_python.selenium import Axe
except ImportError:  # the journeys still run without it; test-browser.sh installs it
    Axe = None


def check_accessibility(driver, name):
    """axe-core on the page now shown: fails on a serious or critical violation."""
    path = driver.current_url[len(URL):] if driver.current_url.startswith(URL) else None
    # Console pages only: /v1 answers (JSON, files) are not pages people read.
    if Axe is None or path is None or path.startswith("/v1/"):
        return
    results = Axe().run(driver)
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    if bad:
        lines = [f"{v['impact']} {v['id']}: {v['help']} at " + ", ".join(" ".join(n["target"]) for n in v["nodes"]) for v in bad]
        raise AssertionError(f"{name} ({path}), axe-core:\n" + "\n".join(lines))


def shot(driver, name):
    check_accessibility(driver, name)
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, name + ".png")
    # The whole page, not just the window: set the window as tall as the document first.
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    previous = driver.get_window_size()
    driver.set_window_size(width, max(previous["height"], min(height + 140, 4000)))
    driver.save_screenshot(path)
    driver.set_window_size(previous["width"], previous["height"])
    return path


def wait(driver, seconds=20):
    return WebDriverWait(driver, seconds)


def wait_for_path(driver, path, seconds=20):
    wait(driver, seconds).until(lambda d: d.current_url.split("?")[0] == URL + path)


def visible(driver, css, seconds=20):
    return wait(driver, seconds).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def click(driver, css):
    element = visible(driver, css)
    wait(driver).until(EC.element_to_be_clickable((By.CSS_SELECTOR, css)))
    element.click()


def type_into(driver, css, text):
    element = visible(driver, css)
    element.clear()
    element.send_keys(text)


def error_summary(driver, seconds=20):
    return visible(driver, "#error-summary", seconds).text


# TOTP, RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch.

def totp(secret_base32, step):
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


class Authenticator:
    """An authenticator app: gives the next code the service will accept. The service takes
    each step once and none at or before the last used, within one step of now; so a code is
    the step after the last one used, waiting for the clock when that is not yet in reach."""

    def __init__(self, secret):
        self.secret = secret
        self.last_step = None

    def next_code(self):
        while True:
            moment = time.time()
            now = int(moment) // 30
            # The step before now stops being accepted when this period ends: not in its last seconds.
            lowest = now - 1 if moment % 30 < 27 else now
            step = lowest if self.last_step is None else max(lowest, self.last_step + 1)
            if step <= now + 1:
                self.last_step = step
                return totp(self.secret, step)
            time.sleep(1)


def decode_qr(png_bytes):
    """The text of the QR code in a PNG, as a stock reader (zbarimg) sees it."""
    with tempfile.NamedTemporaryFile(suffix=".png") as f:
        f.write(png_bytes)
        f.flush()
        run = subprocess.run(["zbarimg", "--quiet", "--raw", f.name], capture_output=True, text=True)
    return run.stdout.strip()


def fetch_status(driver, path, method="GET"):
    """Status and problem type (if any) of a request made by the page, with its cookie."""
    return driver.execute_async_script(
        """
        const [path, method, done] = arguments;
        fetch(path, { method, credentials: "same-origin" }).then(async (r) => {
          const type = r.headers.get("Content-Type") || "";
          const body = type.includes("json") ? await r.json() : await r.text();
          done({ status: r.status, problem: body && body.type ? body.type : null, text: typeof body === "string" ? body : null });
        }, (e) => done({ status: 0, problem: String(e) }));
        """, path, method)


def fetch_json(driver, path):
    """Status and JSON body of a GET made by the page, with its cookie."""
    return driver.execute_async_script(
        """
        const [path, done] = arguments;
        fetch(path, { credentials: "same-origin" })
          .then(async (r) => done({ status: r.status, body: await r.json().catch(() => null) }), (e) => done({ status: 0, body: String(e) }));
        """, path)
