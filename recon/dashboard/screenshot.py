"""The README's pictures of the dashboard, taken on purpose by a maintainer from the demo:

    make demo            # the demo data, reconciled and published
    make screenshot      # recon screenshot: docs/img/dashboard.png and docs/img/deciding.png

The second picture is a reviewer deciding: a local OpenID Connect provider
(oidc-provider-mock, a development dependency) signs in a demo reviewer named in a temporary
roles file, who opens the largest overbilling, reads its evidence and proposes a credit,
recorded in a temporary decision store (the demo's own store is never written).

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


# --------------------------------------------------------------------------- a person's hands
def wait(driver: Any, condition: Any, timeout: float = 60) -> Any:
    """`condition(driver)` once truthy; an element replaced by a rerun or a page being
    loaded is looked for again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (StaleElementReferenceException,)
    return WebDriverWait(driver, timeout, ignored_exceptions=ignored).until(condition)


def page_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def button(driver: Any, label: str) -> Any:
    """The button labelled `label`, or None."""
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.XPATH, f"//button[normalize-space()='{label}']")
    return found[0] if found else None


def click(driver: Any, label: str) -> None:
    wait(driver, lambda page: button(page, label)).click()


def _selectbox(driver: Any, label: str) -> Any:
    from selenium.webdriver.common.by import By

    return wait(
        driver,
        lambda page: page.find_element(
            By.XPATH, f"//div[@data-testid='stSelectbox'][.//label[normalize-space()='{label}']]"
        ),
    )


def settle(driver: Any) -> None:
    """Waits for the rerun a widget started to finish (Streamlit's running icon gone)."""
    from selenium.webdriver.common.by import By

    time.sleep(0.5)
    running = '[data-testid="stStatusWidgetRunningIcon"]'
    wait(driver, lambda page: not page.find_elements(By.CSS_SELECTOR, running))


def choose(driver: Any, label: str, option: str) -> None:
    """Picks the first option containing `option` in the selectbox labelled `label`, and
    waits for the page's rerun."""
    from selenium.webdriver.common.by import By

    _selectbox(driver, label).find_element(By.CSS_SELECTOR, "input").click()
    wait(
        driver,
        lambda page: page.find_element(
            By.XPATH, f"//*[@role='option'][contains(normalize-space(), '{option}')]"
        ),
    ).click()
    settle(driver)


