"""The billing month a run reconciles, 'YYYY-MM' (no Prefect import: `recon build` needs it
too, and importing Prefect costs seconds of every build)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def previous_month(today: date) -> str:
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def resolve_billing_month(billing_month: str | None, today: date | None = None) -> str:
    """'YYYY-MM' as given, or the calendar month before today (UTC) when None or empty."""
    if not billing_month or not billing_month.strip():
        return previous_month(today or datetime.now(UTC).date())
    value = billing_month.strip()
    if not _MONTH.fullmatch(value):
        raise ValueError(f"billing_month must be 'YYYY-MM', got {billing_month!r}")
    return value
