"""The site in a real browser: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (nothing downloads a browser), against `fhirrug site --serve` started here on
127.0.0.1 through the installed console script.

- every page type renders without console errors, and a screenshot of each is taken and checked;
- on the fill page, the answers of at least five book routes (an alarm route and a Lijst 6
  'niet herkend' route among them, all taken from the shipped examples) are given by clicking,
  and the outcome shown equals what `fhirrug evaluate` says for the same answers.

FHIRRUG_SCREENSHOTS=docs/img also writes the two README screenshots there;
FHIRRUG_CHROMEDRIVER_LOG=FILE writes chromedriver's verbose log (every command, every DevTools
event) there, for a failure that needs more than its message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from pathlib import Path

import pytest

from site_helpers import ROOT, answer_value, routes

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 60  # for a page to load: generous, a loaded 2-core CI machine is slow, a fast one never waits
pytestmark = pytest.mark.slow
# What chromedriver says instead of "stale element reference" when it looks at an element while
# a navigation replaces its document (a chromedriver defect: SeleniumHQ/selenium#15401).
NODE_GONE = ("Node with given id does not belong to the document", "No node with given id found")


def _require_browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install -y chromium chromium-driver (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def server(fhirrug_exe):
    process = subprocess.Popen(
        [str(fhirrug_exe), "site", "--serve", "--port", "0", "--no-validate", "--package", str(ROOT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = None
        for line in process.stderr:
            match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            if match:
                url = match.group(1)
                break
        assert url, "the server did not say where it listens"
        # Keep reading what it writes, or a full pipe (64 kB) would stall the server.
        threading.Thread(target=process.stderr.read, daemon=True).start()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = os.environ.get("FHIRRUG_CHROMEDRIVER_LOG")
    service = Service(CHROMEDRIVER, service_args=["--verbose"], log_output=log) if log else Service(CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def _console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def _png_check(path: Path) -> tuple[int, int]:
    """Width and height of a PNG, after checking it is a real, non-blank picture."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        kind = data[offset + 4:offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    pixels = zlib.decompress(b"".join(chunks))
    assert len(set(pixels[: 200_000])) > 16, f"{path}: looks blank"
    assert len(data) > 20_000, f"{path}: only {len(data)} bytes"
    return width, height


PAGES = {
    "index": "index.html",
    "questionnaire": "Questionnaire-zelfdiagnose-lage-rugklachten.html",
    "outcome": "outcome-zelfdiagnose-antwoord-7.html",
    "outcomes": "outcomes.html",
    "diagram": "Questionnaire-zelfdiagnose-lage-rugklachten-diagram.html",
    "codesystem": "CodeSystem-zelfdiagnose-antwoord.html",
    "conceptmap": "ConceptMap-zelfdiagnose-antwoord-snomed.html",
    "valueset": "ValueSet-zelfdiagnose-lijst3.html",
    "response": "QuestionnaireResponse-zelfdiagnose-lijst3-3.html",
    "fill": "fill/zelfdiagnose-lage-rugklachten",
}


