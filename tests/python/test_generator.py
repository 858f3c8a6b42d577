"""The demo-data generator and the reference implementation that computes its answer key.

Three groups: the contract's rule functions in `recon_testkit.reference`, one small hand-made
dataset whose answer key is worked out by hand, and the generator (files, noise,
determinism, injected findings, agreement of its own model with the reference).
"""

from __future__ import annotations

import csv
import filecmp
import random
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from recon_testkit import reference
from recon_testkit.generate import Calendar, LineWriter, Spelling, WorldBuilder, generate

SEED, ACCOUNTS, MONTHS, END_MONTH = 42, 60, 6, "2026-10"
ACCOUNT_TYPES = {
    "OVERBILLED",
    "UNDERBILLED",
    "UNBILLED_USAGE",
    "MISSING_FROM_CRM",
    "ACCOUNT_NOT_ACTIVE_IN_CRM",
    "GO_LIVE_MISMATCH",
}
PROVIDER_TYPES = {
    "PROVIDER_MISSING_FROM_CRM",
    "PROVIDER_INACTIVE_IN_CRM",
    "PROVIDER_NOT_LIVE",
    "PROVIDER_NAME_MISMATCH",
}


# =========================================================================== helpers
def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def family_rows(raw_dir: Path, pattern: str) -> list[dict[str, str]]:
    return [row for path in sorted(raw_dir.glob(pattern)) for row in read_rows(path)]


def generate_into(root: Path, **arguments: object) -> dict:
    return generate(
        out_dir=root / "raw", seeds_dir=root / "seeds", answer_key_dir=root / "key", **arguments
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The default demo: 60 accounts, 6 months ending 2026-10, seed 42."""
    root = tmp_path_factory.mktemp("demo")
    summary = generate_into(root, accounts=ACCOUNTS, months=MONTHS, seed=SEED, end_month=END_MONTH)
    return {
        "root": root,
        "raw": root / "raw",
        "seeds": root / "seeds",
        "key": root / "key",
        "summary": summary,
    }


def world_of(accounts: int = ACCOUNTS, months: int = MONTHS, seed: int = SEED):
    """The generator's world for these arguments (it is built first, from the seed)."""
    calendar = Calendar.ending(END_MONTH, months)
    return WorldBuilder(random.Random(seed), calendar, accounts).build()


# =========================================================================== rule functions
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-05", date(2026, 10, 5)),
        ("2026-1-5", date(2026, 1, 5)),
        ("2026/10/05", date(2026, 10, 5)),
        ("2026/1/5", date(2026, 1, 5)),
        ("10/5/2026", date(2026, 10, 5)),
        ("01/02/2026", date(2026, 1, 2)),  # US order, never day first
        ("05-Oct-2026", date(2026, 10, 5)),
        ("5-OCT-2026", date(2026, 10, 5)),
        ("05-oct-2026", date(2026, 10, 5)),
        ("  2026-10-05 ", date(2026, 10, 5)),
        ("2026-10-05T23:30:00-05:00", date(2026, 10, 5)),  # a timestamp: its date as written
        ("2026-02-30", None),
        ("13/45/2026", None),
        ("sometime", None),
        ("31-Foo-2026", None),
        ("2026-10-05T24:00", None),
        ("", None),
    ],
)
def test_date_spellings(text: str, expected: date | None) -> None:
    assert reference.parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-05T10:20:30", (date(2026, 10, 5), (2026, 10, 5, 10, 20, 30, 0))),
        ("2026-10-05 10:20", (date(2026, 10, 5), (2026, 10, 5, 10, 20, 0, 0))),
        ("2026-10-05t10:20:30z", (date(2026, 10, 5), (2026, 10, 5, 10, 20, 30, 0))),
        ("2026-10-05T10:20:30.5Z", (date(2026, 10, 5), (2026, 10, 5, 10, 20, 30, 500_000_000))),
        ("2026-10-31T23:10:00-05:00", (date(2026, 10, 31), (2026, 10, 31, 23, 10, 0, 0))),
        ("2026-11-01 00:30:00+02:00", (date(2026, 11, 1), (2026, 11, 1, 0, 30, 0, 0))),
        ("10/5/2026", (date(2026, 10, 5), (2026, 10, 5, 0, 0, 0, 0))),  # a bare date: midnight
        ("2026-10-05T24:00:00", None),
        ("2026-10-05T10:60", None),
        ("2026-10-05T10:20:61", None),
        ("2026-10-05T10:20+02", None),
        ("2026-02-30T10:00", None),
        ("", None),
    ],
)
def test_timestamp_spellings(text: str, expected: object) -> None:
    assert reference.parse_timestamp(text) == expected


def test_billing_periods_numbers_and_prices() -> None:
    periods = ["2026-10", "2026-1", "2026-10-31", "10/1/2026", "01-Oct-2026", "2026-13", "x"]
    assert [reference.parse_billing_period(text) for text in periods] == [
        (2026, 10), (2026, 1), (2026, 10), (2026, 10), (2026, 10), None, None,
    ]  # fmt: skip
    quantities = ["3", " 3.0 ", "-1", "+2", "3.00", "3.5", "three", "1,000", "", "3."]
    assert [reference.parse_whole_number(text) for text in quantities] == [
        3, 3, -1, 2, 3, None, None, None, None, None,
    ]  # fmt: skip
    prices = ["120", "99.50", "-5.25", "1.12345678", "1.123456789", ".5", "120.", "$120", "1,2"]
    assert [reference.parse_decimal(text) for text in prices] == [
        Decimal("120"), Decimal("99.50"), Decimal("-5.25"), Decimal("1.12345678"),
        None, None, None, None, None,
    ]  # fmt: skip


