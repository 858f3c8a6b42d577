"""The README's picture of the dashboard, taken on purpose by a maintainer from the demo:

    make demo            # the demo data, reconciled and published
    make screenshot      # recon screenshot: docs/img/dashboard.png from the published marts

`recon dashboard` is started on a free port over the published marts (RECON_* settings, as
for any reader), Debian's headless Chromium (`make browser`) loads the page through
Selenium and /usr/bin/chromedriver, waits until the numbers, the charts and the drill-down
are drawn, and saves the picture. The browser test (tests/python/test_dashboard.py) uses the
same helpers and saves its pictures in a temporary folder: a test run never rewrites
docs/img.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1500, 2300)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)
METRICS = 8  # the headline numbers (recon/dashboard/app.py `headline`)
CHARTS = 3  # match rate, dollars, provider counts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dashboard(port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`recon dashboard` on 127.0.0.1:port (its output in `log`)."""
    environment = {**(env or os.environ), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "recon.cli", "dashboard", "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the dashboard exited: {log.read_text(encoding='utf-8')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the dashboard did not answer on {url} within {timeout} s")


def stop_dashboard(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """Debian's headless Chromium through Selenium (never a downloaded browser)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise RuntimeError(
            "Chromium is missing: `make browser` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def metrics(driver: Any) -> dict[str, str]:
    """The headline numbers as shown: {label: value}."""
    from selenium.webdriver.common.by import By

    shown = {}
    for metric in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        label = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text
        value = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text
        shown[label.strip()] = value.strip()
    return shown


def load_page(driver: Any, url: str, timeout: float = 90) -> None:
    """Opens the dashboard and waits until its numbers, charts and drill-down are drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, timeout).until(lambda page: len(metrics(page)) >= METRICS)
    WebDriverWait(driver, timeout).until(
        lambda page: (
            len(page.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')) >= CHARTS
            and page.find_elements(
                By.CSS_SELECTOR, '[data-testid="stTable"], [data-testid="stAlert"]'
            )
        )
    )
    time.sleep(2)  # let the charts finish drawing


def take_screenshot(path: Path, month: str | None = None) -> None:
    """docs/img/dashboard.png (or `path`) from the published marts; `month`, when given, must
    be the month the dashboard opens on."""
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory(prefix="recon-screenshot-") as folder:
        work = Path(folder)
        port = free_port()
        log = work / "dashboard.log"
        server = start_dashboard(port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, server, log)
            with chromium(work / "profile") as driver:
                load_page(driver, url)
                page = driver.find_element(By.TAG_NAME, "body").text
                if month and f"Billing month {month}" not in page:
                    raise RuntimeError(f"the dashboard does not open on {month}")
                picture = work / "dashboard.png"
                if not driver.save_screenshot(str(picture)):
                    raise RuntimeError("Chromium did not save the screenshot")
        finally:
            stop_dashboard(server)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(picture, path)
