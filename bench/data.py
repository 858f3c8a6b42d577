"""Bench data: generated once per scale and reused, and raw folders holding the first
months of it (so that the history loaded is under the bench's control)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

CRM_FILES = ("crm_accounts.csv", "crm_providers.csv")
MONTH_FAMILIES = ("ops_intake_log", "billing_invoice_lines")
MARKER = "bench-data.json"


@dataclass(frozen=True)
class Scale:
    accounts: int
    months: int
    seed: int = 42
    end_month: str = "2026-10"


@dataclass(frozen=True)
class BenchData:
    raw_dir: Path
    seeds_dir: Path
    months: tuple[str, ...]
    rows: dict[str, int]  # data rows per file name

    def month_files(self, month: str) -> list[str]:
        suffix = month.replace("-", "_")
        return [f"{family}_{suffix}.csv" for family in MONTH_FAMILIES]

    def rows_of(self, months: Sequence[str]) -> int:
        """Raw rows in a folder holding the CRM files and these months' drops."""
        names = [*CRM_FILES, *(name for month in months for name in self.month_files(month))]
        return sum(self.rows[name] for name in names)

    def events_of(self, months: Sequence[str]) -> int:
        return sum(self.rows[self.month_files(month)[0]] for month in months)


def _parameters(scale: Scale) -> dict:
    from recon_testkit.generate import VERSION

    return {**asdict(scale), "generator_version": VERSION}


def ensure_data(data_dir: Path, scale: Scale, progress: Callable[[str], None]) -> BenchData:
    """The generated files of `scale` in `data_dir`: reused when its marker file says they
    were generated with the same parameters, generated (without answer key) otherwise."""
    marker = data_dir / MARKER
    raw_dir, seeds_dir = data_dir / "raw", data_dir / "seeds"
    parameters = _parameters(scale)
    if marker.exists():
        recorded = json.loads(marker.read_text(encoding="utf-8"))
        if recorded.get("parameters") == parameters:
            progress(f"reusing the data in {data_dir} ({recorded['events']:,} intake events)")
            return BenchData(raw_dir, seeds_dir, tuple(recorded["months"]), recorded["rows"])
    from recon_testkit.generate import generate

    progress(f"generating {scale.accounts:,} accounts x {scale.months} months into {data_dir}")
    marker.unlink(missing_ok=True)
    for folder in (raw_dir, seeds_dir):
        shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    summary = generate(
        out_dir=raw_dir,
        seeds_dir=seeds_dir,
        answer_key_dir=data_dir / "answer_key",
        accounts=scale.accounts,
        months=scale.months,
        seed=scale.seed,
        end_month=scale.end_month,
        progress=lambda message: progress(f"  {message}"),
        answer_key=False,
    )
    seconds = time.perf_counter() - started
    progress(f"generated {summary['events']:,} intake events in {seconds:.0f} s")
    record = {
        "parameters": parameters,
        "months": summary["months"],
        "rows": summary["rows"],
        "events": summary["events"],
        "generate_seconds": round(seconds, 1),
    }
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return BenchData(raw_dir, seeds_dir, tuple(summary["months"]), summary["rows"])


def link_files(data: BenchData, raw_dir: Path, months: Sequence[str]) -> None:
    """Puts the CRM files and these months' drops into `raw_dir` (symbolic links)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name in [*CRM_FILES, *(name for month in months for name in data.month_files(month))]:
        link = raw_dir / name
        if not link.exists():
            link.symlink_to((data.raw_dir / name).resolve())
