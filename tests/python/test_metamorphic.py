"""Metamorphic tests: changes to the raw files that must not change any finding.

One generated dataset (small, fixed seed), transformed in ways a billing analyst knows are
harmless: rows shuffled, each drop split in two, each drop delivered twice, stray
whitespace and letter case on every value, a customer renamed in the CRM with the old name
added to legacy_customer_names. Each variant is built in its own DuckDB file (one dbt
process, one after the other) and every finding mart is compared with the baseline's.
Then one live, billable event is removed, and exactly the counts and findings it drives
change, as computed here from the baseline (docs/robustness.md, "Metamorphic").
"""

from __future__ import annotations

import csv
import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_helpers import query, settings_for

from recon.dbt import run_dbt
from recon_testkit.generate import generate

MONTH = "2026-10"
SEED = 7  # fixed: the removed-event case needs a provider of a given shape (asserted)
FINDING_TABLES = (
    "fct_provider_counts_monthly",
    "fct_billing_discrepancies",
    "fct_provider_discrepancies",
)
KEY_COLUMNS = {
    "crm_accounts": "account_id",
    "crm_providers": "crm_provider_id",
    "ops_intake_log": "event_id",
    "billing_invoice_lines": "invoice_line_id",
    "contract_entitlements": "entitlement_id",
}
DISPLAY_TEXT = ("customer_name", "provider_name", "crm_provider_name", "reason")


# --------------------------------------------------------------------------- csv files
def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def family(path: Path) -> str:
    return next(name for name in KEY_COLUMNS if path.name.startswith(name))


def drops(raw_dir: Path) -> list[Path]:
    return sorted(
        path
        for path in raw_dir.glob("*.csv")
        if path.name.startswith(("ops_intake_log", "billing_invoice_lines"))
    )


# --------------------------------------------------------------------------- transformations
def shuffle_rows(raw_dir: Path, seeds_dir: Path, rng: random.Random) -> None:
    """Rows of every file in a random order; copies of one id keep their relative order
    (within a file the later copy wins, which must not change)."""
    for path in sorted(raw_dir.glob("*.csv")):
        header, rows = read_csv(path)
        key = header.index(KEY_COLUMNS[family(path)])
        ids = list(dict.fromkeys(row[key].strip().upper() for row in rows))
        rng.shuffle(ids)
        rank = {value: position for position, value in enumerate(ids)}
        order = sorted(range(len(rows)), key=lambda i: (rank[rows[i][key].strip().upper()], i))
        write_csv(path, header, [rows[i] for i in order])


def split_drops(raw_dir: Path, seeds_dir: Path, rng: random.Random) -> None:
    """Each drop as two files, `<drop>_a.csv` then `<drop>_b.csv` (same order by name)."""
    for path in drops(raw_dir):
        header, rows = read_csv(path)
        cut = rng.randrange(1, len(rows))
        write_csv(path.with_name(path.stem + "_a.csv"), header, rows[:cut])
        write_csv(path.with_name(path.stem + "_b.csv"), header, rows[cut:])
        path.unlink()


def deliver_twice(raw_dir: Path, seeds_dir: Path, rng: random.Random) -> None:
    """Each drop delivered again as `<drop>_again.csv` (sorts right after the original)."""
    for path in drops(raw_dir):
        shutil.copy2(path, path.with_name(path.stem + "_again.csv"))


def _noisy(value: str, rng: random.Random) -> str:
    if value == "":
        return " " * rng.randrange(0, 2)
    cased = rng.choice((value.upper(), value.lower(), value))
    return " " * rng.randrange(0, 3) + cased + " " * rng.randrange(0, 3)


def add_noise(raw_dir: Path, seeds_dir: Path, rng: random.Random) -> None:
    """Stray leading/trailing spaces and a random letter case on every raw value, and a
    random letter case on the header names."""
    for path in sorted(raw_dir.glob("*.csv")):
        header, rows = read_csv(path)
        header = [name.upper() if rng.random() < 0.5 else name for name in header]
        write_csv(path, header, [[_noisy(value, rng) for value in row] for row in rows])


