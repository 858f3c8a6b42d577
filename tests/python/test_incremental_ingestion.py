"""Raw files ingested incrementally give the same tables as a cold build on the same files.

Drops arrive month by month into one DuckDB file, each month built as it comes. With the
second month, the first month's intake drop is re-delivered with other content (a corrected
drop); with the last, a late drop of the third month's events arrives and the second
month's billing drop leaves the folder. A cold build of the last month on a new DuckDB file
from the final folder must give the same RAW tables, the same staged intake lines and the
same marts; unchanged files are never parsed again; and the late drop is absorbed by
carrying provider states forward from the second month, not by reading all of history.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from dbt_helpers import MART_TABLES, query, settings_for

from recon.dbt import PRODUCTION_BUILD_ARGS, run_dbt
from recon_testkit.generate import generate

MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10")
RAW_FAMILIES = ("crm_accounts", "crm_providers", "ops_intake_log", "billing_invoice_lines")


def _drops(folder: Path, month: str) -> list[Path]:
    suffix = month.replace("-", "_") + ".csv"
    return sorted(path for path in folder.glob("*.csv") if path.name.endswith(suffix))


def _build(settings, month: str) -> None:
    result = run_dbt("build", settings, month, *PRODUCTION_BUILD_ARGS)
    assert result.success, f"dbt build of {month} failed:\n" + "\n".join(result.failures)


def _redeliver_with_changes(path: Path) -> None:
    """The drop again, its last record gone and the status of its first changed."""
    with path.open(newline="", encoding="utf-8") as handle:
        header, *records = list(csv.reader(handle))
    status = header.index("status")
    records[0][status] = "paused" if records[0][status].strip().lower() == "live" else "live"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *records[:-1]])


def _late_drop(month_drop: Path, late: Path) -> None:
    """Events of the month that arrive a month late: new events (their own ids) that
    terminate, at the month's last minute, providers that were live in it."""
    with month_drop.open(newline="", encoding="utf-8") as handle:
        header, *records = list(csv.reader(handle))
    event_id, event_at, status = (header.index(name) for name in ("event_id", "event_at", "status"))
    live = [record for record in records if record[status].strip().lower() == "live"][-8:]
    assert live, f"no live event in {month_drop.name}"
    month = month_drop.stem[-7:].replace("_", "-")
    late_records = []
    for number, record in enumerate(live, start=1):
        record = list(record)
        record[event_id] = f"LATE-{number}"
        record[event_at] = f"{month}-28 23:59:59"
        record[status] = "terminated"
        late_records.append(record)
    with late.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *late_records])


def _carried_months(duckdb_path: Path) -> list[str]:
    rows = query(
        duckdb_path,
        "select distinct strftime(billing_month, '%Y-%m')"
        " from recon.int_provider_events_carried_forward order by 1",
    )
    return [month for (month,) in rows]


def _loaded_at(duckdb_path: Path) -> dict[str, object]:
    rows = query(
        duckdb_path,
        "select _file_name, min(_loaded_at) from raw.ops_intake_log group by all"
        " union all select _file_name, min(_loaded_at) from raw.billing_invoice_lines group by all",
    )
    return dict(rows)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    generated, seeds = root / "generated", root / "seeds"
    generate(
        generated,
        seeds,
        root / "key",
        accounts=20,
        months=len(MONTHS),
        seed=7,
        end_month=MONTHS[-1],
        answer_key=False,
    )
    raw = root / "raw"
    raw.mkdir()
    for path in generated.glob("c*.csv"):  # CRM accounts, providers, contract entitlements
        shutil.copy(path, raw / path.name)

    incremental = settings_for(raw, seeds, root / "incremental.duckdb")
    loaded_at, carried_months = [], []
    for month in MONTHS:
        for path in _drops(generated, month):
            shutil.copy(path, raw / path.name)
        if month == MONTHS[1]:
            _redeliver_with_changes(_drops(raw, MONTHS[0])[1])  # ops_intake_log of month one
        if month == MONTHS[-1]:
            month_three_ops = _drops(raw, MONTHS[2])[1]
            _late_drop(month_three_ops, raw / f"{month_three_ops.stem}_late.csv")
            _drops(raw, MONTHS[1])[0].unlink()  # billing_invoice_lines of month two
        _build(incremental, month)
        loaded_at.append(_loaded_at(incremental.duckdb_path))
        carried_months.append(_carried_months(incremental.duckdb_path))

    cold = settings_for(raw, seeds, root / "cold.duckdb")
    _build(cold, MONTHS[-1])
    return {
        "incremental": incremental.duckdb_path,
        "cold": cold.duckdb_path,
        "loaded_at": loaded_at,
        "carried_months": carried_months,
        "raw": raw,
    }


