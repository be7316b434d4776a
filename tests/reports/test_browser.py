"""The HTML report in a real browser (headless Chromium via selenium).

Needs the Debian packages `chromium` and `chromium-driver` (.ci/run installs them); skipped
when either binary is missing. Checks: the page loads with no console errors and no network
request of any kind, the verdict is visible without scrolling, tables sort and filter, long
text expands, and a dataset made of script-injection attempts runs no script.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.runner import run_audit
from reports.html_report import write_html
from tests.reports.conftest import FAST_CHECKS, XSS_PAYLOADS, every_status_result, xss_records

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
         "--disable-dev-shm-usage", "--window-size=1280,1000")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def open_report(driver: Any, path: Path) -> list[dict[str, Any]]:
    """Load `path`; returns the network requests the page made (from the performance log)."""
    driver.get("about:blank")
    driver.get_log("performance")  # drop what came before
    driver.get_log("browser")
    url = path.resolve().as_uri()
    driver.get(url)
    driver.execute_script("return document.readyState")
    events = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    return [e["params"] for e in events if e["method"] == "Network.requestWillBeSent"]


def assert_offline_and_clean(driver: Any, path: Path, requests: list[dict[str, Any]]) -> None:
    url = path.resolve().as_uri()
    external = [r["request"]["url"] for r in requests
                if r["request"]["url"].split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp")]
    assert external == [], f"network requests: {external}"
    from_page = [r["request"]["url"] for r in requests if r.get("documentURL") == url]
    assert set(from_page) <= {url}, f"the page loaded more than itself: {from_page}"
    assert driver.execute_script('return performance.getEntriesByType("resource").length') == 0
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors


def test_report_loads_offline_with_visible_verdict(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    path = write_html(every_status_result(), tmp_path / "report.html")
    requests = open_report(browser, path)
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.is_displayed()
    assert verdict.text.startswith("NO-GO")
    assert "bad_fail failed: rate = 0.5 > 0.2" in verdict.text
    top = browser.execute_script(
        "return document.getElementById('verdict').getBoundingClientRect().bottom")
    assert top < browser.execute_script("return window.innerHeight")  # above the fold
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) == 4
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_not_blank(shot)
    assert_offline_and_clean(browser, path, requests)


def assert_not_blank(png: Path) -> None:
    from PIL import Image

    with Image.open(png) as image:
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colors is not None and len(colors) > 20


def test_tables_sort_and_filter_and_text_expands(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    path = write_html(every_status_result(), tmp_path / "report.html")
    requests = open_report(browser, path)
    table = browser.find_element(By.ID, "rows-check-bad_fail")

    def record_ids() -> list[int]:
        return [int(row.find_element(By.CSS_SELECTOR, "td").text)
                for row in table.find_elements(By.CSS_SELECTOR, "tbody tr") if row.is_displayed()]

    header = table.find_element(By.CSS_SELECTOR, "thead th button")
    header.click()
    ascending = record_ids()
    assert ascending == sorted(ascending) and len(ascending) == 11
    header.click()
    assert record_ids() == sorted(ascending, reverse=True)

    search = browser.find_element(By.CSS_SELECTOR, 'input[data-filter="rows-check-bad_fail"]')
    search.send_keys("info_code")
    assert record_ids() == [3]
    counter = browser.find_element(By.CSS_SELECTOR, '[data-count-for="rows-check-bad_fail"]')
    assert counter.text == "1 of 11 rows"
    search.clear()
    search.send_keys(" ")  # whitespace only: everything again
    assert len(record_ids()) == 11

    status_header = browser.find_elements(By.CSS_SELECTOR, "#checks-table thead th button")[2]
    status_header.click()  # by status rank: failed first
    first = browser.find_element(By.CSS_SELECTOR, "#checks-table tbody tr td").text
    assert first == "bad_fail"

    expand = browser.find_element(By.CSS_SELECTOR, "#rows-check-some_warn details.expand")
    full = expand.find_element(By.CSS_SELECTOR, ".full")
    assert not full.is_displayed()
    expand.find_element(By.CSS_SELECTOR, "summary").click()
    assert full.is_displayed() and full.text.endswith("x" * 20)
    assert_offline_and_clean(browser, path, requests)


def test_injection_dataset_runs_no_script(browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    audit = run_audit(xss_records(), checks=FAST_CHECKS)
    for name, result in (("audit", audit), ("crafted", every_status_result(" ".join(XSS_PAYLOADS)))):
        path = write_html(result, tmp_path / f"{name}.html")
        requests = open_report(browser, path)
        # click some record text open, then open every collapsible: nothing may run
        for summary in browser.find_elements(By.CSS_SELECTOR, "table.records summary")[:5]:
            summary.click()
        browser.execute_script(
            "document.querySelectorAll('details').forEach(function (d) { d.open = true; });")
        assert browser.execute_script("return typeof window.__xss") == "undefined"
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "<script>window.__xss=1</script>" in body  # shown as text
        assert browser.execute_script("return document.scripts.length") == 1
        assert browser.execute_script(
            "return document.querySelectorAll('iframe, img, object, embed').length") == 0
        assert_offline_and_clean(browser, path, requests)