@dataclass(frozen=True)
class Rename:
    account_id: str
    old_name: str
    new_name: str


def rename_plan(raw_dir: Path) -> Rename:
    """An active CRM account whose name no other account shares, renamed."""
    header, rows = read_csv(raw_dir / "crm_accounts.csv")
    column = {name: header.index(name) for name in header}
    names = Counter(row[column["account_name"]].strip().lower() for row in rows)
    for row in rows:
        name = row[column["account_name"]]
        if names[name.strip().lower()] == 1 and row[column["account_status"]].strip() == "active":
            return Rename(row[column["account_id"]].strip().upper(), name, "Renamed Holdings 4471")
    raise AssertionError("no account to rename in the generated CRM")


def rename_customer(raw_dir: Path, seeds_dir: Path, rng: random.Random) -> None:
    """The CRM calls the customer by a new name; its old one goes to legacy_customer_names."""
    plan = rename_plan(raw_dir)
    header, rows = read_csv(raw_dir / "crm_accounts.csv")
    id_column, name_column = header.index("account_id"), header.index("account_name")
    for row in rows:
        if row[id_column].strip().upper() == plan.account_id:
            row[name_column] = plan.new_name
    write_csv(raw_dir / "crm_accounts.csv", header, rows)
    legacy = seeds_dir / "legacy_customer_names.csv"
    legacy_header, legacy_rows = read_csv(legacy)
    legacy_rows.append([plan.old_name if name == "legacy_name" else plan.account_id
                        for name in legacy_header])  # fmt: skip
    write_csv(legacy, legacy_header, legacy_rows)


VARIANTS: dict[str, Callable[[Path, Path, random.Random], None]] = {
    "shuffled": shuffle_rows,
    "split": split_drops,
    "twice": deliver_twice,
    "noise": add_noise,
    "renamed": rename_customer,
}


# --------------------------------------------------------------------------- builds
def build(root: Path) -> Path:
    settings = settings_for(root / "raw", root / "seeds", root / "warehouse.duckdb")
    result = run_dbt(
        "build",
        settings,
        MONTH,
        "--select",
        *(f"+{table}" for table in (*FINDING_TABLES, "fct_data_quality_issues")),
        "+int_intake_events_usable",  # the removal plan reads it
        "--exclude-resource-type",
        "test",
        "unit_test",
        "snapshot",
    )
    assert result.success, "\n".join(result.failures)
    return settings.duckdb_path


