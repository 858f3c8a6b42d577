"""Snowflake pieces proven on the local emulator fakesnow (no account, no network), without dbt:
the loader and the publish, on small data, against one fakesnow server per test session
(tests/python/snowflake_runs.py).

- the loader: a changed drop is replaced, the other drops are left as they were, nothing is
  duplicated (the RAW tables against DuckDB's: test_snowflake_flow.py);
- publishing (recon/publish_snowflake.py) on small hand-made build tables: the month built and
  the changed months only, a new column added, a widened type widened and any other type change
  refused before anything is written, a failure inside the transaction rolled back, and the
  reporting role granted USAGE and SELECT on the published schema after the commit and nothing
  on the build schema (dbt's manifest has no grants).

The whole project on the emulator (the monthly flow against DuckDB, every mart, dbt's unit
tests, the dashboard's queries) is test_snowflake_flow.py. fakesnow translates Snowflake SQL to
DuckDB, so this proves the Snowflake code path, not Snowflake's own engine: see
docs/snowflake.md for what it does not prove.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbt_helpers import dbt_env_isolated, raw_row_count
from snowflake_runs import (
    EMULATOR,
    Dataset,
    copy_raw_dir,
    emulator_connection,
    sorted_rows,
)

from recon.config import PROJECT_DIR, Settings
from recon.load import load_raw_files
from recon.publish import Mart
from recon.publish_snowflake import (
    PublishRefused,
    grant_statements,
    publish_to_schema,
    widened_type,
)

DBT_TIMEOUT_SECONDS = 600  # a query fakesnow cannot run can make the connector retry forever


def test_reloading_a_changed_drop_replaces_its_rows(
    generated_dataset: Dataset, emulator_port: int, tmp_path: Path
) -> None:
    """A drop rewritten with a line fewer: its rows are replaced, the other drops are left as
    they were (positions are per file), and nothing is duplicated."""
    raw_dir = copy_raw_dir(generated_dataset, tmp_path / "raw")
    with emulator_connection(emulator_port) as connection:
        load_raw_files(connection, raw_dir, schema="raw_reload", report=lambda _: None)
        first_drop = sorted(raw_dir.glob("ops_intake_log*.csv"))[0]
        lines = first_drop.read_text(encoding="utf-8").splitlines(keepends=True)
        first_drop.write_text("".join(lines[:-1]), encoding="utf-8")
        messages: list[str] = []
        load_raw_files(connection, raw_dir, schema="raw_reload", report=messages.append)
        cursor = connection.cursor()
        cursor.execute(
            "select _file_name, count(*), count(distinct _source_row_number),"
            " min(_source_row_number), max(_source_row_number)"
            " from raw_reload.ops_intake_log group by _file_name order by _file_name"
        )
        loaded = cursor.fetchall()
    expected = []
    for path in sorted(raw_dir.glob("ops_intake_log*.csv")):
        count = raw_row_count(raw_dir, path.name)
        expected.append((path.name, count, count, 1, count))
    assert loaded == expected
    assert any("unchanged, skipped" in message for message in messages), messages
    assert sum("rows loaded into raw_reload.ops_intake_log" in m for m in messages) == 1, messages


# --------------------------------------------------------------------------- publishing
class Recording:
    """A connection that records every statement it is given. GRANT statements are recorded
    and not sent: fakesnow cannot parse GRANT; everything else runs on the emulator."""

    def __init__(self, connection: Any, fail_on: str = "") -> None:
        self.connection = connection
        self.statements: list[str] = []
        self.fail_on = fail_on

    def cursor(self) -> Any:
        recording = self
        cursor = self.connection.cursor()

        class Cursor:
            def execute(self, sql: str, parameters: Any = None) -> Any:
                recording.statements.append(sql)
                if recording.fail_on and sql.startswith(recording.fail_on):
                    raise RuntimeError(f"planted failure at: {sql}")
                if sql.startswith("grant "):
                    return self
                return cursor.execute(sql, parameters) if parameters else cursor.execute(sql)

            def __getattr__(self, name: str) -> Any:
                return getattr(cursor, name)

        return Cursor()


def _settings(published_schema: str) -> Settings:
    return Settings(
        project_dir=PROJECT_DIR,
        raw_dir=Path(),
        seeds_dir=Path(),
        duckdb_path=Path("unused.duckdb"),
        report_dir=Path(),
        target=EMULATOR,
        published_schema=published_schema,
    )


SMALL_MARTS = [
    Mart("by_month_built", "small_build", by_month=True, month_built_only=True),
    Mart("by_month_all", "small_build", by_month=True, month_built_only=False),
    Mart("whole", "small_build", by_month=False, month_built_only=False),
]


def _execute(connection: Any, *statements: str) -> None:
    cursor = connection.cursor()
    for statement in statements:
        cursor.execute(statement)


def _rows(connection: Any, relation: str) -> list[tuple]:
    cursor = connection.cursor()
    cursor.execute(f"select * from {relation}")
    return sorted_rows(cursor.fetchall())


@pytest.fixture
def small_build(emulator_port: int) -> Any:
    """A build schema of three small marts on the emulator: two months each."""
    with emulator_connection(emulator_port) as connection:
        _execute(
            connection,
            "drop schema if exists small_build cascade",
            "drop schema if exists small_published cascade",
            "create schema small_build",
            "create table small_build.by_month_built (billing_month date, n number(38,2),"
            " label varchar(10))",
            "insert into small_build.by_month_built values ('2026-09-01', 1.50, 'a'),"
            " ('2026-10-01', 2.25, 'b'), ('2026-10-01', 3.00, null)",
            "create table small_build.by_month_all (billing_month date, n number(38,0))",
            "insert into small_build.by_month_all values ('2026-09-01', 1), ('2026-10-01', 2)",
            "create table small_build.whole (k varchar, n number(38,0))",
            "insert into small_build.whole values ('x', 1), ('y', 2)",
        )
        yield connection


def test_publish_writes_the_month_and_the_changed_months_only(small_build: Any) -> None:
    settings = _settings("small_published")
    first = publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert first.partitions == {
        "by_month_built": ["2026-10"],  # incremental by month: the month built only
        "by_month_all": ["2026-09", "2026-10"],  # both months differ from nothing
        "whole": ["all"],
    }
    assert _rows(small_build, "small_published.by_month_built") == sorted_rows(
        [(datetime.date(2026, 10, 1), 2.25, "b"), (datetime.date(2026, 10, 1), 3.0, None)]
    )
    assert len(_rows(small_build, "small_published.by_month_all")) == 2
    # a past month of the summary-like mart changes; the month built is published again
    _execute(small_build, "update small_build.by_month_all set n = 5 where n = 1")
    second = publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert second.partitions["by_month_all"] == ["2026-09", "2026-10"]
    third = publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert third.partitions["by_month_all"] == ["2026-10"]  # nothing else changed
    assert _rows(small_build, "small_published.by_month_all") == sorted_rows(
        [(datetime.date(2026, 9, 1), 5), (datetime.date(2026, 10, 1), 2)]
    )
    months = _rows(small_build, "small_published.published_months")
    assert [row[0] for row in months] == [datetime.date(2026, 10, 1)]
    assert months[0][2] == third.build_id


def test_publish_adds_new_columns_widens_and_refuses_a_type_change(small_build: Any) -> None:
    settings = _settings("small_published")
    publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    _execute(
        small_build,
        "alter table small_build.by_month_built add column note varchar",
        "update small_build.by_month_built set note = 'new'",
    )
    recording = Recording(small_build)
    publish_to_schema(settings, "2026-10", SMALL_MARTS, recording)
    assert any('add column "NOTE" VARCHAR' in sql for sql in recording.statements)
    rows = _rows(small_build, "small_published.by_month_built")
    assert {row[-1] for row in rows} == {"new"}  # the month built, with its new column

    _execute(small_build, "create or replace table small_build.whole (k number(38,0), n number)")
    before = _rows(small_build, "small_published.whole")
    with pytest.raises(PublishRefused, match=r"column K of small_published\.whole changed type"):
        publish_to_schema(settings, "2026-10", SMALL_MARTS, small_build)
    assert _rows(small_build, "small_published.whole") == before


def test_widened_type_lengthens_text_and_numbers_and_refuses_the_rest() -> None:
    assert widened_type("VARCHAR(10)", "VARCHAR(10)") is None
    assert widened_type("VARCHAR(10)", "VARCHAR(40)") == "VARCHAR(40)"
    assert widened_type("VARCHAR(40)", "VARCHAR(10)") is None  # already wide enough
    assert widened_type("NUMBER(18,2)", "NUMBER(38,2)") == "NUMBER(38,2)"
    for published, built in (("NUMBER(38,2)", "NUMBER(38,4)"), ("VARCHAR(10)", "NUMBER(38,0)")):
        with pytest.raises(PublishRefused):
            widened_type(published, built)


def test_a_failure_inside_the_publish_transaction_rolls_it_back(small_build: Any) -> None:
    settings = _settings("small_published")
    publish_to_schema(settings, "2026-09", SMALL_MARTS, small_build)
    tables = ("by_month_built", "by_month_all", "whole", "published_months")
    before = {table: _rows(small_build, f"small_published.{table}") for table in tables}
    recording = Recording(small_build, fail_on="insert into small_published.whole")
    with pytest.raises(RuntimeError, match="planted failure"):
        publish_to_schema(settings, "2026-10", SMALL_MARTS, recording)
    assert recording.statements[-1] == "rollback"
    assert recording.statements[-2].startswith("insert into small_published.whole")
    # the month's rows of the first two marts were deleted and inserted, then rolled back
    statements = recording.statements
    assert any(sql.startswith("delete from small_published.by_month_built") for sql in statements)
    after = {table: _rows(small_build, f"small_published.{table}") for table in tables}
    assert after == before


def test_the_reporting_role_is_granted_on_the_published_schema_only(
    small_build: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After the commit: USAGE on the published schema and SELECT on each published table; the
    build schema is never named. dbt grants nothing (no `grants` on any node), so the build
    schema's tables are never readable by the reporting role."""
    monkeypatch.setenv("RECON_REPORTING_ROLE", "BI_READER")
    recording = Recording(small_build)
    publish_to_schema(_settings("small_published"), "2026-10", SMALL_MARTS, recording)
    grants = [sql for sql in recording.statements if sql.startswith("grant ")]
    assert grants == grant_statements(
        "small_published",
        ["by_month_built", "by_month_all", "whole", "published_months"],
        "BI_READER",
    )
    assert grants[0] == "grant usage on schema small_published to role BI_READER"
    assert grants[1] == "grant select on table small_published.by_month_built to role BI_READER"
    assert recording.statements.index("commit") < recording.statements.index(grants[0])
    assert not any("small_build" in sql for sql in grants)

    monkeypatch.setenv("RECON_REPORTING_ROLE", "BI_READER; drop table x")
    with pytest.raises(ValueError, match="RECON_REPORTING_ROLE"):
        publish_to_schema(_settings("small_published"), "2026-10", SMALL_MARTS, small_build)

    env = {
        **dbt_env_isolated(),
        "RECON_REPORTING_ROLE": "BI_READER",
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    args = ["parse", "--project-dir", str(PROJECT_DIR), "--target", EMULATOR]
    args += ["--profiles-dir", str(PROJECT_DIR / "profiles")]
    subprocess.run([str(dbt), *args], env=env, cwd=PROJECT_DIR, check=True,
                   capture_output=True, timeout=DBT_TIMEOUT_SECONDS)  # fmt: skip
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    granted = {
        node["name"]: node["config"].get("grants")
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }
    assert "rpt_finance_report" in granted
    assert not any(granted.values()), {name: g for name, g in granted.items() if g}


# --------------------------------------------------------------------------- the decision store
def test_the_decision_store_on_snowflake(
    emulator_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """recon/decisions.py's Snowflake store on the emulator: record, history, the four-eyes
    refusal in its INSERT ... SELECT, and dbt's staging reading the table beside a CSV row (whose
    decision_id is the one recon.decisions.csv_decision_id computes, as on DuckDB)."""
    from decimal import Decimal

    from recon.decisions import Decision, DecisionRefused, SnowflakeDecisionStore

    schema = "decisions_test"
    with emulator_connection(emulator_port) as connection:
        _execute(connection, f"drop schema if exists {schema} cascade")
    store = SnowflakeDecisionStore(lambda: emulator_connection(emulator_port), schema)
    store.create_table()
    finding = "0123456789abcdef0123456789abcdef"
    at = datetime.datetime(2026, 10, 3, 15, 30, 0, 123456, tzinfo=datetime.UTC)

    def decide(code: str, by: str, role: str, amount: str | None, minutes: int) -> Decision:
        return Decision(
            discrepancy_id=finding,
            decision=code,
            decided_by=by,
            decided_role=role,
            amount=None if amount is None else Decimal(amount),
            decided_at=at + datetime.timedelta(minutes=minutes),
            note='credit note, "INV1"',
        )

    with pytest.raises(DecisionRefused, match="needs two people"):
        store.record(decide("APPROVE_CREDIT", "fin@example.com", "approver", "120", 0))
    proposal = store.record(decide("PROPOSE_CREDIT", "cs@example.com", "reviewer", "120", 1))
    with pytest.raises(DecisionRefused, match="cannot also approve"):
        store.record(decide("APPROVE_CREDIT", "CS@example.com", "approver", "120", 2))
    with pytest.raises(DecisionRefused, match="reviewer, who may record"):
        store.record(decide("APPROVE_CREDIT", "cs@example.com", "reviewer", "120", 2))
    approval = store.record(decide("APPROVE_CREDIT", "fin@example.com", "approver", "120", 3))
    with pytest.raises(DecisionRefused, match="already stored"):
        store.record(approval)
    assert store.history(finding) == [proposal, approval]  # read back exactly, oldest first
    assert store.history("f" * 32) == []

    # dbt on the emulator: the CSV seed and the stored table, unioned by the staging model
    from recon.dbt import dbt_args, dbt_env
    from recon.decisions import csv_decision_id

    resolutions_dir = tmp_path / "resolutions"
    resolutions_dir.mkdir()
    (resolutions_dir / "discrepancy_resolutions.csv").write_text(
        "discrepancy_id,decision,decided_by,decided_at,amount,currency,note\n"
        f"{'e' * 32},approve_credit,fin@example.com,2026-10-04T08:00:00,80.5,,by pull request\n",
        encoding="utf-8",
    )
    settings = Settings(
        **{
            **_settings("recon").__dict__,
            "seeds_dir": PROJECT_DIR / "seeds",
            "resolutions_dir": resolutions_dir,
            "decisions_schema": schema,
        }
    )
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))  # where seeds are staged
    env = {
        **dbt_env_isolated(),
        **dbt_env(settings),
        "RECON_EMULATOR_PORT": str(emulator_port),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    dbt = Path(sys.executable).parent / "dbt"
    args = dbt_args("build", settings, "--resource-type", "seed", "--resource-type", "model",
                    "--select", "+stg_resolutions__discrepancy_decisions")  # fmt: skip
    result = subprocess.run([str(dbt), *args], env=env, cwd=PROJECT_DIR, capture_output=True,
                            text=True, timeout=DBT_TIMEOUT_SECONDS)  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    with emulator_connection(emulator_port) as connection:
        cursor = connection.cursor()
        cursor.execute(
            "select decision_id, decision, source, decided_role, amount, currency, note"
            " from recon_build.stg_resolutions__discrepancy_decisions order by decided_at"
        )
        rows = cursor.fetchall()
    from_csv = csv_decision_id(
        "e" * 32, "APPROVE_CREDIT", "fin@example.com", datetime.datetime(2026, 10, 4, 8),
        Decimal("80.50"), "USD", "by pull request",
    )  # fmt: skip
    assert [tuple(row) for row in rows] == [
        (proposal.decision_id, "PROPOSE_CREDIT", "dashboard", "reviewer", Decimal("120.00"),
         "USD", 'credit note, "INV1"'),
        (approval.decision_id, "APPROVE_CREDIT", "dashboard", "approver", Decimal("120.00"),
         "USD", 'credit note, "INV1"'),
        (from_csv, "APPROVE_CREDIT", "csv", "csv", Decimal("80.50"), "USD", "by pull request"),
    ]  # fmt: skip
