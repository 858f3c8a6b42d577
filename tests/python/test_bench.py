"""`recon bench` in its small version (CI), so that the benchmark cannot rot.

Runs every step (floor, analyst SQL, pandas, cold dbt build, next-month dbt build) on a
small generated dataset and checks that the analyst SQL and pandas agree with the marts.
No timing is asserted: the machine running CI is not the benchmark machine.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

from bench.counts import differences
from bench.data import Scale
from bench.measure import measure
from bench.report import update_docs
from bench.run import (
    STEPS,
    BenchFailed,
    Dataset,
    Level,
    Options,
    _check_agreement,
    data_dir_name,
    evaluate_targets,
    run_bench,
)


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    seed = int(os.environ.get("RECON_TEST_SEED") or random.SystemRandom().randrange(1, 10**6))
    print(f"\nbench generator seed: {seed} (set RECON_TEST_SEED={seed} to repeat)")
    root = tmp_path_factory.mktemp("bench")
    docs = root / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nHand-written text stays.\n", encoding="utf-8")
    scale = Scale(accounts=30, months=3, seed=seed)
    results = run_bench(
        name="small",
        datasets=(Dataset(scale, (2,), "scale"),),
        data_root=root / "bench",
        json_path=root / "results.json",
        docs_path=docs,
        options=Options(flow=False),  # the flow's step: the medium and 10m presets
    )
    (root / "data").symlink_to(root / "bench" / data_dir_name(scale))
    return results, root


def test_every_step_runs_and_the_three_methods_agree(small_bench: tuple[dict, Path]) -> None:
    results, root = small_bench
    (level,) = results["levels"]
    assert set(level["steps"]) == {"floor", "analyst", "pandas", "dbt_cold", "dbt_next"}
    assert set(level["steps"]) < set(STEPS)
    assert level["build_step_seconds"] > 0 and level["publish_seconds"] is not None
    assert (level["month"], level["next_month"]) == ("2026-09", "2026-10")
    # run_bench raises BenchFailed with the differing rows when a method disagrees; here it
    # did not, and the comparison covered real rows.
    assert level["agreement"]["customer_products"] > 0
    marts = (root / "data" / "work" / "history_02" / "marts_counts.csv").read_text().splitlines()
    for method in ("analyst", "pandas"):
        counts = root / "data" / "work" / "history_02" / f"{method}_counts.csv"
        assert sorted(counts.read_text().splitlines()) == sorted(marts)
    rows = _rows(root)
    assert (
        level["events"] == rows["ops_intake_log_2026_08.csv"] + rows["ops_intake_log_2026_09.csv"]
    )


def _rows(root: Path) -> dict[str, int]:
    return json.loads((root / "data" / "bench-data.json").read_text())["rows"]


def test_results_are_written_as_json_and_into_the_docs(small_bench: tuple[dict, Path]) -> None:
    results, root = small_bench
    assert json.loads((root / "results.json").read_text()) == results
    docs = (root / "benchmarks.md").read_text()
    assert "Hand-written text stays." in docs
    assert docs.count("<!-- recon bench small: begin (generated) -->") == 1
    assert "| 2 months | dbt build, next month |" in docs
    for step in results["levels"][0]["steps"].values():
        assert step["peak_rss_mb"] > 0 and step["rows_per_second"] > 0


def test_a_second_run_reuses_the_data(small_bench: tuple[dict, Path], capsys) -> None:
    from bench.data import ensure_data

    _, root = small_bench
    seed = json.loads((root / "data" / "bench-data.json").read_text())["parameters"]["seed"]
    messages: list[str] = []
    ensure_data(root / "data", Scale(accounts=30, months=3, seed=seed), messages.append)
    assert messages and messages[0].startswith("reusing the data")


def test_a_disagreement_fails_the_bench_with_the_rows() -> None:
    marts = {("ACC-00001", "TELE"): (3, 3), ("ACC-00002", "RCM"): (1, 0)}
    method = {("ACC-00001", "TELE"): (3, 4), ("ACC-00003", "RCM"): (0, 2)}
    with pytest.raises(BenchFailed) as failure:
        _check_agreement(marts, "pandas", method, "2026-10")
    message = str(failure.value)
    assert "ACC-00001 / TELE: marts (billable, billed) = (3, 3), this method = (3, 4)" in message
    assert "ACC-00002 / RCM" in message and "ACC-00003 / RCM" in message
    assert differences(marts, dict(marts)) == []


def test_the_docs_section_is_replaced_not_repeated(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nintro\n", encoding="utf-8")
    update_docs(page, "10m", "first table")
    update_docs(page, "small", "small table")
    update_docs(page, "10m", "second table")
    text = page.read_text()
    assert "first table" not in text and text.count("second table") == 1
    assert text.index("second table") < text.index("small table")
    assert text.startswith("# Benchmarks\n\nintro\n")


def test_peak_rss_is_the_measured_process_and_its_children(tmp_path: Path) -> None:
    allocate = "x = bytearray(200 * 1024 * 1024)"  # bytearray zero-fills it: resident
    starts_a_child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {allocate!r}])"
    measured = measure(
        [sys.executable, "-c", starts_a_child], tmp_path / "step.log", dict(os.environ), tmp_path
    )
    assert measured.exit_code == 0
    assert measured.peak_rss_mb >= 200


def test_peak_rss_leaves_out_the_process_that_starts_the_step(tmp_path: Path) -> None:
    ballast = bytearray(300 * 1024 * 1024)  # this process is large; the step is not
    small = measure(
        [sys.executable, "-c", "pass"], tmp_path / "small.log", dict(os.environ), tmp_path
    )
    assert len(ballast) and small.exit_code == 0
    assert small.peak_rss_mb < 100


def _level(kind: str, history: int, **seconds: float) -> Level:
    level = Level(history, "2026-09", "2026-10", 100, 110, 50, kind=kind)
    for name, value in seconds.items():
        level.steps[name] = {
            "seconds": value,
            "ratio_to_floor": value / seconds["floor"],
            "peak_rss_mb": 500.0,
        }
    return level


def test_issue_15_targets_are_computed_from_the_levels() -> None:
    tiny = _level("tiny", 2, floor=1.0, dbt_cold=20.0, dbt_next=10.0, baseline_next=25.0)
    tiny.build_step_seconds, tiny.flow_build_step_seconds = 8.0, 9.0
    six = _level("scale", 6, floor=2.0, dbt_cold=40.0, dbt_next=14.0)
    six.publish_seconds = 0.5
    twenty_four = _level("scale", 24, floor=8.0, dbt_cold=31.0, dbt_next=16.0)
    twenty_four.publish_seconds, twenty_four.build_step_seconds = 1.2, 12.0
    twenty_four.flow_build_step_seconds = 15.0
    twenty_four.steps["dbt_next"]["peak_rss_mb"] = 2100.0
    verdicts = [
        (target["target"].split(":")[0].split(" (")[0], target["met"])
        for target in evaluate_targets([tiny, six, twenty_four])
    ]
    assert verdicts == [
        ("flat", True),  # 16 / 14 = 1.14
        ("the data adds little", False),  # 16 / 10 = 1.6
        ("fixed cost", True),  # 10 / 25 = 0.4
        ("cold build within 4x the floor", True),  # 31 / 8 = 3.9
        ("peak RSS of every dbt step under 2,048 MB", False),  # 2,100 MB
        ("publishing does not grow with history", True),  # 1.2 s: within 1 s of 0.5 s
        ("the flow is light", True),  # tiny: 9 / 8 = 1.125
        ("the flow is light", False),  # 24 months: 15 / 12 = 1.25
    ]


def test_without_a_tiny_level_or_a_baseline_those_targets_are_not_listed() -> None:
    one = _level("scale", 2, floor=1.0, dbt_cold=20.0, dbt_next=10.0)
    targets = [target["target"] for target in evaluate_targets([one])]
    assert [target.split(" ")[0] for target in targets] == ["cold", "peak"]