def table(duckdb_path: Path, name: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        cursor = connection.execute(f"select * from recon.{name}")
        columns = [column[0] for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def rows_as_set(rows: list[dict[str, Any]], fold_text: bool = False) -> Counter:
    """The rows as a multiset; fold_text compares display text case- and space-insensitively."""

    def value(name: str, item: Any) -> Any:
        if fold_text and name in DISPLAY_TEXT and isinstance(item, str):
            return " ".join(item.split()).lower()
        return item

    return Counter(tuple(sorted((k, value(k, v)) for k, v in row.items())) for row in rows)


def issues(duckdb_path: Path, where: str = "true") -> Counter:
    """Data-quality issues of every month (the file and line of a record left out: they
    move when rows move)."""
    rows = query(
        duckdb_path,
        "select source, record_id, issue, column_name, record_month"
        f" from recon.int_data_quality_issues_found where {where}",
    )
    return Counter(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """root folder of each variant (raw, seeds, warehouse.duckdb), every one built."""
    base = tmp_path_factory.mktemp("metamorphic")
    baseline = base / "baseline"
    generate(
        out_dir=baseline / "raw",
        seeds_dir=baseline / "seeds",
        answer_key_dir=base / "answer_key",
        accounts=18,
        months=2,
        seed=SEED,
        end_month=MONTH,
        answer_key=False,
    )
    roots = {"baseline": baseline}
    for name, transform in VARIANTS.items():
        root = base / name
        shutil.copytree(baseline, root)
        transform(root / "raw", root / "seeds", random.Random(f"{SEED}-{name}"))
        roots[name] = root
    removed = base / "removed_event"
    shutil.copytree(baseline, removed)
    roots["removed_event"] = removed
    build(baseline)
    plan = removal_plan(baseline)
    remove_event(removed / "raw", plan.event_id)
    for name, root in roots.items():
        if name != "baseline":
            build(root)
    return {**roots, "plan": plan}  # type: ignore[dict-item]


# --------------------------------------------------------------------------- invariance
@pytest.mark.parametrize("variant", ["shuffled", "split", "twice", "noise", "renamed"])
@pytest.mark.parametrize("table_name", FINDING_TABLES)
def test_findings_unchanged(built: dict, variant: str, table_name: str) -> None:
    baseline = table(built["baseline"] / "warehouse.duckdb", table_name)
    changed = table(built[variant] / "warehouse.duckdb", table_name)
    assert baseline, f"{table_name} is empty: nothing compared"
    if variant == "renamed":  # the CRM name is shown as the CRM now spells it
        plan = rename_plan(built["baseline"] / "raw")
        renamed = [row for row in changed if row.get("account_id") == plan.account_id]
        if "customer_name" in baseline[0]:
            assert renamed and {row["customer_name"] for row in renamed} == {plan.new_name}
            for row in baseline:
                if row.get("account_id") == plan.account_id:
                    row["customer_name"] = plan.new_name
        for rows in (baseline, changed):
            for row in rows:
                if row.get("account_id") == plan.account_id and "reason" in row:
                    row["reason"] = row["reason"].replace(plan.old_name.strip(), plan.new_name)
    fold = variant == "noise"
    only_before = rows_as_set(baseline, fold) - rows_as_set(changed, fold)
    only_after = rows_as_set(changed, fold) - rows_as_set(baseline, fold)
    assert not only_before and not only_after, (
        f"{variant} changed {table_name}:\nonly before: {list(only_before)[:3]}\n"
        f"only after: {list(only_after)[:3]}"
    )


@pytest.mark.parametrize("variant", ["shuffled", "split", "noise", "renamed"])
def test_data_quality_issues_unchanged(built: dict, variant: str) -> None:
    before = issues(built["baseline"] / "warehouse.duckdb")
    after = issues(built[variant] / "warehouse.duckdb")
    assert before and after == before


def test_a_drop_delivered_twice_adds_one_duplicate_issue_per_row_and_nothing_else(built: dict):
    """Every row of the redelivered drops is one more superseded copy of its record, an
    issue of the month its line belongs to: the reconciled month's lines are counted (a
    month's data-quality issues are its own lines' and those of no readable month)."""
    expected = Counter()
    for path in drops(built["twice"] / "raw"):
        if path.stem.endswith("_again") and family(path).startswith("crm"):
            header, rows = read_csv(path)
            key = header.index(KEY_COLUMNS[family(path)])
            expected.update((family(path), row[key].strip().upper()) for row in rows)
    for source, table, month_column in (
        ("ops_intake_log", "base_ops__intake_log", "event_month"),
        ("billing_invoice_lines", "base_billing__invoice_lines", "billing_month"),
    ):
        lines_again = query(
            built["twice"] / "warehouse.duckdb",
            f"select record_id, count(*) from recon.{table}"
            " where source_file_name like '%\\_again.csv' escape '\\'"
            f" and ({month_column} = '{MONTH}-01' or {month_column} is null) group by 1",
        )
        expected.update({(source, record): count for record, count in lines_again})
    duplicates = "issue = 'DUPLICATE_RECORD'"
    before = issues(built["baseline"] / "warehouse.duckdb", duplicates)
    after = issues(built["twice"] / "warehouse.duckdb", duplicates)
    added = Counter({(source, record): 0 for source, record, *_ in after})
    for (source, record, *_), count in (after - before).items():
        added[(source, record)] += count
    assert +added == expected and sum(expected.values()) > 0
    others = "issue <> 'DUPLICATE_RECORD'"
    assert issues(built["twice"] / "warehouse.duckdb", others) == issues(
        built["baseline"] / "warehouse.duckdb", others
    )


# --------------------------------------------------------------------------- one event fewer
@dataclass(frozen=True)
class Removal:
    event_id: str
    customer_key: str
    product_code: str
    npi: str


def removal_plan(baseline: Path) -> Removal:
    """A live event that makes its provider billable at the month's end (the provider's
    latest usable event of the customer and product), of a provider with events of one
    product only, whose previous usable event (if any) is not live: without it the provider
    is billable for nothing. One copy in the raw files; matched customers first."""
    duckdb_path = baseline / "warehouse.duckdb"
    month_end = f"last_day(date '{MONTH}-01')"
    candidates = query(
        duckdb_path,
        f"""
        with usable as (
            select * from recon.int_intake_events_usable where event_date <= {month_end}
        ),
        ranked as (
            select *, row_number() over (
                partition by customer_key, product_code, npi order by event_at desc, event_id desc
            ) as position
            from usable
        ),
        one_product as (
            select customer_key, npi from usable group by all
            having count(distinct product_code) = 1
        ),
        states as (
            select * from recon.int_provider_states_as_of_month_end
            where billing_month = date '{MONTH}-01' and is_billable
        )
        select states.event_id, states.customer_key, states.product_code, states.npi
        from states
        inner join one_product
            on states.customer_key = one_product.customer_key and states.npi = one_product.npi
        left join ranked as previous
            on states.customer_key = previous.customer_key
            and states.product_code = previous.product_code
            and states.npi = previous.npi
            and previous.position = 2
        where previous.npi is null or previous.event_status <> 'live'
        order by states.customer_key like 'UNMATCHED:%', states.event_id
        """,
    )
    for event_id, customer_key, product_code, npi in candidates:
        copies = 0
        for path in sorted((baseline / "raw").glob("ops_intake_log*.csv")):
            header, rows = read_csv(path)
            key = header.index("event_id")
            copies += sum(row[key].strip().upper() == event_id for row in rows)
        if copies == 1:
            return Removal(event_id, customer_key, product_code, npi)
    raise AssertionError(f"seed {SEED}: no provider of the shape the test needs")


def remove_event(raw_dir: Path, event_id: str) -> None:
    for path in sorted(raw_dir.glob("ops_intake_log*.csv")):
        header, rows = read_csv(path)
        key = header.index("event_id")
        kept = [row for row in rows if row[key].strip().upper() != event_id]
        if len(kept) != len(rows):
            write_csv(path, header, kept)


def classify(billed: int, billable: int) -> str | None:
    """Contract 3.1, the quantity findings."""
    if billed == billable:
        return None
    if billed > billable:
        return "OVERBILLED"
    if billable > 0 and billed <= 0:
        return "UNBILLED_USAGE"
    return "UNDERBILLED"


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _without(rows: list[dict], predicate: Callable[[dict], bool]) -> Counter:
    return rows_as_set([row for row in rows if not predicate(row)])


def test_removing_one_live_event_changes_exactly_its_counts(built: dict) -> None:
    plan: Removal = built["plan"]
    before_db = built["baseline"] / "warehouse.duckdb"
    after_db = built["removed_event"] / "warehouse.duckdb"

    # counts: the one customer-product loses one billable provider, nothing else moves
    before = table(before_db, "fct_provider_counts_monthly")
    after = table(after_db, "fct_provider_counts_monthly")

    def is_target(row: dict) -> bool:
        return (row["customer_key"], row["product_code"]) == (plan.customer_key, plan.product_code)

    assert _without(before, is_target) == _without(after, is_target)
    (old,) = [row for row in before if is_target(row)]
    (new,) = [row for row in after if is_target(row)]
    assert new["billable_providers"] == old["billable_providers"] - 1
    assert new["billed_quantity"] == old["billed_quantity"]
    assert new["crm_active_providers"] == old["crm_active_providers"]
    assert new["quantity_delta"] == old["quantity_delta"] + 1
    assert new["is_match"] == (new["quantity_delta"] == 0)

    # account findings: the product's finding re-classified, the customer's account-level
    # findings carry the new totals, every other finding unchanged
    before = table(before_db, "fct_billing_discrepancies")
    after = table(after_db, "fct_billing_discrepancies")

    def of_customer(row: dict) -> bool:
        return row["customer_key"] == plan.customer_key

    assert _without(before, of_customer) == _without(after, of_customer)
    old_product = [row for row in before if of_customer(row) and row["product_code"] is not None]
    new_product = [row for row in after if of_customer(row) and row["product_code"] is not None]
    others = [row for row in old_product if row["product_code"] != plan.product_code]
    assert rows_as_set(others) == rows_as_set(
        [row for row in new_product if row["product_code"] != plan.product_code]
    )
    billed = int(new["billed_quantity"])
    expected_type = classify(billed, int(new["billable_providers"]))
    (changed,) = [row for row in new_product if row["product_code"] == plan.product_code] or [None]
    if expected_type is None:
        assert changed is None
        amount_change = -next(
            row["amount_delta"] for row in old_product if row["product_code"] == plan.product_code
        )
    else:
        assert changed["discrepancy_type"] == expected_type
        assert changed["billable_providers"] == new["billable_providers"]
        assert changed["quantity_delta"] == new["quantity_delta"]
        assert changed["amount_delta"] == cents(changed["quantity_delta"] * changed["unit_price"])
        old_amount = sum(
            (
                row["amount_delta"]
                for row in old_product
                if row["product_code"] == plan.product_code
            ),
            Decimal("0.00"),
        )
        amount_change = changed["amount_delta"] - old_amount
    old_account = {
        row["discrepancy_type"]: row
        for row in before
        if of_customer(row) and row["product_code"] is None
    }
    new_account = {
        row["discrepancy_type"]: row
        for row in after
        if of_customer(row) and row["product_code"] is None
    }
    assert set(new_account) == set(old_account)
    for kind, row in new_account.items():
        assert row["billable_providers"] == old_account[kind]["billable_providers"] - 1
        assert row["quantity_delta"] == old_account[kind]["quantity_delta"] + 1
        assert row["amount_delta"] == old_account[kind]["amount_delta"] + amount_change

    # provider findings: the provider is billable for nothing now, so its billable-provider
    # findings go; PROVIDER_NOT_LIVE comes iff the CRM has it active under an active account
    before = table(before_db, "fct_provider_discrepancies")
    after = table(after_db, "fct_provider_discrepancies")

    def of_provider(row: dict) -> bool:
        return (row["account_id"], row["npi"]) == (plan.customer_key, plan.npi)

    assert _without(before, of_provider) == _without(after, of_provider)
    assert not [row for row in before if of_provider(row)] or not any(
        row["discrepancy_type"] == "PROVIDER_NOT_LIVE" for row in before if of_provider(row)
    )
    ((active_in_crm,),) = query(
        before_db,
        f"""
        select count(*) > 0
        from recon.stg_crm__providers as providers
        inner join recon.stg_crm__accounts as accounts
            on providers.account_id = accounts.account_id
        where providers.account_id = '{plan.customer_key}' and providers.npi = '{plan.npi}'
            and providers.provider_status = 'active' and accounts.account_status = 'active'
        """,
    )
    expected = ["PROVIDER_NOT_LIVE"] if active_in_crm else []
    assert [row["discrepancy_type"] for row in after if of_provider(row)] == expected

    # data-quality issues: only the removed record's own issues (if any) go
    removed = f"record_id = '{plan.event_id}'"
    assert issues(after_db) == issues(before_db, f"not ({removed})")
