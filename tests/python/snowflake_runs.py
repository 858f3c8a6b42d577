"""Session fixtures of the Snowflake tests: ONE fakesnow server, one generated dataset, and the
monthly flow run on it on both engines. Registered in conftest.py (imported there, so that each
runs once per test process). `emulator_port` and `generated_dataset` serve
test_snowflake_emulator.py and test_snowflake_flow.py; `snowflake_flow_runs`, the expensive
one, only test_snowflake_flow.py: pytest-xdist (`--dist loadfile`) gives a module to one
worker, and a fixture used by two modules could run once in each worker.

`snowflake_flow_runs` runs `monthly_reconciliation` (inside the session's Prefect test
harness) with RECON_TARGET=duckdb and with RECON_TARGET=snowflake_emulator, on the same raw
files, for two months, as Finance would: month one, decisions recorded on findings, month two.
Then, on the emulator only, month two again with a decision naming an unknown finding: the
build fails its data test, and the published schema must be as it was (snapshots before and
after are kept). fakesnow translates Snowflake SQL to DuckDB (docs/snowflake.md: what this
proves and what it does not).

A query fakesnow cannot answer can make the Snowflake connector retry for ever; the flow runs
in this process, so a watchdog dumps every thread's stack and ends the session if the runs take
longer than RUNS_TIMEOUT_SECONDS, rather than hanging CI.
"""

from __future__ import annotations

import csv
import datetime
import faulthandler
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbt_helpers import MARTS, RESOLUTIONS_HEADER

# Months of their own: the flow names its runs reconcile-YYYY-MM, and the session's Prefect API
# also holds the runs of test_flow.py (2026-09 and 2026-10), which look theirs up by name.
MONTHS = ("2025-05", "2025-06")
# The smallest generated dataset found that has every finding type: the six account findings,
# the four provider findings, the three entitlement findings and "within entitlement", and
# every data-quality issue (recon_testkit.generate with these arguments; seeds 1-39 of 10 to 20
# accounts miss at least one).
GENERATED = {"accounts": 24, "months": 2, "seed": 1, "end_month": MONTHS[-1]}
EMULATOR = "snowflake_emulator"
BUILD_SCHEMA = "recon_build"  # profiles.yml, target snowflake_emulator
PUBLISHED_SCHEMA = "recon"  # RECON_PUBLISHED_SCHEMA's default
RUNS_TIMEOUT_SECONDS = 3600
UNKNOWN_FINDING = (MONTHS[1], "NOBODY", "RCM", "OVERBILLED")
DISPUTED_AT = "2025-06-02 09:30"  # a decision on a finding of month one
CREDITED_AT = "2025-07-03T10:15:00"  # a decision on a finding of month two, as exported
PUBLISHED_MARTS = MARTS

# fakesnow hands a NULL timestamp to the connector as 1970-01-01 (the value stored is NULL:
# test_null_timestamps_are_stored_as_null proves it). Tests map that reading back to NULL in
# these columns only; no production code is changed for it.
NULL_TIMESTAMP_COLUMNS = {"decided_at"}
EPOCH = (datetime.date(1970, 1, 1), datetime.datetime(1970, 1, 1))
EPOCH_TEXT = "1970-01-01T00:00:00"


# --------------------------------------------------------------------------- fakesnow
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def emulator_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """fakesnow in server mode, in its own process (its log in a file), on a free port."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("fakesnow") / "fakesnow.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "fakesnow", "-s", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, "fakesnow stopped:\n" + log_path.read_text()
            assert time.monotonic() < deadline, "fakesnow did not start:\n" + log_path.read_text()
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def emulator_connection(port: int) -> Any:
    import snowflake.connector

    from recon.load import connection_kwargs

    return snowflake.connector.connect(**(connection_kwargs(EMULATOR) | {"port": port}))


def emulator_query(port: int, sql: str) -> tuple[list[str], list[tuple]]:
    with emulator_connection(port) as connection:
        cursor = connection.cursor()
        cursor.execute(sql)
        return [column[0].lower() for column in cursor.description], cursor.fetchall()


# --------------------------------------------------------------------------- comparing
def normalise(value: Any) -> Any:
    """One spelling per value across engines: numbers as Decimal, midnight timestamps as dates."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return Decimal(repr(round(value, 9))).normalize()
    if isinstance(value, int | Decimal):
        return Decimal(value).normalize()
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date()
    return value


def sorted_rows(rows: list[tuple]) -> list[tuple]:
    normalised = [tuple(normalise(value) for value in row) for row in rows]
    return sorted(normalised, key=lambda row: [(value is None, str(value)) for value in row])


