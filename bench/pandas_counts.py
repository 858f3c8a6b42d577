"""The "automate it in Python" alternative: the same counts as bench/analyst.sql in pandas.

    python -m bench.pandas_counts RAW_DIR SEEDS_DIR YYYY-MM OUT.csv

Written the way a careful Python developer would: every file read as text, vectorised
string operations, per-value work (name normalisation) done once per distinct value.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

from bench.counts import write_counts

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
TIMESTAMP = (
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[t ](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"(?:z|[+-]\d{2}:?\d{2})?$"
)
LEGAL_SUFFIX = re.compile(r" (inc|llc|ltd|corp|corporation|co|pc|pllc|lp|llp)$")
NOT_ALPHANUMERIC = re.compile(r"[^\w\s]|_")
SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------- reading
def read_family(raw_dir: Path, pattern: str, columns: list[str]) -> pd.DataFrame:
    """The columns of every file of a family as text, in file-name order (then line order),
    with file name and line number."""
    frames = []
    for path in sorted(raw_dir.glob(pattern)):
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            quotechar='"',
            usecols=columns,
        )
        frame["file_name"] = path.name
        frame["line_number"] = range(len(frame))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def latest_copy(frame: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """One row per id: the copy in the latest file, then the later line (rows are in file
    and line order, so that is the last occurrence; a row without an id is its own record)."""
    ids = clean_id(frame[id_column])
    return frame[ids.isna() | ~ids.duplicated(keep="last")]


# ---------------------------------------------------------------- values
def trimmed(values: pd.Series) -> pd.Series:
    return values.str.strip(" ")


def clean_id(values: pd.Series) -> pd.Series:
    return trimmed(values).str.upper().replace("", None)


def _normalise_customer_name(name: str) -> str | None:
    name = NOT_ALPHANUMERIC.sub("", name.lower().replace("&", " and "))
    name = LEGAL_SUFFIX.sub("", SPACES.sub(" ", name).strip())
    return name or None


def normalise_customer_name(values: pd.Series) -> pd.Series:
    distinct = values.dropna().unique()
    mapping = {value: _normalise_customer_name(value) for value in distinct}
    return values.map(mapping)


def _day(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    text = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def parse_timestamp_spelling(values: pd.Series) -> pd.Series:
    parts = values.str.extract(TIMESTAMP)
    hour = pd.to_numeric(parts[3], errors="coerce")
    text = (
        parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2) + " "
        + parts[3].str.zfill(2) + ":" + parts[4] + ":" + parts[5].fillna("00")
    )  # fmt: skip
    whole = pd.to_datetime(text.where(hour <= 23), format="%Y-%m-%d %H:%M:%S", errors="coerce")
    micros = pd.to_numeric(parts[6].str[1:7].str.ljust(6, "0"), errors="coerce").fillna(0)
    return whole + pd.to_timedelta(micros, unit="us")


def parse_date_spelling(values: pd.Series) -> pd.Series:
    dashed = values.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
    slashed = values.str.extract(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
    us = values.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
    named = values.str.extract(r"^(\d{1,2})-([a-z]{3})-(\d{4})$")
    month_number = named[1].map({name: str(index) for index, name in enumerate(MONTHS, 1)})
    return (
        _day(dashed[0], dashed[1], dashed[2])
        .fillna(_day(slashed[0], slashed[1], slashed[2]))
        .fillna(_day(us[2], us[0], us[1]))
        .fillna(_day(named[2], month_number, named[0]))
    )


def parse_timestamp(values: pd.Series) -> pd.Series:
    text = trimmed(values).str.lower()
    return parse_timestamp_spelling(text).fillna(parse_date_spelling(text))


def parse_date(values: pd.Series) -> pd.Series:
    text = trimmed(values).str.lower()
    return parse_date_spelling(text).fillna(parse_timestamp_spelling(text).dt.normalize())


def parse_month(values: pd.Series) -> pd.Series:
    text = trimmed(values).str.lower()
    parts = text.str.extract(r"^(\d{4})-(\d{1,2})$")
    month = _day(parts[0], parts[1], pd.Series("01", index=values.index))
    return month.fillna(parse_date(values).dt.to_period("M").dt.to_timestamp())


def is_valid_npi(npi: pd.Series) -> pd.Series:
    shaped = npi.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    digits = npi.where(shaped, "0000000000")
    total = pd.Series(24, index=npi.index)
    for position in range(9):
        digit = digits.str[position].astype(int)
        if position % 2 == 0:
            digit = (digit * 2).where(digit * 2 <= 9, digit * 2 - 9)
        total += digit
    return shaped & ((10 - total % 10) % 10 == digits.str[9].astype(int))


# ---------------------------------------------------------------- customers
def crm_accounts(raw_dir: Path) -> pd.DataFrame:
    accounts = read_family(
        raw_dir,
        "crm_accounts.csv",
        ["account_id", "account_name", "billing_account_id", "last_modified_at"],
    )
    accounts["modified_at"] = parse_timestamp(accounts["last_modified_at"])
    accounts["account_key"] = clean_id(accounts["account_id"])
    record = accounts["account_key"].fillna("line:" + accounts["line_number"].astype(str))
    accounts = accounts.assign(record_id=record).sort_values(
        ["record_id", "modified_at", "line_number"], na_position="first"
    )
    accounts = accounts.drop_duplicates("record_id", keep="last")
    return pd.DataFrame(
        {
            "account_id": accounts["account_key"],
            "billing_account_id": clean_id(accounts["billing_account_id"]),
            "name_key": normalise_customer_name(accounts["account_name"]),
        }
    ).dropna(subset=["account_id"])


def customer_names(accounts: pd.DataFrame, seeds_dir: Path) -> pd.Series:
    """Normalised name -> account: a CRM name of exactly one account, else a legacy name
    whose rows agree on one CRM account."""
    crm = accounts.dropna(subset=["name_key"]).groupby("name_key")["account_id"]
    crm_names = crm.min()[crm.nunique() == 1]
    legacy = pd.read_csv(seeds_dir / "legacy_customer_names.csv", dtype=str, keep_default_na=False)
    legacy = pd.DataFrame(
        {
            "name_key": normalise_customer_name(legacy["legacy_name"]),
            "account_id": clean_id(legacy["account_id"]),
        }
    ).dropna(subset=["name_key"])
    legacy = legacy[legacy["account_id"].isin(accounts["account_id"])]
    by_name = legacy.groupby("name_key")["account_id"]
    legacy_names = by_name.min()[by_name.nunique() == 1]
    return pd.concat([crm_names, legacy_names[~legacy_names.index.isin(crm_names.index)]])


def customer_key(matched: pd.Series, name_key: pd.Series) -> pd.Series:
    return matched.fillna("UNMATCHED:" + name_key.fillna(""))


# ---------------------------------------------------------------- the counts
def billable_providers(
    raw_dir: Path,
    products: pd.DataFrame,
    departments: set[str],
    accounts: pd.DataFrame,
    names: pd.Series,
    month_end: pd.Timestamp,
) -> pd.DataFrame:
    columns = [
        "event_id",
        "event_at",
        "customer_name",
        "account_id",
        "npi",
        "department",
        "product",
        "status",
        "go_live_date",
    ]
    events = latest_copy(read_family(raw_dir, "ops_intake_log*.csv", columns), "event_id")
    npi = trimmed(events["npi"]).str.replace(r"[ -]", "", regex=True).replace("", None)
    product_key = trimmed(events["product"]).str.lower()
    by_code = product_key.map(
        products.set_index(products["product_code"].str.lower())["product_code"]
    )
    by_name = product_key.map(products.set_index("product_name_key")["product_code"])
    status = trimmed(events["status"]).str.lower()
    event_at = parse_timestamp(events["event_at"])
    usable = (
        is_valid_npi(npi)
        & (by_code.notna() | by_name.notna())
        & status.isin(["live", "pending", "paused", "terminated"])
        & event_at.notna()
        & (event_at.dt.normalize() <= month_end)
    )
    events = events[usable]
    name_key = normalise_customer_name(events["customer_name"])
    account_id = clean_id(events["account_id"])
    matched = account_id.where(account_id.isin(accounts["account_id"])).fillna(name_key.map(names))
    states = pd.DataFrame(
        {
            "customer_key": customer_key(matched, name_key),
            "product_code": by_code[usable].fillna(by_name[usable]),
            "npi": npi[usable],
            "event_at": event_at[usable],
            "event_id": clean_id(events["event_id"]),
            "status": status[usable],
            "department": trimmed(events["department"]).str.lower(),
            "go_live": parse_date(events["go_live_date"]).fillna(event_at[usable].dt.normalize()),
        }
    )
    states = states.sort_values(
        ["customer_key", "product_code", "npi", "event_at", "event_id"], na_position="first"
    ).drop_duplicates(["customer_key", "product_code", "npi"], keep="last")
    billable_codes = set(products.loc[products["is_billable"], "product_code"])
    billable = states[
        (states["status"] == "live")
        & states["department"].isin(departments)
        & (states["go_live"] <= month_end)
        & states["product_code"].isin(billable_codes)
    ]
    return (
        billable.groupby(["customer_key", "product_code"])["npi"]
        .nunique()
        .rename("billable_providers")
        .reset_index()
    )


def billed_quantities(
    raw_dir: Path,
    products: pd.DataFrame,
    accounts: pd.DataFrame,
    names: pd.Series,
    month_start: pd.Timestamp,
) -> pd.DataFrame:
    columns = [
        "invoice_line_id",
        "billing_account_id",
        "billed_customer_name",
        "billing_period",
        "product_code",
        "billed_quantity",
        "invoice_status",
    ]
    lines = latest_copy(
        read_family(raw_dir, "billing_invoice_lines*.csv", columns), "invoice_line_id"
    )
    quantity_text = trimmed(lines["billed_quantity"])
    whole = quantity_text.str.fullmatch(r"[+-]?\d{1,15}(\.0+)?").fillna(False).astype(bool)
    quantity = pd.to_numeric(quantity_text.where(whole), errors="coerce")
    product_code = (
        trimmed(lines["product_code"])
        .str.upper()
        .map(products.set_index(products["product_code"].str.upper())["product_code"])
    )
    counted = (
        (parse_month(lines["billing_period"]) == month_start)
        & (trimmed(lines["invoice_status"]).str.lower() != "void")
        & quantity.notna()
        & product_code.notna()
    )
    lines = lines[counted]
    name_key = normalise_customer_name(lines["billed_customer_name"])
    billing_accounts = accounts.dropna(subset=["billing_account_id"]).groupby("billing_account_id")[
        "account_id"
    ]
    unique_billing_accounts = billing_accounts.min()[billing_accounts.nunique() == 1]
    matched = (
        clean_id(lines["billing_account_id"])
        .map(unique_billing_accounts)
        .fillna(name_key.map(names))
    )
    counted_lines = pd.DataFrame(
        {
            "customer_key": customer_key(matched, name_key),
            "product_code": product_code[counted],
            "billed_quantity": quantity[counted].astype("int64"),
        }
    )
    return counted_lines.groupby(["customer_key", "product_code"], as_index=False)[
        "billed_quantity"
    ].sum()


def pandas_counts(raw_dir: Path, seeds_dir: Path, month: str) -> pd.DataFrame:
    month_start = pd.Timestamp(f"{month}-01")
    month_end = month_start + pd.offsets.MonthEnd(0)
    products = pd.read_csv(seeds_dir / "products.csv", dtype=str, keep_default_na=False)
    products = pd.DataFrame(
        {
            "product_code": trimmed(products["product_code"]),
            "product_name_key": trimmed(products["product_name"]).str.lower(),
            "is_billable": trimmed(products["is_billable"]).str.lower() == "true",
        }
    )
    departments = pd.read_csv(seeds_dir / "valid_departments.csv", dtype=str, keep_default_na=False)
    valid_departments = set(trimmed(departments["department"]).str.lower()) - {""}
    accounts = crm_accounts(raw_dir)
    names = customer_names(accounts, seeds_dir)
    billable = billable_providers(raw_dir, products, valid_departments, accounts, names, month_end)
    billed = billed_quantities(raw_dir, products, accounts, names, month_start)
    counts = billable.merge(billed, on=["customer_key", "product_code"], how="outer")
    counts[["billable_providers", "billed_quantity"]] = (
        counts[["billable_providers", "billed_quantity"]].fillna(0).astype("int64")
    )
    return counts.sort_values(["customer_key", "product_code"])


def main(argv: list[str]) -> int:
    raw_dir, seeds_dir, month, out = argv
    counts = pandas_counts(Path(raw_dir), Path(seeds_dir), month)
    rows = write_counts(Path(out), counts.itertuples(index=False, name=None))
    print(f"pandas: {rows} customer-products for {month}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
