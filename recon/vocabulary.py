"""The words people read: one vocabulary for the workbook, the CSV, the dashboard, the
notification and the Prefect artifacts.

- Finding types and their labels come from ONE definition, the var `finding_types` of
  dbt_project.yml: the marts' `status_label` (macros/discrepancy_types.sql) is made from it
  in SQL, and this module reads the same block, so "Billing mismatch" is written once.
- A finding about the customer (product NULL: MISSING_FROM_CRM, ACCOUNT_NOT_ACTIVE_IN_CRM,
  GO_LIVE_MISMATCH) is shown with the product `ACCOUNT_LEVEL_PRODUCT` and no dollar impact of
  its own: its amount in the marts is the sum of the customer's product findings, which are
  listed on their own rows (adding both would count the same dollars twice).
- Column headers and the kind of value of each column (money, percentage, count, date,
  yes/no...): the workbook's headers and number formats and the dashboard's column labels.
  The CSV keeps the marts' column names (a data interface, checked against the contract).
- Statuses (`invoice_status` open/closed, `resolution_status` open/disputed/resolved) are
  shown as the marts have them, everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from recon.config import PROJECT_DIR

ACCOUNT_LEVEL_PRODUCT = "All products"
YES, NO = "Yes", "No"


@dataclass(frozen=True)
class FindingType:
    code: str
    level: str  # product, account, provider or entitlement
    label: str


@cache
def _project_vars() -> dict[str, Any]:
    import yaml

    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return project["vars"]


def finding_types() -> dict[str, FindingType]:
    """Every finding type of dbt_project.yml's `finding_types`, in its order."""
    return {
        code: FindingType(code, spec["level"], spec["label"])
        for code, spec in _project_vars()["finding_types"].items()
    }


def no_finding_label(level: str = "product") -> str:
    """'Match' for a customer-product, 'Within entitlement' for an entitlement row."""
    return _project_vars()["no_finding_labels"][level]


def finding_label(code: str | None, level: str = "product") -> str:
    """The words for a finding type (the marts' status_label); a NULL type is no finding."""
    if code is None or code == "":
        return no_finding_label(level)
    known = finding_types().get(code)
    return known.label if known else humanise(code)


def finding_labels(codes: str | None) -> str | None:
    """A comma-separated list of types (rpt_finance_report.account_finding_types) as labels."""
    if not codes:
        return None
    return ", ".join(finding_label(code.strip()) for code in codes.split(","))


def is_account_level(code: str | None) -> bool:
    known = finding_types().get(code or "")
    return known is not None and known.level == "account"


def product_shown(product_code: str | None) -> str:
    """The product of a finding as shown: an account-level finding is about every product."""
    return product_code if isinstance(product_code, str) and product_code else ACCOUNT_LEVEL_PRODUCT


def humanise(code: str) -> str:
    """UNPARSEABLE_DATE -> 'Unparseable date' (data-quality issue codes, unknown codes)."""
    words = code.replace("_", " ").strip().lower()
    for acronym in ("crm", "npi", "id"):
        words = " ".join(acronym.upper() if word == acronym else word for word in words.split())
    return words[:1].upper() + words[1:]


def money(value: Any) -> str:
    """Dollars as every reader shows them: $1,234.50, a negative amount -$80.00."""
    amount = float(value or 0)
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


# The first columns of a list of findings, wherever it is shown (the workbook's Findings
# sheet, the dashboard's table, the flow's artifact): who, what, how much, what to do.
FINDINGS_LEAD_COLUMNS = (
    "customer_name",
    "product_code",
    "status_label",
    "amount_delta",
    "recommended_action",
    "invoice_status",
)


def yes_no(value: Any) -> str | None:
    if value is None:
        return None
    return YES if bool(value) else NO


# --------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text, wrap, status, count, money, price, percent, days, date,
    #                     month, datetime, yes_no, id
    width: int = 0  # workbook width in characters; 0: from the kind


