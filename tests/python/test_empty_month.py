"""Plain `dbt build` from the repository root, as a developer runs it (issue 14): every build
names the month it reconciles at its start, a month without any record stops the build
before the marts with an error naming the month and the raw folder, and the report tables
keep every month run, a month built again replacing exactly its own rows.

One DuckDB file, four builds of the small dataset (conftest.py), each a `dbt` process:
  1. MONTH_ONE;
  2. MONTH_TWO, whose billing drop never arrived: built, with a warning saying so;
  3. EMPTY_MONTH, which has no record at all: fails, nothing written;
  4. MONTH_ONE again, after Ghost Clinic's event and invoice line left its drops.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import MONTH_ONE, MONTH_TWO
from dbt_helpers import MARTS, dbt_env_isolated, query, settings_for

from recon.config import PROJECT_DIR
from recon.dbt import dbt_env

EMPTY_MONTH = "2026-11"
REPORTS_BY_MONTH = (
    "rpt_finance_report",
    "rpt_entitlement_usage",
    "rpt_unmatched_customer_suggestions",
)
DBT = str(Path(sys.executable).with_name("dbt"))
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")  # they test the SQL, not the months


@dataclass(frozen=True)
class Build:
    returncode: int
    output: str  # dbt's console output (stdout and stderr)


def _dbt(args: list[str], env: dict[str, str], cwd: Path) -> Build:
    """One `dbt` process; PWD is the working directory, as a shell sets it."""
    process = subprocess.run(
        [DBT, *args],
        cwd=cwd,
        env={**env, "PWD": str(cwd), "DBT_USE_COLORS": "false"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Build(process.returncode, process.stdout + process.stderr)


def _marts(duckdb_path: Path) -> dict[str, list[tuple]]:
    return {mart: query(duckdb_path, f"select * from recon.{mart} order by all") for mart in MARTS}


def _of_month(rows: list[tuple], columns: list[str], month: str) -> list[tuple]:
    index = columns.index("billing_month")
    return [row for row in rows if str(row[index]) == f"{month}-01"]


def _columns(duckdb_path: Path, table: str) -> list[str]:
    return [
        name
        for (name,) in query(
            duckdb_path,
            "select column_name from information_schema.columns where table_schema = 'recon'"
            f" and table_name = '{table}' order by ordinal_position",
        )
    ]


def _remove_lines(path: Path, marker: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if marker not in line]
    assert len(kept) == len(lines) - 1, f"{marker} should be on one line of {path.name}"
    path.write_text("".join(kept), encoding="utf-8")


@dataclass(frozen=True)
class History:
    raw_dir: Path
    duckdb_path: Path
    builds: dict[str, Build]  # month_one, month_two, empty_month, month_one_again
    marts: dict[str, dict[str, list[tuple]]]  # the marts after each build, by the same keys


@pytest.fixture(scope="module")
def history(small_dataset, tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> History:
    root = tmp_path_factory.mktemp("empty_month")
    raw_dir, seeds_dir = small_dataset(root)
    (raw_dir / f"billing_invoice_lines_{MONTH_TWO.replace('-', '_')}.csv").unlink()
    settings = settings_for(raw_dir, seeds_dir, root / "warehouse.duckdb")
    builds: dict[str, Build] = {}
    marts: dict[str, dict[str, list[tuple]]] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(dbt_target))  # where dbt_env stages the seeds
        env = {
            **dbt_env_isolated(),
            **dbt_env(settings),
            "DBT_TARGET_PATH": str(dbt_target),
            "DBT_LOG_PATH": str(dbt_target / "logs"),
        }
    steps = [
        ("month_one", MONTH_ONE),
        ("month_two", MONTH_TWO),
        ("empty_month", EMPTY_MONTH),
        ("month_one_again", MONTH_ONE),
    ]
    for name, month in steps:
        if name == "month_one_again":  # Ghost Clinic leaves MONTH_ONE's drops
            _remove_lines(raw_dir / "ops_intake_log_2026_09.csv", "E7,")
            _remove_lines(raw_dir / "billing_invoice_lines_2026_09.csv", "L6,")
        # the month as RECON_BILLING_MONTH (README, Configuration), as `recon` passes it
        builds[name] = _dbt(
            ["build", *NO_UNIT_TESTS], {**env, "RECON_BILLING_MONTH": month}, PROJECT_DIR
        )
        marts[name] = _marts(settings.duckdb_path)
    return History(raw_dir, settings.duckdb_path, builds, marts)


def _succeeded(build: Build) -> None:
    assert build.returncode == 0, build.output[-3000:]


# ------------------------------------------------------------------ (a) an empty month fails
def test_an_empty_month_fails_naming_the_month_and_the_raw_folder(history: History):
    build = history.builds["empty_month"]
    assert build.returncode != 0
    assert (
        f"billing month {EMPTY_MONTH} has no intake event and no invoice line in the raw files"
        f" of {history.raw_dir}: no drop for this month yet?"
    ) in build.output
    assert "ERROR assert_billing_month_has_records" in build.output
    for mart in MARTS:  # dbt skipped every mart
        assert f"SKIP relation recon.{mart} " in build.output, mart


def test_an_empty_month_writes_nothing(history: History):
    before, after = history.marts["month_two"], history.marts["empty_month"]
    assert after == before  # no row of EMPTY_MONTH, every earlier row as it was
    counts = {mart: len(rows) for mart, rows in after.items()}
    assert counts["rpt_finance_report"] == 12 and counts["fct_provider_counts_monthly"] == 12


# ------------------------------------------------- a month with one file family only warns
def test_a_month_without_its_billing_drop_is_built_with_a_warning(history: History):
    _succeeded(history.builds["month_one"])
    _succeeded(history.builds["month_two"])
    warning = (
        f"billing month {MONTH_TWO} has 1 intake events and 0 invoice lines in the raw files of"
        f" {history.raw_dir}: no invoice line billed for it. A missing drop?"
    )
    assert warning in history.builds["month_two"].output
    assert "WARN 1 assert_billing_month_has_both_drops" in history.builds["month_two"].output
    assert f"billing month {MONTH_ONE} has" not in history.builds["month_one"].output
    assert "PASS assert_billing_month_has_both_drops" in history.builds["month_one"].output


# ------------------------------------------------------ (b) the reports keep every month run
def test_building_the_next_month_leaves_the_reports_of_the_first_as_they_were(history: History):
    first, second = history.marts["month_one"], history.marts["month_two"]
    for report in REPORTS_BY_MONTH:
        columns = _columns(history.duckdb_path, report)
        assert first[report], report
        assert _of_month(second[report], columns, MONTH_ONE) == first[report], report
        assert _of_month(second[report], columns, MONTH_TWO), report
    # the summary: still one row per month run
    assert [str(row[0]) for row in second["rpt_monthly_summary"]] == [
        f"{MONTH_ONE}-01",
        f"{MONTH_TWO}-01",
    ]


def test_building_a_month_again_replaces_exactly_its_rows(history: History):
    _succeeded(history.builds["month_one_again"])
    before, after = history.marts["empty_month"], history.marts["month_one_again"]
    for mart in MARTS:
        if mart in ("fct_discrepancy_resolutions", "rpt_monthly_summary"):
            continue  # rebuilt whole from the others on every run
        columns = _columns(history.duckdb_path, mart)
        # the other month untouched, though its raw data changed too (Ghost Clinic's event)
        assert _of_month(after[mart], columns, MONTH_TWO) == _of_month(
            before[mart], columns, MONTH_TWO
        ), mart
    report = "rpt_finance_report"
    columns = _columns(history.duckdb_path, report)
    key, age = columns.index("customer_key"), columns.index("age_days")

    def without_age(rows: list[tuple]) -> list[tuple]:
        return [row[:age] + row[age + 1 :] for row in rows]

    old = _of_month(before[report], columns, MONTH_ONE)
    new = _of_month(after[report], columns, MONTH_ONE)
    assert [row[key] for row in old] == ["A1", "A2", "A4", "A5", "A6", "UNMATCHED:ghost clinic"]
    assert without_age(new) == without_age(old[:-1])  # Ghost Clinic's row gone, no other
    # an open finding's age runs to the end of the latest month run when its month is built
    assert [row[age] for row in old] == [0, None, 0, None, 0, None]
    assert [row[age] for row in new] == [31, None, 31, None, 31]  # 2026-09-30 to 2026-10-31
    ghost = [row for row in _of_month(after[report], columns, MONTH_TWO) if "ghost" in row[key]]
    assert len(ghost) == 1  # MONTH_TWO was not rebuilt: its Ghost Clinic row stays


# ------------------------------------------------------- (c) the month is named at the start
def test_every_build_names_its_month_before_building(history: History):
    for name, month in (
        ("month_one", MONTH_ONE),
        ("month_two", MONTH_TWO),
        ("empty_month", EMPTY_MONTH),
    ):
        output = history.builds[name].output
        line = f"Reconciling billing month {month} (raw files: {history.raw_dir}, target duckdb)"
        assert output.count(line) == 1, name
        assert output.index(line) < output.index(" START "), name


def test_a_default_build_names_the_previous_calendar_month_and_the_folder(
    small_dataset, tmp_path: Path, dbt_target: Path
):
    """No month given, RECON_RAW_DIR relative to the working directory: the one-line start
    names the month dbt defaults to and the folder as an absolute path (one seed is built)."""
    raw_dir, seeds_dir = small_dataset(tmp_path)
    settings = settings_for(raw_dir, seeds_dir, tmp_path / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(dbt_target))
        env = {**dbt_env_isolated(), **dbt_env(settings)}
    env.update(
        RECON_RAW_DIR="raw",  # relative: read from the working directory, tmp_path
        DBT_TARGET_PATH=str(dbt_target),
        DBT_LOG_PATH=str(dbt_target / "logs"),
    )
    del env["RECON_BILLING_MONTH"]
    previous_months = {
        (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        for day in (datetime.now(UTC), datetime.now(UTC) + timedelta(minutes=5))
    }  # the run starts after now; a month may turn meanwhile
    project = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR / "profiles")]
    build = _dbt(["build", *project, "--select", "valid_departments"], env, tmp_path)
    _succeeded(build)
    lines = [line for line in build.output.splitlines() if "Reconciling billing month" in line]
    assert len(lines) == 1, build.output[-3000:]
    assert any(
        lines[0].endswith(
            f"Reconciling billing month {month} (raw files: {tmp_path}/raw, target duckdb)"
        )
        for month in previous_months
    ), lines[0]
    # and that is the folder read: its files are in the RAW layer
    loaded = query(settings.duckdb_path, "select count(*) from raw.raw_file_loads")
    assert loaded == [(len(list(raw_dir.glob("*.csv"))),)]
