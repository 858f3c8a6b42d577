"""The counts every method produces, in one shape: one row per customer and product of the
month with billable providers and billed quantity, written to and read from CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

COLUMNS = ("customer_key", "product_code", "billable_providers", "billed_quantity")
Counts = dict[tuple[str, str], tuple[int, int]]


def write_counts(path: Path, rows: Iterable[tuple]) -> int:
    """Writes (customer_key, product_code, billable_providers, billed_quantity) rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for customer_key, product_code, billable, billed in rows:
            writer.writerow((customer_key, product_code, int(billable), int(billed)))
            written += 1
    return written


def read_counts(path: Path) -> Counts:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            (row["customer_key"], row["product_code"]): (
                int(row["billable_providers"]),
                int(row["billed_quantity"]),
            )
            for row in csv.DictReader(handle)
        }


def differences(expected: Counts, actual: Counts, limit: int = 10) -> list[str]:
    """Human-readable differences (first `limit`), empty when the counts agree."""
    lines = []
    for key in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(key), actual.get(key)
        if want != got:
            lines.append(
                f"{key[0]} / {key[1]}: marts (billable, billed) = {want}, this method = {got}"
            )
    total = len(lines)
    return [*lines[:limit], f"... {total - limit} more"] if total > limit else lines