def epoch_as_null(columns: list[str], rows: list[tuple]) -> list[tuple]:
    positions = {index for index, name in enumerate(columns) if name in NULL_TIMESTAMP_COLUMNS}
    return [
        tuple(
            None if index in positions and value in EPOCH else value
            for index, value in enumerate(row)
        )
        for row in rows
    ]


def emulator_tables(port: int, schema: str, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    """Every row of the tables (sorted, normalised), NULL timestamps as NULL."""
    read = {}
    for table in tables:
        columns, rows = emulator_query(port, f"select * from {schema}.{table}")
        read[table] = sorted_rows(epoch_as_null(columns, rows))
    return read


# --------------------------------------------------------------------------- the dataset
@dataclass(frozen=True)
class Dataset:
    raw_dir: Path
    seeds_dir: Path
    answer_key: Path


@pytest.fixture(scope="session")
def generated_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    from recon_testkit.generate import generate

    root = tmp_path_factory.mktemp("snowflake_data")
    dataset = Dataset(root / "raw", root / "seeds", root / "answer_key")
    generate(dataset.raw_dir, dataset.seeds_dir, dataset.answer_key, **GENERATED)
    return dataset


def finding_id(month: str, customer_key: str, product_code: str, finding_type: str) -> str:
    """The contract's id of a finding (conftest.discrepancy_id): md5 of 'YYYY-MM|customer|
    product|type'."""
    text = f"{month}|{customer_key}|{product_code}|{finding_type}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def decisions_between_the_months(answer_key: Path) -> str:
    """Decisions Finance records after month one's report: a dispute on a finding of month
    one, and a credit approved on a product finding of month two (decided before month two is
    run: its id is known in advance), so that the reports carry decision timestamps."""
    with (answer_key / "billing_discrepancies.csv").open(newline="", encoding="utf-8") as handle:
        findings = list(csv.DictReader(handle))

    def first(month: str) -> dict[str, str]:
        return next(
            row for row in findings if row["billing_month"] == f"{month}-01" and row["product_code"]
        )

    one, two = first(MONTHS[0]), first(MONTHS[1])
    ids = [
        finding_id(month, row["customer_key"], row["product_code"], row["discrepancy_type"])
        for month, row in ((MONTHS[0], one), (MONTHS[1], two))
    ]
    return (
        RESOLUTIONS_HEADER
        + f'{ids[0]},DISPUTE,cs@example.com,{DISPUTED_AT},,,"customer says ""one seat"""\n'
        + f"{ids[1]},APPROVE_CREDIT,finance@example.com,{CREDITED_AT},90.50,USD,CN-7\n"
    )


# --------------------------------------------------------------------------- the runs
@dataclass
class EngineRun:
    """One engine's monthly runs: its environment, and the flow's result per month."""

    target: str
    root: Path
    env: dict[str, str]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    flow_run_ids: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def report_dir(self) -> Path:
        return Path(self.env["RECON_REPORT_DIR"])

    @property
    def duckdb_path(self) -> Path:
        return Path(self.env["RECON_DUCKDB_PATH"])

    @property
    def published_catalog(self) -> Path:
        """DuckDB: the catalog readers open (recon/config.py's default place)."""
        return self.duckdb_path.parent / "published" / self.duckdb_path.name


@dataclass
class FailedRerun:
    """Month two again on the emulator, with a decision naming an unknown finding."""

    error: str
    published_before: dict[str, list[tuple]]
    published_after: dict[str, list[tuple]]
    build_before: dict[str, list[tuple]]
    build_after: dict[str, list[tuple]]
    reports_before: dict[str, str]
    reports_after: dict[str, str]
    node_statuses: dict[str, str]  # model name: its status in the failed build
    seconds: float


@dataclass
class FlowRuns:
    dataset: Dataset
    duckdb: EngineRun
    emulator: EngineRun
    emulator_port: int
    failed_rerun: FailedRerun


def _environment(root: Path, dataset: Dataset, target: str, port: int) -> dict[str, str]:
    resolutions = root / "resolutions"
    resolutions.mkdir(parents=True, exist_ok=True)
    (resolutions / "discrepancy_resolutions.csv").write_text(RESOLUTIONS_HEADER, encoding="utf-8")
    return {
        "RECON_RAW_DIR": str(dataset.raw_dir),
        "RECON_SEEDS_DIR": str(dataset.seeds_dir),
        "RECON_RESOLUTIONS_DIR": str(resolutions),
        "RECON_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "RECON_REPORT_DIR": str(root / "reports"),
        "RECON_TARGET": target,
        "RECON_EMULATOR_PORT": str(port),
        # dbt's artifacts apart from the repository's target/, one folder per target (dbt's
        # partial parse is kept between the months)
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_target" / "logs"),
    }


def _run_flow(run: EngineRun, month: str) -> None:
    from flows.monthly_reconciliation import monthly_reconciliation

    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("RECON_", "SNOWFLAKE_")):
                patch.delenv(name)
        for name, value in run.env.items():
            patch.setenv(name, value)
        started = time.monotonic()
        state = monthly_reconciliation(billing_month=month, return_state=True)
        run.seconds[month] = time.monotonic() - started
    run.results[month] = state.result()
    run.flow_run_ids[month] = str(state.state_details.flow_run_id)


