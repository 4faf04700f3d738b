"""Drives the web console in headless Chromium (selenium with Debian's chromedriver) against two
real servers over the same lake, one open and one with a token, and checks what a person would:
rows of an example, a drawn chart, a device's twin, the live view gaining rows, untrusted values
shown as text, the token prompt, and no JavaScript errors. Screenshots go to --out.

Run by crates/http/tests/service/console.rs; by hand:
    py="$(scripts/browser-env.sh)"; "$py" crates/http/tests/python/console_browser.py --help
"""

import argparse
import os
import shutil
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

HOSTILE = "<img src=x onerror=alert(1)>"
WAIT_S = 20
# The first series colours of chart.js's palette: a line drawn in one of them is a series.
SERIES_RGB = [[0x3B, 0x82, 0xF6], [0xF9, 0x73, 0x16], [0x10, 0xB9, 0x81], [0xE1, 0x1D, 0x48], [0x8B, 0x5C, 0xF6]]


def browser(downloads=None):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,900", "--force-device-scale-factor=1", "--lang=en-US",
                "--no-first-run", "--disable-extensions", "--disable-background-networking"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if downloads:
        options.add_experimental_option("prefs", {
            "download.default_directory": downloads, "download.prompt_for_download": False})
    # The system's chromedriver, given by path, so selenium never tries to download one.
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


class Console:
    def __init__(self, driver, out, downloads=None):
        self.d = driver
        self.out = out
        self.downloads = downloads
        self.logs = []

    def wait(self, what, condition, timeout=WAIT_S):
        """Polls `condition(driver)` until it is truthy; fails with `what` at the deadline."""
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: condition(d))
        except Exception as e:
            self.shot("failure-" + what.replace(" ", "-")[:40])
            self.drain_logs()
            raise AssertionError(f"timed out waiting for: {what}; browser log: {self.logs}") from e

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null", css)

    def count(self, css):
        return self.js("return document.querySelectorAll(arguments[0]).length", css)

    def click(self, css):
        self.wait(f"{css} clickable", lambda d: self.js(
            "const e = document.querySelector(arguments[0]); return !!e && !e.disabled && e.offsetParent !== null", css))
        self.d.find_element(By.CSS_SELECTOR, css).click()

    def shot(self, name):
        path = os.path.join(self.out, name + ".png")
        self.d.save_screenshot(path)
        return path

    def drain_logs(self):
        self.logs.extend(self.d.get_log("browser"))

    def run_sql(self, sql):
        """Types SQL into the editor and runs it with Ctrl-Enter; waits for the result."""
        editor = self.d.find_element(By.ID, "editor")
        self.js("arguments[0].value = arguments[1]; arguments[0].setSelectionRange(0, 0)", editor, sql)
        editor.send_keys(Keys.CONTROL, Keys.ENTER)
        self.wait(f"result of {sql[:40]}", lambda d: self.js(
            "return document.getElementById('cancel').disabled && "
            "['ok', 'bad'].includes(document.getElementById('status').dataset.tone)"))

    def canvas_ink(self, css):
        """Pixels in a series colour on the canvas under `css` (grid and axes are grey, so only
        drawn lines and points count)."""
        return self.js("""
            const c = document.querySelector(arguments[0] + ' canvas');
            if (!c || !c.width) return 0;
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const palette = arguments[1];
            let n = 0;
            for (let i = 0; i < px.length; i += 4) {
              if (px[i + 3] < 200) continue;
              if (palette.some(([r, g, b]) => Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 40)) n++;
            }
            return n;""", css, SERIES_RGB)

    def no_markup_from_data(self):
        assert self.count("img") == 0, "an <img> element was created from data"
        try:
            alert = self.d.switch_to.alert
            raise AssertionError(f"an alert was opened: {alert.text}")
        except NoAlertPresentException:
            pass


def open_console(c, base):
    c.d.get(base + "/")
    c.wait("tables listed", lambda d: c.count("#tables details") >= 10)
    c.wait("examples listed", lambda d: c.count("#examples li") >= 9)


