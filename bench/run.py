"""`recon bench`: measure the monthly build against the floor and the alternatives.

For each history level H (months of raw drops loaded), on one raw folder:

1. floor: DuckDB reads every raw file once, every column as text (bench/floor.py);
2. analyst SQL: one hand-written DuckDB script computes month H's counts (bench/analyst.sql);
3. pandas: the same counts in pandas (bench/pandas_counts.py);
4. dbt build, cold: `recon build --month H` on a fresh DuckDB file and target folder;
5. dbt build, next month: the next month's drop files are added, `recon build` of that month.

Every step runs in its own process (bench/measure.py: wall time and peak RSS). The counts of
steps 2 and 3 must equal the marts' (fct_provider_counts_monthly, month H), and step 5 must
leave month H's rows as they were; any difference fails the bench. Results: a table on the
console, JSON, and a generated section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.counts import Counts, differences, read_counts, write_counts
from bench.data import BenchData, Scale, ensure_data, link_files
from bench.measure import Measurement, measure
from bench.report import machine_info, render_console, render_markdown, update_docs
from recon.config import PROJECT_DIR

PRESETS: dict[str, tuple[Scale, tuple[int, ...]]] = {
    # CI: seconds of data, two dbt builds.
    "small": (Scale(accounts=30, months=3), (2,)),
    # Development: about a million intake events at 12 months.
    "medium": (Scale(accounts=4000, months=13), (6, 12)),
    # The scale: about 10 million intake events with 24 months loaded.
    "10m": (Scale(accounts=20000, months=25), (6, 12, 24)),
}

STEPS = {
    "floor": "floor: DuckDB reads every file",
    "analyst": "analyst SQL script",
    "pandas": "pandas script",
    "dbt_cold": "dbt build, one month, cold",
    "dbt_next": "dbt build, next month",
}

# Targets of issue 7 (docs/benchmarks.md).
COLD_MAX_RATIO = 4.0
NEXT_MAX_RATIO = 1.5
FLAT_MAX_GROWTH = 1.25  # next-month seconds, largest history over smallest
MAX_RSS_MB = 2048.0


class BenchFailed(RuntimeError):
    """A step failed, or the methods disagree on the counts."""


@dataclass
class Level:
    history_months: int
    month: str
    next_month: str
    raw_rows: int
    next_raw_rows: int
    events: int
    steps: dict[str, dict] = field(default_factory=dict)
    agreement: dict[str, int] = field(default_factory=dict)


def _progress(message: str) -> None:
    print(f"  {message}", flush=True)


def _step_env(run_dir: Path, raw_dir: Path, seeds_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RECON_")}
    env.update(
        RECON_RAW_DIR=str(raw_dir),
        RECON_SEEDS_DIR=str(seeds_dir),
        RECON_DUCKDB_PATH=str(run_dir / "bench.duckdb"),
        RECON_REPORT_DIR=str(run_dir / "reports"),
        DBT_TARGET_PATH=str(run_dir / "target"),
        DBT_LOG_PATH=str(run_dir / "logs"),
        DBT_PROFILES_DIR=str(PROJECT_DIR / "profiles"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_DIR), os.environ.get("PYTHONPATH")])),
    )
    return env


def _run_step(name: str, command: list[str], run_dir: Path, env: dict[str, str]) -> Measurement:
    label = {**STEPS, "warm_up": "page-cache warm-up (not counted)"}[name]
    print(f"  {label} ...", end="", flush=True)
    result = measure(command, run_dir / "logs" / f"{name}.log", env, PROJECT_DIR)
    print(
        f" {result.seconds:.1f} s (CPU {result.cpu_seconds:.1f} s), "
        f"peak RSS {result.peak_rss_mb:,.0f} MB",
        flush=True,
    )
    if result.exit_code != 0:
        raise BenchFailed(
            f"{label} failed (exit {result.exit_code}); end of {result.log_path}:\n{result.tail()}"
        )
    return result


def _record(level: Level, name: str, result: Measurement, rows: int) -> None:
    level.steps[name] = {
        "label": STEPS[name],
        "seconds": round(result.seconds, 3),
        "cpu_seconds": round(result.cpu_seconds, 3),
        "raw_rows": rows,
        "rows_per_second": round(rows / result.seconds) if result.seconds else None,
        "peak_rss_mb": round(result.peak_rss_mb, 1),
    }


def mart_counts(duckdb_path: Path, month: str) -> Counts:
    import duckdb

    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        rows = connection.execute(
            "select customer_key, product_code, billable_providers, billed_quantity "
            "from recon.fct_provider_counts_monthly where billing_month = cast($month as date)",
            {"month": f"{month}-01"},
        ).fetchall()
    finally:
        connection.close()
    return {(key, product): (int(billable), int(billed)) for key, product, billable, billed in rows}


def _check_agreement(marts: Counts, method: str, counts: Counts, month: str) -> None:
    diff = differences(marts, counts)
    if diff:
        raise BenchFailed(
            f"{method} disagrees with the marts on {month} "
            f"({len(marts)} customer-products in the marts, {len(counts)} from {method}):\n"
            + "\n".join(f"  {line}" for line in diff)
        )


def run_level(data: BenchData, history: int, work_dir: Path) -> Level:
    """All steps with `history` months loaded; raises BenchFailed on any failure."""
    months = data.months[:history]
    month, next_month = months[-1], data.months[history]
    level = Level(
        history_months=history,
        month=month,
        next_month=next_month,
        raw_rows=data.rows_of(months),
        next_raw_rows=data.rows_of(data.months[: history + 1]),
        events=data.events_of(months),
    )
    run_dir = work_dir / f"history_{history:02d}"
    shutil.rmtree(run_dir, ignore_errors=True)  # cold: no database, no target, no logs
    raw_dir = run_dir / "raw"
    link_files(data, raw_dir, months)
    env = _step_env(run_dir, raw_dir, data.seeds_dir)
    python = sys.executable
    print(
        f"history {history} months ({months[0]}..{month}): {level.raw_rows:,} raw rows, "
        f"{level.events:,} intake events; next month {next_month}",
        flush=True,
    )

    _run_step("warm_up", [python, "-m", "bench.floor", str(raw_dir)], run_dir, env)  # page cache
    _record(
        level,
        "floor",
        _run_step("floor", [python, "-m", "bench.floor", str(raw_dir)], run_dir, env),
        level.raw_rows,
    )
    outputs = {name: run_dir / f"{name}_counts.csv" for name in ("analyst", "pandas", "marts")}
    for name, module in (("analyst", "bench.analyst"), ("pandas", "bench.pandas_counts")):
        command = [python, "-m", module, str(raw_dir), str(data.seeds_dir), month]
        result = _run_step(name, [*command, str(outputs[name])], run_dir, env)
        _record(level, name, result, level.raw_rows)

    build = [python, "-m", "recon.cli", "build", "--month"]
    _record(level, "dbt_cold", _run_step("dbt_cold", [*build, month], run_dir, env), level.raw_rows)
    marts = mart_counts(run_dir / "bench.duckdb", month)
    write_counts(outputs["marts"], [(*key, *value) for key, value in sorted(marts.items())])
    if not marts:
        raise BenchFailed(f"the marts have no counts for {month}: nothing to compare")
    for name in ("analyst", "pandas"):
        _check_agreement(marts, name, read_counts(outputs[name]), month)
    level.agreement = {"customer_products": len(marts), "methods": 3}
    print(f"  the marts, the analyst SQL and pandas agree on {len(marts):,} customer-products")

    link_files(data, raw_dir, [next_month])
    result = _run_step("dbt_next", [*build, next_month], run_dir, env)
    _record(level, "dbt_next", result, level.next_raw_rows)
    if mart_counts(run_dir / "bench.duckdb", month) != marts:
        raise BenchFailed(f"the run of {next_month} changed the counts of {month}")
    if not mart_counts(run_dir / "bench.duckdb", next_month):
        raise BenchFailed(f"the run of {next_month} wrote no counts for it")

    floor_seconds = level.steps["floor"]["seconds"]
    for step in level.steps.values():
        step["ratio_to_floor"] = round(step["seconds"] / floor_seconds, 2)
    return level


def evaluate_targets(levels: list[Level]) -> list[dict]:
    """Issue 7's targets, as measured (met or missed, with the figure)."""
    largest, smallest = levels[-1], levels[0]
    targets = [
        {
            "target": f"cold one-month build within {COLD_MAX_RATIO:g}x the floor "
            f"({largest.history_months} months)",
            "measured": f"{largest.steps['dbt_cold']['ratio_to_floor']:.2f}x",
            "met": largest.steps["dbt_cold"]["ratio_to_floor"] <= COLD_MAX_RATIO,
        }
    ]
    for level in levels:
        ratio = level.steps["dbt_next"]["ratio_to_floor"]
        targets.append(
            {
                "target": f"next month within {NEXT_MAX_RATIO:g}x the floor "
                f"({level.history_months} months)",
                "measured": f"{ratio:.2f}x",
                "met": ratio <= NEXT_MAX_RATIO,
            }
        )
    if len(levels) > 1:
        growth = largest.steps["dbt_next"]["seconds"] / smallest.steps["dbt_next"]["seconds"]
        targets.append(
            {
                "target": f"next month flat as history grows ({smallest.history_months} to "
                f"{largest.history_months} months: at most {FLAT_MAX_GROWTH:g}x)",
                "measured": f"{growth:.2f}x",
                "met": growth <= FLAT_MAX_GROWTH,
            }
        )
    for level in levels:
        cold, pandas = level.steps["dbt_cold"]["seconds"], level.steps["pandas"]["seconds"]
        targets.append(
            {
                "target": "cold build faster than the pandas script "
                f"({level.history_months} months)",
                "measured": f"{cold:.1f} s vs {pandas:.1f} s",
                "met": cold < pandas,
            }
        )
    peak = max(
        level.steps[name]["peak_rss_mb"] for level in levels for name in ("dbt_cold", "dbt_next")
    )
    targets.append(
        {
            "target": f"peak RSS of the dbt builds under {MAX_RSS_MB:,.0f} MB",
            "measured": f"{peak:,.0f} MB",
            "met": peak < MAX_RSS_MB,
        }
    )
    return targets