def report_files(folder: Path) -> dict[str, str]:
    """The report files (CSV, workbook) and dbt docs of every month, by content. The raw-file
    checks' Data Docs are left out: validation writes them before the build, so a run that
    fails later has rewritten them (as on DuckDB)."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "data_docs" not in path.relative_to(folder).parts
    }


def _node_statuses(run_results: Path) -> dict[str, str]:
    import json

    document = json.loads(run_results.read_text(encoding="utf-8"))
    return {
        result["unique_id"].split(".")[-1]: result["status"]
        for result in document["results"]
        if result["unique_id"].startswith("model.")
    }


def _failed_rerun(run: EngineRun, port: int) -> FailedRerun:
    """Month two again on the emulator with a decision on an unknown finding: the data test
    assert_every_decision_names_a_known_finding fails the build."""
    from recon.dbt import DbtBuildFailed

    tables = (*PUBLISHED_MARTS, "published_months")
    published_before = emulator_tables(port, PUBLISHED_SCHEMA, tables)
    build_before = emulator_tables(port, BUILD_SCHEMA, PUBLISHED_MARTS)
    reports_before = report_files(run.report_dir)
    resolutions = run.root / "resolutions_with_an_unknown_finding"
    resolutions.mkdir()
    decided = Path(run.env["RECON_RESOLUTIONS_DIR"]) / "discrepancy_resolutions.csv"
    unknown = finding_id(*UNKNOWN_FINDING)
    (resolutions / decided.name).write_text(
        decided.read_text(encoding="utf-8")
        + f"{unknown},APPROVE_CREDIT,finance@example.com,{CREDITED_AT},10,USD,typo\n",
        encoding="utf-8",
    )
    failing = EngineRun(
        run.target, run.root, {**run.env, "RECON_RESOLUTIONS_DIR": str(resolutions)}
    )
    started = time.monotonic()
    with pytest.raises(DbtBuildFailed) as raised:
        _run_flow(failing, MONTHS[1])
    seconds = time.monotonic() - started
    return FailedRerun(
        error=str(raised.value),
        published_before=published_before,
        published_after=emulator_tables(port, PUBLISHED_SCHEMA, tables),
        build_before=build_before,
        build_after=emulator_tables(port, BUILD_SCHEMA, PUBLISHED_MARTS),
        reports_before=reports_before,
        reports_after=report_files(run.report_dir),
        node_statuses=_node_statuses(Path(run.env["DBT_TARGET_PATH"]) / "run_results.json"),
        seconds=seconds,
    )


@pytest.fixture(scope="session")
def snowflake_flow_runs(
    prefect_harness: None,
    generated_dataset: Dataset,
    emulator_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> FlowRuns:
    """The flow on both engines, two months, then the failed re-run on the emulator."""
    runs = {
        target: EngineRun(
            target,
            root,
            _environment(root, generated_dataset, target, emulator_port),
        )
        for target in ("duckdb", EMULATOR)
        for root in [tmp_path_factory.mktemp(f"flow_{target}")]
    }
    faulthandler.dump_traceback_later(RUNS_TIMEOUT_SECONDS, exit=True)
    try:
        for run in runs.values():
            _run_flow(run, MONTHS[0])
        decisions = decisions_between_the_months(generated_dataset.answer_key)
        for run in runs.values():
            resolutions = Path(run.env["RECON_RESOLUTIONS_DIR"]) / "discrepancy_resolutions.csv"
            resolutions.write_text(decisions, encoding="utf-8")
            _run_flow(run, MONTHS[1])
        failed = _failed_rerun(runs[EMULATOR], emulator_port)
    finally:
        faulthandler.cancel_dump_traceback_later()
    timings = {
        target: {month: round(seconds, 1) for month, seconds in run.seconds.items()}
        for target, run in runs.items()
    }
    print(f"\nflow seconds per engine and month: {timings}; failed re-run {failed.seconds:.1f} s")
    return FlowRuns(generated_dataset, runs["duckdb"], runs[EMULATOR], emulator_port, failed)


def copy_raw_dir(dataset: Dataset, target: Path) -> Path:
    target.mkdir(parents=True)
    for path in dataset.raw_dir.glob("*.csv"):
        shutil.copy2(path, target / path.name)
    return target