COLUMNS: dict[str, Column] = {
    # who and what
    "customer_name": Column("Customer", "wrap", 22),
    "product_code": Column("Product", "text", 10),
    "status_label": Column("Status", "wrap", 14),
    "account_finding_types": Column("Customer-level findings", "wrap", 14),
    "discrepancy_type": Column("Finding type", "text", 18),
    "finding_type": Column("Finding type", "text", 18),
    "reason": Column("Reason", "wrap", 44),
    "recommended_action": Column("Action", "wrap", 24),
    "invoice_status": Column("Invoice status", "status", 9),
    "invoice_ids": Column("Invoices", "wrap", 16),
    # decisions
    "resolution_status": Column("Decision status", "status", 9),
    "decision": Column("Decision", "wrap", 16),
    "decided_by": Column("Decided by", "wrap", 16),
    "decision_note": Column("Decision note", "wrap", 24),
    "previous_decision": Column("Previous decision", "wrap", 16),
    "decided_amount": Column("Decided amount", "money"),
    "age_days": Column("Age (days)", "count", 8),
    "days_to_resolve": Column("Days to resolve", "count", 9),
    "decided_at": Column("Decided at", "datetime"),
    "previous_decision_month": Column("Previous decision month", "month"),
    # counts and dollars
    "crm_active_providers": Column("CRM active providers", "count"),
    "billable_providers": Column("Billable providers", "count"),
    "billed_quantity": Column("Billed quantity", "count"),
    "quantity_delta": Column("Billed minus billable", "count"),
    "unit_price": Column("Unit price", "price"),
    "amount_delta": Column("Dollar impact", "money"),
    "impact_rank": Column("Rank", "count", 6),
    # flags
    "is_match": Column("Billed equals billable", "yes_no"),
    "has_new_finding": Column("New finding", "yes_no"),
    "is_new": Column("New this month", "yes_no"),
    "is_material": Column("Material", "yes_no"),
    "is_reopened": Column("Reopened", "yes_no"),
    # months and ids (ids go to the far right)
    "billing_month": Column("Billing month", "month"),
    "first_seen_month": Column("First seen", "month"),
    "customer_key": Column("Customer key", "id", 18),
    "account_id": Column("Account ID", "id", 12),
    "discrepancy_id": Column("Finding ID", "id", 34),
    "finding_key": Column("Finding key (all months)", "id", 34),
    # provider findings
    "npi": Column("NPI", "id", 11),
    "provider_name": Column("Provider (operations)", "wrap", 20),
    "crm_provider_name": Column("Provider (CRM)", "wrap", 20),
    # entitlements
    "entitled_seats": Column("Entitled seats", "count"),
    "seat_delta": Column("Billable minus entitled", "count"),
    "utilisation": Column("Utilisation", "percent"),
    "list_price_usd": Column("List price", "price"),
    "true_up_amount": Column("True-up at list price", "money"),
    "gap_rank": Column("Rank", "count", 6),
    # billing adjustments (fct_billing_adjustments: amounts in the invoice's currency)
    "adjustment_kind": Column("Adjustment", "wrap", 13),
    "invoice_id": Column("Invoice", "text", 11),
    "invoice_line_id": Column("Invoice line", "id", 12),
    "quantity": Column("Quantity", "count", 8),
    "original_quantity": Column("Quantity before", "count", 8),
    "corrected_quantity": Column("Quantity after", "count", 8),
    "amount": Column("Amount", "money"),
    "approved_amount": Column("Approved amount", "money"),
    "currency": Column("Currency", "text", 8),
    "is_partial": Column("Partial", "yes_no"),
    "finding_month": Column("Finding month", "month"),
    "settled_in_month": Column("Settled in run of", "month"),
    "line_number": Column("Line", "count", 6),
    "decision_id": Column("Decision ID", "id", 36),
    "adjustment_id": Column("Adjustment ID", "id", 34),
    # data quality
    "detected_by": Column("Detected by", "text", 12),
    "source": Column("Source", "text", 18),
    "record_id": Column("Record", "wrap", 16),
    "issue": Column("Issue", "wrap", 20),
    "column_name": Column("Column", "text", 16),
    "raw_value": Column("Raw value", "wrap", 22),
    "source_file_name": Column("File", "wrap", 24),
    "source_row_number": Column("Line", "count", 7),
    "details": Column("Details", "wrap", 40),
    "issues": Column("Issues", "count"),
    # the month's summary (rpt_monthly_summary)
    "customer_products": Column("Customer-products", "count"),
    "matched_customer_products": Column("Matched customer-products", "count"),
    "billing_match_rate": Column("Billing match rate", "percent"),
    "account_findings": Column("Findings", "count"),
    "new_account_findings": Column("New findings", "count"),
    "recurring_account_findings": Column("Recurring findings", "count"),
    "overbilled_amount": Column("Overbilled", "money"),
    "underbilled_amount": Column("Underbilled", "money"),
    "open_findings": Column("Open findings", "count"),
    "disputed_findings": Column("Disputed findings", "count"),
    "resolved_findings": Column("Resolved findings", "count"),
    "reopened_findings": Column("Reopened findings", "count"),
    "immaterial_findings": Column("Immaterial findings", "count"),
    "open_amount_at_risk": Column("Open dollars at risk", "money"),
    "mean_days_to_resolve": Column("Mean time to resolve (days)", "days"),
    "provider_findings": Column("Provider findings", "count"),
    "data_quality_issues": Column("Data-quality issues", "count"),
    "usage_above_entitlement_findings": Column("Usage above entitlement", "count"),
    "usage_below_entitlement_findings": Column("Usage below entitlement", "count"),
    "no_entitlement_findings": Column("Usage without entitlement", "count"),
    "seats_above_entitlement": Column("Seats above entitlement", "count"),
    "seats_below_entitlement": Column("Seats below entitlement", "count"),
    "seats_without_entitlement": Column("Seats without entitlement", "count"),
    "new_findings_amount": Column("Dollar impact of new findings", "money"),
    "raw_file_warnings": Column("Raw-file warnings", "count"),
    "generated_at_utc": Column("Generated (UTC)", "datetime"),
}


def column(name: str) -> Column:
    """The column's header and kind; an unknown column (a new mart column) gets its name in
    words and the kind `text`, with `_findings` counts counted."""
    if name in COLUMNS:
        return COLUMNS[name]
    if name.endswith("_findings"):
        code = name.removesuffix("_findings").upper()
        return Column(f"{humanise(code)} findings", "count")
    return Column(humanise(name))


def header(name: str) -> str:
    return column(name).header


def headers(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """{column name: header} for a dataframe or a table artifact."""
    return {name: header(name) for name in names}