def test_npi_cleaning_and_check_digit() -> None:
    assert reference.npi_check_digit("123456789") == 3
    assert reference.clean_npi("1234567893") == "1234567893"
    assert reference.clean_npi(" 123 456-7893 ") == "1234567893"
    assert reference.clean_npi("1234567890") is None  # wrong check digit
    assert reference.clean_npi("123.456.7893") is None  # only spaces and dashes go
    assert reference.clean_npi("") is None
    assert reference.clean_npi("123456789") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  ACME Health, Inc. ", "acme health"),
        ("acme   health", "acme health"),
        ("A&B", "a and b"),
        ("Heart & Vascular", "heart and vascular"),
        ("Inc", "inc"),  # a suffix that is the whole name stays
        ("Acme Co LLC", "acme co"),  # one suffix only
        ("CLÍNICA SÃO JOSÉ", "clínica são josé"),
        ('O\'Brien "OB" Care, LLC', "obrien ob care"),
        ('=HYPERLINK("x")', "hyperlinkx"),
    ],
)
def test_customer_name_normalisation(name: str, expected: str) -> None:
    assert reference.normalise_customer_name(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Smith, John A. MD", "john smith"),
        ("john smith", "john smith"),
        ("JOHN  SMITH, PA-C", "john smith"),
        ("Jones-Smith, Ann", "ann jonessmith"),
        ("Jon Smyth", "jon smyth"),
        ("Núñez, José", "josé núñez"),
    ],
)
def test_provider_name_normalisation(name: str, expected: str) -> None:
    assert reference.normalise_provider_name(name) == expected


def test_customer_matching_steps() -> None:
    accounts = {
        account_id: reference.CrmAccount(account_id, name, "active", None, billing)
        for account_id, name, billing in [
            ("A1", "alpha clinic", "B1"),
            ("A2", "shared name", "BS"),
            ("A3", "shared name", "BS"),
            ("A4", "other name", ""),
        ]
    }
    legacy = [("Old Alpha", "a1"), ("Shared Name", "A2"), ("Ghost", "A9"), ("Split", "A1")]
    matcher = reference.CustomerMatcher(accounts, [*legacy, ("split", "A4")])
    resolve = matcher.resolve
    assert resolve(" a4 ", "", "whatever").customer_key == "A4"  # 1: account_id
    assert resolve("", "b1", "Other Name").customer_key == "A1"  # 2: billing id first
    assert resolve("", "BS", "Other Name").customer_key == "A4"  # shared billing id: next step
    assert resolve("", "", "ALPHA  CLINIC, LLC").customer_key == "A1"  # 3: name
    assert resolve("", "", "old alpha").customer_key == "A1"  # 4: legacy
    assert resolve("", "", "Shared Name") == reference.Resolution("A2", "A2", None)
    ghost = resolve("", "", "Ghost")  # legacy row of an account not in the CRM
    assert ghost == reference.Resolution("UNMATCHED:ghost", None, "UNMATCHED_CUSTOMER")
    split = resolve("", "", "Split")  # legacy rows that disagree decide nothing
    assert split == reference.Resolution("UNMATCHED:split", None, "UNMATCHED_CUSTOMER")
    unsettled = reference.CustomerMatcher(accounts, []).resolve("", "", "shared name")
    assert unsettled == reference.Resolution("UNMATCHED:shared name", None, "AMBIGUOUS_CUSTOMER")


def test_crm_duplicates_keep_the_latest_parseable_timestamp() -> None:
    rows = [
        ["P1", "2026-01-01T00:00", "older"],
        ["p1 ", "2026-03-01", "latest"],
        ["P1", "", "empty loses"],
        ["P1", "sometime", "unparseable loses"],
        ["P2", "2026-01-01", "first of a tie"],
        ["P2", "2026-01-01T00:00:00Z", "later line of a tie wins"],
    ]
    winners, losers = reference.latest_by_id(rows, 0, 1)
    assert winners["P1"][2] == "latest"
    assert winners["P2"][2] == "later line of a tie wins"
    assert sorted(row[2] for row in losers) == [
        "empty loses", "first of a tie", "older", "unparseable loses",
    ]  # fmt: skip


def test_money_rounds_half_away_from_zero() -> None:
    assert reference.round_price(Decimal("100.00005")) == Decimal("100.0001")
    assert reference.round_money(Decimal("-2.005")) == Decimal("-2.01")
    assert reference.format_decimal(Decimal("-0.001"), 2) == "0.00"


# =========================================================================== a hand-made month pair
HAND_MONTHS = ["2026-01", "2026-02"]


def npi(first_nine: str) -> str:
    return first_nine + str(reference.npi_check_digit(first_nine))


N1, N2, N3, N4, N5, N6 = (npi(f"1{digit}2345678") for digit in "123456")


def event(event_id: str, at: str, name: str, account: str, provider_npi: str, person: str,
          product: str = "TELE", status: str = "live", go_live: str = "",
          department: str = "Cardiology") -> list[str]:  # fmt: skip
    return [event_id, at, name, account, provider_npi, person, department, "Salem", product,
            status, go_live]  # fmt: skip


