"""Tell people about the month's new findings and their dollar impact, through Apprise.

| variable                          | meaning                                  | default       |
|-----------------------------------|------------------------------------------|---------------|
| RECON_NOTIFY_URLS                 | Apprise URLs, comma or space separated   | none: skipped |
| RECON_NOTIFY_RETRIES              | retries of an endpoint that fails        | 3             |
| RECON_NOTIFY_RETRY_DELAY_SECONDS  | seconds between those retries            | 30            |

Any Apprise URL works (mailto://, slack://, msteams://, json://host/path, ...). Each endpoint is
its own task run with retries, so one endpoint's failure neither resends to the others nor
fails the monthly run: after the last retry it is logged as a warning. The URLs (which often
hold tokens) stay in the environment: tasks get an endpoint's position, and logs show the
URL as Apprise masks it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from recon.vocabulary import finding_label, header, product_shown

MAX_FINDINGS_LISTED = 10


@dataclass(frozen=True)
class Message:
    title: str
    body: str


class NotificationFailed(RuntimeError):
    """An endpoint did not accept the message (retried, then logged as a warning)."""


def notification_urls() -> list[str]:
    """RECON_NOTIFY_URLS split on commas and whitespace; empty when unset."""
    return [url for url in re.split(r"[,\s]+", os.environ.get("RECON_NOTIFY_URLS", "")) if url]


def masked(url: str) -> str:
    """The URL as Apprise prints it with secrets hidden (or its scheme when not a valid URL)."""
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    return plugin.url(privacy=True) if plugin else url.split("://", 1)[0] + "://..."


def retry_options() -> dict[str, int]:
    return {
        "retries": int(os.environ.get("RECON_NOTIFY_RETRIES") or 3),
        "retry_delay_seconds": int(os.environ.get("RECON_NOTIFY_RETRY_DELAY_SECONDS") or 30),
    }


def _money(value: Any) -> str:
    amount = Decimal(str(value or 0))
    return f"{'-' if amount < 0 else '+'}${abs(amount):,.2f}"


def finding_line(row: dict[str, Any]) -> str:
    """Customer / product: label and dollar impact, in the words of the workbook and the
    dashboard; a finding about the customer has no dollar impact of its own (its products'
    findings carry it)."""
    label = finding_label(row.get("discrepancy_type"))
    line = (
        f"{row.get('customer_name') or row['customer_key']} / "
        f"{product_shown(row.get('product_code'))}: {label}"
    )
    return f"{line} {_money(row['amount_delta'])}" if row.get("product_code") else line


def build_message(
    billing_month: str,
    new_findings: Sequence[dict[str, Any]],
    summary: dict[str, Any],
    report_path: str,
) -> Message:
    """New findings of the month, their dollar impact, the largest ones and the report."""
    product_findings = [row for row in new_findings if row.get("product_code")]
    overbilled = sum(
        (Decimal(str(row["amount_delta"])) for row in product_findings if row["amount_delta"] > 0),
        Decimal(0),
    )
    underbilled = sum(
        (Decimal(str(row["amount_delta"])) for row in product_findings if row["amount_delta"] < 0),
        Decimal(0),
    )
    title = (
        f"Provider reconciliation {billing_month}: {len(new_findings)} new finding"
        f"{'' if len(new_findings) == 1 else 's'}"
    )
    customer_level = len(new_findings) - len(product_findings)
    lines = [
        f"{len(new_findings)} new findings in {billing_month} "
        f"({len(product_findings)} on a product, {customer_level} on the customer as a whole).",
        f"Dollar impact of the new findings: {_money(overbilled)} overbilled, "
        f"{_money(underbilled)} underbilled.",
        f"{header('billing_match_rate')} {float(summary.get('billing_match_rate') or 0):.1%}; "
        f"{header('account_findings').lower()} of the month: {summary.get('account_findings', 0)}"
        f"; {header('provider_findings').lower()}: {summary.get('provider_findings', 0)}.",
    ]
    if new_findings:
        lines.append("Largest new findings:")
        for row in new_findings[:MAX_FINDINGS_LISTED]:
            lines.append(f"- {finding_line(row)}")
        if len(new_findings) > MAX_FINDINGS_LISTED:
            lines.append(f"- and {len(new_findings) - MAX_FINDINGS_LISTED} more")
    lines.append(f"Report: {report_path}")
    return Message(title=title, body="\n".join(lines))


@task(
    name="notify",
    task_run_name="notify-endpoint-{position}",
    retries=3,
    retry_delay_seconds=30,
    cache_policy=NO_CACHE,
)
def send_notification(position: int, title: str, body: str) -> str:
    """Sends to the endpoint at `position` of RECON_NOTIFY_URLS; raises when it refuses."""
    import apprise

    url = notification_urls()[position]
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise NotificationFailed(f"not a valid Apprise URL: {masked(url)}")
    if not notifier.notify(title=title, body=body):
        raise NotificationFailed(f"{masked(url)} did not accept the notification")
    return masked(url)