def check_query_and_chart(c):
    c.click('#examples li[data-example="device_twin"]')
    c.wait("example rows", lambda d: c.count("#grid tbody tr") >= 3)
    assert c.js("return document.getElementById('status').dataset.tone") == "ok", c.text("#status")
    assert "room_temp" in c.text("#grid"), c.text("#grid")
    assert "rows" in c.text("#status"), c.text("#status")
    c.shot("query")

    # Downloads run the query again in that format and save the file.
    for fmt, name, magic in [("csv", "result.csv", b"property_name,"), ("parquet", "result.parquet", b"PAR1")]:
        path = os.path.join(c.downloads, name)
        c.click(f'button.download[data-format="{fmt}"]')
        c.wait(f"{name} saved", lambda d: os.path.exists(path) and os.path.getsize(path) > 0)
        with open(path, "rb") as f:
            assert f.read(len(magic)) == magic, name

    # A paged result: more than one page of rows, and the pager moves through them.
    c.run_sql("SELECT dsn, created_at, value_num FROM datapoint ORDER BY created_at, dsn")
    c.wait("pager", lambda d: c.count("#page-next") == 1)
    c.click("#page-next")
    c.wait("second page", lambda d: (c.text("#page-info") or "").startswith("101"))

    c.run_sql("SELECT created_at, dsn, value_num FROM datapoint WHERE property_name = 'temp_c' ORDER BY created_at")
    c.click("#show-chart")
    c.wait("chart series", lambda d: c.count("#chart .u-legend .u-series") >= 4)
    c.wait("chart drawn", lambda d: c.canvas_ink("#chart") > 500)
    legend = c.js("return [...document.querySelectorAll('#chart .u-legend .u-series .u-label')].map(e => e.textContent)")
    assert "AC000W000000001" in legend and "AC000W000000002" in legend, legend
    # The hover readout: the legend shows the values under the cursor.
    over = c.d.find_element(By.CSS_SELECTOR, "#chart .u-over")
    ActionChains(c.d).move_to_element(over).perform()
    c.wait("hover readout", lambda d: c.js(
        "return [...document.querySelectorAll('#chart .u-legend .u-value')].some(e => /\\d/.test(e.textContent))"))
    c.shot("chart")
    c.click("#show-grid")

    # A running query can be cancelled: a scan of 10^11 generated rows (the filter keeps the
    # count from being answered from statistics). A generated scan yields between batches, so
    # the server notices the cancel too; a CPU-bound join over in-memory rows would not, and
    # would hold the query threads after the page gave up.
    editor = c.d.find_element(By.ID, "editor")
    c.js("arguments[0].value = arguments[1]", editor,
         "SELECT count(*) FROM range(100000000000) WHERE value % 7 = 8")
    editor.send_keys(Keys.CONTROL, Keys.ENTER)
    c.click("#cancel")
    c.wait("cancelled", lambda d: (c.text("#status") or "").startswith("Cancelled"))
    assert c.js("return document.getElementById('cancel').disabled")

    # A client error shows the server's own message, not a broken page.
    c.run_sql("SELECT no_such_column FROM datapoint")
    c.wait("error shown", lambda d: c.js("return !document.getElementById('error').hidden"))
    assert "no_such_column" in c.text("#error"), c.text("#error")

    # Untrusted values render as text.
    c.run_sql("SELECT dsn, display_name, value_json FROM datapoint WHERE dsn = 'AC000W000000009'")
    c.wait("hostile rows", lambda d: c.count("#grid tbody tr") >= 1)
    cells = c.js("return [...document.querySelectorAll('#grid td')].map(e => e.textContent)")
    assert any(HOSTILE in cell for cell in cells), cells
    c.no_markup_from_data()


def check_device(c):
    c.click("#tab-device")
    c.wait("device list", lambda d: c.count("#devices li[data-dsn]") >= 4)
    c.click('#devices li[data-dsn="AC000W000000003"]')
    c.wait("twin", lambda d: c.count("#device-twin tbody tr") >= 3)
    assert "room_temp" in c.text("#device-twin"), c.text("#device-twin")
    assert "Offline" in c.text("#card-status"), c.text("#card-status")
    assert "52.52" in c.text("#card-location"), c.text("#card-location")

    c.click('#devices li[data-dsn="AC000W000000001"]')
    c.wait("freezer twin", lambda d: "temp_c" in (c.text("#device-twin") or ""))
    c.wait("property chart", lambda d: c.canvas_ink("#device-chart") > 300)
    c.shot("device")

    c.click('#devices li[data-dsn="AC000W000000009"]')
    c.wait("hostile twin", lambda d: HOSTILE in (c.text("#device-twin") or ""))
    c.no_markup_from_data()


