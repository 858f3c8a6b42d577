"""`recon bench`: measure the monthly build against the floor and the alternatives.

A bench run measures one or more datasets (a preset's "tiny" one, the scale's own), and for
each history level H (months of raw drops loaded), on one raw folder:

1. floor: DuckDB reads every raw file once, every column as text (bench/floor.py);
2. analyst SQL: one hand-written DuckDB script computes month H's counts (bench/analyst.sql);
3. pandas: the same counts in pandas (bench/pandas_counts.py);
4. dbt build, cold: `recon build --month H` on a fresh DuckDB file and target folder;
5. dbt build, next month: the next month's drop files are added, `recon build` of that month
   (its output gives the dbt step's and the publish step's seconds);
6. recon run, next month (the flow), at the tiny level and the largest: on a copy of the
   database as it was before step 5, at the same paths, so that both do the same work;
7. the baseline (--baseline COMMIT), at the tiny level: steps 4 and 5 with that commit's
   code, on the same files (a git worktree of it beside the data).

Every step runs in its own process (bench/measure.py: wall time and peak RSS). The counts of
steps 2 and 3 must equal the marts' (fct_provider_counts_monthly, month H), and step 5 must
leave month H's rows as they were; any difference fails the bench. Results: a table on the
console, JSON, and a generated section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.counts import Counts, differences, read_counts, write_counts
from bench.data import BenchData, Scale, ensure_data, link_files
from bench.measure import Measurement, measure
from bench.report import machine_info, render_console, render_markdown, update_docs
from recon.config import PROJECT_DIR

# Fixed cost: about 100 accounts, 3 months of drops (the demo data is 60 accounts, 6 months).
TINY = Scale(accounts=100, months=3)


@dataclass(frozen=True)
class Dataset:
    scale: Scale
    history: tuple[int, ...]
    kind: str  # "tiny": the fixed cost; "scale": the preset's scale


PRESETS: dict[str, tuple[Dataset, ...]] = {
    # CI: seconds of data, two dbt builds.
    "small": (Dataset(Scale(accounts=30, months=3), (2,), "scale"),),
    # Development: about a million intake events at 12 months.
    "medium": (
        Dataset(TINY, (2,), "tiny"),
        Dataset(Scale(accounts=4000, months=13), (6, 12), "scale"),
    ),
    # The scale: about 10 million intake events with 24 months loaded.
    "10m": (
        Dataset(TINY, (2,), "tiny"),
        Dataset(Scale(accounts=20000, months=25), (6, 24), "scale"),
    ),
}

STEPS = {
    "floor": "floor: DuckDB reads every file",
    "analyst": "analyst SQL script",
    "pandas": "pandas script",
    "dbt_cold": "dbt build, one month, cold",
    "dbt_next": "dbt build, next month",
    "flow_next": "recon run (the flow), next month",
    "baseline_cold": "dbt build, one month, cold, at the baseline",
    "baseline_next": "dbt build, next month, at the baseline",
}
DBT_STEPS = ("dbt_cold", "dbt_next", "flow_next", "baseline_cold", "baseline_next")

# Targets of issue 15 (docs/benchmarks.md).
FLAT_MAX_GROWTH = 1.15  # next month's build, largest history over smallest
DATA_MAX_RATIO = 1.5  # next month's build at the largest level over the tiny level's
FIXED_COST_MAX_RATIO = 0.5  # tiny next month's build over the baseline's
COLD_MAX_RATIO = 4.0  # cold build over the floor, largest level
MAX_RSS_MB = 2048.0
PUBLISH_MAX_GROWTH = 1.15  # publish seconds, largest history over smallest (or within 1 s)
FLOW_MAX_RATIO = 1.2  # the flow's build step over `recon build`'s


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
    kind: str = "scale"
    accounts: int = 0
    steps: dict[str, dict] = field(default_factory=dict)
    agreement: dict[str, int] = field(default_factory=dict)
    # from the commands' own output: the dbt step, the publish step, the flow's build step
    build_step_seconds: float | None = None
    publish_seconds: float | None = None
    flow_build_step_seconds: float | None = None


@dataclass(frozen=True)
class Options:
    alternatives: bool = True  # the analyst SQL and pandas (and their agreement check)
    flow: bool = True  # step 6 at the tiny level and the largest
    baseline: Path | None = None  # a worktree of the baseline commit (step 7)
    baseline_commit: str | None = None


def _progress(message: str) -> None:
    print(f"  {message}", flush=True)


def _step_env(
    run_dir: Path, raw_dir: Path, seeds_dir: Path, project_dir: Path = PROJECT_DIR
) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RECON_")}
    env.update(
        RECON_RAW_DIR=str(raw_dir),
        RECON_SEEDS_DIR=str(seeds_dir),
        RECON_DUCKDB_PATH=str(run_dir / "bench.duckdb"),
        RECON_REPORT_DIR=str(run_dir / "reports"),
        DBT_TARGET_PATH=str(run_dir / "target"),
        DBT_LOG_PATH=str(run_dir / "logs"),
        DBT_PROFILES_DIR=str(project_dir / "profiles"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
        PREFECT_HOME=str(run_dir / "prefect"),  # the flow's temporary API keeps its state here
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(project_dir), os.environ.get("PYTHONPATH")])),
    )
    return env


def _run_step(
    name: str,
    command: list[str],
    run_dir: Path,
    env: dict[str, str],
    project_dir: Path = PROJECT_DIR,
) -> Measurement:
    label = {
        **STEPS,
        "warm_up": "page-cache warm-up (not counted)",
        "validated_history": "the earlier months' raw-file validation (not counted)",
    }[name]
    print(f"  {label} ...", end="", flush=True)
    result = measure(command, run_dir / "logs" / f"{name}.log", env, project_dir)
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


def _seconds_in_log(result: Measurement, pattern: str) -> float | None:
    """A figure the command printed, e.g. 'build step: 12.3 s'."""
    text = result.log_path.read_text(encoding="utf-8", errors="replace")
    found = re.findall(pattern, text)
    return float(found[-1].replace(",", "")) if found else None


BUILD_STEP = r"build step: ([0-9.,]+) s"
PUBLISH_STEP = r"published [0-9-]+: [0-9]+ partitions of [0-9]+ marts in ([0-9.,]+) s"


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


def run_level(
    data: BenchData,
    history: int,
    work_dir: Path,
    kind: str = "scale",
    options: Options = Options(),
    flow: bool = False,
) -> Level:
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
        kind=kind,
    )
    run_dir = work_dir / f"history_{history:02d}"
    shutil.rmtree(run_dir, ignore_errors=True)  # cold: no database, no target, no logs
    raw_dir = run_dir / "raw"
    link_files(data, raw_dir, months)
    env = _step_env(run_dir, raw_dir, data.seeds_dir)
    python = sys.executable
    print(
        f"{kind} data, history {history} months ({months[0]}..{month}): "
        f"{level.raw_rows:,} raw rows, {level.events:,} intake events; next month {next_month}",
        flush=True,
    )

    if flow:  # the files the earlier months' flows validated (recon/validate.py); first, so
        # that its memory (7 GB at 24 months) does not evict the page cache of measured steps
        _run_step(
            "validated_history", [python, "-m", "bench.validated_history", month], run_dir, env
        )
    _run_step("warm_up", [python, "-m", "bench.floor", str(raw_dir)], run_dir, env)  # page cache
    _record(
        level,
        "floor",
        _run_step("floor", [python, "-m", "bench.floor", str(raw_dir)], run_dir, env),
        level.raw_rows,
    )
    outputs = {name: run_dir / f"{name}_counts.csv" for name in ("analyst", "pandas", "marts")}
    methods = ("analyst", "pandas") if options.alternatives else ()
    for name in methods:
        module = {"analyst": "bench.analyst", "pandas": "bench.pandas_counts"}[name]
        command = [python, "-m", module, str(raw_dir), str(data.seeds_dir), month]
        result = _run_step(name, [*command, str(outputs[name])], run_dir, env)
        _record(level, name, result, level.raw_rows)

    build = [python, "-m", "recon.cli", "build", "--month"]
    _record(level, "dbt_cold", _run_step("dbt_cold", [*build, month], run_dir, env), level.raw_rows)
    marts = mart_counts(run_dir / "bench.duckdb", month)
    write_counts(outputs["marts"], [(*key, *value) for key, value in sorted(marts.items())])
    if not marts:
        raise BenchFailed(f"the marts have no counts for {month}: nothing to compare")
    for name in methods:
        _check_agreement(marts, name, read_counts(outputs[name]), month)
    level.agreement = {"customer_products": len(marts), "methods": 1 + len(methods)}
    if methods:
        print(f"  the marts, the analyst SQL and pandas agree on {len(marts):,} customer-products")

    link_files(data, raw_dir, [next_month])
    before_next = run_dir.with_name(run_dir.name + "_before_next")
    if flow:  # the flow starts from the same state, at the same paths (dbt's partial parse)
        shutil.rmtree(before_next, ignore_errors=True)
        shutil.copytree(run_dir, before_next, symlinks=True)
    result = _run_step("dbt_next", [*build, next_month], run_dir, env)
    _record(level, "dbt_next", result, level.next_raw_rows)
    level.build_step_seconds = _seconds_in_log(result, BUILD_STEP)
    level.publish_seconds = _seconds_in_log(result, PUBLISH_STEP)
    if flow:
        built = run_dir.with_name(run_dir.name + "_built")
        shutil.rmtree(built, ignore_errors=True)
        run_dir.rename(built)
        before_next.rename(run_dir)
        command = [python, "-m", "recon.cli", "run", "--month", next_month]
        result = _run_step("flow_next", command, run_dir, env)
        _record(level, "flow_next", result, level.next_raw_rows)
        level.flow_build_step_seconds = _seconds_in_log(result, BUILD_STEP)
        shutil.rmtree(built)
    if mart_counts(run_dir / "bench.duckdb", month) != marts:
        raise BenchFailed(f"the run of {next_month} changed the counts of {month}")
    if not mart_counts(run_dir / "bench.duckdb", next_month):
        raise BenchFailed(f"the run of {next_month} wrote no counts for it")

    if options.baseline is not None and kind == "tiny":
        baseline_dir = work_dir / f"baseline_{history:02d}"
        shutil.rmtree(baseline_dir, ignore_errors=True)
        baseline_raw = baseline_dir / "raw"
        link_files(data, baseline_raw, months)
        baseline_env = _step_env(baseline_dir, baseline_raw, data.seeds_dir, options.baseline)
        for name, build_month in (("baseline_cold", month), ("baseline_next", next_month)):
            if name == "baseline_next":
                link_files(data, baseline_raw, [next_month])
            result = _run_step(
                name, [*build, build_month], baseline_dir, baseline_env, options.baseline
            )
            rows = level.raw_rows if name == "baseline_cold" else level.next_raw_rows
            _record(level, name, result, rows)

    floor_seconds = level.steps["floor"]["seconds"]
    for step in level.steps.values():
        step["ratio_to_floor"] = round(step["seconds"] / floor_seconds, 2)
    return level


def _target(target: str, measured: str, met: bool) -> dict:
    return {"target": target, "measured": measured, "met": met}


def evaluate_targets(levels: list[Level]) -> list[dict]:
    """Issue 15's targets, as measured (met or missed, with the figure); a target whose
    steps did not run (no tiny level, no baseline, one history level) is not listed."""
    scale_levels = [level for level in levels if level.kind == "scale"]
    tiny = next((level for level in levels if level.kind == "tiny"), None)
    smallest, largest = scale_levels[0], scale_levels[-1]
    next_seconds = {id(level): level.steps["dbt_next"]["seconds"] for level in levels}
    targets = []
    if len(scale_levels) > 1:
        growth = next_seconds[id(largest)] / next_seconds[id(smallest)]
        targets.append(
            _target(
                f"flat: next month's build at {largest.history_months} months of history "
                f"within {FLAT_MAX_GROWTH:g}x the one at {smallest.history_months}",
                f"{growth:.2f}x",
                growth <= FLAT_MAX_GROWTH,
            )
        )
    if tiny is not None:
        ratio = next_seconds[id(largest)] / next_seconds[id(tiny)]
        targets.append(
            _target(
                f"the data adds little: next month's build at {largest.events:,} events within "
                f"{DATA_MAX_RATIO:g}x the tiny data's ({tiny.events:,} events)",
                f"{ratio:.2f}x ({next_seconds[id(largest)]:.1f} s vs "
                f"{next_seconds[id(tiny)]:.1f} s)",
                ratio <= DATA_MAX_RATIO,
            )
        )
        if "baseline_next" in tiny.steps:
            baseline = tiny.steps["baseline_next"]["seconds"]
            ratio = next_seconds[id(tiny)] / baseline
            targets.append(
                _target(
                    f"fixed cost: the tiny data's next-month build at most "
                    f"{FIXED_COST_MAX_RATIO:g}x the baseline's",
                    f"{ratio:.2f}x ({next_seconds[id(tiny)]:.1f} s vs {baseline:.1f} s)",
                    ratio <= FIXED_COST_MAX_RATIO,
                )
            )
    cold = largest.steps["dbt_cold"]["ratio_to_floor"]
    targets.append(
        _target(
            f"cold build within {COLD_MAX_RATIO:g}x the floor ({largest.history_months} months)",
            f"{cold:.2f}x",
            cold <= COLD_MAX_RATIO,
        )
    )
    peaks = [
        (level.steps[name]["peak_rss_mb"], name, level)
        for level in levels
        for name in DBT_STEPS
        if name in level.steps
    ]
    peak, name, level = max(peaks, key=lambda item: item[0])
    targets.append(
        _target(
            f"peak RSS of every dbt step under {MAX_RSS_MB:,.0f} MB",
            f"{peak:,.0f} MB ({STEPS[name]}, {level.kind} data, {level.history_months} months)",
            peak < MAX_RSS_MB,
        )
    )
    if len(scale_levels) > 1 and smallest.publish_seconds is not None:
        small, large = smallest.publish_seconds, largest.publish_seconds or 0.0
        targets.append(
            _target(
                f"publishing does not grow with history: {largest.history_months} months within "
                f"{PUBLISH_MAX_GROWTH:g}x (or 1 s) of {smallest.history_months}",
                f"{large:.1f} s vs {small:.1f} s",
                large <= max(small * PUBLISH_MAX_GROWTH, small + 1.0),
            )
        )
    for level in levels:
        flow, build = level.flow_build_step_seconds, level.build_step_seconds
        if flow is None or not build:
            continue
        targets.append(
            _target(
                f"the flow is light: its build step within {FLOW_MAX_RATIO:g}x `recon build`'s "
                f"({level.kind} data, {level.history_months} months)",
                f"{flow / build:.2f}x ({flow:.1f} s vs {build:.1f} s)",
                flow / build <= FLOW_MAX_RATIO,
            )
        )
    return targets


def baseline_worktree(commit: str, folder: Path) -> Path:
    """A git worktree of `commit` in `folder` (made again when it exists)."""
    if folder.exists():
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(folder)],
            cwd=PROJECT_DIR,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
    completed = subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), commit],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchFailed(f"no worktree of the baseline {commit}: {completed.stderr.strip()}")
    return folder


def run_bench(
    name: str,
    datasets: tuple[Dataset, ...],
    data_root: Path,
    json_path: Path,
    docs_path: Path | None,
    options: Options = Options(),
) -> dict:
    for dataset in datasets:
        history, scale = dataset.history, dataset.scale
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
    levels = []
    for dataset in datasets:
        data_dir = data_root / data_dir_name(dataset.scale)
        data = ensure_data(data_dir, dataset.scale, _progress)
        largest = max(dataset.history)
        for months in sorted(dataset.history):
            flow = options.flow and (dataset.kind == "tiny" or months == largest)
            level = run_level(data, months, data_dir / "work", dataset.kind, options, flow)
            level.accounts = dataset.scale.accounts
            levels.append(level)
    machine["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    scale = datasets[-1].scale
    results = {
        "name": name,
        "machine": machine,
        "scale": {**scale.__dict__, "history_levels": sorted(datasets[-1].history)},
        "baseline": options.baseline_commit,
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


def data_dir_name(scale: Scale) -> str:
    return f"{scale.accounts}x{scale.months}-seed{scale.seed}"


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
        "--history", help="months loaded at each level, comma separated (e.g. 6,24)"
    )
    parser.add_argument(
        "--baseline",
        metavar="COMMIT",
        help="also build the tiny data with this commit's code (a git worktree): the fixed "
        "cost before and after, side by side",
    )
    parser.add_argument(
        "--no-alternatives",
        action="store_true",
        help="skip the analyst SQL and pandas steps (and their agreement check)",
    )
    parser.add_argument("--no-flow", action="store_true", help="skip `recon run` (the flow)")
    parser.add_argument(
        "--data-dir", help="bench data folder (default data/bench; one folder per scale in it)"
    )
    parser.add_argument("--json", help="results file (default bench/results/NAME.json)")
    parser.add_argument("--docs", default="docs/benchmarks.md", help="page to update")
    parser.add_argument("--no-docs", action="store_true", help="do not update the docs page")


def run_from_args(args: argparse.Namespace) -> int:
    *others, main = PRESETS[args.scale]
    overrides = {"accounts": args.accounts, "months": args.months, "seed": args.seed}
    scale = Scale(
        **{**main.scale.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
    )
    history = main.history
    if args.history:
        history = tuple(int(part) for part in args.history.split(","))
    datasets = (*others, Dataset(scale, history, main.kind))
    name = args.scale if scale == main.scale else data_dir_name(scale)
    if args.history:
        name += "-history-" + "-".join(str(months) for months in sorted(history))
    data_root = Path(args.data_dir) if args.data_dir else PROJECT_DIR / "data" / "bench"
    json_path = Path(args.json) if args.json else PROJECT_DIR / "bench" / "results" / f"{name}.json"
    docs_path = None if args.no_docs else PROJECT_DIR / args.docs
    try:
        baseline = None
        if args.baseline:
            baseline = baseline_worktree(args.baseline, data_root.resolve() / "baseline-worktree")
        options = Options(
            alternatives=not args.no_alternatives,
            flow=not args.no_flow,
            baseline=baseline,
            baseline_commit=args.baseline,
        )
        run_bench(name, datasets, data_root.resolve(), json_path, docs_path, options)
    except BenchFailed as error:
        print(f"recon bench failed: {error}", file=sys.stderr)
        return 1
    return 0
