"""What the dashboard reads: the marts, from DuckDB (read-only) or Snowflake.

- RECON_TARGET: duckdb (default), snowflake or snowflake_emulator;
- DuckDB: the published catalog (recon/marts.py; default data/published/provider_recon.duckdb),
  opened read-only and closed after each query;
- Snowflake: the SNOWFLAKE_* connection settings (docs/snowflake.md) and the published schema
  RECON_PUBLISHED_SCHEMA (default recon).

Every query is plain SQL over the mart tables with `?` parameters, the same on both engines.
A DuckDB connection is held only for the duration of one query, so the monthly build (the
one writer) is never blocked for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from recon.marts import FINDINGS_QUERY, MartReader

QUERIES = {
    "months": """
        select billing_month from {schema}.rpt_monthly_summary
        where customer_products > 0
        order by billing_month desc""",
    "summary": """
        select * from {schema}.rpt_monthly_summary order by billing_month""",
    "provider_counts": """
        select
            counts.billing_month,
            counts.customer_key,
            coalesce(names.customer_name, counts.customer_key) as customer_name,
            counts.product_code,
            counts.crm_active_providers,
            counts.billable_providers,
            counts.billed_quantity
        from {schema}.fct_provider_counts_monthly as counts
        left join (
            select customer_key, max(customer_name) as customer_name
            from {schema}.fct_billing_discrepancies
            group by customer_key
        ) as names
            on counts.customer_key = names.customer_key
        order by counts.billing_month, counts.customer_key, counts.product_code""",
    "findings": FINDINGS_QUERY,  # the workbook's Findings sheet: the same rows
    "billable_providers": """
        select customer_key, product_code, npi, provider_name, department, go_live_date, event_id
        from {schema}.fct_billable_providers_monthly
        where billing_month = ?
        order by customer_key, product_code, npi""",
    "provider_findings": """
        select account_id, npi, provider_name, crm_provider_name, discrepancy_type, reason
        from {schema}.fct_provider_discrepancies
        where billing_month = ?
        order by account_id, npi, discrepancy_type""",
    # the audit trail: the decision in force on each decided finding (CSV and dashboard)
    "resolutions": """
        select
            decided_at,
            decided_by,
            decision,
            decided_amount,
            currency,
            decision_note,
            resolution_status,
            days_to_resolve,
            billing_month,
            customer_name,
            product_code,
            discrepancy_type,
            discrepancy_id
        from {schema}.fct_discrepancy_resolutions
        where decision is not null
        order by decided_at desc, discrepancy_id""",
    # the draft billing adjustments of the approved decisions, every month
    "adjustments": """
        select
            settled_in_month,
            adjustment_kind,
            invoice_id,
            invoice_line_id,
            customer_name,
            product_code,
            quantity,
            unit_price,
            amount,
            currency,
            reason,
            decision,
            decided_by,
            decided_at,
            evidence_sha256,
            discrepancy_id,
            decision_id
        from {schema}.fct_billing_adjustments
        order by settled_in_month desc, invoice_id, line_number, discrepancy_id""",
    "data_quality": """
        select source, issue, column_name, count(*) as issues
        from {schema}.fct_data_quality_issues
        where billing_month = ?
        group by source, issue, column_name
        order by issues desc, source, issue, column_name""",
}


@dataclass(frozen=True)
class MartSource:
    """The published marts (recon/marts.py): DuckDB's catalog (read-only) or Snowflake."""

    reader: MartReader

    @classmethod
    def from_env(cls) -> MartSource:
        return cls(MartReader.from_env())

    def describe(self) -> str:
        return self.reader.describe()

    def query(self, name: str, *parameters: Any) -> pd.DataFrame:
        rows = self.reader.query(QUERIES[name], list(parameters))
        return pd.DataFrame(rows.rows, columns=list(rows.columns))


# --------------------------------------------------------------------------- display values
def rate(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.1%}"


def days(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.1f} days"


def month_label(value: Any) -> str:
    return pd.Timestamp(value).strftime("%Y-%m")


def as_date(value: Any) -> date:
    return pd.Timestamp(value).date()