def check_live(c, live_signal):
    c.click("#tab-live")
    c.wait("live tiles", lambda d: c.count('.tile[data-table="datapoint"] .tile-value') == 1)
    before = int(c.js("return document.querySelector('.tile[data-table=\"datapoint\"] .tile-value').dataset.count"))
    c.wait("newest events", lambda d: c.count("#live-events tbody tr") >= 5)
    assert HOSTILE in c.text("#live-events"), c.text("#live-events")
    c.no_markup_from_data()

    # The test then commits a file to the lake (a Delta commit, as the batch writer makes).
    with open(live_signal, "w") as signal:
        signal.write("go\n")
    c.wait("live count grows", lambda d: int(c.js(
        "return document.querySelector('.tile[data-table=\"datapoint\"] .tile-value').dataset.count")) > before)
    c.wait("live rows shown", lambda d: "AC000W000000077" in (c.text("#live-events") or ""))
    c.wait("live rate drawn", lambda d: c.canvas_ink("#live-rate") > 100)
    assert "1" == c.text("#tile-quarantine .tile-value"), c.text("#tile-quarantine")
    c.shot("live")

    c.click("#tile-quarantine")
    c.wait("quarantine rows", lambda d: "truncated_json" in (c.text("#grid") or ""))


def check_token(c, base, token):
    c.d.get(base + "/")
    c.wait("token prompt", lambda d: c.js("return document.getElementById('login').open"))
    c.shot("token")
    c.click("#login-submit")
    c.wait("empty token refused", lambda d: "Enter the token" in c.text("#login-error"))
    box = c.d.find_element(By.ID, "login-token")
    box.send_keys("wrong-token")
    c.click("#login-submit")
    c.wait("wrong token refused", lambda d: "refused" in c.text("#login-error"))
    assert c.count("#tables details") == 0, "data shown without a valid token"
    box.clear()
    box.send_keys(token)
    c.click("#login-submit")
    c.wait("prompt closed", lambda d: not c.js("return document.getElementById('login').open"))
    c.wait("tables with token", lambda d: c.count("#tables details") >= 10)
    c.click('#examples li[data-example="last_known_location"]')
    c.wait("rows with token", lambda d: c.count("#grid tbody tr") >= 2)
    assert c.js("return sessionStorage.getItem('dss-lake-token')") == token
    assert c.js("return localStorage.getItem('dss-lake-token')") is None


def check_logs(c):
    """No JavaScript error at all; network errors only for the answers this test provoked."""
    c.drain_logs()
    severe = [e for e in c.logs if e["level"] == "SEVERE"]
    unexpected = [e for e in severe if e.get("source") != "network"
                  or not any(f"status of {s}" in e["message"] for s in (400, 401))]
    assert not unexpected, f"browser errors: {unexpected}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True, help="the open server, http://127.0.0.1:PORT")
    p.add_argument("--token-base", required=True, help="the server that requires --token")
    p.add_argument("--token", required=True)
    p.add_argument("--live-signal", required=True,
                   help="a file to create when the test should commit new rows to the lake")
    p.add_argument("--out", required=True, help="folder for the screenshots")
    p.add_argument("--docs", help="also copy the four view screenshots here")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.out):
        if name.endswith(".png"):  # a failure screenshot of an earlier run would mislead
            os.remove(os.path.join(args.out, name))

    started = time.monotonic()
    downloads = os.path.join(args.out, "downloads")
    shutil.rmtree(downloads, ignore_errors=True)
    os.makedirs(downloads)
    driver = browser(downloads)
    c = Console(driver, args.out, downloads)
    try:
        open_console(c, args.base)
        check_query_and_chart(c)
        check_device(c)
        check_live(c, args.live_signal)
        c.click("#theme")
        c.click("#tab-query")
        c.shot("query-dark")
        check_logs(c)
        check_token(c, args.token_base, args.token)
        check_logs(c)
    finally:
        driver.quit()
    if args.docs:
        os.makedirs(args.docs, exist_ok=True)
        for name in ["query", "chart", "device", "live"]:
            shutil.copy(os.path.join(args.out, name + ".png"), os.path.join(args.docs, name + ".png"))
    print(f"console ok in {time.monotonic() - started:.1f} s; screenshots in {args.out}")


if __name__ == "__main__":
    sys.exit(main())