def _rows(duckdb_path: Path, sql: str) -> list[tuple]:
    return sorted(query(duckdb_path, sql), key=repr)


@pytest.mark.parametrize("family", RAW_FAMILIES)
def test_raw_tables_equal_a_cold_ingestion(runs: dict, family: str) -> None:
    sql = f"select * exclude (_loaded_at) from raw.{family}"
    expected = _rows(runs["cold"], sql)
    assert expected
    assert _rows(runs["incremental"], sql) == expected


def test_staged_intake_lines_equal_a_cold_build(runs: dict) -> None:
    sql = "select * exclude (source_loaded_at, flagged_at) from recon.base_ops__intake_log"
    expected = _rows(runs["cold"], sql)
    assert any(
        row
        for row in query(
            runs["cold"], "select 1 from recon.base_ops__intake_log where is_duplicate limit 1"
        )
    ), "no duplicate compared"
    assert _rows(runs["incremental"], sql) == expected


@pytest.mark.parametrize("mart", MART_TABLES)
def test_last_month_marts_equal_a_cold_build(runs: dict, mart: str) -> None:
    """The month's findings; whether a finding is new depends on the months run before it,
    which the cold build has not run, so is_new and first_seen_month are left out."""
    columns = [
        column
        for (column,) in query(
            runs["cold"],
            "select column_name from information_schema.columns"
            f" where table_schema = 'recon' and table_name = '{mart}' order by ordinal_position",
        )
        if column not in ("is_new", "first_seen_month")
    ]
    sql = f"select {', '.join(columns)} from recon.{mart} where billing_month = '{MONTHS[-1]}-01'"
    expected = _rows(runs["cold"], sql)
    assert expected
    assert _rows(runs["incremental"], sql) == expected


def test_each_file_is_parsed_once_and_again_only_when_it_changes(runs: dict) -> None:
    first, second, third, fourth = runs["loaded_at"]
    month_one_ops, month_one_billing = (
        "ops_intake_log_2026_07.csv",
        "billing_invoice_lines_2026_07.csv",
    )
    assert second[month_one_ops] > first[month_one_ops]  # re-delivered with other content
    assert fourth[month_one_ops] == second[month_one_ops]
    assert fourth[month_one_billing] == first[month_one_billing]
    assert "billing_invoice_lines_2026_08.csv" in third
    assert "billing_invoice_lines_2026_08.csv" not in fourth  # left the folder
    registry = dict(
        query(runs["incremental"], "select file_name, row_count from raw.raw_file_loads")
    )
    on_disk = {}
    for path in runs["raw"].glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            on_disk[path.name] = sum(1 for _ in csv.reader(handle)) - 1
    assert registry == on_disk


def test_provider_states_are_carried_forward_and_forgotten_when_a_drop_changes(runs: dict) -> None:
    """Each run stores the state of its month and of the month before. Month two's were
    computed from every event (month one's drop was corrected: lines the stored states came
    from had left); month three's drop corrects events of month two, so month three's run
    carried month one's state forward; the late drop of month three and month four's
    corrections of it made month three's stale, and month four's run carried month two's
    forward: every earlier stored state stays."""
    assert runs["carried_months"] == [
        ["2026-07"],  # month one's run: no event of the month before
        ["2026-07", "2026-08"],
        ["2026-07", "2026-08", "2026-09"],
        ["2026-07", "2026-08", "2026-09", "2026-10"],
    ]
    late_states = query(
        runs["incremental"],
        "select count(*) from recon.int_provider_events_carried_forward"
        " where billing_month = '2026-09-01' and event_id like 'LATE-%'",
    )[0][0]
    assert late_states > 0, "the late drop's events decide no provider's state"