def line(line_id: str, billing_id: str, name: str, period: str, quantity: str,
         price: str = "100.00", status: str = "closed") -> list[str]:  # fmt: skip
    return ["INV-" + line_id, line_id, billing_id, name, period, "TELE", quantity, price, "",
            status, "USD"]  # fmt: skip


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, ...]]]:
    root = tmp_path_factory.mktemp("hand")
    raw, seeds = root / "raw", root / "seeds"
    write_csv(seeds / "products.csv", reference.PRODUCT_COLUMNS, [
        ["TELE", "Telehealth Suite", "true", "100.00"], ["SBX", "Sandbox", "false", "9"],
    ])  # fmt: skip
    write_csv(seeds / "valid_departments.csv", ["department"], [["Cardiology"]])
    write_csv(seeds / "legacy_customer_names.csv", reference.LEGACY_COLUMNS,
              [["Shared Name", "A2"], ["Ghost", "A9"]])  # fmt: skip
    write_csv(raw / "crm_accounts.csv", reference.CRM_ACCOUNT_COLUMNS, [
        ["A1", "Alpha Clinic", "active", "2025-01-01", "BA1", "2026-01-01"],
        ["A2", "Shared Name", "Active", "2025-01-01", "BS", "2026-01-01"],
        ["A3", "Shared Name", "churned", "", "BS", "2026-01-01"],
        ["A4", "Beta Care", "prospect", "2026-02-15", "BA4", "2026-01-01"],
    ])  # fmt: skip
    write_csv(raw / "crm_providers.csv", reference.CRM_PROVIDER_COLUMNS, [
        ["P1", "A1", N1, "Smith, John A. MD", "active", "Cardiology", "Salem", "2026-01-01"],
        ["P2", "A1", N2, "Ann Lee", "inactive", "Cardiology", "Salem", "2026-01-01"],
        ["P3", "A1", N3, "Bob Ray", "active", "Cardiology", "Salem", "2026-01-01"],
    ])  # fmt: skip
    write_csv(raw / "ops_intake_log_2026_01.csv", reference.EVENT_COLUMNS, [
        event("E1", "2026-01-05T10:00", "alpha clinic", "", N1, "John Smith"),
        event("E2", "2026-01-06 10:00", "", "a1", N2, "Lee, Ann", "telehealth suite",
              go_live="2026-02-03"),  # go-live after January's end
        event("E3", "2026-01-20T10:00", "Alpha Clinic", "", N1, "John Smith", "Other",
              "terminated"),  # later but unusable (unknown product): hides nothing
        event("E4", "sometime", "Alpha Clinic", "", N1, "John Smith", status="terminated"),
        event("E5", "2026-01-07", "Shared Name", "", N4, "Zed Young"),  # settled by legacy
        event("E6", "2026-01-08", "Gamma Health LLC", "", N5, "Kim Cho"),
        event("E7", "2026-02-01T00:30:00+02:00", "Alpha Clinic", "A1", N1, "John Smith",
              status="terminated"),  # exported early: February's
        event("E8", "2026-01-09T09:00", "Alpha Clinic", "A1", N2, "Ann Lee", status="bogus"),
    ])  # fmt: skip
    write_csv(raw / "ops_intake_log_2026_02.csv", reference.EVENT_COLUMNS, [
        event("e2", "2026-01-06 10:00", "", "A1", N2, "Lee, Ann", "TELE", go_live="2026-02-03"),
        event("E9", "2026-02-10", "gamma health", "", N5, "Kim Cho"),
    ])  # fmt: skip
    write_csv(raw / "ops_intake_log_zz.csv", reference.EVENT_COLUMNS, [
        event("E10", "1/9/2026", "Beta Care", "", N6, "Kim Park"),  # January, in the last file
    ])  # fmt: skip
    write_csv(raw / "billing_invoice_lines_2026_01.csv", reference.INVOICE_LINE_COLUMNS, [
        line("L1", "BA1", "Alpha Clinic", "2026-01", "1"),
        line("L2", "BS", "Shared Name", "2026-01", "2", "90.00"),  # shared id -> name -> legacy
        line("L3", "bs", "shared name", "2026-01", "1", "120"),  # weighted price 100.0000
        line("L4", "", "Gamma Health, Inc.", "2026-01", "three"),
        line("L5", "", "Gamma Health", "13/45/2026", "1"),
        line("L6", "BA4", "Beta Care", "01/31/2026", "1", "10", "draft"),  # counts
        line("L7", "BA1", "Alpha Clinic", "2026-01", "5", status="void"),
    ])  # fmt: skip
    write_csv(raw / "billing_invoice_lines_2026_02.csv", reference.INVOICE_LINE_COLUMNS, [
        line("L8", "BA1", "Alpha Clinic", "2026-02-28", "1.0"),
    ])  # fmt: skip
    return reference.answer_key_rows(raw, seeds, HAND_MONTHS)


def test_hand_made_counts(hand_made: dict[str, list[tuple[str, ...]]]) -> None:
    assert hand_made["provider_counts_monthly.csv"] == [
        ("2026-01-01", "A1", "A1", "TELE", "2", "1", "1", "0", "true"),
        ("2026-01-01", "A2", "A2", "TELE", "0", "1", "3", "2", "false"),
        ("2026-01-01", "A4", "A4", "TELE", "0", "1", "1", "0", "true"),
        ("2026-01-01", "UNMATCHED:gamma health", "", "TELE", "0", "1", "0", "-1", "false"),
        ("2026-02-01", "A1", "A1", "TELE", "2", "1", "1", "0", "true"),
        ("2026-02-01", "A2", "A2", "TELE", "0", "1", "0", "-1", "false"),
        ("2026-02-01", "A4", "A4", "TELE", "0", "1", "0", "-1", "false"),
        ("2026-02-01", "UNMATCHED:gamma health", "", "TELE", "0", "1", "0", "-1", "false"),
    ]


def test_hand_made_account_findings(hand_made: dict[str, list[tuple[str, ...]]]) -> None:
    gamma = "UNMATCHED:gamma health"
    credit, check = "Issue a credit note", "Confirm the account status with Customer Success"
    go_live, usage = "Correct the go-live date in the CRM", "Invoice the usage"
    create = "Create the account in the CRM or map the name in legacy_customer_names"
    assert hand_made["billing_discrepancies.csv"] == [
        ("2026-01-01", "A2", "A2", "TELE", "OVERBILLED", "0", "1", "3", "2", "100.0000",
         "200.00", "true", "2026-01-01", "INV-L2,INV-L3", "closed", credit),
        ("2026-01-01", "A4", "A4", "", "ACCOUNT_NOT_ACTIVE_IN_CRM", "0", "1", "1", "0", "",
         "0.00", "true", "2026-01-01", "INV-L6", "", check),  # a draft invoice: no status
        ("2026-01-01", "A4", "A4", "", "GO_LIVE_MISMATCH", "0", "1", "1", "0", "", "0.00",
         "true", "2026-01-01", "INV-L6", "", go_live),
        ("2026-01-01", gamma, "", "", "MISSING_FROM_CRM", "0", "1", "0", "-1", "", "-100.00",
         "true", "2026-01-01", "", "", create),  # L4 and L5 count for nothing
        ("2026-01-01", gamma, "", "TELE", "UNBILLED_USAGE", "0", "1", "0", "-1", "100.0000",
         "-100.00", "true", "2026-01-01", "", "", usage),
        ("2026-02-01", "A2", "A2", "TELE", "UNBILLED_USAGE", "0", "1", "0", "-1", "100.0000",
         "-100.00", "true", "2026-02-01", "", "", usage),
        ("2026-02-01", "A4", "A4", "", "ACCOUNT_NOT_ACTIVE_IN_CRM", "0", "1", "0", "-1", "",
         "-100.00", "false", "2026-01-01", "", "", check),
        ("2026-02-01", "A4", "A4", "TELE", "UNBILLED_USAGE", "0", "1", "0", "-1", "100.0000",
         "-100.00", "true", "2026-02-01", "", "", usage),
        ("2026-02-01", gamma, "", "", "MISSING_FROM_CRM", "0", "1", "0", "-1", "", "-100.00",
         "false", "2026-01-01", "", "", create),
        ("2026-02-01", gamma, "", "TELE", "UNBILLED_USAGE", "0", "1", "0", "-1", "100.0000",
         "-100.00", "false", "2026-01-01", "", "", usage),
    ]  # fmt: skip


