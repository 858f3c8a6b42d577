"""Decisions on findings flow into the marts and into the next month's report
(conftest.decided_history: MONTH_ONE built, decisions recorded, MONTH_TWO built), whether they
were written in resolutions/discrepancy_resolutions.csv or recorded in the dashboard's decision
store (recon/decisions.py; the store itself: test_decisions.py)."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import MONTH_ONE, MONTH_TWO, RESOLUTIONS_HEADER, discrepancy_id
from dbt_helpers import query

from recon.config import Settings
from recon.dbt import run_dbt
from recon.decisions import Decision, FolderDecisionStore, csv_decision_id, to_json
from recon.export import export_month


def _resolution(history, month: str, customer_key: str, product_code: str | None) -> dict:
    rows = query(
        history.duckdb_path,
        f"""select * from recon.fct_discrepancy_resolutions
            where billing_month = '{month}-01' and customer_key = '{customer_key}'
            and product_code {"is null" if product_code is None else f"= '{product_code}'"}""",
    )
    assert len(rows) == 1, rows
    columns = [
        row[0] for row in query(history.duckdb_path, "describe recon.fct_discrepancy_resolutions")
    ]
    return dict(zip(columns, rows[0], strict=True))


def test_the_latest_decision_is_in_force_with_its_age_and_time_to_resolve(decided_history):
    credited = _resolution(decided_history, MONTH_ONE, "A4", "EHR")
    assert credited["discrepancy_id"] == decided_history.credited_id
    assert credited["decision"] == "APPROVE_INVOICE_CORRECTION"  # written in lower case
    assert credited["resolution_status"] == "resolved"
    assert credited["decision_count"] == 2  # the dispute before it is kept in the count
    assert credited["decided_by"] == "finance@example.com"
    assert credited["decided_amount"] == Decimal("80.00")
    # raised at the month end (2026-09-30), resolved on 2026-10-03
    assert credited["days_to_resolve"] == 3
    assert credited["age_days"] == 3
    assert credited["is_open"] is False

    disputed = _resolution(decided_history, MONTH_ONE, "A1", "RCM")
    assert disputed["resolution_status"] == "disputed"
    assert disputed["is_open"] is True
    assert disputed["days_to_resolve"] is None
    # still open: aged to the end of the latest month run (2026-10-31)
    assert disputed["age_days"] == (date(2026, 10, 31) - date(2026, 9, 30)).days
    assert disputed["decision_note"] == 'customer disputes one seat, "Ann Lee"'

    undecided = _resolution(decided_history, MONTH_ONE, "A6", "EHR")
    assert (undecided["resolution_status"], undecided["decision"]) == ("open", None)


def test_a_finding_resolved_last_month_that_comes_back_is_flagged_reopened(decided_history):
    came_back = _resolution(decided_history, MONTH_TWO, "A4", "EHR")
    assert came_back["discrepancy_type"] == "UNBILLED_USAGE"
    assert came_back["discrepancy_id"] == discrepancy_id(MONTH_TWO, "A4", "EHR", "UNBILLED_USAGE")
    assert came_back["discrepancy_id"] != decided_history.credited_id  # one id per month
    last_month = _resolution(decided_history, MONTH_ONE, "A4", "EHR")
    assert came_back["finding_key"] == last_month["finding_key"]  # the same finding
    assert came_back["resolution_status"] == "open"  # this month's is not decided yet
    assert came_back["is_reopened"] is True
    assert came_back["previous_decision"] == "APPROVE_INVOICE_CORRECTION"
    assert came_back["previous_decision_month"] == date(2026, 9, 1)

    # a decision on this month's own finding (conftest: A6 EHR accepted on 2026-11-02)
    accepted = _resolution(decided_history, MONTH_TWO, "A6", "EHR")
    assert (accepted["resolution_status"], accepted["days_to_resolve"]) == ("resolved", 2)
    assert accepted["is_reopened"] is False  # last month's A6 finding was of another type

    # the Ghost Clinic finding recurs too, but was never resolved: not reopened
    ghost = _resolution(decided_history, MONTH_TWO, "UNMATCHED:ghost clinic", None)
    assert (ghost["is_reopened"], ghost["previous_decision"]) == (False, None)


def test_the_next_months_report_shows_the_decision(decided_history, tmp_path):
    settings = Settings(**{**decided_history.settings.__dict__, "report_dir": tmp_path})
    report = export_month(settings, MONTH_TWO)
    with report.csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = {(row["customer_key"], row["product_code"]): row for row in csv.DictReader(handle)}
    row = rows[("A4", "EHR")]
    assert row["previous_decision"] == "APPROVE_INVOICE_CORRECTION"
    assert row["previous_decision_month"] == "2026-09-01"
    assert row["is_reopened"] == "true"
    assert row["resolution_status"] == "open"
    assert rows[("A1", "RCM")]["is_reopened"] == ""  # a match this month: no finding


def test_monthly_summary_has_open_dollars_at_risk_and_mean_time_to_resolve(decided_history):
    month_one = query(
        decided_history.duckdb_path,
        f"""select open_findings, disputed_findings, resolved_findings, open_amount_at_risk,
                   mean_days_to_resolve, immaterial_findings
            from recon.rpt_monthly_summary where billing_month = '{MONTH_ONE}-01'""",
    )[0]
    # open product findings of MONTH_ONE: A1 RCM +120 (disputed) and A6 EHR +160;
    # A4 EHR -80 is resolved. Ghost Clinic's MISSING_FROM_CRM is open (account level).
    assert month_one[:3] == (2, 1, 1)
    assert month_one[3] == Decimal("280.00")
    assert month_one[4] == Decimal("3.0")
    # below the default threshold of 50 dollars: the Ghost Clinic finding (0.00)
    assert month_one[5] == 1


def test_materiality_threshold_is_a_dbt_var(decided_history):
    rows = query(
        decided_history.duckdb_path,
        f"""select customer_key, product_code, is_material
            from recon.fct_discrepancy_resolutions where billing_month = '{MONTH_ONE}-01'
            order by customer_key, product_code""",
    )
    # default 50.00: 120, 80 and 160 dollars are material, the 0.00 account finding is not
    assert [row[2] for row in rows] == [True, True, True, False]


def test_a_decision_on_an_unknown_finding_fails_the_build_naming_it(
    decided_history, tmp_path, dbt_target, monkeypatch
):
    history = decided_history
    monkeypatch.setenv("DBT_TARGET_PATH", str(dbt_target))
    monkeypatch.setenv("DBT_LOG_PATH", str(dbt_target / "logs"))
    shutil.copy2(history.duckdb_path, tmp_path / "warehouse.duckdb")
    resolutions_dir = tmp_path / "resolutions"
    resolutions_dir.mkdir()
    unknown = discrepancy_id(MONTH_ONE, "A9", "RCM", "OVERBILLED")
    (resolutions_dir / "discrepancy_resolutions.csv").write_text(
        RESOLUTIONS_HEADER + f"{unknown},APPROVE_CREDIT,finance@example.com,2026-10-03,10,USD,\n",
        encoding="utf-8",
    )
    settings = Settings(
        **{
            **history.settings.__dict__,
            "duckdb_path": tmp_path / "warehouse.duckdb",
            "resolutions_dir": resolutions_dir,
        }
    )
    result = run_dbt(
        "build",
        settings,
        MONTH_TWO,
        "--select",
        # the decisions' staging and what it is made of (the seed, the two base models)
        "+stg_resolutions__discrepancy_decisions assert_every_decision_names_a_known_finding",
    )
    assert not result.success
    assert any("assert_every_decision_names_a_known_finding" in line for line in result.failures)


def test_committed_resolutions_file_has_the_documented_columns():
    path = Path(__file__).resolve().parents[2] / "resolutions" / "discrepancy_resolutions.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header == RESOLUTIONS_HEADER.strip().split(",")


def test_the_flows_summary_artifact_has_open_dollars_and_time_to_resolve():
    from flows.monthly_reconciliation import summary_markdown
    from recon.export import ReportExport
    from recon.validate import ValidationResult

    summary = {
        "open_amount_at_risk": 280.0,
        "open_findings": 2,
        "disputed_findings": 1,
        "resolved_findings": 1,
        "mean_days_to_resolve": 3.0,
    }
    report = ReportExport(MONTH_ONE, Path("r.csv"), Path("r.xlsx"), 6, summary)
    text = summary_markdown(report, ValidationResult((), {}, (), None))
    assert "| Open dollars at risk | $280.00 |" in text
    assert "| Open findings | 2 |" in text
    assert "| Disputed findings | 1 |" in text
    assert "| Resolved findings | 1 |" in text
    assert "| Mean time to resolve (days) | 3.0 |" in text
    text = summary_markdown(
        report.__class__(**{**report.__dict__, "summary": {}}), ValidationResult((), {}, (), None)
    )
    assert "| Mean time to resolve (days) | n/a |" in text  # nothing resolved: no mean
    assert "| Open findings | 0 |" in text


# --------------------------------------------------------------------------- the decision store
REVIEWER, APPROVER = "cs@example.com", "finance@example.com"


def _decision(code: str, by: str, role: str, amount: str, **fields) -> Decision:
    return Decision(
        decision=code, decided_by=by, decided_role=role, amount=Decimal(amount), **fields
    )


def _write_behind_the_stores_back(folder: Path, decision: Decision) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"by-hand-{decision.decision_id}.json").write_text(to_json(decision))


def _finding_ids(duckdb_path: Path) -> dict[tuple[str, str, str | None], str]:
    rows = query(
        duckdb_path,
        "select strftime(billing_month, '%Y-%m'), customer_key, product_code, discrepancy_id"
        " from recon.fct_billing_discrepancies",
    )
    return {(month, key, product): finding for month, key, product, finding in rows}


def _resolutions(duckdb_path: Path) -> dict[str, dict]:
    with_columns = query(duckdb_path, "describe recon.fct_discrepancy_resolutions")
    columns = [row[0] for row in with_columns]
    rows = query(duckdb_path, "select * from recon.fct_discrepancy_resolutions")
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


@pytest.fixture(scope="module")
def stored_build(decided_history, tmp_path_factory, dbt_target):
    """decided_history's database, rebuilt from its resolutions models on: a CSV approval,
    the same kind of approval recorded in the store, an approval written behind the store's
    back without a proposal, a small one-person approval and a proposal."""
    history = decided_history
    root = tmp_path_factory.mktemp("stored_decisions")
    shutil.copy2(history.duckdb_path, root / "warehouse.duckdb")
    ids = _finding_ids(root / "warehouse.duckdb")
    csv_finding = ids[(MONTH_ONE, "A1", "RCM")]  # OVERBILLED +120
    stored_finding = ids[(MONTH_ONE, "A6", "EHR")]  # OVERBILLED +160
    by_hand_finding = ids[(MONTH_ONE, "A4", "EHR")]  # UNBILLED_USAGE -80
    small_finding = ids[(MONTH_ONE, "UNMATCHED:ghost clinic", None)]  # MISSING_FROM_CRM
    proposed_finding = ids[(MONTH_TWO, "A4", "EHR")]
    resolutions_dir = root / "resolutions"
    resolutions_dir.mkdir()
    (resolutions_dir / "discrepancy_resolutions.csv").write_text(
        RESOLUTIONS_HEADER
        + f"{csv_finding},APPROVE_CREDIT,{APPROVER},2026-10-03T15:30:00,120.00,USD,credit note\n",
        encoding="utf-8",
    )
    store = FolderDecisionStore(resolutions_dir / "decisions")
    at = datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    store.record(
        _decision(
            "PROPOSE_CREDIT",
            REVIEWER,
            "reviewer",
            "160",
            discrepancy_id=stored_finding,
            decided_at=at - timedelta(hours=1),
        )
    )
    stored = store.record(
        _decision(
            "APPROVE_CREDIT",
            APPROVER,
            "approver",
            "160",
            discrepancy_id=stored_finding,
            decided_at=at,
            note="credit note",
            evidence_sha256="ab" * 32,
        )
    )
    _write_behind_the_stores_back(
        store.folder,
        _decision(
            "APPROVE_INVOICE_CORRECTION",
            APPROVER,
            "approver",
            "80",
            discrepancy_id=by_hand_finding,
            decided_at=at,
        ),
    )
    store.record(
        _decision("APPROVE_CREDIT", APPROVER, "approver", "40", discrepancy_id=small_finding)
    )
    store.record(
        _decision(
            "PROPOSE_INVOICE_CORRECTION",
            REVIEWER,
            "reviewer",
            "80",
            discrepancy_id=proposed_finding,
        )
    )
    settings = Settings(
        **{
            **history.settings.__dict__,
            "duckdb_path": root / "warehouse.duckdb",
            "resolutions_dir": resolutions_dir,
        }
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(dbt_target))
        patch.setenv("DBT_LOG_PATH", str(dbt_target / "logs"))
        result = run_dbt(
            "build",
            settings,
            MONTH_TWO,
            "--exclude-resource-type",
            "unit_test",
            "--select",
            "discrepancy_resolutions base_resolutions__csv_decisions "
            "base_resolutions__stored_decisions stg_resolutions__discrepancy_decisions "
            "fct_discrepancy_resolutions rpt_monthly_summary",
        )
    assert result.success, "\n".join(result.failures)
    return {
        "settings": settings,
        "resolutions": _resolutions(root / "warehouse.duckdb"),
        "ids": {
            "csv": csv_finding,
            "stored": stored_finding,
            "by_hand": by_hand_finding,
            "small": small_finding,
            "proposed": proposed_finding,
            "all": list(ids),
        },
        "stored": stored,
    }


def test_a_stored_decision_is_read_like_a_csv_row(stored_build, decided_history):
    resolutions, ids = stored_build["resolutions"], stored_build["ids"]
    from_csv, from_store = resolutions[ids["csv"]], resolutions[ids["stored"]]
    same = ["resolution_status", "decision", "decided_by", "decision_note", "currency"]
    same += ["age_days", "days_to_resolve", "is_open", "billing_month", "decided_at"]
    assert {name: from_store[name] for name in same} == {name: from_csv[name] for name in same}
    assert from_csv["resolution_status"] == "resolved"
    assert (from_csv["decided_amount"], from_store["decided_amount"]) == (
        Decimal("120.00"),
        Decimal("160.00"),
    )
    assert (from_store["decision_source"], from_store["decided_role"]) == ("dashboard", "approver")
    assert from_store["decision_id"] == stored_build["stored"].decision_id
    assert from_store["decision_count"] == 2  # the proposal and the approval
    assert (from_csv["decision_source"], from_csv["decided_role"]) == ("csv", "csv")
    assert from_csv["decision_id"] == csv_decision_id(
        ids["csv"], "APPROVE_CREDIT", APPROVER, datetime(2026, 10, 3, 15, 30), Decimal("120"),
        "USD", "credit note",
    )  # fmt: skip
    # a fresh clone has no decision folder: the build reads no stored decision, no error
    empty = query(
        decided_history.duckdb_path, "select count(*) from recon.base_resolutions__stored_decisions"
    )
    assert empty == [(0,)]


def test_the_build_rechecks_four_eyes_and_shows_proposals(stored_build):
    resolutions, ids = stored_build["resolutions"], stored_build["ids"]
    by_hand = resolutions[ids["by_hand"]]
    assert (by_hand["decision"], by_hand["resolution_status"]) == (
        "APPROVE_INVOICE_CORRECTION",
        "awaiting_approval",
    )
    assert (by_hand["is_open"], by_hand["days_to_resolve"]) == (True, None)
    small = resolutions[ids["small"]]
    assert (small["decision"], small["resolution_status"]) == ("APPROVE_CREDIT", "resolved")
    proposed = resolutions[ids["proposed"]]
    assert (proposed["resolution_status"], proposed["decided_amount"]) == (
        "proposed",
        Decimal("80.00"),
    )
    summary = query(
        stored_build["settings"].duckdb_path,
        "select strftime(billing_month, '%Y-%m'), open_findings, proposed_findings,"
        " disputed_findings, awaiting_approval_findings, resolved_findings"
        " from recon.rpt_monthly_summary order by billing_month",
    )
    month_two_findings = sum(1 for month, *_ in stored_build["ids"]["all"] if month == MONTH_TWO)
    # MONTH_ONE's four findings: A1 (csv), A6 (store) and Ghost (small) resolved, A4 awaiting
    # approval; MONTH_TWO: A4 proposed, every other finding open
    assert summary == [
        (MONTH_ONE, 0, 0, 0, 1, 3),
        (MONTH_TWO, month_two_findings - 1, 1, 0, 0, 0),
    ]


def test_a_decision_file_edited_by_hand_stops_the_build_naming_it(
    stored_build, dbt_target, monkeypatch
):
    settings = stored_build["settings"]
    monkeypatch.setenv("DBT_TARGET_PATH", str(dbt_target))
    monkeypatch.setenv("DBT_LOG_PATH", str(dbt_target / "logs"))
    damaged = settings.decisions_dir / "20261003T000000000000Z-damaged.json"
    damaged.write_text('{"decision_id": "x", "decision": "APPROVE_CREDIT"', encoding="utf-8")
    try:
        result = run_dbt(
            "build", settings, MONTH_TWO, "--select", "base_resolutions__stored_decisions"
        )
    finally:
        damaged.unlink()
    assert not result.success
    message = "\n".join(result.failures)
    assert "20261003T000000000000Z-damaged.json: not valid JSON" in message
