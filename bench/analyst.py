"""Runs the analyst's hand-written SQL script (bench/analyst.sql) with DuckDB.

python -m bench.analyst RAW_DIR SEEDS_DIR YYYY-MM OUT.csv
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from bench.counts import write_counts

SCRIPT = Path(__file__).with_name("analyst.sql")


def analyst_counts(raw_dir: Path, seeds_dir: Path, month: str) -> list[tuple]:
    connection = duckdb.connect()
    try:
        for name, value in (
            ("raw_dir", raw_dir),
            ("seeds_dir", seeds_dir),
            ("billing_month", month),
        ):
            connection.execute(f"set variable {name} = $value", {"value": str(value)})
        return connection.execute(SCRIPT.read_text(encoding="utf-8")).fetchall()
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    raw_dir, seeds_dir, month, out = argv
    rows = write_counts(Path(out), analyst_counts(Path(raw_dir), Path(seeds_dir), month))
    print(f"analyst SQL: {rows} customer-products for {month}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
