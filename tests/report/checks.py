"""What every report image and the report page must satisfy, as a user would check them."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[2]
ARTEFACTS = REPO / ".test-work"


def assert_image(path: str | Path, min_std: float = 8.0) -> tuple[int, int]:
    """The file opens as an image, and is not blank: its pixels vary (grey-level std)."""
    with Image.open(path) as image:
        image.load()
        grey = np.asarray(image.convert("L"), dtype="float64")
    assert grey.size > 0, path
    assert grey.std() >= min_std, f"{path} looks blank (pixel std {grey.std():.2f})"
    return image.size


def report_json(html: str, name: str) -> Any:
    """The ``<script id="<name>">var <name> = {...};</script>`` data of Snakemake's report page."""
    match = re.search(rf'<script id="{name}">\s*var {name} = (.*?);\s*</script>', html, re.S)
    assert match, f"report has no '{name}' block"
    return json.loads(match.group(1))


def need_chromium() -> None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = "Debian's chromium and chromium-driver are needed (scripts/test.sh installs them)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def render_in_chromium(
    page: Path, screenshot: Path, wait_for: str, timeout: float = 60
) -> tuple[list[dict], str]:
    """Open ``page`` in headless Chromium; (console errors, page text) once ``wait_for`` shows.

    A fresh profile, no network services, no GPU; the screenshot is written to ``screenshot``.
    """
    need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    profile = tempfile.mkdtemp(prefix="insarflow-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(timeout)
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, timeout).until(
            lambda d: wait_for in d.find_element(By.TAG_NAME, "body").text
        )
        text = driver.find_element(By.TAG_NAME, "body").text
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(screenshot))
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return errors, text
