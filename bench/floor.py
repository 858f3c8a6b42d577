"""The floor: DuckDB reading every raw file once, every column as text, and nothing else.

    python -m bench.floor RAW_DIR

Each file family is read with the options the project's RAW layer uses (header, RFC 4180
quoting, all text, files of a family unioned by name), and every column of every row is
touched (the sum of its lengths), so that no column can be skipped by projection pushdown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

FAMILIES = {
    "crm_accounts": "crm_accounts.csv",
    "crm_providers": "crm_providers.csv",
    "ops_intake_log": "ops_intake_log*.csv",
    "billing_invoice_lines": "billing_invoice_lines*.csv",
}


def read_every_file(raw_dir: Path) -> dict[str, int]:
    """Rows of each family, having read every value of every file."""
    connection = duckdb.connect()
    rows = {}
    try:
        for family, pattern in FAMILIES.items():
            glob = str(raw_dir / pattern)
            result = connection.execute(
                "select count(*), sum(length(columns(*))) from read_csv("
                "$glob, header = true, delim = ',', quote = '\"', escape = '\"', "
                "all_varchar = true, union_by_name = true)",
                {"glob": glob},
            ).fetchone()
            rows[family] = int(result[0])
    finally:
        connection.close()
    return rows


def main(argv: list[str]) -> int:
    rows = read_every_file(Path(argv[0]))
    print(f"floor: read {sum(rows.values())} rows ({rows})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
