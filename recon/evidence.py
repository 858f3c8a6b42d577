"""The evidence behind a finding, as a reviewer sees it before deciding (issue 17, item 3).

Read from the published mart rpt_finding_evidence (recon/marts.py: DuckDB's read-only catalog
or Snowflake's published schema): the contract's rule that raised the finding, the providers
behind each count with the raw file and record of the record that made each one billable or
not, and the invoice lines behind the billed quantity. `evidence_csv` makes the small CSV a
reviewer downloads and sends to a customer (the spreadsheet-safe cells of recon/csv_safe.py);
`evidence_sha256` is its fingerprint, which a decision records (evidence_sha256) so that the
audit trail says which evidence the decider was shown. The same rows give the same bytes,
so the same fingerprint.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from recon.csv_safe import csv_bytes
from recon.marts import MartReader

# The columns of the evidence, in the order a reader reads them (the CSV's header).
EVIDENCE_COLUMNS = (
    "billing_month",
    "discrepancy_id",
    "discrepancy_type",
    "evidence_kind",
    "product_code",
    "npi",
    "provider_name",
    "is_counted",
    "why",
    "source_file",
    "source_line",
    "invoice_id",
    "invoice_line_id",
    "invoice_status",
    "quantity",
    "unit_price",
    "currency",
    "rule_text",
)

# The rule first, then operations' providers, the CRM's records and the invoice lines.
EVIDENCE_QUERY = f"""
    select {", ".join(EVIDENCE_COLUMNS)}
    from {{schema}}.rpt_finding_evidence
    where discrepancy_id = ?
    order by
        case evidence_kind
            when 'rule' then 1 when 'provider' then 2 when 'crm_provider' then 3 else 4
        end,
        product_code, npi, invoice_id, invoice_line_id, source_file, source_line"""


def evidence_for(discrepancy_id: str, reader: MartReader | None = None) -> pd.DataFrame:
    """The evidence rows of one finding (empty when the finding has none published), the
    values as the marts hold them (object columns: an integer stays an integer, a decimal a
    Decimal, NULL None)."""
    reader = reader or MartReader.from_env()
    rows = reader.query(EVIDENCE_QUERY, [discrepancy_id.strip().lower()])
    return pd.DataFrame(rows.rows, columns=list(rows.columns), dtype=object)


def evidence_csv(frame: pd.DataFrame) -> bytes:
    """The evidence as a small CSV safe for a spreadsheet (UTF-8 with a byte-order mark, text
    that looks like a formula quoted, numbers as numbers, NULL empty)."""
    columns = [name for name in EVIDENCE_COLUMNS if name in frame.columns] + [
        name for name in frame.columns if name not in EVIDENCE_COLUMNS
    ]
    values = frame[columns].astype(object).where(frame[columns].notna(), None)
    return csv_bytes(columns, values.itertuples(index=False, name=None))


def evidence_sha256(csv_bytes: bytes) -> str:
    """The SHA-256 (hex) of the evidence CSV a decider was shown."""
    return hashlib.sha256(csv_bytes).hexdigest()