def _readme_copy(shot: Path, name: str) -> None:
    target = os.environ.get("FHIRRUG_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / name)


@pytest.mark.parametrize("kind", list(PAGES))
def test_page_renders_without_console_errors(server, browser, tmp_path, kind):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(server + PAGES[kind])
    assert browser.find_element("css selector", "h1").text.strip()
    assert browser.execute_script("return document.documentElement.lang") == "en"
    assert browser.find_elements("css selector", "[lang='nl-NL']") and browser.find_elements("css selector", "[lang='en']")
    assert _console_errors(browser) == []
    shot = tmp_path / f"{kind}.png"
    assert browser.save_screenshot(str(shot))
    width, height = _png_check(shot)
    assert width >= 1000 and height >= 600
    if kind == "questionnaire":
        browser.execute_script("document.getElementById('item-lijst1').scrollIntoView()")
        browser.save_screenshot(str(shot))
        _readme_copy(shot, "site-questionnaire.png")


def _chosen_routes():
    """At least five book routes from the shipped examples of the self-diagnosis: an alarm route,
    a Lijst 6 'niet herkend' route, and routes through Lijst 1, 3 and 5."""
    candidates = [r for r in routes() if r.questionnaire_id == "zelfdiagnose-lage-rugklachten" and r.expected]
    chosen = []

    def pick(test, why):
        found = next((r for r in candidates if test(r) and r not in chosen), None)
        assert found is not None, f"no shipped example for {why}"
        chosen.append(found)

    pick(lambda r: any("rugalarm-uitkomst" in o for o in r.expected), "an alarm route")
    pick(lambda r: "lijst6" in r.name and "niet-herkend" in r.name, "a Lijst 6 'niet herkend' route")
    pick(lambda r: "lijst1" in r.name and "verder" in r.name, "a Lijst 1 route that goes on")
    pick(lambda r: "lijst3" in r.name, "a Lijst 3 route")
    pick(lambda r: "lijst5" in r.name and "niet-herkend" in r.name, "a Lijst 5 'niet herkend' route")
    pick(lambda r: "lijst7" in r.name, "a Lijst 7 route")
    return chosen


ROUTES = _chosen_routes()


@pytest.fixture(scope="module")
def evaluated(fhirrug_exe):
    run = subprocess.run([str(fhirrug_exe), "evaluate", *(str(r.path) for r in ROUTES), "--format", "ndjson"], capture_output=True, text=True, timeout=120)
    records = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return {r["response"]: [f"{o['system']}|{o['code']}" for o in r["outcomes"]] for r in records}


def _gone(element) -> bool:
    """Whether `element`'s document has been replaced (the staleness test of Selenium's
    `staleness_of`, which takes chromedriver's misreport of it for an error)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if any(words in (exc.msg or "") for words in NODE_GONE):
            return True
        raise
    return False


def _wait_for_answer(browser, button, link_id: str) -> None:
    """Wait until the page the click led to is loaded and shows `link_id` answered.

    A form submission is a navigation Blink starts a moment after the click, and under load
    chromedriver's Element Click may return before it has started: the next command then runs
    while the old page is being replaced. So wait for the old page to be gone first (after that,
    every command waits for the new page to load), then for the new page to show the answer.
    """
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WAIT_S).until(lambda d: _gone(button), f"the page stayed after answering {link_id}")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.find_elements("css selector", f"[data-linkid='{link_id}'][data-answered='true']"),
        f"the page after the click does not show {link_id} answered",
    )


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_clicking_a_book_route_shows_what_fhirrug_evaluate_says(server, browser, evaluated, tmp_path, route):
    browser.get_log("browser")
    browser.get(server + f"fill/{route.questionnaire_id}")
    answers = route.answers()
    clicked = []
    for _ in range(len(answers) + 1):
        pending = [e for e in browser.find_elements("css selector", "[data-answered='false']") if e.get_attribute("data-linkid") in answers]
        if not pending:
            break
        item = pending[0]
        link_id = item.get_attribute("data-linkid")
        button = item.find_element("css selector", f"button[data-value='{answer_value(answers[link_id][0])}']")
        button.click()
        _wait_for_answer(browser, button, link_id)
        clicked.append(link_id)
    assert sorted(clicked) == sorted(answers), "every answer of the route was offered and clicked"
    shown = [e.get_attribute("data-result-outcome") for e in browser.find_elements("css selector", "[data-result-outcome]")]
    assert shown == evaluated[route.response["id"]]
    assert shown == route.expected
    assert _console_errors(browser) == []
    if any("rugalarm-uitkomst" in o for o in shown):
        browser.execute_script("document.getElementById('result').scrollIntoView({block: 'end'})")
        shot = tmp_path / "fill.png"
        browser.save_screenshot(str(shot))
        _png_check(shot)
        _readme_copy(shot, "site-fill.png")