def run_bench(
    name: str,
    scale: Scale,
    history: tuple[int, ...],
    data_dir: Path,
    json_path: Path,
    docs_path: Path | None,
) -> dict:
    if not history or min(history) < 1 or max(history) >= scale.months:
        raise BenchFailed(
            f"history levels {history} need between 1 and {scale.months - 1} months: each "
            f"level also needs the next month's drop (generate more --months)"
        )
    machine = machine_info()
    print(
        f"recon bench {name}: {machine['cores']} cores, {machine['memory_gb']} GB, "
        f"{machine['cpu_model']}",
        flush=True,
    )
    data = ensure_data(data_dir, scale, _progress)
    levels = [run_level(data, months, data_dir / "work") for months in sorted(history)]
    machine["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    results = {
        "name": name,
        "machine": machine,
        "scale": {**scale.__dict__, "history_levels": sorted(history)},
        "levels": [level.__dict__ for level in levels],
        "targets": evaluate_targets(levels),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(render_console(results))
    print(f"results: {json_path}")
    if docs_path is not None:
        update_docs(docs_path, name, render_markdown(results))
        print(f"updated {docs_path}")
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scale",
        choices=sorted(PRESETS),
        default="10m",
        help="preset: small (CI), medium (about 1M events), 10m (the issue's scale); default 10m",
    )
    parser.add_argument("--accounts", type=int, help="override the preset's accounts")
    parser.add_argument("--months", type=int, help="override the preset's generated months")
    parser.add_argument("--seed", type=int, help="generator seed (default 42)")
    parser.add_argument(
        "--history", help="months loaded at each level, comma separated (e.g. 6,12,24)"
    )
    parser.add_argument(
        "--data-dir", help="bench data folder (default data/bench/ACCOUNTSxMONTHS-seedSEED)"
    )
    parser.add_argument("--json", help="results file (default bench/results/NAME.json)")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="page to update")
    parser.add_argument("--no-docs", action="store_true", help="do not update the docs page")


def run_from_args(args: argparse.Namespace) -> int:
    preset, history = PRESETS[args.scale]
    overrides = {"accounts": args.accounts, "months": args.months, "seed": args.seed}
    scale = Scale(**{**preset.__dict__, **{k: v for k, v in overrides.items() if v is not None}})
    if args.history:
        history = tuple(int(part) for part in args.history.split(","))
    scale_name = f"{scale.accounts}x{scale.months}-seed{scale.seed}"
    name = args.scale if scale == preset else scale_name
    if args.history:
        name += "-history-" + "-".join(str(months) for months in sorted(history))
    default_data_dir = PROJECT_DIR / "data" / "bench" / scale_name  # shared by every history
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir
    json_path = Path(args.json) if args.json else PROJECT_DIR / "bench" / "results" / f"{name}.json"
    docs_path = None if args.no_docs else PROJECT_DIR / args.docs
    try:
        run_bench(name, scale, history, data_dir.resolve(), json_path, docs_path)
    except BenchFailed as error:
        print(f"recon bench failed: {error}", file=sys.stderr)
        return 1
    return 0
