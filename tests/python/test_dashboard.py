"""The dashboard end to end: `recon dashboard` on a free port over a DuckDB file built by the
test (conftest.decided_history, its published catalog opened read-only), Debian's Chromium
driven by Selenium through /usr/bin/chromedriver (recon/dashboard/screenshot.py). The numbers
the page shows are compared with the marts, its findings with the workbook's Findings sheet
(Streamlit's AppTest); stopping `recon dashboard` stops its Streamlit child. Pictures go to a
temporary folder: the README's picture is taken on purpose from the demo (`make screenshot`).

Chromium and chromedriver come from Debian (`make browser`, part of `make test`); no
browser is downloaded.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from conftest import MONTH_TWO
from dbt_helpers import query

from recon import vocabulary
from recon.dashboard import screenshot
from recon.dashboard.decide import READ_ONLY_LINE
from recon.marts import FINDINGS_QUERY

APP = Path(__file__).resolve().parents[2] / "recon" / "dashboard" / "app.py"


def _env(duckdb_path: Path) -> dict[str, str]:
    return {**os.environ, "RECON_TARGET": "duckdb", "RECON_DUCKDB_PATH": str(duckdb_path)}


@pytest.fixture(scope="module")
def dashboard_url(decided_history, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`recon dashboard` on a free port over the built database (its published catalog)."""
    port = screenshot.free_port()
    log = tmp_path_factory.mktemp("dashboard") / "dashboard.log"
    server = screenshot.start_dashboard(port, log, _env(decided_history.duckdb_path))
    url = f"http://127.0.0.1:{port}"
    try:
        screenshot.wait_until_healthy(url, server, log)
        yield url
    finally:
        screenshot.stop_dashboard(server)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with screenshot.chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def _dollars(amount) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _findings(duckdb_path: Path, month: str) -> list[tuple]:
    """The month's findings in the dashboard's and the workbook's order (recon/marts.py)."""
    sql = FINDINGS_QUERY.format(schema="recon").replace("?", f"'{month}-01'")
    columns = ("customer_name", "product_code", "status_label", "amount_delta", "reason")
    picked = ", ".join(columns)
    return query(duckdb_path, f"select {picked}, billable_providers, customer_key from ({sql})")


def test_dashboard_shows_the_marts_numbers_and_drill_down(
    decided_history, dashboard_url, browser, tmp_path: Path
):
    from selenium.webdriver.common.by import By

    started = time.monotonic()
    screenshot.load_page(browser, dashboard_url)

    # the latest month is shown first; its numbers, straight from the marts
    (summary,) = query(
        decided_history.duckdb_path,
        f"""select billing_match_rate, overbilled_amount, underbilled_amount,
                   open_amount_at_risk, account_findings, open_findings, disputed_findings,
                   resolved_findings, mean_days_to_resolve, data_quality_issues
            from recon.rpt_monthly_summary where billing_month = '{MONTH_TWO}-01'""",
    )
    (rate, over, under, at_risk, findings, open_, disputed, resolved, mean_days, issues) = summary
    shown = screenshot.metrics(browser)
    header = vocabulary.header
    assert shown[header("billing_match_rate")] == f"{float(rate):.1%}"
    assert shown[header("overbilled_amount")] == _dollars(over)
    assert shown[header("underbilled_amount")] == _dollars(under)
    assert shown[header("open_amount_at_risk")] == _dollars(at_risk)
    assert shown[header("account_findings")] == str(findings)
    assert shown["Open / disputed / resolved"] == f"{open_} / {disputed} / {resolved}"
    assert shown[header("mean_days_to_resolve")] == (
        "n/a" if mean_days is None else f"{float(mean_days):.1f} days"
    )
    assert shown[header("data_quality_issues")] == str(issues)
    # the month has something to show: findings, and a decision (conftest: A6 accepted)
    assert under > 0 and findings > 0 and resolved == 1 and mean_days is not None
    body = browser.find_element(By.TAG_NAME, "body").text
    assert f"Billing month {MONTH_TWO}" in body
    # no identity provider configured: read-only, said in one line; evidence, but no form
    assert READ_ONLY_LINE in body and "Download the evidence (CSV)" in body
    assert screenshot.button(browser, "Record the decision") is None

    # drill-down: it opens on the largest finding; the providers behind its count
    _, product, label, _, reason, billable, customer = _findings(
        decided_history.duckdb_path, MONTH_TWO
    )[0]
    assert f"{label}: {reason}" in body  # the default selection (AppTest checks it below)
    npis = [
        row[0]
        for row in query(
            decided_history.duckdb_path,
            f"""select npi from recon.fct_billable_providers_monthly
                where billing_month = '{MONTH_TWO}-01'
                and customer_key = '{customer}' and product_code = '{product}'""",
        )
    ]
    assert len(npis) == billable > 0
    table_text = browser.find_element(By.CSS_SELECTOR, '[data-testid="stTable"]').text
    assert all(npi in table_text for npi in npis), table_text
    assert f"{billable} billable providers" in body

    picture = tmp_path / "dashboard.png"  # never docs/img: `make screenshot` takes that one
    assert browser.save_screenshot(str(picture))
    assert picture.stat().st_size > 20_000
    assert time.monotonic() - started < 90