def test_hand_made_without_entitlement_files_has_no_entitlement_findings(
    hand_made: dict[str, list[tuple[str, ...]]],
) -> None:
    assert hand_made["entitlement_findings.csv"] == []


def test_hand_made_provider_findings(hand_made: dict[str, list[tuple[str, ...]]]) -> None:
    assert hand_made["provider_discrepancies.csv"] == [
        ("2026-01-01", "A1", N3, "PROVIDER_NOT_LIVE"),
        ("2026-01-01", "A2", N4, "PROVIDER_MISSING_FROM_CRM"),
        ("2026-01-01", "A4", N6, "PROVIDER_MISSING_FROM_CRM"),
        ("2026-02-01", "A1", N1, "PROVIDER_NOT_LIVE"),  # terminated by the early export
        ("2026-02-01", "A1", N2, "PROVIDER_INACTIVE_IN_CRM"),
        ("2026-02-01", "A1", N3, "PROVIDER_NOT_LIVE"),
        ("2026-02-01", "A2", N4, "PROVIDER_MISSING_FROM_CRM"),
        ("2026-02-01", "A4", N6, "PROVIDER_MISSING_FROM_CRM"),
    ]


def test_hand_made_data_quality(hand_made: dict[str, list[tuple[str, ...]]]) -> None:
    ops, lines = "ops_intake_log", "billing_invoice_lines"
    assert hand_made["data_quality_issues.csv"] == sorted([
        ("2026-01-01", ops, "E2", "DUPLICATE_RECORD", "event_id"),  # the copy in the 1st drop
        ("2026-01-01", ops, "E3", "UNKNOWN_PRODUCT", "product"),
        ("2026-01-01", ops, "E4", "UNPARSEABLE_DATE", "event_at"),
        ("2026-02-01", ops, "E4", "UNPARSEABLE_DATE", "event_at"),
        ("2026-01-01", ops, "E6", "UNMATCHED_CUSTOMER", "customer_name"),
        ("2026-01-01", ops, "E8", "UNKNOWN_STATUS", "status"),
        ("2026-02-01", ops, "E9", "UNMATCHED_CUSTOMER", "customer_name"),
        ("2026-01-01", lines, "L4", "UNMATCHED_CUSTOMER", "billed_customer_name"),
        ("2026-01-01", lines, "L4", "UNPARSEABLE_NUMBER", "billed_quantity"),
        ("2026-01-01", lines, "L5", "UNMATCHED_CUSTOMER", "billed_customer_name"),
        ("2026-02-01", lines, "L5", "UNMATCHED_CUSTOMER", "billed_customer_name"),
        ("2026-01-01", lines, "L5", "UNPARSEABLE_DATE", "billing_period"),
        ("2026-02-01", lines, "L5", "UNPARSEABLE_DATE", "billing_period"),
        ("2026-01-01", lines, "L6", "UNKNOWN_STATUS", "invoice_status"),
    ])  # fmt: skip


# =========================================================================== entitlements, actions
# Contract 5: every month E is the month's last day; every provider was live before 2026.
#   account  TELE billable  entitlements (TELE unless said)          January        February
#   A1       2              2 seats, ends 2026-01-31 (E of January)  within         NO_ENTITLEMENT
#   A2       3              1 seat, starts 2026-01-31 (E), open      ABOVE          ABOVE
#   A3       4              2 open + 3 from 2026-02-10 (overlap)     ABOVE (2)      BELOW (5)
#   A4       2              ANLYT 3, none of TELE                    NO_ENT / BELOW same
#   A5       1              5 seats from 2026-02-01 (day after E)    NO_ENTITLEMENT BELOW
#   A6, A7   1              seats "ten" / end "2026-02-30": nothing  NO_ENTITLEMENT same
#   A8       2              3 seats, open                            BELOW 0.6667   same
# January's invoices: A1 3 open, A2 4 closed, A3 2 closed + 1 open, A4 1 closed, A5 3 draft.
ENTITLED_NPIS = [npi(f"3{number:08d}") for number in range(16)]
ENTITLED_PROVIDERS = {"A1": 2, "A2": 3, "A3": 4, "A4": 2, "A5": 1, "A6": 1, "A7": 1, "A8": 2}


def entitlement(entitlement_id: str, account: str, seats: str, start: str, end: str = "",
                product: str = "TELE", modified: str = "2026-01-01") -> list[str]:  # fmt: skip
    return [entitlement_id, account, product, seats, start, end, modified]


