"""End to end on generated data: generator -> dbt build for three consecutive months.

Checks every finding against the generator's answer key (precision and recall 100%,
values included), that every raw row is accounted for, and that re-running the middle
month changes nothing. The generator seed is random for each run (printed, and settable
with RECON_TEST_SEED) so that new data is tried every time.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import (
    MART_TABLES,
    build_month,
    query,
    raw_row_count,
    read_answer_key,
    settings_for,
    table_rows,
)

from recon_testkit.generate import generate

MONTHS = ("2026-08", "2026-09", "2026-10")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict:
    seed = int(os.environ.get("RECON_TEST_SEED") or random.SystemRandom().randrange(1, 10**6))
    print(f"\nend-to-end generator seed: {seed} (set RECON_TEST_SEED={seed} to repeat)")
    root = tmp_path_factory.mktemp("e2e")
    raw_dir, seeds_dir, key_dir = root / "raw", root / "seeds", root / "answer_key"
    generate(
        out_dir=raw_dir,
        seeds_dir=seeds_dir,
        answer_key_dir=key_dir,
        accounts=40,
        months=len(MONTHS),
        seed=seed,
        end_month=MONTHS[-1],
    )
    settings = settings_for(raw_dir, seeds_dir, root / "e2e.duckdb")
    for month in MONTHS:
        build_month(settings, month)
    return {"seed": seed, "settings": settings, "key_dir": key_dir}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _compare(actual: set[tuple], expected: set[tuple], what: str) -> None:
    missing = sorted(expected - actual)
    unexpected = sorted(actual - expected)
    precision = 1 - len(unexpected) / max(len(actual), 1)
    recall = 1 - len(missing) / max(len(expected), 1)
    assert not missing and not unexpected, (
        f"{what}: precision {precision:.2%}, recall {recall:.2%}\n"
        f"missing (in the answer key, not produced) {len(missing)}: {missing[:10]}\n"
        f"unexpected (produced, not in the answer key) {len(unexpected)}: {unexpected[:10]}"
    )
    assert expected, f"{what}: the answer key is empty, nothing was compared"


def _key_rows(path: Path, columns: list[str]) -> set[tuple]:
    return {tuple(row[column] for column in columns) for row in read_answer_key(path)}


def _mart_rows(generated: dict, table: str, columns: list[str]) -> set[tuple]:
    settings = generated["settings"]
    rows = query(settings.duckdb_path, f"select {', '.join(columns)} from recon.{table}")
    return {tuple(_text(value) for value in row) for row in rows}


def _decimal_text(columns: list[str], rows: set[tuple], decimals: dict[str, int]) -> set[tuple]:
    """Answer-key decimals written with their places, compared as Decimal text."""
    positions = {columns.index(name): places for name, places in decimals.items()}
    normalised = set()
    for row in rows:
        values = list(row)
        for position, places in positions.items():
            if values[position] != "":
                values[position] = format(
                    Decimal(values[position]).quantize(Decimal(10) ** -places), "f"
                )
        normalised.add(tuple(values))
    return normalised


def test_provider_counts_equal_the_answer_key(generated: dict) -> None:
    columns = [
        "billing_month", "customer_key", "account_id", "product_code", "crm_active_providers",
        "billable_providers", "billed_quantity", "quantity_delta", "is_match",
    ]  # fmt: skip
    expected = _key_rows(generated["key_dir"] / "provider_counts_monthly.csv", columns)
    _compare(_mart_rows(generated, "fct_provider_counts_monthly", columns), expected, "counts")


def test_account_findings_equal_the_answer_key(generated: dict) -> None:
    columns = [
        "billing_month", "customer_key", "account_id", "product_code", "discrepancy_type",
        "crm_active_providers", "billable_providers", "billed_quantity", "quantity_delta",
        "unit_price", "amount_delta", "is_new", "first_seen_month", "invoice_ids",
        "invoice_status", "recommended_action",
    ]  # fmt: skip
    places = {"unit_price": 4, "amount_delta": 2}
    expected = _decimal_text(
        columns, _key_rows(generated["key_dir"] / "billing_discrepancies.csv", columns), places
    )
    actual = _decimal_text(
        columns, _mart_rows(generated, "fct_billing_discrepancies", columns), places
    )
    _compare(actual, expected, "account findings")
    types = Counter(row[columns.index("discrepancy_type")] for row in expected)
    assert set(types) == {
        "OVERBILLED", "UNDERBILLED", "UNBILLED_USAGE", "MISSING_FROM_CRM",
        "ACCOUNT_NOT_ACTIVE_IN_CRM", "GO_LIVE_MISMATCH",
    }, f"the generated data should exercise every account finding type, got {types}"  # fmt: skip
    actions = Counter(row[columns.index("recommended_action")] for row in expected)
    invoice_actions = {
        "Correct the invoice before it is sent", "Issue a credit note",
        "Issue a supplementary invoice", "Invoice the usage",
    }  # fmt: skip
    assert invoice_actions <= set(actions), f"every invoice action should occur, got {actions}"


def test_entitlement_findings_equal_the_answer_key(generated: dict) -> None:
    columns = [
        "billing_month", "customer_key", "account_id", "product_code", "finding_type",
        "entitled_seats", "billable_providers", "billed_quantity", "seat_delta", "utilisation",
        "is_new",
    ]  # fmt: skip
    places = {"utilisation": 4}
    expected = _decimal_text(
        columns, _key_rows(generated["key_dir"] / "entitlement_findings.csv", columns), places
    )
    actual = _decimal_text(
        columns, _mart_rows(generated, "fct_entitlement_findings", columns), places
    )
    _compare(actual, expected, "entitlement findings")
    types = Counter(row[columns.index("finding_type")] for row in expected)
    assert set(types) == {
        "", "USAGE_ABOVE_ENTITLEMENT", "USAGE_BELOW_ENTITLEMENT", "NO_ENTITLEMENT",
    }, f"the generated data should exercise every entitlement finding, got {types}"  # fmt: skip


def test_provider_findings_equal_the_answer_key(generated: dict) -> None:
    columns = ["billing_month", "account_id", "npi", "discrepancy_type"]
    expected = _key_rows(generated["key_dir"] / "provider_discrepancies.csv", columns)
    _compare(
        _mart_rows(generated, "fct_provider_discrepancies", columns), expected, "provider findings"
    )
    types = {row[3] for row in expected}
    assert types == {
        "PROVIDER_MISSING_FROM_CRM", "PROVIDER_INACTIVE_IN_CRM", "PROVIDER_NOT_LIVE",
        "PROVIDER_NAME_MISMATCH",
    }  # fmt: skip


def test_data_quality_issues_equal_the_answer_key(generated: dict) -> None:
    columns = ["billing_month", "source", "record_id", "issue", "column_name"]
    expected_rows = read_answer_key(generated["key_dir"] / "data_quality_issues.csv")
    expected = Counter(tuple(row[column] for column in columns) for row in expected_rows)
    rows = query(
        generated["settings"].duckdb_path,
        f"select {', '.join(columns)} from recon.fct_data_quality_issues",
    )
    actual = Counter(tuple(_text(value) for value in row) for row in rows)
    _compare(set(actual), set(expected), "data-quality issues")
    assert actual == expected, "the same issues, but not the same number of each"


def test_every_raw_row_is_accounted_for(generated: dict) -> None:
    settings = generated["settings"]
    families = {
        "crm_accounts.csv": "crm__accounts",
        "crm_providers.csv": "crm__providers",
        "ops_intake_log*.csv": "ops__intake_log",
        "billing_invoice_lines*.csv": "billing__invoice_lines",
        "contract_entitlements*.csv": "crm__contract_entitlements",
    }
    staged_models = {
        "crm__accounts": "stg_crm__accounts",
        "crm__providers": "stg_crm__providers",
        "ops__intake_log": "stg_ops__intake_events",
        "billing__invoice_lines": "stg_billing__invoice_lines",
        "crm__contract_entitlements": "stg_crm__contract_entitlements",
    }
    for pattern, base in families.items():
        raw_rows = raw_row_count(settings.raw_dir, pattern)
        ((staged, duplicates),) = query(
            settings.duckdb_path,
            f"select (select count(*) from recon.{staged_models[base]}),"
            f" (select count(*) from recon.base_{base} where is_duplicate)",
        )
        assert raw_rows > 0, pattern
        assert raw_rows == staged + duplicates, (
            f"{pattern}: {raw_rows} raw rows but {staged} staged + {duplicates} duplicates"
        )


def test_rerunning_the_middle_month_changes_nothing(generated: dict) -> None:
    settings = generated["settings"]
    before = {table: table_rows(settings.duckdb_path, table) for table in MART_TABLES}
    build_month(settings, MONTHS[1])
    after = {table: table_rows(settings.duckdb_path, table) for table in MART_TABLES}
    for table in MART_TABLES:
        assert after[table] == before[table], f"{table} changed when {MONTHS[1]} was re-run"
    months = query(
        settings.duckdb_path,
        "select distinct billing_month from recon.fct_provider_counts_monthly order by 1",
    )
    assert [str(month) for (month,) in months] == [f"{month}-01" for month in MONTHS]
