"""The machine, the results table (console and Markdown) and the generated docs section."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path


def _proc_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def machine_info() -> dict:
    memory_kb = _proc_value("/proc/meminfo", "MemTotal")
    memory_gb = round(int(memory_kb.split()[0]) / 1024 / 1024, 1) if memory_kb else None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cores": usable or os.cpu_count(),
        "memory_gb": memory_gb,
        "cpu_model": _proc_value("/proc/cpuinfo", "model name") or platform.processor(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "versions": {
            package: metadata.version(package)
            for package in ("duckdb", "dbt-core", "dbt-duckdb", "pandas")
        },
    }


COLUMNS = ("data", "step", "seconds", "CPU s", "raw rows", "rows/s", "x floor", "peak RSS MB")


def _level_label(level: dict) -> str:
    kind = "tiny, " if level.get("kind") == "tiny" else ""
    return f"{kind}{level['history_months']} months"


def _rows(results: dict) -> list[tuple[str, ...]]:
    rows = []
    for level in results["levels"]:
        for step in level["steps"].values():
            rows.append(
                (
                    _level_label(level),
                    step["label"],
                    f"{step['seconds']:.1f}",
                    f"{step['cpu_seconds']:.1f}",
                    f"{step['raw_rows']:,}",
                    f"{step['rows_per_second']:,}",
                    f"{step['ratio_to_floor']:.2f}",
                    f"{step['peak_rss_mb']:,.0f}",
                )
            )
    return rows


def _heading(results: dict) -> str:
    scale, largest = results["scale"], results["levels"][-1]
    return (
        f"{largest['events']:,} intake events with {largest['history_months']} months loaded "
        f"({scale['accounts']:,} accounts, seed {scale['seed']}; history levels "
        f"{', '.join(str(months) for months in scale['history_levels'])})"
    )


def _machine_line(machine: dict) -> str:
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    start = ", ".join(str(value) for value in machine["load_average_at_start"])
    end = ", ".join(str(value) for value in machine.get("load_average_at_end", []))
    return (
        f"{machine['cores']} cores ({machine['cpu_model']}), {machine['memory_gb']} GB memory, "
        f"load average {start} at start and {end} at the end; "
        f"Python {machine['python']}, {versions}; {machine['date']}"
    )


def render_console(results: dict) -> str:
    rows = [COLUMNS, *_rows(results)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(COLUMNS))]
    lines = [f"recon bench {results['name']}: {_heading(results)}"]
    lines += [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.append("targets:")
    lines += [
        f"  {'met   ' if target['met'] else 'MISSED'} {target['target']}: {target['measured']}"
        for target in results["targets"]
    ]
    return "\n".join(lines)


def render_markdown(results: dict) -> str:
    lines = [
        f"### `{results['name']}`: {_heading(results)}",
        "",
        f"Machine: {_machine_line(results['machine'])}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if index < 2 else "---:" for index in range(len(COLUMNS))) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    lines += ["", "| target | measured | |", "|---|---|---|"]
    for target in results["targets"]:
        verdict = "met" if target["met"] else "**missed**"
        lines.append(f"| {target['target']} | {target['measured']} | {verdict} |")
    lines += ["", *_step_figures(results)]
    largest = results["levels"][-1]
    agreement = largest["agreement"]
    if agreement.get("methods", 3) > 1:
        lines += [
            "",
            f"The analyst SQL, pandas and the marts agreed on the counts of every level "
            f"({agreement['customer_products']:,} customer-products at "
            f"{largest['history_months']} months).",
        ]
    return "\n".join(lines)


def _step_figures(results: dict) -> list[str]:
    """The figures the commands print of their own steps: dbt's build step and the publish
    step of `recon build`, and the flow's build step."""
    lines = ["| data | dbt build step (recon build) | publish step | the flow's build step |"]
    lines.append("|---|---:|---:|---:|")
    for level in results["levels"]:
        cells = [
            level.get("build_step_seconds"),
            level.get("publish_seconds"),
            level.get("flow_build_step_seconds"),
        ]
        shown = [f"{value:.1f} s" if value is not None else "" for value in cells]
        lines.append(f"| {_level_label(level)} | " + " | ".join(shown) + " |")
    if results.get("baseline"):
        lines += ["", f"Baseline: commit `{results['baseline']}` (the tiny data, same files)."]
    return lines


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- recon bench {name}: begin (generated) -->", f"<!-- recon bench {name}: end -->"


def update_docs(path: Path, name: str, markdown: str) -> None:
    """Replaces the generated section of `name` in the page, or appends it."""
    begin, end = _markers(name)
    section = f"{begin}\n{markdown}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