@pytest.fixture(scope="module")
def hand_made_entitlements(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[tuple[str, ...]]]:
    root = tmp_path_factory.mktemp("entitlements")
    raw, seeds = root / "raw", root / "seeds"
    write_csv(seeds / "products.csv", reference.PRODUCT_COLUMNS, [
        ["TELE", "Telehealth Suite", "true", "100.00"], ["ANLYT", "Analytics", "true", "50"],
    ])  # fmt: skip
    write_csv(seeds / "valid_departments.csv", reference.DEPARTMENT_COLUMNS, [["Cardiology"]])
    write_csv(seeds / "legacy_customer_names.csv", reference.LEGACY_COLUMNS, [])
    write_csv(raw / "crm_accounts.csv", reference.CRM_ACCOUNT_COLUMNS, [
        [account, f"Clinic {account}", "active", "2025-01-01", f"B{account}", "2026-01-01"]
        for account in ENTITLED_PROVIDERS
    ])  # fmt: skip
    write_csv(raw / "crm_providers.csv", reference.CRM_PROVIDER_COLUMNS, [])
    npis = iter(ENTITLED_NPIS)
    write_csv(raw / "ops_intake_log_2026_01.csv", reference.EVENT_COLUMNS, [
        event(f"E-{account}-{number}", "2025-12-01T09:00", "", account, next(npis), "Ann Lee")
        for account, count in ENTITLED_PROVIDERS.items() for number in range(count)
    ])  # fmt: skip
    write_csv(raw / "billing_invoice_lines_2026_01.csv", reference.INVOICE_LINE_COLUMNS, [
        line("L1", "BA1", "", "2026-01", "3", status="open"),
        line("L2", "BA2", "", "2026-01", "4", status="closed"),
        line("L3", "BA3", "", "2026-01", "2", status="closed"),
        line("L4", "BA3", "", "2026-01", "1", status="OPEN "),
        line("L5", "BA4", "", "2026-01", "1", status="closed"),
        line("L6", "BA5", "", "2026-01", "3", status="draft"),
    ])  # fmt: skip
    write_csv(raw / "contract_entitlements.csv", reference.ENTITLEMENT_COLUMNS, [
        entitlement("X1", "A1", "2", "2025-01-01", "01/31/2026"),
        entitlement("X2", "a2", "1", "31-Jan-2026"),
        entitlement("X3", "A3", "2", "2025-06-01", modified="2026-01-05T10:00"),
        entitlement("X4", "A3", "3", "2026-02-10", "2026-12-31"),
        entitlement("X5", "A4", "3", "2025-06-01", product="anlyt"),
        entitlement("X6", "A5", "5.0", "2026-02-01"),
        entitlement("X7", "A6", "ten", "2025-06-01"),
        entitlement("X8", "A7", "1", "2025-06-01", "2026-02-30"),
        entitlement("X9", "ZZ", "3", "2025-06-01"),
        entitlement("X10", "A1", "3", "2025-06-01", product="TELE-2"),
        entitlement("X12", "A8", "3", "2025-06-01"),
    ])  # fmt: skip
    write_csv(raw / "contract_entitlements_old.csv", reference.ENTITLEMENT_COLUMNS, [
        entitlement("x3", "A3", "9", "2025-06-01", modified="2026-01-01T10:00"),  # older: loses
    ])  # fmt: skip
    return reference.answer_key_rows(raw, seeds, HAND_MONTHS)


def test_hand_made_entitlement_findings(
    hand_made_entitlements: dict[str, list[tuple[str, ...]]],
) -> None:
    above, below = "USAGE_ABOVE_ENTITLEMENT", "USAGE_BELOW_ENTITLEMENT"
    none, jan, feb = "NO_ENTITLEMENT", "2026-01-01", "2026-02-01"
    assert hand_made_entitlements["entitlement_findings.csv"] == [
        (jan, "A1", "A1", "TELE", "", "2", "2", "3", "0", "1.0000", "true"),
        (jan, "A2", "A2", "TELE", above, "1", "3", "4", "2", "3.0000", "true"),
        (jan, "A3", "A3", "TELE", above, "2", "4", "3", "2", "2.0000", "true"),
        (jan, "A4", "A4", "ANLYT", below, "3", "0", "0", "-3", "0.0000", "true"),
        (jan, "A4", "A4", "TELE", none, "0", "2", "1", "2", "", "true"),
        (jan, "A5", "A5", "TELE", none, "0", "1", "3", "1", "", "true"),
        (jan, "A6", "A6", "TELE", none, "0", "1", "0", "1", "", "true"),
        (jan, "A7", "A7", "TELE", none, "0", "1", "0", "1", "", "true"),
        (jan, "A8", "A8", "TELE", below, "3", "2", "0", "-1", "0.6667", "true"),
        (feb, "A1", "A1", "TELE", none, "0", "2", "0", "2", "", "true"),
        (feb, "A2", "A2", "TELE", above, "1", "3", "0", "2", "3.0000", "false"),
        (feb, "A3", "A3", "TELE", below, "5", "4", "0", "-1", "0.8000", "true"),
        (feb, "A4", "A4", "ANLYT", below, "3", "0", "0", "-3", "0.0000", "false"),
        (feb, "A4", "A4", "TELE", none, "0", "2", "0", "2", "", "false"),
        (feb, "A5", "A5", "TELE", below, "5", "1", "0", "-4", "0.2000", "true"),
        (feb, "A6", "A6", "TELE", none, "0", "1", "0", "1", "", "false"),
        (feb, "A7", "A7", "TELE", none, "0", "1", "0", "1", "", "false"),
        (feb, "A8", "A8", "TELE", below, "3", "2", "0", "-1", "0.6667", "false"),
    ]  # fmt: skip


def test_hand_made_actions(hand_made_entitlements: dict[str, list[tuple[str, ...]]]) -> None:
    columns = reference.BILLING_DISCREPANCY_COLUMNS
    names = ("billing_month", "customer_key", "discrepancy_type", "invoice_ids",
             "invoice_status", "recommended_action")  # fmt: skip
    picked = [columns.index(name) for name in names]
    actions = [
        tuple(row[position] for position in picked)
        for row in hand_made_entitlements["billing_discrepancies.csv"]
    ]
    jan, correct = "2026-01-01", "Correct the invoice before it is sent"
    assert actions[:8] == [
        (jan, "A1", "OVERBILLED", "INV-L1", "open", correct),
        (jan, "A2", "OVERBILLED", "INV-L2", "closed", "Issue a credit note"),
        (jan, "A3", "UNDERBILLED", "INV-L3,INV-L4", "open", correct),
        (jan, "A4", "UNDERBILLED", "INV-L5", "closed", "Issue a supplementary invoice"),
        (jan, "A5", "OVERBILLED", "INV-L6", "", "Check the invoice status in the billing system"),
        (jan, "A6", "UNBILLED_USAGE", "", "", "Invoice the usage"),
        (jan, "A7", "UNBILLED_USAGE", "", "", "Invoice the usage"),
        (jan, "A8", "UNBILLED_USAGE", "", "", "Invoice the usage"),
    ]