def test_the_dashboard_and_the_workbook_use_the_same_words(
    decided_history, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The page's findings table (Streamlit's AppTest, no browser) and the workbook's Findings
    sheet of the same month: the same rows, in the same order, with the same words; an
    account-level finding is about "All products", with no dollar impact of its own."""
    from dataclasses import replace

    from streamlit.testing.v1 import AppTest

    from recon.export import export_month

    for name, value in _env(decided_history.duckdb_path).items():
        monkeypatch.setenv(name, value)
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception, app.exception
    assert app.sidebar.selectbox[0].value == MONTH_TWO  # the latest month with data
    table = app.dataframe[0].value
    on_page = [
        (row.customer_name, row.product_code, row.status_label, row.amount_delta)
        for row in table.itertuples()
    ]
    # the drill-down starts on the first (largest) finding
    drill = next(box for box in app.selectbox if box.label == "Finding")
    assert drill.value == table.iloc[0]["discrepancy_id"]

    settings = replace(decided_history.settings, report_dir=tmp_path / "reports")
    report = export_month(settings, MONTH_TWO)
    sheet = openpyxl.load_workbook(report.xlsx_path)["Findings"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    columns = [header.index(vocabulary.header(name)) for name in
               ("customer_name", "product_code", "status_label", "amount_delta")]  # fmt: skip
    in_workbook = [tuple(row[column] for column in columns) for row in rows]
    assert len(on_page) == len(in_workbook) >= 3
    for page_row, workbook_row in zip(on_page, in_workbook, strict=True):
        assert page_row[:3] == workbook_row[:3]
        assert (page_row[3] != page_row[3] and workbook_row[3] is None) or (
            page_row[3] == pytest.approx(workbook_row[3])
        )  # NaN on the page is an empty cell in the workbook
    account_level = [row for row in on_page if row[1] == vocabulary.ACCOUNT_LEVEL_PRODUCT]
    assert account_level and all(row[3] != row[3] for row in account_level)  # no amount
    assert {row[2] for row in account_level} <= {
        spec.label for spec in vocabulary.finding_types().values() if spec.level == "account"
    }


def test_charts_draw_a_point_for_one_month_and_percent_axes():
    import pandas as pd

    from recon.dashboard.charts import dollars_chart, match_rate_chart, provider_count_chart

    one_month = pd.DataFrame(
        {
            "billing_month": [pd.Timestamp("2026-10-01")],
            "billing_match_rate": [0.809],
            "overbilled_amount": [2943.69],
            "underbilled_amount": [2288.5],
        }
    )
    rate = match_rate_chart(one_month).to_dict()
    assert rate["mark"]["type"] == "line" and rate["mark"]["point"]  # one month: one point
    assert rate["encoding"]["y"]["axis"]["format"] == ".0%"
    assert rate["encoding"]["y"]["scale"]["domain"] == [0, 1]
    dollars = dollars_chart(one_month).to_dict()
    assert dollars["encoding"]["y"]["axis"]["format"].startswith("$")
    counts = one_month.assign(account_product="Acme / RCM", billable_providers=[3])
    assert provider_count_chart(counts).to_dict()["mark"]["point"]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_stopping_recon_dashboard_stops_its_streamlit_child(tmp_path: Path):
    """SIGTERM to `recon dashboard` (as a service manager or `kill` sends it) stops the
    Streamlit server it started and frees the port."""
    port = screenshot.free_port()
    log = tmp_path / "dashboard.log"
    server = screenshot.start_dashboard(port, log, _env(tmp_path / "nothing.duckdb"))
    try:
        screenshot.wait_until_healthy(f"http://127.0.0.1:{port}", server, log)
        (child,) = _children(server.pid)
        assert not _port_is_free(port)
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 128 + signal.SIGTERM
        assert not Path(f"/proc/{child}").exists(), "the Streamlit child outlived recon dashboard"
        assert _port_is_free(port)
    finally:
        screenshot.stop_dashboard(server)