def options(driver: Any, label: str) -> list[str]:
    """The options of the selectbox labelled `label` (opened, read, closed)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = _selectbox(driver, label).find_element(By.CSS_SELECTOR, "input")
    field.click()
    shown = wait(driver, lambda page: page.find_elements(By.XPATH, "//*[@role='option']"))
    texts = [option.text for option in shown]
    field.send_keys(Keys.ESCAPE)
    return texts


def sign_in(driver: Any, url: str, person: str) -> None:
    """The dashboard's Sign in, `person` picked on the identity provider's page (the
    oidc-provider-mock's), back on the dashboard signed in."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    click(driver, "Sign in")
    wait(
        driver, lambda page: page.find_element(By.CSS_SELECTOR, f'button[value="{person}"]')
    ).click()
    wait(driver, lambda page: f"Signed in as {person}" in page_text(page))


def sign_out(driver: Any) -> None:
    """The dashboard's Sign out, then the identity provider's end of session."""
    click(driver, "Sign out")
    click(driver, "End session")
    wait(driver, lambda page: button(page, "Sign in") is not None)


def decide(driver: Any, decision: str, note: str) -> str:
    """Fills the decision form (the amount left at the finding's), records it, and returns
    the page's answer ("Recorded: ..." or "Not recorded: ...")."""
    from selenium.webdriver.common.by import By

    choose(driver, "Decision", decision)
    driver.find_element(By.CSS_SELECTOR, 'textarea[aria-label="Note"]').send_keys(note)
    click(driver, "Record the decision")
    return wait(
        driver,
        lambda page: next(
            (
                alert.text
                for alert in page.find_elements(By.CSS_SELECTOR, '[data-testid="stAlert"]')
                if alert.text.startswith(("Recorded:", "Not recorded:"))
            ),
            None,
        ),
    )


def sign_in_env(metadata_url: str, dashboard_url: str, roles: Path) -> dict[str, str]:
    """The settings of a dashboard that signs people in through `metadata_url`."""
    return {
        "RECON_OIDC_METADATA_URL": metadata_url,
        "RECON_OIDC_CLIENT_ID": "recon-dashboard",
        "RECON_OIDC_CLIENT_SECRET": "local-provider-only",
        "RECON_DASHBOARD_URL": dashboard_url,
        "RECON_ROLES_FILE": str(roles),
    }


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


DEMO_REVIEWER = "reviewer@example.com"


def _overbilling_with_providers() -> str:
    """The drill-down label of the latest month's largest overbilling with billable providers
    (its evidence has every kind of row): a credit is its remedy."""
    from recon.marts import MartReader

    rows = (
        MartReader.from_env()
        .query(
            """
        select findings.customer_name, findings.product_code
        from {schema}.fct_billing_discrepancies as findings
        where findings.discrepancy_type = 'OVERBILLED'
            and findings.billing_month = (
                select max(billing_month) from {schema}.fct_billing_discrepancies
            )
            and exists (
                select 1 from {schema}.rpt_finding_evidence as evidence
                where evidence.discrepancy_id = findings.discrepancy_id
                    and evidence.evidence_kind = 'provider' and evidence.is_counted
            )
        order by findings.amount_delta desc, findings.customer_key, findings.product_code
        limit 1"""
        )
        .rows
    )
    if not rows:
        raise RuntimeError("the latest month has no overbilling with billable providers")
    customer, product = rows[0]
    return f"{customer} / {product}: "


def take_decision_screenshot(path: Path, month: str | None = None) -> None:
    """docs/img/deciding.png: a demo reviewer, signed in through a local OpenID Connect
    provider, proposes a credit on the largest overbilling after reading its evidence; the
    decision goes to a temporary store."""
    from selenium.webdriver.common.by import By

    try:
        from oidc_provider_mock import User, run_server_in_thread
    except ImportError as error:
        raise RuntimeError("oidc-provider-mock is missing: `make install` installs it") from error

    finding = _overbilling_with_providers()
    claims = {"email": DEMO_REVIEWER, "name": "Demo Reviewer", "recon_role": "reviewer"}
    reviewer = User(sub=DEMO_REVIEWER, claims=claims)
    with (
        tempfile.TemporaryDirectory(prefix="recon-screenshot-") as folder,
        run_server_in_thread(port=0, user_claims=[reviewer]) as provider,
    ):
        work = Path(folder)
        roles = work / "roles.yml"  # none: the role is the ID token's claim
        port = free_port()
        url = f"http://localhost:{port}"
        metadata = f"http://localhost:{provider.server_port}/.well-known/openid-configuration"
        env = {
            **os.environ,
            **sign_in_env(metadata, url, roles),
            "RECON_ROLE_CLAIM": "recon_role",
            "RECON_DECISIONS_DIR": str(work / "decisions"),  # never the demo's own store
        }
        log = work / "dashboard.log"
        server = start_dashboard(port, log, env)
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}", server, log)
            with chromium(work / "profile") as driver:
                sign_in(driver, url, DEMO_REVIEWER)
                wait(driver, lambda page: "Download the evidence (CSV)" in page_text(page))
                if month and f"Billing month {month}" not in page_text(driver):
                    raise RuntimeError(f"the dashboard does not open on {month}")
                choose(driver, "Finding", finding)
                wait(driver, lambda page: "Download the evidence (CSV)" in page_text(page))
                answer = decide(driver, "Propose a credit", "seats without a live provider")
                if not answer.startswith("Recorded:"):
                    raise RuntimeError(f"the demo proposal was not recorded: {answer}")
                # the finding's decisions in the middle: its evidence above, the form below
                middle = driver.find_element(
                    By.XPATH, "//p[starts-with(normalize-space(), 'Decisions recorded')]"
                )
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", middle)
                time.sleep(2)
                picture = work / "deciding.png"
                if not driver.save_screenshot(str(picture)):
                    raise RuntimeError("Chromium did not save the screenshot")
        finally:
            stop_dashboard(server)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(picture, path)
