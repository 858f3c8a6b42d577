"""The dashboard end to end in a real headless browser: `recon dashboard`'s Streamlit server
on a free port over a DuckDB file built by the test (conftest.decided_history, opened
read-only), Debian's Chromium driven by Selenium through /usr/bin/chromedriver. The numbers
the page shows are compared with the marts; the screenshot goes to docs/img/dashboard.png
(the README shows it).

Chromium and chromedriver come from Debian (`make browser`, part of `make test`); no
browser is downloaded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MONTH_TWO
from dbt_helpers import query

from recon.cli import dashboard_command

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
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
    "--window-size=1500,2500",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the dashboard exited: {server.stdout.read()}"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the dashboard did not answer on {url} within {timeout} s")


@pytest.fixture(scope="module")
def dashboard_url(decided_history) -> Iterator[str]:
    """The dashboard server, started as `recon dashboard` starts it, on the built database."""
    port = _free_port()
    env = {
        **os.environ,
        "RECON_TARGET": "duckdb",
        "RECON_DUCKDB_PATH": str(decided_history.duckdb_path),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    server = subprocess.Popen(
        dashboard_command(port, "127.0.0.1"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "Chromium is missing: `make browser` installs Debian's chromium and chromium-driver"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _metrics(driver) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    shown = {}
    for metric in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        label = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text
        value = metric.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text
        shown[label.strip()] = value.strip()
    return shown


def _dollars(amount) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def test_dashboard_shows_the_marts_numbers_and_drill_down(decided_history, dashboard_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    started = time.monotonic()
    browser.get(dashboard_url)
    WebDriverWait(browser, 90).until(lambda driver: len(_metrics(driver)) >= 8)
    # the charts (Vega-Lite) and the drill-down table render after the numbers
    WebDriverWait(browser, 60).until(
        lambda driver: (
            len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')) >= 3
            and driver.find_elements(By.CSS_SELECTOR, '[data-testid="stTable"]')
        )
    )

    # the latest month is shown first; its numbers, straight from the marts
    (summary,) = query(
        decided_history.duckdb_path,
        f"""select billing_match_rate, overbilled_amount, underbilled_amount,
                   open_amount_at_risk, account_findings, open_findings, disputed_findings,
                   resolved_findings, mean_days_to_resolve, data_quality_issues
            from recon.rpt_monthly_summary where billing_month = '{MONTH_TWO}-01'""",
    )
    (rate, over, under, at_risk, findings, open_, disputed, resolved, mean_days, issues) = summary
    shown = _metrics(browser)
    assert shown["Billing match rate"] == f"{float(rate):.1%}"
    assert shown["Overbilled"] == _dollars(over)
    assert shown["Underbilled"] == _dollars(under)
    assert shown["Open dollars at risk"] == _dollars(at_risk)
    assert shown["Account findings"] == str(findings)
    assert shown["Open / disputed / resolved"] == f"{open_} / {disputed} / {resolved}"
    assert shown["Mean time to resolve"] == (
        "n/a" if mean_days is None else f"{float(mean_days):.1f} days"
    )
    assert shown["Data-quality issues"] == str(issues)
    # the month has something to show: findings, and a decision (conftest: A6 accepted)
    assert under > 0 and findings > 0 and resolved == 1 and mean_days is not None

    # drill-down: the largest product finding first; the providers behind its count
    (top,) = query(
        decided_history.duckdb_path,
        f"""select customer_key, product_code, billable_providers
            from recon.fct_billing_discrepancies
            where billing_month = '{MONTH_TWO}-01' and product_code is not null
            order by abs(amount_delta) desc, customer_key, product_code, discrepancy_type
            limit 1""",
    )
    npis = [
        row[0]
        for row in query(
            decided_history.duckdb_path,
            f"""select npi from recon.fct_billable_providers_monthly
                where billing_month = '{MONTH_TWO}-01'
                and customer_key = '{top[0]}' and product_code = '{top[1]}'""",
        )
    ]
    assert len(npis) == top[2] > 0
    table_text = browser.find_element(By.CSS_SELECTOR, '[data-testid="stTable"]').text
    assert all(npi in table_text for npi in npis), table_text
    assert f"{top[2]} billable providers" in browser.find_element(By.TAG_NAME, "body").text

    time.sleep(2)  # let the charts finish drawing before the picture
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 20_000
    assert time.monotonic() - started < 90
