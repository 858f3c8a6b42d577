"""CSV that a spreadsheet opens safely: the cell rules of every CSV the project writes (the
monthly report, the adjustments, a finding's evidence), in one place.

A text cell starting with =, +, -, @, a tab or a carriage return gets a leading single quote,
so no spreadsheet reads it as a formula; numbers stay numbers (a negative amount is written
-80.00, not quoted); NULL is an empty cell; booleans true/false; dates ISO. UTF-8 with a
byte-order mark, so that Excel reads accented names right. No module here imports Prefect,
so the dashboard can use it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODING = "utf-8-sig"  # a byte-order mark: Excel then reads the file as UTF-8


def neutralise(text: str) -> str:
    """A leading quote for text a spreadsheet would read as a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: Any) -> str:
    """The CSV text of a value: NULL empty, booleans true/false, dates ISO, decimals plain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return neutralise(str(value))


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A whole CSV (header and rows, the cell rules above) as the bytes of the file."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return out.getvalue().encode(CSV_ENCODING)