def test_hand_made_entitlement_data_quality(
    hand_made_entitlements: dict[str, list[tuple[str, ...]]],
) -> None:
    issues = {
        row[2:] for row in hand_made_entitlements["data_quality_issues.csv"]
        if row[1] == "contract_entitlements"
    }  # fmt: skip
    assert issues == {
        ("X3", "DUPLICATE_RECORD", "entitlement_id"),
        ("X7", "UNPARSEABLE_NUMBER", "contracted_seats"),
        ("X8", "UNPARSEABLE_DATE", "end_date"),
        ("X9", "UNMATCHED_CUSTOMER", "account_id"),
        ("X10", "UNKNOWN_PRODUCT", "product_code"),
    }


def test_a_bloom_filter_false_positive_changes_nothing(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    months = demo["summary"]["months"]
    exact = reference.answer_key_rows(demo["raw"], demo["seeds"], months)
    monkeypatch.setattr(reference._SeenIds, "__init__", _tiny_filter)
    assert reference.answer_key_rows(demo["raw"], demo["seeds"], months) == exact


def _tiny_filter(self: reference._SeenIds, expected_ids: int) -> None:
    self._size = 64  # nearly every id looks seen before
    self._bits = bytearray(9)


# =========================================================================== the generator
def test_summary_files_and_seeds(demo: dict) -> None:
    summary, raw, seeds = demo["summary"], demo["raw"], demo["seeds"]
    months = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    assert summary["months"] == months
    drops = [f"{family}_{month.replace('-', '_')}.csv" for month in months
             for family in ("ops_intake_log", "billing_invoice_lines")]  # fmt: skip
    for name in ["crm_accounts.csv", "crm_providers.csv", *drops]:
        assert summary["rows"][name] == len(read_rows(raw / name)) > 0, name
    assert 3_000 < summary["events"] < 15_000
    assert (raw / "crm_accounts.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (raw / "crm_providers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    products = read_rows(seeds / "products.csv")
    assert 4 <= len(products) <= 6
    assert {row["is_billable"] for row in products} == {"true", "false"}
    assert all(re.fullmatch(r"[0-9]+\.[0-9]{2}", row["list_price"]) for row in products)
    assert read_rows(seeds / "valid_departments.csv")
    assert read_rows(seeds / "legacy_customer_names.csv")[0].keys() == {"legacy_name", "account_id"}
    manifest = (demo["key"] / "manifest.json").read_text()
    assert '"seed": 42' in manifest and '"version"' in manifest and '"2026-05"' in manifest


def test_answer_key_files_have_their_columns_and_sorted_rows(demo: dict) -> None:
    for name, columns in reference.ANSWER_KEY_FILES.items():
        with (demo["key"] / name).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert tuple(rows[0]) == columns, name
        assert len(rows) - 1 == demo["summary"]["answer_key"][name]
        months = [row[0] for row in rows[1:]]
        assert months == sorted(months), name


def test_same_arguments_give_the_same_bytes(demo: dict, tmp_path: Path) -> None:
    generate_into(tmp_path, accounts=ACCOUNTS, months=MONTHS, seed=SEED, end_month=END_MONTH)
    for folder in ("raw", "seeds", "key"):
        comparison = filecmp.dircmp(demo[folder], tmp_path / folder)
        assert comparison.left_list == comparison.right_list
        _, mismatch, errors = filecmp.cmpfiles(
            demo[folder], tmp_path / folder, comparison.common_files, shallow=False
        )
        assert not mismatch and not errors, (folder, mismatch)


def test_without_answer_key_the_raw_files_are_the_same(demo: dict, tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "ops_intake_log_2020_01.csv").write_text("stale drop\n")
    summary = generate_into(tmp_path, accounts=ACCOUNTS, months=MONTHS, seed=SEED, answer_key=False)
    assert summary["answer_key"] is None and not (tmp_path / "key").exists()
    names = sorted(path.name for path in (tmp_path / "raw").iterdir())
    assert names == sorted(path.name for path in demo["raw"].iterdir())  # stale drop removed
    _, mismatch, _ = filecmp.cmpfiles(demo["raw"], tmp_path / "raw", names, shallow=False)
    assert not mismatch


def test_every_event_falls_in_the_generated_months(demo: dict) -> None:
    first, last = date(2026, 5, 1), date(2026, 10, 31)
    for row in family_rows(demo["raw"], "ops_intake_log*.csv"):
        stamp = reference.parse_timestamp(row["event_at"])
        assert stamp is None or first <= stamp[0] <= last, row


def test_duckdb_reads_every_file(demo: dict) -> None:
    for pattern in ("crm_accounts.csv", "crm_providers.csv", "ops_intake_log*.csv",
                    "billing_invoice_lines*.csv"):  # fmt: skip
        expected = len(family_rows(demo["raw"], pattern))
        ((count,),) = duckdb.sql(
            f"select count(*) from read_csv('{demo['raw']}/{pattern}', all_varchar=true, "
            "header=true, union_by_name=true)"
        ).fetchall()
        assert count == expected, pattern


# ------------------------------------------------------------------ noise
DATE_SPELLINGS = {
    "YYYY-MM-DD": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "YYYY/MM/DD": r"[0-9]{4}/[0-9]{2}/[0-9]{2}",
    "YYYY-M-D": r"[0-9]{4}-[0-9]-[0-9]",
    "M/D/YYYY": r"[0-9]/[0-9]/[0-9]{4}",
    "MM/DD/YYYY": r"[0-9]{2}/[0-9]{2}/[0-9]{4}",
    "DD-Mon-YYYY": r"[0-9]{2}-[A-Z][a-z]{2}-[0-9]{4}",
    "D-MON-YYYY": r"[0-9]-[A-Z]{3}-[0-9]{4}",
    "DD-mon-YYYY": r"[0-9]{1,2}-[a-z]{3}-[0-9]{4}",
}
TIMESTAMP_SPELLINGS = {
    "T with seconds": r"[0-9-]{10}T[0-9]{2}:[0-9]{2}:[0-9]{2}",
    "space with seconds": r"[0-9-]{10} [0-9]{2}:[0-9]{2}:[0-9]{2}",
    "without seconds": r"[0-9-]{10}[T ][0-9]{2}:[0-9]{2}",
    "fraction": r"[0-9-]{10}[T ][0-9:]{8}\.[0-9]+Z?",
    "Z": r"[0-9-]{10}T[0-9:]{8}Z",
    "+02:00": r"[0-9-]{10}T[0-9:]{8}\+02:00",
    "-05:00": r"[0-9-]{10}T[0-9:]{8}-05:00",
    "bare date": r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}",
}


def values(rows: list[dict[str, str]], column: str) -> list[str]:
    return [row[column] for row in rows]


def test_noise_on_text_fields(demo: dict) -> None:
    raw = demo["raw"]
    families = {
        "crm_accounts.csv": read_rows(raw / "crm_accounts.csv"),
        "crm_providers.csv": read_rows(raw / "crm_providers.csv"),
        "ops_intake_log*.csv": family_rows(raw, "ops_intake_log*.csv"),
        "billing_invoice_lines*.csv": family_rows(raw, "billing_invoice_lines*.csv"),
    }
    for family, rows in families.items():
        for column in rows[0]:
            column_values = values(rows, column)
            assert any(value != value.strip() for value in column_values), (family, column)
            letters = [value for value in column_values if re.search("[A-Za-z]", value)]
            if len(letters) >= 20:  # columns of words, not numbers with a stray word
                assert any(value.strip().islower() for value in letters), (family, column)
                assert any(value.strip().isupper() for value in letters), (family, column)


def test_noise_in_dates_numbers_and_ids(demo: dict) -> None:
    raw = demo["raw"]
    events = family_rows(raw, "ops_intake_log*.csv")
    lines = family_rows(raw, "billing_invoice_lines*.csv")
    accounts = read_rows(raw / "crm_accounts.csv")
    providers = read_rows(raw / "crm_providers.csv")
    dates = [value.strip() for value in values(events, "go_live_date")]
    for spelling, pattern in DATE_SPELLINGS.items():
        assert any(re.fullmatch(pattern, value) for value in dates), spelling
    stamps = [value.strip() for value in values(events, "event_at")]
    for spelling, pattern in TIMESTAMP_SPELLINGS.items():
        assert any(re.fullmatch(pattern, value, re.IGNORECASE) for value in stamps), spelling
    unparseable = {"2026-02-30", "13/45/2026", "sometime", "31-Foo-2026"}
    assert unparseable <= {value.strip() for value in stamps + dates}
    periods = {value.strip() for value in values(lines, "billing_period")}
    assert any(re.fullmatch(r"[0-9]{4}-[0-9]{2}", value) for value in periods)
    assert any(reference.parse_billing_period(value) is None for value in periods)
    npis = [value.strip() for value in values(events, "npi") + values(providers, "npi")]
    assert any(" " in value for value in npis) and any("-" in value for value in npis)
    assert "" in npis
    assert any(len(value) == 10 and reference.clean_npi(value) is None for value in npis)
    quantities = {value.strip() for value in values(lines, "billed_quantity")}
    assert {"3.5", "three", "1,000", "", "-1"} <= quantities
    assert any(value.endswith(".0") for value in quantities)
    assert {"void", "draft"} <= {value.strip().lower() for value in values(lines, "invoice_status")}
    statuses = {value.strip().lower() for value in values(events, "status")}
    assert "on hold" in statuses
    assert "archived" in {value.strip().lower() for value in values(accounts, "account_status")}
    stamps = [value.strip() for value in values(accounts, "last_modified_at")]
    assert "" in stamps and "sometime" in stamps
    ids = Counter(value.strip().upper() for value in values(accounts, "account_id"))
    assert max(ids.values()) > 1


def test_duplicates_within_and_across_drops(demo: dict) -> None:
    for pattern, column in (("ops_intake_log*.csv", "event_id"),
                            ("billing_invoice_lines*.csv", "invoice_line_id")):  # fmt: skip
        files: dict[str, list[str]] = {}
        within = False
        for path in sorted(demo["raw"].glob(pattern)):
            ids = [value.strip().upper() for value in values(read_rows(path), column)]
            within = within or len(ids) != len(set(ids))
            for record_id in set(ids):
                files.setdefault(record_id, []).append(path.name)
        assert within, pattern
        assert any(len(names) > 1 for names in files.values()), pattern


def test_products_names_and_customers_in_every_spelling(demo: dict) -> None:
    raw = demo["raw"]
    events = family_rows(raw, "ops_intake_log*.csv")
    lines = family_rows(raw, "billing_invoice_lines*.csv")
    products = {value.strip() for value in values(events, "product")}
    assert {"TELE", "Telehealth Suite"} & products
    assert any(value.lower() == "telehealth suite" and value != "Telehealth Suite"
               for value in products)  # fmt: skip
    assert products & {"Telehealth Pro", "TELE-2", ""}
    assert {"LEGACY-PLAN", "TELE2"} & {value.strip() for value in values(lines, "product_code")}
    names = {value.strip() for value in values(events, "customer_name")}
    names |= {value.strip() for value in values(lines, "billed_customer_name")}
    accounts = read_rows(raw / "crm_accounts.csv")
    account_names = {value.strip() for value in values(accounts, "account_name")}
    for special in ("Clínica São José", 'O\'Brien "OB" Care, LLC', '=HYPERLINK("x")',
                    "@Risk Medical", "+Plus Clinic", "-Dash Health"):  # fmt: skip
        assert special.lower() in {name.lower() for name in account_names}
    assert any(name.startswith("=") for name in names)
    legacy = {row["legacy_name"] for row in read_rows(demo["seeds"] / "legacy_customer_names.csv")}
    assert legacy & names
    assert any("&" in name for name in names) and any(" and " in name.lower() for name in names)
    assert any("  " in name for name in names)
    assert any(name.endswith((", Inc.", " LLC", " CORP")) for name in names)
    assert 'O\'Brien "OB" Care' in names  # a legal suffix dropped


# ------------------------------------------------------------------ findings
def test_every_finding_type_new_and_recurring(demo: dict) -> None:
    counts = read_rows(demo["key"] / "provider_counts_monthly.csv")
    match_rate = sum(row["is_match"] == "true" for row in counts) / len(counts)
    assert 0.70 <= match_rate <= 0.85
    findings = read_rows(demo["key"] / "billing_discrepancies.csv")
    assert {row["discrepancy_type"] for row in findings} == ACCOUNT_TYPES
    later = [row for row in findings if row["billing_month"] != "2026-05-01"]
    assert any(row["is_new"] == "true" for row in later)
    assert any(row["is_new"] == "false" for row in later)
    for row in findings:
        assert (row["is_new"] == "true") == (row["first_seen_month"] == row["billing_month"])
    provider_findings = read_rows(demo["key"] / "provider_discrepancies.csv")
    assert {row["discrepancy_type"] for row in provider_findings} == PROVIDER_TYPES
    issues = {row["issue"] for row in read_rows(demo["key"] / "data_quality_issues.csv")}
    assert issues == {
        "UNPARSEABLE_DATE", "UNPARSEABLE_NUMBER", "INVALID_NPI", "UNKNOWN_PRODUCT",
        "UNKNOWN_STATUS", "UNMATCHED_CUSTOMER", "AMBIGUOUS_CUSTOMER", "DUPLICATE_RECORD",
    }  # fmt: skip


def test_injected_scenarios_land_where_meant(demo: dict) -> None:
    world = world_of()
    role = {customer.role: customer for customer in world.customers}
    findings = {
        (row["billing_month"][:7], row["customer_key"], row["discrepancy_type"]): row
        for row in read_rows(demo["key"] / "billing_discrepancies.csv")
    }
    months = demo["summary"]["months"]
    middle = months[len(months) // 2]

    def months_with(customer_key: str, finding: str) -> list[str]:
        return [month for month in months if (month, customer_key, finding) in findings]

    assert months_with(role["churned"].account_id, "ACCOUNT_NOT_ACTIVE_IN_CRM") == months
    assert months_with(role["go_live_missing"].account_id, "GO_LIVE_MISMATCH") == months
    assert months_with(role["go_live_unparseable"].account_id, "GO_LIVE_MISMATCH") == months
    assert months_with(role["go_live_after_month_end"].account_id, "GO_LIVE_MISMATCH") == months[:3]
    prospect = months_with(role["prospect_goes_live"].account_id, "ACCOUNT_NOT_ACTIVE_IN_CRM")
    assert prospect == months[3:]
    assert (
        findings[(middle, role["prospect_goes_live"].account_id, "ACCOUNT_NOT_ACTIVE_IN_CRM")][
            "is_new"
        ]
        == "true"
    )
    still_billed = role["terminated_still_billed"].account_id
    assert findings[(middle, still_billed, "OVERBILLED")]["is_new"] == "true"
    assert findings[(months[4], still_billed, "OVERBILLED")]["is_new"] == "false"
    unbilled = role["product_unbilled"].account_id
    assert months_with(unbilled, "UNBILLED_USAGE")[-3:] == months[3:]
    assert (middle, role["new_provider_unbilled"].account_id, "UNDERBILLED") in findings
    assert months_with(role["billed_non_billable"].account_id, "OVERBILLED") == months
    for unknown in ("unknown_legacy_not_in_crm", "unknown_disputed_legacy", "unknown_billing_only"):
        key = "UNMATCHED:" + reference.normalise_customer_name(role[unknown].name)
        assert months_with(key, "MISSING_FROM_CRM") == months, unknown
    ambiguous = "UNMATCHED:" + reference.normalise_customer_name(
        role["ambiguous_unsettled_primary"].name
    )
    assert months_with(ambiguous, "MISSING_FROM_CRM") == months


def test_injected_provider_scenarios(demo: dict) -> None:
    world = world_of()
    providers = {p.role: p for customer in world.customers for p in customer.providers}
    found = Counter(
        (row["npi"], row["discrepancy_type"])
        for row in read_rows(demo["key"] / "provider_discrepancies.csv")
    )
    months = len(demo["summary"]["months"])
    for role_name, finding in [
        ("missing_from_crm", "PROVIDER_MISSING_FROM_CRM"),
        ("invalid_npi_in_crm", "PROVIDER_MISSING_FROM_CRM"),
        ("inactive_in_crm", "PROVIDER_INACTIVE_IN_CRM"),
        ("never_live", "PROVIDER_NOT_LIVE"),
        ("invalid_department", "PROVIDER_NOT_LIVE"),
        ("name_mismatch_smith", "PROVIDER_NAME_MISMATCH"),
        ("name_mismatch", "PROVIDER_NAME_MISMATCH"),
    ]:
        assert found[(providers[role_name].npi, finding)] == months, role_name
    for role_name in ("name_equivalent_smith", "two_crm_records", "later_unusable"):
        npi_findings = {kind for (npi, kind) in found if npi == providers[role_name].npi}
        assert not npi_findings, role_name
    stale = providers["terminated_crm_stale"].npi
    assert 0 < found[(stale, "PROVIDER_NOT_LIVE")] < months


def test_the_generators_model_agrees_with_the_reference(demo: dict) -> None:
    """Billable providers as the generator meant them equal the answer key's, except where
    a scenario sends events elsewhere (an ambiguous name, a customer the CRM lacks)."""
    world = world_of()
    calendar = world.calendar
    model = LineWriter(calendar, Spelling(random.Random(0)))
    counts = {
        (row["billing_month"][:7], row["customer_key"], row["product_code"]): int(
            row["billable_providers"]
        )
        for row in read_rows(demo["key"] / "provider_counts_monthly.csv")
    }
    for customer in world.customers:
        if customer.role in ("ambiguous_unsettled_primary", "unknown_billing_only"):
            continue
        key = customer.account_id or "UNMATCHED:" + reference.normalise_customer_name(customer.name)
        for product in customer.products:
            for month in range(len(calendar)):
                expected = model.billable(customer, product, month)
                actual = counts.get((calendar.months[month], key, product), 0)
                assert actual == expected, (customer.role, key, product, month)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_small_runs_cover_every_finding_type(tmp_path: Path, seed: int) -> None:
    summary = generate_into(tmp_path, accounts=40, months=3, seed=seed)
    assert summary["events"] > 1_000
    findings = read_rows(tmp_path / "key" / "billing_discrepancies.csv")
    assert {row["discrepancy_type"] for row in findings} == ACCOUNT_TYPES
    provider_findings = read_rows(tmp_path / "key" / "provider_discrepancies.csv")
    assert {row["discrepancy_type"] for row in provider_findings} == PROVIDER_TYPES
