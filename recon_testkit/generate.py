"""Messy demo data for the reconciliation: raw files, seeds and the answer key.

The generator keeps a small model of the world (customers, providers, what each provider
does month by month, what Finance meant to bill) and writes it out the way the source
systems would: monthly drops, re-exports, typos, odd date spellings, broken values. It
then hands the files to `recon_testkit.reference`, which applies the contract's rules to what
was written and produces the answer key: nothing in the answer key comes from the model.

Scenarios (each given to one customer or provider, `CUSTOMER_ROLES`, `PROVIDER_ROLES`;
"the middle month" is month `months // 2`):

- customers: churned / inactive / prospect (goes live in the middle month) CRM status;
  CRM go-live in the middle month (mismatch before), missing, unparseable; unknown
  status; two pairs of CRM accounts sharing a name, one settled by a legacy row; two
  accounts sharing a billing_account_id; a customer known by its legacy name; a provider
  terminated in the middle month and still billed for two months; a new provider billed
  a month late; a product no longer billed from the middle month; credit lines in the
  next drop (a full and a partial correction); two prices on one product; a billed
  non-billable product; junk invoice lines; duplicate CRM rows (older, same time, empty
  and unparseable last_modified_at).
- customers the CRM lacks: in ops and billing; under a legacy name whose account is not
  in the CRM; under a legacy name that maps to two accounts; in billing only.
- providers: missing from the CRM; inactive in the CRM; never live; "Jon Smyth" in ops
  for CRM "John Smith" and "John Smith" for "Smith, John A." (not a mismatch); an invalid
  NPI in the CRM; two CRM records; an unknown CRM status; a department that is not
  billable; a live event whose go-live is next month; go-live empty or unparseable;
  unusable events after the last live one; paused a month; terminated but still active
  in the CRM; terminated on the 1st and exported in the previous drop.
- everywhere, at random: noise in spaces and letter case, every date and timestamp
  spelling, NPIs with spaces and dashes, re-exported and duplicated rows (some with
  conflicting content that loses), mid-history go-lives and terminations, billing
  mistakes on about one in six product-months.

Events are written month by month as they are generated (a month is never held in
memory), so `accounts=20000, months=24` (about ten million events) runs in minutes.
Everything comes from `random.Random(seed)`: the same arguments give the same bytes.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TextIO

from recon_testkit import reference

VERSION = "2"  # 2: entitlement findings; invoices and action of account findings
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# =========================================================================== vocabularies
@dataclass(frozen=True, slots=True)
class ProductSpec:
    code: str
    name: str
    is_billable: bool
    list_price: Decimal


PRODUCTS = (
    ProductSpec("TELE", "Telehealth Suite", True, Decimal("120.00")),
    ProductSpec("SCHED", "Smart Scheduling", True, Decimal("85.50")),
    ProductSpec("RCM", "Revenue Cycle", True, Decimal("210.00")),
    ProductSpec("ANLYT", "Analytics Add-on", True, Decimal("45.25")),
    ProductSpec("SBX", "Training Sandbox", False, Decimal("15.00")),
)
BILLABLE_CODES = tuple(product.code for product in PRODUCTS if product.is_billable)
NON_BILLABLE_CODE = "SBX"
LIST_PRICES = {product.code: product.list_price for product in PRODUCTS}
PRODUCT_NAMES = {product.code: product.name for product in PRODUCTS}

VALID_DEPARTMENTS = (
    "Cardiology",
    "Dermatology",
    "Family Medicine",
    "Internal Medicine",
    "Pediatrics",
    "Radiology",
    "Orthopedics",
    "Oncology",
    "Neurology",
    "Psychiatry",
    "Urgent Care",
    "Obstetrics",
)
INVALID_DEPARTMENTS = ("Research", "Billing Office", "Administration")
LOCATIONS = (
    "Springfield",
    "Riverton",
    "Portland, OR",
    "Salem",
    "Fairview",
    "Georgetown",
    "Madison, WI",
    "Ashland",
    "Clinton",
    "Greenville",
    "São Paulo Annex",
    "Bristol",
)

PLACES = (
    "Riverside", "Lakeside", "Hillcrest", "Maple", "Cedar", "Oakwood", "Summit", "Valley",
    "Harbor", "Northgate", "Southpoint", "Westbrook", "Eastfield", "Pinecrest", "Brookside",
    "Fairview", "Greenfield", "Highland", "Meadowbrook", "Silver Creek", "Stonebridge",
    "Willow", "Bayview", "Crestview", "Sunnyvale", "Clearwater", "Redwood", "Ashford",
    "Kingsley", "Lincoln", "Juniper", "Magnolia", "Prairie", "Canyon", "Evergreen", "Aspen",
    "Granite", "Coral", "Hudson", "Sierra",
)  # fmt: skip
SPECIALTIES = (
    "Family", "Pediatric", "Cardiology", "Orthopedic", "Women's", "Heart & Vascular", "Eye",
    "Skin", "Spine", "Kidney", "Cancer", "Sleep", "Allergy and Asthma", "Digestive",
    "Behavioral", "Community", "Senior", "Sports", "Internal Medicine", "Urgent",
)  # fmt: skip
KINDS = (
    "Clinic", "Medical Group", "Health Partners", "Associates", "Care Center", "Physicians",
    "Health", "Medical Center", "Specialists", "Practice",
)  # fmt: skip
QUALIFIERS = ("", " - North", " - South", " - East", " - West", " Central", " Downtown")
LEGAL_SUFFIXES = (", LLC", " Inc.", ", Inc", " PC", " Ltd")
LEGACY_WORDS = ("Old", "Former", "Historic", "Original", "First")
SPECIAL_NAMES = (
    "Clínica São José",
    'O\'Brien "OB" Care, LLC',
    '=HYPERLINK("x")',
    "@Risk Medical",
    "+Plus Clinic",
    "-Dash Health",
    "Hope & Healing Family Care",
    "Mother and Child Clinic",
)
UNKNOWN_CUSTOMER_NAMES = (
    "Sunrise Pediatrics",
    "Harbor View Clinic",
    "Tidewater Wellness",
    "Pioneer Valley Doctors",
)

FIRST_NAMES = (
    "John", "Maria", "Ahmed", "Wei", "Olivia", "James", "Sofia", "Liam", "Emma", "Noah",
    "Ava", "Lucas", "Mia", "Ethan", "Chloé", "José", "Zoë", "Renée", "Søren", "Ana",
    "Priya", "Kenji", "Fatima", "Omar", "Grace", "Henry", "Isabel", "Jack", "Leah", "Mateo",
    "Nora", "Oscar", "Paula", "Ruth", "Samuel", "Tara", "Victor", "Yara", "Hannah", "Ivan",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Nguyen", "Patel", "Johnson", "Müller", "Núñez", "O'Connor",
    "Jones-Smith", "Kim", "Brown", "Silva", "Rossi", "Cohen", "Okafor", "Larsen", "Dubois",
    "Tanaka", "Walker", "Hughes", "Martins", "Fischer", "Moreau", "Costa", "Ibrahim",
    "Novak", "Schmidt", "Andersen", "Reyes", "Baker", "Turner", "Perez", "Murphy", "Chen",
    "Khan", "Santos", "Weber", "Lopez", "Hill", "Ward",
)  # fmt: skip
CREDENTIALS = ("MD", "DO", "NP", "PA-C", "RN", "APRN", "DDS", "PhD")
NAME_TYPOS = {"John": "Jon", "Smith": "Smyth", "Maria": "Mariah", "Garcia": "Garsia"}

UNPARSEABLE_DATES = ("2026-02-30", "13/45/2026", "sometime", "31-Foo-2026")
UNPARSEABLE_TIMESTAMPS = (*UNPARSEABLE_DATES, "2026-06-05T25:10:00", "2026-06-05 10:61", "")
UNKNOWN_EVENT_STATUSES = ("on hold", "", "ACTIVE")
UNKNOWN_EVENT_PRODUCTS = ("Telehealth Pro", "TELE-2", "")
UNKNOWN_LINE_PRODUCTS = ("LEGACY-PLAN", "TELE2")
JUNK_QUANTITIES = ("3.5", "three", "1,000", "")
OFFSETS = ("Z", "+02:00", "-05:00", "+05:30")

NOT_IN_CRM_ACCOUNT_ID = "ACC-RETIRED-01"
DISPUTED_LEGACY_NAME = "Meridian Health Network"


# =========================================================================== calendar
@dataclass(frozen=True, slots=True)
class Calendar:
    """The generated months, first to last, with their first and last days."""

    months: tuple[str, ...]
    firsts: tuple[date, ...]
    lasts: tuple[date, ...]

    @classmethod
    def ending(cls, end_month: str, count: int) -> Calendar:
        if count < 1:
            raise ValueError("months must be at least 1")
        year, month = (int(part) for part in end_month.split("-"))
        firsts = []
        for _ in range(count):
            firsts.append(date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        firsts.reverse()
        lasts = [reference.month_end(f"{first:%Y-%m}") for first in firsts]
        return cls(tuple(f"{first:%Y-%m}" for first in firsts), tuple(firsts), tuple(lasts))

    def __len__(self) -> int:
        return len(self.months)

    @property
    def middle(self) -> int:
        """The month where mid-history scenarios happen (the second half starts)."""
        return len(self) // 2

    def at(self, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
        first = self.firsts[month]
        return datetime(
            first.year, first.month, min(day, self.lasts[month].day), hour, minute, second
        )

    def start(self, month: int) -> datetime:
        return self.at(month, 1)

    def end(self, month: int) -> datetime:
        """The last instant of the month (23:59:59)."""
        last = self.lasts[month]
        return datetime(last.year, last.month, last.day, 23, 59, 59)

    def file_suffix(self, month: int) -> str:
        return self.months[month].replace("-", "_")


# =========================================================================== spelling
class Spelling:
    """How values are written: the contract's spellings and the noise around them."""

    def __init__(self, rng: random.Random, noise_rate: float = 0.12) -> None:
        self.rng = rng
        self._random = rng.random
        self._noise_rate = noise_rate

    # ------------------------------------------------------------ noise
    def text(self, value: str) -> str:
        """Most values as they are; some with stray spaces or another letter case."""
        draw = self._random()
        if draw >= self._noise_rate:
            return value
        draw /= self._noise_rate
        if draw < 0.25:
            return value.upper()
        if draw < 0.50:
            return value.lower()
        if draw < 0.58:
            return " " + value
        if draw < 0.66:
            return value + "  "
        if draw < 0.75:
            return "  " + value + " "
        if draw < 0.90:
            return value.title()
        return self.mixed_case(value)

    def mixed_case(self, value: str) -> str:
        return "".join(char.upper() if self._random() < 0.5 else char.lower() for char in value)

    # ------------------------------------------------------------ dates
    def date(self, day: date) -> str:
        """Any accepted date spelling (now and then a timestamp spelling: its date)."""
        draw = self._random()
        if draw < 0.45:
            return day.isoformat()
        if draw < 0.55:
            return f"{day.year}/{day.month:02d}/{day.day:02d}"
        if draw < 0.63:
            return f"{day.month}/{day.day}/{day.year}"
        if draw < 0.71:
            return f"{day.month:02d}/{day.day:02d}/{day.year}"
        if draw < 0.80:
            return f"{day.day:02d}-{self._month_name(day.month)}-{day.year}"
        if draw < 0.86:
            return f"{day.day}-{self._month_name(day.month)}-{day.year}"
        if draw < 0.91:
            return f"{day.year}-{day.month}-{day.day}"
        if draw < 0.95:
            return f"{day.year}/{day.month}/{day.day}"
        return f"{day.isoformat()}T00:00:00Z"

    def _month_name(self, month: int) -> str:
        name = MONTH_NAMES[month - 1]
        draw = self._random()
        return name if draw < 0.6 else name.upper() if draw < 0.8 else name.lower()

    def timestamp(self, at: datetime) -> str:
        """Any accepted timestamp spelling, or now and then a bare date (midnight)."""
        draw = self._random()
        day = f"{at.year:04d}-{at.month:02d}-{at.day:02d}"
        clock = f"{at.hour:02d}:{at.minute:02d}"
        seconds = f"{clock}:{at.second:02d}"
        if draw < 0.40:
            return f"{day}T{seconds}"
        if draw < 0.58:
            return f"{day} {seconds}"
        if draw < 0.68:
            return f"{day}T{seconds}Z"
        if draw < 0.74:
            return f"{day} {clock}"
        if draw < 0.79:
            return f"{day}T{clock}"
        if draw < 0.84:
            return f"{day}T{seconds}.{at.microsecond // 1000:03d}Z"
        if draw < 0.88:
            return f"{day} {seconds}.{at.microsecond:06d}"
        if draw < 0.94:
            return f"{day}T{seconds}{self.rng.choice(OFFSETS[1:])}"
        return self.date(at.date())

    def billing_period(self, first: date) -> str:
        """YYYY-MM (one- or two-digit month) or any date of the month."""
        draw = self._random()
        if draw < 0.55:
            return f"{first.year}-{first.month:02d}"
        if draw < 0.62:
            return f"{first.year}-{first.month}"
        if draw < 0.80:
            return self.date(first)
        last = reference.month_end(f"{first:%Y-%m}")
        return (
            self.date(last) if draw < 0.92 else self.timestamp(datetime(last.year, last.month, 9))
        )

    # ------------------------------------------------------------ numbers and NPIs
    def quantity(self, quantity: int) -> str:
        draw = self._random()
        if draw < 0.88:
            return str(quantity)
        if draw < 0.95:
            return f"{quantity}.0"
        if draw < 0.98:
            return f"{quantity}.00"
        return f"+{quantity}" if quantity >= 0 else str(quantity)

    def price(self, price: Decimal) -> str:
        draw = self._random()
        if draw < 0.85 or price != price.to_integral_value():
            return f"{price:.2f}"
        return f"{price:.0f}" if draw < 0.93 else f"{price:.1f}"

    def npi(self, npi: str) -> str:
        """A valid NPI, sometimes with spaces or dashes."""
        draw = self._random()
        if draw < 0.84:
            return npi
        if draw < 0.90:
            return f"{npi[:3]} {npi[3:6]} {npi[6:]}"
        if draw < 0.96:
            return f"{npi[:3]}-{npi[3:6]}-{npi[6:]}"
        return f"{npi[:4]}-{npi[4:]}"

    def invalid_npi(self, npi: str, kind: int | None = None) -> str:
        """A wrong check digit, an empty NPI, dots, or too few digits (`kind` 0 to 3)."""
        if kind is None:
            kind = self.rng.choice((0, 0, 0, 1, 1, 2, 3))
        if kind == 0:
            return wrong_check_digit(npi)
        if kind == 1:
            return ""
        if kind == 2:
            return f"{npi[:3]}.{npi[3:6]}.{npi[6:]}"
        return npi[:9]


# =========================================================================== NPIs and names
def npi_from_number(number: int) -> str:
    """A valid NPI whose first nine digits are `number` (100000000..999999999)."""
    first_nine = str(number)
    return first_nine + str(reference.npi_check_digit(first_nine))


def wrong_check_digit(npi: str) -> str:
    return npi[:9] + str((int(npi[9]) + 1) % 10)


def customer_name_variants(name: str) -> list[str]:
    """Spellings of a customer name that normalise to the same name (contract 2)."""
    target = reference.normalise_customer_name(name)
    suffix_free = name
    for suffix in LEGAL_SUFFIXES:
        if name.endswith(suffix):
            suffix_free = name[: -len(suffix)]
    candidates = [
        name.upper(),
        name.lower(),
        name.replace(" ", "  "),
        name.replace(" ", ", ", 1) + ".",
        name.replace(" and ", " & "),
        name.replace(" & ", " and "),
        name.replace(" & ", "&"),
        suffix_free,
        suffix_free + ", Inc.",
        suffix_free + " LLC",
        suffix_free.upper() + " CORP",
    ]
    variants = []
    for candidate in candidates:
        is_new = candidate != name and candidate not in variants
        if is_new and reference.normalise_customer_name(candidate) == target:
            variants.append(candidate)
    return variants


@dataclass(frozen=True, slots=True)
class PersonName:
    first: str
    last: str
    initial: str
    credential: str

    def spelled(self, style: int) -> str:
        """One of several spellings that all normalise to the same provider name."""
        if style == 0:
            return f"{self.first} {self.last}"
        if style == 1:
            return f"{self.last}, {self.first}"
        if style == 2:
            return f"{self.last}, {self.first} {self.initial}."
        if style == 3:
            return f"{self.first} {self.initial}. {self.last}, {self.credential}"
        return f"{self.first} {self.last} {self.credential}"

    def typo(self) -> str:
        """A name that does not normalise like this one (Jon Smyth for John Smith)."""
        first = NAME_TYPOS.get(self.first, self.first[:-1] + "y")
        last = NAME_TYPOS.get(self.last, self.last + "e")
        return f"{first} {last}"


# =========================================================================== the world
@dataclass(slots=True)
class CrmProviderRecord:
    provider_id: str
    npi_text: str
    name: str
    status: str


@dataclass(slots=True)
class Provider:
    """A provider at one customer, and what they do over the generated months."""

    npi: str
    person: PersonName
    crm_style: int
    ops_name: str
    department: str
    location: str
    products: tuple[str, ...]
    changes: list[tuple[datetime, str]]  # (instant, status) in time order
    go_live: date
    go_live_spelling: str = "date"  # date | empty | unparseable
    identity: str = "either"  # how its events name the customer: account_id | name | either
    crm_records: list[CrmProviderRecord] = field(default_factory=list)
    later_unusable: bool = False
    role: str = ""

    @property
    def department_is_valid(self) -> bool:
        return self.department in VALID_DEPARTMENTS

    def status_at(self, instant: datetime) -> str | None:
        status = None
        for at, change in self.changes:
            if at > instant:
                break
            status = change
        return status


@dataclass(slots=True)
class Customer:
    """A CRM account, or a customer that the CRM does not know."""

    index: int
    account_id: str  # "" when not in the CRM
    name: str
    names: list[str]  # spellings that resolve to this customer, CRM name first
    status: str = "active"
    go_live_text: str = ""
    billing_account_id: str = ""
    legacy_name: str = ""
    products: tuple[str, ...] = ()
    prices: dict[str, Decimal] = field(default_factory=dict)
    providers: list[Provider] = field(default_factory=list)
    role: str = "normal"
    in_ops: bool = True
    in_billing: bool = True

    @property
    def in_crm(self) -> bool:
        return bool(self.account_id)


@dataclass(slots=True)
class World:
    calendar: Calendar
    customers: list[Customer]
    legacy_rows: list[tuple[str, str]]


# Scenario roles of customers, one customer each, in this order (the rest are "normal").
CUSTOMER_ROLES = (
    "ambiguous_settled_primary",
    "ambiguous_settled_other",
    "ambiguous_unsettled_primary",
    "ambiguous_unsettled_other",
    "shared_billing_first",
    "shared_billing_second",
    "churned",
    "inactive",
    "prospect_goes_live",
    "go_live_after_month_end",
    "go_live_missing",
    "go_live_unparseable",
    "unknown_status",
    "legacy_named",
    "terminated_still_billed",
    "new_provider_unbilled",
    "product_unbilled",
    "late_credit",
    "weighted_price",
    "billed_non_billable",
    "billing_junk",
    "crm_duplicates",
)
# Scenario roles of providers, given to providers of normal customers, in this order.
PROVIDER_ROLES = (
    "missing_from_crm",
    "inactive_in_crm",
    "never_live",
    "name_mismatch_smith",
    "name_equivalent_smith",
    "invalid_npi_in_crm",
    "two_crm_records",
    "unknown_crm_status",
    "invalid_department",
    "go_live_announced_early",
    "go_live_empty",
    "go_live_unparseable",
    "later_unusable",
    "paused",
    "terminated_crm_stale",
    "terminated_next_month_early",
    "missing_from_crm",
    "inactive_in_crm",
    "never_live",
    "name_mismatch",
    "later_unusable",
)


class WorldBuilder:
    """Builds customers, providers and their histories from one random generator."""

    def __init__(self, rng: random.Random, calendar: Calendar, accounts: int) -> None:
        self.rng = rng
        self.calendar = calendar
        self.accounts = accounts
        self._npi_offset = rng.randrange(900_000_000)
        self._npi_count = 0
        self._provider_records = 0
        self._used_names: set[str] = set()

    # ------------------------------------------------------------ customers
    def build(self) -> World:
        customers = [self._crm_customer(index) for index in range(self.accounts)]
        customers += [
            self._unknown_customer(self.accounts + offset, name)
            for offset, name in enumerate(self._unknown_names())
        ]
        roles = self._assign_roles(customers[: self.accounts])
        legacy_rows = self._apply_customer_roles(roles, customers)
        for customer in customers:
            customer.providers = [self._provider(customer) for _ in range(self.rng.randint(3, 11))]
        self._apply_customer_provider_roles(customers)
        self._assign_provider_roles(customers)
        for customer in customers:
            for provider in customer.providers:
                self._set_crm_records(customer, provider)
        return World(self.calendar, customers, legacy_rows)

    def _unique_name(self, name: str) -> bool:
        key = reference.normalise_customer_name(name)
        if key in self._used_names:
            return False
        self._used_names.add(key)
        return True

    def _unique(self, make_name: Callable[[], str]) -> str:
        """A name no other customer or legacy name normalises to (numbered when the
        word lists run out, as they do for tens of thousands of accounts)."""
        for attempt in range(10_000):
            name = make_name()
            if attempt >= 20:
                name += f" {self.rng.randint(2, 9999)}"
            if self._unique_name(name):
                return name
        raise RuntimeError("no unique customer name left")  # pragma: no cover

    def _generated_name(self) -> str:
        def make() -> str:
            name = (
                f"{self.rng.choice(PLACES)} {self.rng.choice(SPECIALTIES)} "
                f"{self.rng.choice(KINDS)}{self.rng.choice(QUALIFIERS)}"
            )
            return name + self.rng.choice(LEGAL_SUFFIXES) if self.rng.random() < 0.15 else name

        return self._unique(make)

    def _legacy_name(self) -> str:
        def make() -> str:
            words = (
                self.rng.choice(LEGACY_WORDS),
                self.rng.choice(PLACES),
                self.rng.choice(SPECIALTIES),
                self.rng.choice(KINDS),
            )
            return " ".join(words)

        return self._unique(make)

    def _crm_customer(self, index: int) -> Customer:
        if index < len(SPECIAL_NAMES) and self._unique_name(SPECIAL_NAMES[index]):
            name = SPECIAL_NAMES[index]
        else:
            name = self._generated_name()
        customer = Customer(
            index=index,
            account_id=f"ACC-{index + 1:05d}",
            name=name,
            names=[name, *customer_name_variants(name)],
            go_live_text=self._spelled_go_live(self._date_before_history()),
            billing_account_id=f"BA-{70000 + index * 7:06d}",
            products=self._products(),
        )
        if self.rng.random() < 0.15:
            customer.legacy_name = self._legacy_name()
            customer.names += [customer.legacy_name, *customer_name_variants(customer.legacy_name)]
        customer.prices = self._prices(customer.products)
        return customer

    def _unknown_names(self) -> list[str]:
        names = [name for name in UNKNOWN_CUSTOMER_NAMES if self._unique_name(name)]
        return names + [self._generated_name() for _ in range(self.accounts // 200)]

    def _unknown_customer(self, index: int, name: str) -> Customer:
        customer = Customer(
            index=index,
            account_id="",
            name=name,
            names=[name, *customer_name_variants(name)],
            billing_account_id=f"BA-U{index:05d}",
            products=self._products(),
            role="unknown",
        )
        customer.prices = self._prices(customer.products)
        return customer

    def _products(self) -> tuple[str, ...]:
        count = self.rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
        products = sorted(self.rng.sample(BILLABLE_CODES, count))
        if self.rng.random() < 0.25:
            products.append(NON_BILLABLE_CODE)
        return tuple(products)

    def _prices(self, products: Sequence[str]) -> dict[str, Decimal]:
        prices = {}
        for code in products:
            price = LIST_PRICES[code]
            if self.rng.random() < 0.3:
                discount = Decimal(self.rng.choice(("0.85", "0.90", "0.95")))
                price = (price * discount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            prices[code] = price
        return prices

    def _date_before_history(self) -> date:
        return self.calendar.firsts[0] - timedelta(days=self.rng.randint(20, 700))

    def _spelled_go_live(self, day: date) -> str:
        return Spelling(self.rng, 0.0).date(day)

    # ------------------------------------------------------------ customer roles
    def _assign_roles(self, crm_customers: list[Customer]) -> dict[str, Customer]:
        """Scenario roles to distinct CRM customers, the special names left normal."""
        candidates = crm_customers[len(SPECIAL_NAMES) :] + crm_customers[: len(SPECIAL_NAMES)]
        order = candidates[: len(CUSTOMER_ROLES)]
        self.rng.shuffle(order)
        roles = {}
        for role, customer in zip(CUSTOMER_ROLES, order, strict=False):
            customer.role = role
            roles[role] = customer
        return roles

    def _apply_customer_roles(
        self, roles: dict[str, Customer], customers: list[Customer]
    ) -> list[tuple[str, str]]:
        """CRM facts of the scenario customers; returns the legacy-name seed rows."""
        middle = self.calendar.middle
        legacy_rows = [
            (customer.legacy_name, customer.account_id)
            for customer in customers
            if customer.legacy_name
        ]
        for first, second, settled in (
            ("ambiguous_settled_primary", "ambiguous_settled_other", True),
            ("ambiguous_unsettled_primary", "ambiguous_unsettled_other", False),
        ):
            if first in roles and second in roles:
                shared = roles[first].name
                roles[second].name = shared
                roles[second].names = [shared]
                roles[first].names = [shared, *customer_name_variants(shared)]
                if settled:
                    legacy_rows.append((shared.upper(), roles[first].account_id))
        if "shared_billing_first" in roles and "shared_billing_second" in roles:
            roles["shared_billing_second"].billing_account_id = roles[
                "shared_billing_first"
            ].billing_account_id
        for role, status in (
            ("churned", "churned"),
            ("inactive", "inactive"),
            ("prospect_goes_live", "prospect"),
            ("unknown_status", "archived"),
        ):
            if role in roles:
                roles[role].status = status
        if "go_live_after_month_end" in roles:
            roles["go_live_after_month_end"].go_live_text = self._spelled_go_live(
                self.calendar.at(max(middle, 1) if len(self.calendar) > 1 else 0, 15).date()
            )
        if "go_live_missing" in roles:
            roles["go_live_missing"].go_live_text = ""
        if "go_live_unparseable" in roles:
            roles["go_live_unparseable"].go_live_text = "2026-02-30"
        if "legacy_named" in roles:
            customer = roles["legacy_named"]
            if not customer.legacy_name:
                customer.legacy_name = self._legacy_name()
                legacy_rows.append((customer.legacy_name, customer.account_id))
            customer.names = [customer.legacy_name, *customer_name_variants(customer.legacy_name)]
        if "billed_non_billable" in roles:
            customer = roles["billed_non_billable"]
            if NON_BILLABLE_CODE not in customer.products:
                customer.products = (*customer.products, NON_BILLABLE_CODE)
                customer.prices[NON_BILLABLE_CODE] = LIST_PRICES[NON_BILLABLE_CODE]
        return legacy_rows + self._unknown_customer_legacy_rows(customers)

    def _unknown_customer_legacy_rows(self, customers: list[Customer]) -> list[tuple[str, str]]:
        """A legacy row pointing to an account not in the CRM, and a disputed legacy name."""
        unknown = [customer for customer in customers if not customer.in_crm]
        rows = []
        if len(unknown) > 1:
            retired = unknown[1]
            retired.names = [retired.name, *customer_name_variants(retired.name)]
            rows.append((retired.name, NOT_IN_CRM_ACCOUNT_ID))
            retired.role = "unknown_legacy_not_in_crm"
        if len(unknown) > 2:
            disputed = unknown[2]
            disputed.name = DISPUTED_LEGACY_NAME
            disputed.names = [disputed.name, *customer_name_variants(disputed.name)]
            rows.append((disputed.name, customers[0].account_id))
            rows.append((disputed.name.lower(), customers[1].account_id))
            disputed.role = "unknown_disputed_legacy"
            disputed.in_billing = False
        if len(unknown) > 3:
            unknown[3].in_ops = False
            unknown[3].role = "unknown_billing_only"
        return rows

    # ------------------------------------------------------------ providers
    def _next_npi(self) -> str:
        self._npi_count += 1
        number = 100_000_000 + (self._npi_offset + self._npi_count * 7_368_787) % 900_000_000
        return npi_from_number(number)

    def _person(self) -> PersonName:
        return PersonName(
            first=self.rng.choice(FIRST_NAMES),
            last=self.rng.choice(LAST_NAMES),
            initial=self.rng.choice("ABCDEFGHJKLMNPRSTW"),
            credential=self.rng.choice(CREDENTIALS),
        )

    def _provider(self, customer: Customer) -> Provider:
        person = self._person()
        billable = [code for code in customer.products if code != NON_BILLABLE_CODE]
        products = [code for code in billable if self.rng.random() < 0.75] or [
            self.rng.choice(billable)
        ]
        if NON_BILLABLE_CODE in customer.products and self.rng.random() < 0.6:
            products.append(NON_BILLABLE_CODE)
        changes, go_live = self._history()
        return Provider(
            npi=self._next_npi(),
            person=person,
            crm_style=self.rng.randrange(5),
            ops_name=person.spelled(self.rng.randrange(5)),
            department=self.rng.choice(VALID_DEPARTMENTS),
            location=self.rng.choice(LOCATIONS),
            products=tuple(products),
            changes=changes,
            go_live=go_live,
            identity=self.rng.choice(("account_id", "account_id", "name", "either", "either")),
        )

    def _instant(self, month: int, first_day: int = 2, last_day: int = 28) -> datetime:
        return self.calendar.at(
            month,
            self.rng.randint(first_day, last_day),
            self.rng.randrange(7, 20),
            self.rng.randrange(60),
            self.rng.randrange(60),
        ) + timedelta(microseconds=self.rng.randrange(1_000_000))

    def _live_before_history(self) -> tuple[list[tuple[datetime, str]], date]:
        go_live = self._date_before_history()
        return [(datetime(go_live.year, go_live.month, go_live.day, 9), "live")], go_live

    def _joining(self, month: int) -> tuple[list[tuple[datetime, str]], date]:
        """Pending first (the month before, or early in the month), live in `month`."""
        pending = self._instant(month - 1) if month > 0 else self._instant(0, 2, 8)
        live = self._instant(month, 12 if month == 0 else 2, 26)
        return [(pending, "pending"), (live, "live")], live.date()

    def _history(self) -> tuple[list[tuple[datetime, str]], date]:
        """Most providers were live before the first month; some join, leave, pause."""
        months = len(self.calendar)
        draw = self.rng.random()
        if draw < 0.80 or months == 1:
            return self._live_before_history()
        if draw < 0.91:
            return self._joining(self.rng.randrange(months))
        changes, go_live = self._live_before_history()
        if draw < 0.95:
            return [*changes, (self._instant(self.rng.randrange(months)), "terminated")], go_live
        if draw < 0.98:
            paused = self.rng.randrange(months - 1)
            return [
                *changes,
                (self._instant(paused), "paused"),
                (self._instant(paused + 1), "live"),
            ], go_live
        return [(self._instant(self.rng.randrange(months)), "pending")], go_live

    # ------------------------------------------------------------ provider roles
    def _apply_customer_provider_roles(self, customers: list[Customer]) -> None:
        """Provider histories that the customer-level scenarios need."""
        middle = self.calendar.middle
        for customer in customers:
            first = customer.providers[0]
            if customer.products[0] not in first.products:
                first.products = (customer.products[0], *first.products)
            if customer.role == "prospect_goes_live":
                for provider in customer.providers:
                    provider.changes, provider.go_live = self._joining(middle)
                customer.go_live_text = self._spelled_go_live(
                    min(provider.go_live for provider in customer.providers)
                )
            elif customer.role == "terminated_still_billed":
                first.changes, first.go_live = self._live_before_history()
                first.changes.append((self._instant(middle), "terminated"))
            elif customer.role == "new_provider_unbilled":
                first.changes, first.go_live = self._joining(middle)
            elif customer.role == "ambiguous_unsettled_primary":
                for position, provider in enumerate(customer.providers):
                    provider.identity = "name" if position % 2 == 0 else "account_id"
                    provider.changes, provider.go_live = self._live_before_history()
            elif customer.role in ("ambiguous_settled_other", "ambiguous_unsettled_other"):
                for provider in customer.providers:
                    provider.identity = "account_id"
            elif not customer.in_crm or customer.role == "legacy_named":
                for provider in customer.providers:
                    provider.identity = "name"

    def _assign_provider_roles(self, customers: list[Customer]) -> None:
        normal = [
            provider
            for customer in customers
            if customer.role == "normal"
            for provider in customer.providers
        ]
        self.rng.shuffle(normal)
        for role, provider in zip(PROVIDER_ROLES, normal, strict=False):
            provider.role = role
            self._apply_provider_role(provider)

    def _apply_provider_role(self, provider: Provider) -> None:
        """A scenario provider is live from before the first month, unless its role
        says otherwise."""
        middle, months, role = self.calendar.middle, len(self.calendar), provider.role
        provider.changes, provider.go_live = self._live_before_history()
        if role in ("name_mismatch_smith", "name_equivalent_smith"):
            provider.person = PersonName("John", "Smith", "A", "MD")
            provider.crm_style = 2 if role == "name_equivalent_smith" else 0
            provider.ops_name = "Jon Smyth" if role == "name_mismatch_smith" else "John Smith"
        elif role == "name_mismatch":
            provider.ops_name = provider.person.typo()
        elif role == "invalid_department":
            provider.department = self.rng.choice(INVALID_DEPARTMENTS)
        elif role == "never_live":
            provider.changes = [(self._instant(0), "pending")]
        elif role == "go_live_announced_early":
            self._announce_go_live_early(provider)
        elif role in ("go_live_empty", "go_live_unparseable"):
            provider.go_live_spelling = role.removeprefix("go_live_")
        elif role == "later_unusable":
            provider.later_unusable = True
        elif role == "paused" and months > 1:
            paused = max(middle - 1, 0)
            provider.changes += [
                (self._instant(paused), "paused"),
                (self._instant(paused + 1), "live"),
            ]
        elif role == "terminated_crm_stale":
            provider.changes.append((self._instant(middle), "terminated"))
        elif role == "terminated_next_month_early" and months > 1:
            provider.changes.append((self.calendar.at(max(middle, 1), 1, 0, 30), "terminated"))

    def _announce_go_live_early(self, provider: Provider) -> None:
        """A live event late in one month whose go-live date is in the next month."""
        if len(self.calendar) == 1:
            provider.changes = [(self._instant(0, 2, 3), "live")]
            provider.go_live = self.calendar.lasts[0] + timedelta(days=3)
            return
        month = max(self.calendar.middle, 1)
        provider.changes = [(self._instant(month - 1, 20, 27), "live")]
        provider.go_live = self.calendar.at(month, self.rng.randint(2, 9)).date()

    # ------------------------------------------------------------ CRM provider records
    def _next_provider_id(self) -> str:
        self._provider_records += 1
        return f"PRV-{self._provider_records:06d}"

    def _set_crm_records(self, customer: Customer, provider: Provider) -> None:
        if not customer.in_crm or provider.role == "missing_from_crm":
            return
        final = provider.changes[-1][1] if provider.changes else None
        status = "inactive" if final == "terminated" else "active"
        if provider.role == "inactive_in_crm":
            status = "inactive"
        elif provider.role == "terminated_crm_stale":
            status = "active"
        elif provider.role == "unknown_crm_status":
            status = "on leave"
        npi_text = provider.npi
        if provider.role == "invalid_npi_in_crm":
            npi_text = wrong_check_digit(provider.npi)
        name = provider.person.spelled(provider.crm_style)
        if provider.role == "two_crm_records":
            old_name = provider.person.spelled((provider.crm_style + 1) % 5)
            provider.crm_records.append(
                CrmProviderRecord(self._next_provider_id(), npi_text, old_name, "inactive")
            )
        provider.crm_records.append(
            CrmProviderRecord(self._next_provider_id(), npi_text, name, status)
        )


# =========================================================================== CSV files
EVENT_HEADER = list(reference.EVENT_COLUMNS)
LINE_HEADER = list(reference.INVOICE_LINE_COLUMNS)


class CsvFile:
    """One output CSV (QUOTE_MINIMAL), counting its data rows."""

    def __init__(self, path: Path, header: Sequence[str], bom: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.rows = 0
        self._handle: TextIO = path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(header)

    def write(self, row: Sequence[str]) -> None:
        self._writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self._handle.close()


class Drop:
    """A monthly drop file: duplicates within the file, and rows carried to the next drop."""

    def __init__(
        self,
        file: CsvFile,
        spelling: Spelling,
        corrupt: Callable[[list[str]], list[str]],
        has_next: bool,
    ) -> None:
        self.file = file
        self.carried: list[list[str]] = []  # rows the next drop exports again
        self._has_next = has_next
        self._spelling = spelling
        self._random = spelling.rng.random
        self._corrupt = corrupt

    def write(self, row: list[str], can_carry: bool = True) -> None:
        """Writes the true row; sometimes a duplicate, a corrupted copy that loses, or a
        re-export in the next drop (identical, or correcting the copy written here)."""
        draw = self._random()
        if draw < 0.030 and can_carry and self._has_next:
            self.carried.append(row)
            self.file.write(self._corrupt(row) if draw < 0.012 else row)
            return
        if draw < 0.033:
            self.file.write(row)
        elif draw < 0.036:
            self.file.write(self._corrupt(row))
        self.file.write(row)


# =========================================================================== events
UNUSABLE_KINDS = ("unknown_product", "unknown_status", "unparseable_event_at", "invalid_npi")


class EventWriter:
    """Turns provider histories into intake events, month by month."""

    def __init__(self, calendar: Calendar, spelling: Spelling) -> None:
        self.calendar = calendar
        self.spelling = spelling
        self.rng = spelling.rng
        self._next_id = 0

    # ------------------------------------------------------------ one month
    def write_month(self, customers: list[Customer], month: int, drop: Drop) -> None:
        for customer in customers:
            if not customer.in_ops:
                continue
            for provider in customer.providers:
                for at, status in self._month_plan(provider, month):
                    self._write_events(drop, customer, provider, at, status, month)
                self._write_unusable(drop, customer, provider, month)
                if month + 1 < len(self.calendar):
                    for at, status in self._early_next_month(provider, month + 1):
                        self._write_events(drop, customer, provider, at, status, month + 1)

    def _month_plan(self, provider: Provider, month: int) -> list[tuple[datetime, str]]:
        """This month's events of a provider: its changes and re-confirmations, one a day.
        Changes on the 1st of a later month were exported early, in the previous drop."""
        start, end = self.calendar.start(month), self.calendar.end(month)
        changes = [
            (at, status)
            for at, status in provider.changes
            if start <= at <= end and (month == 0 or at.day != 1)
        ]
        busy_days = {at.day for at, _ in provider.changes if start <= at <= end}
        plan = list(changes)
        for day in self._reconfirmation_days(provider, month, busy_days):
            at = self.calendar.at(
                month,
                day,
                self.rng.randrange(6, 22),
                self.rng.randrange(60),
                self.rng.randrange(60),
            )
            status = provider.status_at(at)
            if status is not None:
                plan.append((at, status))
        plan.sort()
        return plan

    def _reconfirmation_days(self, provider: Provider, month: int, busy: set[int]) -> list[int]:
        status = provider.status_at(self.calendar.end(month))
        draw = self.rng.random()
        if status == "live":
            count = 1 if draw < 0.27 else 2 if draw < 0.75 else 3
        elif status in ("pending", "paused"):
            count = 1 if draw < 0.5 else 0
        else:
            count = 1 if draw < 0.05 and status is not None else 0
        if month == 0 and provider.status_at(self.calendar.start(0)) is not None:
            count = max(count, 1)  # the first drop states who was already live
        days = []
        last_day = self.calendar.lasts[month].day
        while len(days) < count:
            day = self.rng.randint(2, last_day)
            if day not in busy and day not in days:
                days.append(day)
        return days

    def _early_next_month(self, provider: Provider, month: int) -> list[tuple[datetime, str]]:
        """Events of the 1st of next month that this drop already exports."""
        start = self.calendar.start(month)
        changes = [(at, status) for at, status in provider.changes if at.date() == start.date()]
        if changes or self.rng.random() >= 0.01:
            return changes
        at = self.calendar.at(month, 1, self.rng.randrange(0, 6), self.rng.randrange(60))
        status = provider.status_at(at)
        return [] if status is None else [(at, status)]

    # ------------------------------------------------------------ rows
    def _write_events(
        self,
        drop: Drop,
        customer: Customer,
        provider: Provider,
        at: datetime,
        status: str,
        month: int,
    ) -> None:
        for product in provider.products:
            drop.write(self._event_row(customer, provider, product, at, status, month))

    def _event_id(self) -> str:
        self._next_id += 1
        return f"EV-{self._next_id:08d}"

    def _event_row(
        self,
        customer: Customer,
        provider: Provider,
        product: str,
        at: datetime,
        status: str,
        month: int,
    ) -> list[str]:
        text = self.spelling.text
        account_id, customer_name = self._customer_identity(customer, provider)
        return [
            text(self._event_id()),
            text(self.spelling.timestamp(at)),
            text(customer_name),
            text(account_id),
            text(self.spelling.npi(provider.npi)),
            text(provider.ops_name),
            text(provider.department),
            text(provider.location),
            text(self._product_text(product)),
            text(status),
            text(self._go_live_text(provider, status, month)),
        ]

    def _customer_identity(self, customer: Customer, provider: Provider) -> tuple[str, str]:
        """account_id and customer_name of an event; both resolve to the intended key."""
        names = customer.names
        name = names[0] if self.rng.random() < 0.6 else self.rng.choice(names)
        identity = provider.identity
        if identity == "either":
            identity = "account_id" if self.rng.random() < 0.5 else "name"
        if identity == "account_id" and customer.in_crm:
            return customer.account_id, name
        if not customer.in_crm and self.rng.random() < 0.1:
            return f"ACC-{99000 + customer.index % 1000:05d}X", name  # an id the CRM lacks
        return "", name

    def _product_text(self, product: str) -> str:
        return product if self.rng.random() < 0.6 else PRODUCT_NAMES[product]

    def _go_live_text(self, provider: Provider, status: str, month: int) -> str:
        """The go-live written on an event: the date, or empty or unparseable (falls back
        to the event date), never hiding a go-live after this month's end."""
        if provider.go_live > self.calendar.lasts[month]:
            return self.spelling.date(provider.go_live)
        if provider.go_live_spelling == "empty":
            return ""
        if provider.go_live_spelling == "unparseable":
            return self.rng.choice(UNPARSEABLE_DATES)
        draw = self.rng.random()
        if (status != "live" and draw < 0.5) or draw < 0.08:
            return ""
        if draw < 0.09:
            return self.rng.choice(UNPARSEABLE_DATES)
        return self.spelling.date(provider.go_live)

    def _write_unusable(
        self, drop: Drop, customer: Customer, provider: Provider, month: int
    ) -> None:
        """Unusable events after the provider's last one: they must hide nothing."""
        if provider.later_unusable:
            kinds: Sequence[str] = UNUSABLE_KINDS
        elif self.rng.random() < 0.02 and provider.changes[0][0] <= self.calendar.end(month):
            kinds = (self.rng.choice(UNUSABLE_KINDS),)
        else:
            return
        for position, kind in enumerate(kinds):
            at = self.calendar.at(month, self.calendar.lasts[month].day, 23, 10 + position)
            row = self._event_row(customer, provider, provider.products[0], at, "terminated", month)
            self._make_unusable(row, kind, provider, month + position)
            drop.write(row, can_carry=False)

    def _make_unusable(self, row: list[str], kind: str, provider: Provider, turn: int) -> None:
        if kind == "unknown_product":
            row[8] = self.spelling.text(UNKNOWN_EVENT_PRODUCTS[turn % len(UNKNOWN_EVENT_PRODUCTS)])
        elif kind == "unknown_status":
            row[9] = self.spelling.text(UNKNOWN_EVENT_STATUSES[turn % len(UNKNOWN_EVENT_STATUSES)])
        elif kind == "unparseable_event_at":
            row[1] = UNPARSEABLE_TIMESTAMPS[turn % len(UNPARSEABLE_TIMESTAMPS)]
        else:
            row[4] = self.spelling.invalid_npi(provider.npi, turn % 4)

    # ------------------------------------------------------------ losing copies
    def corrupt(self, row: list[str]) -> list[str]:
        """A copy of an event with different content (it loses to the true row)."""
        copy = list(row)
        draw = self.rng.random()
        if draw < 0.25:
            copy[9] = "on hold"
        elif draw < 0.45:
            copy[5] = copy[5] + "e"
        elif draw < 0.60:
            copy[7] = self.rng.choice(LOCATIONS)
        elif draw < 0.75:
            copy[9] = "terminated"
        elif draw < 0.85:
            copy[1] = self.rng.choice(UNPARSEABLE_TIMESTAMPS)
        else:
            copy[6] = self.rng.choice(INVALID_DEPARTMENTS)
        return copy


# =========================================================================== billing
@dataclass(slots=True)
class Line:
    """An invoice line before it is spelled out."""

    customer: Customer
    product: str
    quantity: int
    price: Decimal
    month: int
    status: str = ""
    quantity_text: str | None = None
    price_text: str | None = None
    amount_text: str | None = None
    period_text: str | None = None
    is_credit_note: bool = False  # a correction sent later, on a credit note of its own


class LineWriter:
    """What Finance bills each month: the billable providers, and the mistakes."""

    def __init__(self, calendar: Calendar, spelling: Spelling) -> None:
        self.calendar = calendar
        self.spelling = spelling
        self.rng = spelling.rng
        self._next_id = 0
        self.corrections: list[Line] = []  # credit lines of a month, sent in the next drop

    def write_month(self, customers: list[Customer], month: int, drop: Drop) -> None:
        lines = self.corrections
        self.corrections = []
        for customer in customers:
            if customer.in_billing:
                lines.extend(self._customer_lines(customer, month))
        if month == len(self.calendar) - 1:  # credits of the last month come with it
            lines.extend(self.corrections)
            self.corrections = []
        for line in lines:
            drop.write(self._line_row(line))

    def _invoice_id(self, line: Line) -> str:
        prefix = "CN" if line.is_credit_note else "INV"
        return f"{prefix}-{self.calendar.file_suffix(line.month)}-{line.customer.index:05d}"

    # ------------------------------------------------------------ quantities
    def billable(self, customer: Customer, product: str, month: int) -> int:
        """The providers Finance should bill: live, valid department, gone live by E."""
        if product == NON_BILLABLE_CODE:
            return 0
        end = self.calendar.end(month)
        return sum(
            1
            for provider in customer.providers
            if product in provider.products
            and provider.department_is_valid
            and provider.status_at(end) == "live"
            and provider.go_live <= end.date()
        )

    def _customer_lines(self, customer: Customer, month: int) -> list[Line]:
        lines: list[Line] = []
        for position, product in enumerate(customer.products):
            quantity = self._billed_quantity(customer, product, position, month)
            lines.extend(self._product_lines(customer, product, position, quantity, month))
        if customer.role == "billing_junk" and month == 0:
            lines.extend(self._junk_lines(customer, month, every_kind=True))
        elif self.rng.random() < 0.04:
            lines.extend(self._junk_lines(customer, month, every_kind=False))
        return lines

    def _billed_quantity(self, customer: Customer, product: str, position: int, month: int) -> int:
        """The quantity Finance means to bill, scenario mistakes included."""
        billable = self.billable(customer, product, month)
        middle, role = self.calendar.middle, customer.role
        if product == NON_BILLABLE_CODE:
            return (
                self._live_count(customer, product, month) if role == "billed_non_billable" else 0
            )
        if role == "terminated_still_billed" and middle <= month <= middle + 1 and position == 0:
            return billable + 1
        if role == "new_provider_unbilled" and month == middle and position == 0:
            return max(billable - 1, 0)
        if role == "product_unbilled" and month >= middle and position == 0:
            return 0
        if role == "weighted_price" and month == middle and position == 0:
            return billable + 1
        if role == "normal" and billable and self.rng.random() < 0.16:
            return max(billable + self.rng.choice((1, 1, 2, -1, -1, -billable)), 0)
        return billable

    def _live_count(self, customer: Customer, product: str, month: int) -> int:
        end = self.calendar.end(month)
        live = sum(
            1
            for provider in customer.providers
            if product in provider.products and provider.status_at(end) == "live"
        )
        return max(live, 1)

    def _product_lines(
        self, customer: Customer, product: str, position: int, quantity: int, month: int
    ) -> list[Line]:
        if quantity == 0:
            return []
        price = customer.prices[product]
        role = customer.role
        if role == "weighted_price" and position == 0 and quantity > 1:
            first = (quantity + 1) // 2
            cheaper = (price * Decimal("0.8")).quantize(Decimal("0.01"))
            return [
                Line(customer, product, first, price, month),
                Line(customer, product, quantity - first, cheaper, month),
            ]
        if role == "late_credit" and position == 0 and month in (0, self.calendar.middle):
            credit = -2 if month == 0 else -1
            self._correct_later(Line(customer, product, credit, price, month))
            return [Line(customer, product, quantity + 2, price, month)]
        return self._noisy_lines(Line(customer, product, quantity, price, month))

    def _correct_later(self, credit: Line) -> None:
        """A credit line of this month's period, sent in the next drop (or this one) on a
        credit note (its own invoice id, closed: issued)."""
        credit.is_credit_note = True
        self.corrections.append(credit)

    def _noisy_lines(self, line: Line) -> list[Line]:
        """One line, or the same quantity split, credited back, or next to a void line."""
        draw = self.rng.random()
        if draw < 0.04 and line.quantity > 1:
            first = self.rng.randint(1, line.quantity - 1)
            return [
                Line(line.customer, line.product, first, line.price, line.month),
                Line(line.customer, line.product, line.quantity - first, line.price, line.month),
            ]
        if draw < 0.07:
            return [
                Line(line.customer, line.product, line.quantity + 1, line.price, line.month),
                Line(line.customer, line.product, -1, line.price, line.month),
            ]
        if draw < 0.10:
            void = Line(line.customer, line.product, self.rng.randint(1, 3), line.price, line.month)
            void.status = "void"
            return [void, line]
        if draw < 0.12:
            line.status = "draft"
        elif draw < 0.14:
            line.price_text = self.rng.choice(("N/A", "$120.00", "120,00"))
        elif draw < 0.16:
            line.amount_text = self.rng.choice(("1,200.00", "$600.00"))
        return [line]

    def _junk_lines(self, customer: Customer, month: int, every_kind: bool) -> list[Line]:
        """Lines that count for nothing: void, not whole, unknown product, no period."""
        product = customer.products[0]
        price = customer.prices[product]
        kinds = ["void", "quantity", "product", "period"]
        if not every_kind:
            kinds = [self.rng.choice(kinds)]
        lines = []
        for kind in kinds:
            line = Line(customer, product, self.rng.randint(1, 4), price, month)
            if kind == "void":
                line.status = "void"
            elif kind == "product":
                line.product = self.rng.choice(UNKNOWN_LINE_PRODUCTS)
            elif kind == "period":
                line.period_text = self.rng.choice(UNPARSEABLE_DATES)
            lines.append(line)
            if kind == "quantity":
                line.quantity_text = JUNK_QUANTITIES[0]
                for junk in JUNK_QUANTITIES[1:] if every_kind else ():
                    lines.append(Line(customer, product, 1, price, month, quantity_text=junk))
        return lines

    # ------------------------------------------------------------ rows
    def _line_id(self) -> str:
        self._next_id += 1
        return f"IL-{self._next_id:08d}"

    def _line_row(self, line: Line) -> list[str]:
        text, spelling = self.spelling.text, self.spelling
        amount = (line.price * line.quantity).quantize(Decimal("0.01"))
        quantity = line.quantity_text
        if quantity is None:
            quantity = spelling.quantity(line.quantity)
        return [
            text(self._invoice_id(line)),
            text(self._line_id()),
            text(self._billing_account_id(line.customer)),
            text(self._billed_name(line.customer)),
            text(line.period_text or spelling.billing_period(self.calendar.firsts[line.month])),
            text(line.product),
            text(quantity),
            text(line.price_text or spelling.price(line.price)),
            text(line.amount_text or f"{amount:.2f}"),
            text(line.status or self._invoice_status(line)),
            text("USD"),
        ]

    def _billing_account_id(self, customer: Customer) -> str:
        """Usually the billing id; sometimes empty, so that the name decides."""
        if customer.role.startswith("ambiguous") or not customer.billing_account_id:
            return customer.billing_account_id
        return "" if self.rng.random() < 0.12 else customer.billing_account_id

    def _billed_name(self, customer: Customer) -> str:
        names = customer.names
        return names[0] if self.rng.random() < 0.6 else self.rng.choice(names)

    def _invoice_status(self, line: Line) -> str:
        """Invoices of earlier months went out (closed); the last month's are still open,
        except one customer in four whose invoice was already sent, and credit notes."""
        is_last_month = line.month == len(self.calendar) - 1
        already_sent = line.customer.index % 4 == 1 or line.is_credit_note
        return "open" if is_last_month and not already_sent else "closed"

    def corrupt(self, row: list[str]) -> list[str]:
        """A copy of a line with different content (it loses to the true row)."""
        copy = list(row)
        draw = self.rng.random()
        if draw < 0.4:
            copy[6] = str(self.rng.randint(5, 40))
        elif draw < 0.7:
            copy[9] = "void"
        else:
            copy[5] = self.rng.choice(UNKNOWN_LINE_PRODUCTS)
        return copy


# =========================================================================== CRM and seeds
class CrmWriter:
    """The CRM's current state, with duplicate rows of some records."""

    def __init__(self, calendar: Calendar, spelling: Spelling) -> None:
        self.calendar = calendar
        self.spelling = spelling
        self.rng = spelling.rng

    def _modified_at(self) -> datetime:
        end = self.calendar.end(len(self.calendar) - 1)
        return end - timedelta(minutes=self.rng.randrange(60 * 24 * 300))

    def write_accounts(self, path: Path, customers: list[Customer]) -> int:
        file = CsvFile(path, reference.CRM_ACCOUNT_COLUMNS, bom=True)
        for customer in customers:
            if customer.in_crm:
                for row in self._account_rows(customer):
                    file.write(row)
        file.close()
        return file.rows

    def _account_row(self, customer: Customer, status: str, modified: str, name: str) -> list[str]:
        text = self.spelling.text
        return [
            text(customer.account_id),
            text(name),
            text(status),
            text(customer.go_live_text),
            text(customer.billing_account_id),
            text(modified),
        ]

    def _account_rows(self, customer: Customer) -> list[list[str]]:
        modified = self._modified_at()
        winner = self._account_row(
            customer, customer.status, self.spelling.timestamp(modified), customer.name
        )
        older = modified - timedelta(days=self.rng.randint(5, 200))
        older_row = self._account_row(
            customer, "prospect", self.spelling.timestamp(older), customer.name.upper()
        )
        if customer.role == "crm_duplicates":
            same_time = self._account_row(customer, "inactive", winner[5], customer.name)
            undated = self._account_row(customer, "churned", "", customer.name)
            unparseable = self._account_row(customer, "inactive", "sometime", customer.name)
            return [older_row, same_time, winner, undated, unparseable]
        if self.rng.random() < 0.06:
            return [winner, older_row] if self.rng.random() < 0.5 else [older_row, winner]
        return [winner]

    def write_providers(self, path: Path, customers: list[Customer]) -> int:
        file = CsvFile(path, reference.CRM_PROVIDER_COLUMNS)
        for customer in customers:
            for provider in customer.providers:
                for record in provider.crm_records:
                    for row in self._provider_rows(customer, provider, record):
                        file.write(row)
        file.close()
        return file.rows

    def _provider_rows(
        self, customer: Customer, provider: Provider, record: CrmProviderRecord
    ) -> list[list[str]]:
        text = self.spelling.text
        modified = self._modified_at()

        def row(status: str, stamp: str) -> list[str]:
            return [
                text(record.provider_id),
                text(customer.account_id),
                text(
                    record.npi_text
                    if record.npi_text != provider.npi
                    else self.spelling.npi(provider.npi)
                ),
                text(record.name),
                text(status),
                text(provider.department),
                text(provider.location),
                text(stamp),
            ]

        winner = row(record.status, self.spelling.timestamp(modified))
        draw = self.rng.random()
        flipped = "inactive" if record.status == "active" else "active"
        if draw < 0.03:
            older = modified - timedelta(days=self.rng.randint(1, 90))
            return [row(flipped, self.spelling.timestamp(older)), winner]
        if draw < 0.045:
            return [winner, row(flipped, "")]
        if draw < 0.05:
            return [winner, row(flipped, self.rng.choice(UNPARSEABLE_DATES))]
        if draw < 0.06:
            return [row(flipped, self.rng.choice(UNPARSEABLE_TIMESTAMPS[:4])), winner]
        return [winner]


# =========================================================================== entitlements
# Entitlement scenarios (contract 5.1), one CRM customer each (normal customers, in order);
# the other CRM customers get ordinary entitlements (usually one per billable product, open
# or ending after the last month, seats equal to usage or a little off) or none.
ENTITLEMENT_ROLES = (
    "expired",  # ends on the last day of the month before the middle one
    "renewed_on_last_day",  # expired as above, renewed from the middle month's last day
    "starts_next_month",  # starts the day after the middle month's last day
    "add_on_overlap",  # an open-ended entitlement and an add-on from the middle month
    "missing",  # no entitlement at all
    "above",  # fewer seats than billable providers
    "below",  # more seats than billable providers
    "unparseable_end",  # end_date unparseable: counts for nothing
    "junk_seats",  # contracted_seats not a whole number: counts for nothing
    "unknown_product",  # a product code not in the catalogue
    "changed_later",  # a copy in the amendments file with a later last_modified_at wins
)
ENTITLEMENT_FILES = ("contract_entitlements.csv", "contract_entitlements_amendments.csv")


class EntitlementWriter:
    """The CRM's contract entitlements (current state) in two files: the contracts, and the
    amendments (add-ons and changed copies of contracts). Uses its own random generator, so
    the other files are the same with or without entitlements."""

    def __init__(self, calendar: Calendar, rng: random.Random) -> None:
        self.calendar = calendar
        self.rng = rng
        self.spelling = Spelling(rng)
        self._usage = LineWriter(calendar, self.spelling)  # billable counts only
        self._next_id = 0

    def write(self, out_dir: Path, customers: list[Customer]) -> dict[str, int]:
        contracts, amendments = (
            CsvFile(out_dir / name, reference.ENTITLEMENT_COLUMNS) for name in ENTITLEMENT_FILES
        )
        crm_customers = [customer for customer in customers if customer.in_crm]
        normal = [customer for customer in crm_customers if customer.role == "normal"]
        self.rng.shuffle(normal)
        roles = dict(zip((c.account_id for c in normal), ENTITLEMENT_ROLES, strict=False))
        for customer in crm_customers:
            role = roles.get(customer.account_id, "ordinary")
            for file, row in self._customer_rows(customer, role):
                (contracts if file == 0 else amendments).write(row)
                if self.rng.random() < 0.04:  # exported twice: the later line wins the tie
                    (contracts if file == 0 else amendments).write(row)
        product = BILLABLE_CODES[0]
        contracts.write(self._row(NOT_IN_CRM_ACCOUNT_ID, product, "5", self._before_history()))
        for file in (contracts, amendments):
            file.close()
        return {file.path.name: file.rows for file in (contracts, amendments)}

    # ------------------------------------------------------------ rows
    def _id(self) -> str:
        self._next_id += 1
        return f"ENT-{self._next_id:05d}"

    def _row(
        self,
        account_id: str,
        product: str,
        seats: str,
        start: date,
        end: date | None = None,
        end_text: str | None = None,
        entitlement_id: str | None = None,
        modified: datetime | None = None,
    ) -> list[str]:
        text, spelling = self.spelling.text, self.spelling
        if end_text is None:
            end_text = "" if end is None else spelling.date(end)
        modified = modified or self.calendar.end(0) - timedelta(days=self.rng.randint(1, 300))
        return [
            text(entitlement_id or self._id()),
            text(account_id),
            text(product),
            text(seats),
            text(spelling.date(start)),
            text(end_text),
            text(spelling.timestamp(modified)),
        ]

    def _before_history(self) -> date:
        return self.calendar.firsts[0] - timedelta(days=self.rng.randint(30, 900))

    def _after_history(self) -> date | None:
        """An open end (usually) or a date on or after the last month's last day."""
        draw = self.rng.random()
        if draw < 0.6:
            return None
        last = self.calendar.lasts[-1]
        return last if draw < 0.7 else last + timedelta(days=self.rng.randint(1, 400))

    def _seats(self, customer: Customer, product: str, offset: int = 0) -> int:
        return max(self._usage.billable(customer, product, len(self.calendar) - 1) + offset, 1)

    def _customer_rows(self, customer: Customer, role: str) -> list[tuple[int, list[str]]]:
        """(file: 0 contracts, 1 amendments; row) of one customer's entitlements."""
        products = [code for code in customer.products if code != NON_BILLABLE_CODE]
        if role == "missing" or (role == "ordinary" and self.rng.random() < 0.08):
            return []
        rows = []
        for position, product in enumerate(products):
            if role == "ordinary" and len(products) > 1 and self.rng.random() < 0.15:
                continue  # this product is used without an entitlement
            scenario = role if position == 0 else "ordinary"
            rows += self._product_rows(customer, product, scenario)
        return rows

    def _product_rows(
        self, customer: Customer, product: str, role: str
    ) -> list[tuple[int, list[str]]]:
        account, calendar = customer.account_id, self.calendar
        middle = max(calendar.middle, 1) if len(calendar) > 1 else 0
        start = self._before_history()
        seats = self._seats(customer, product)
        if role == "expired":
            return [(0, self._row(account, product, str(seats), start, calendar.lasts[middle - 1]))]
        if role == "renewed_on_last_day":
            old = self._row(account, product, str(seats), start, calendar.lasts[middle - 1])
            new = self._row(account, product, str(seats + 2), calendar.lasts[middle])
            return [(0, old), (0, new)]
        if role == "starts_next_month":
            first = calendar.lasts[middle] + timedelta(days=1)
            return [(0, self._row(account, product, str(seats), first))]
        if role == "add_on_overlap":
            base = self._row(account, product, str(max(seats - 2, 1)), start)
            add_on_start = calendar.firsts[middle] + timedelta(days=9)
            add_on = self._row(account, product, "2", add_on_start, self._after_history())
            return [(0, base), (1, add_on)]
        if role in ("above", "below"):
            offset = -2 if role == "above" else 3
            return [(0, self._row(account, product, str(self._seats(customer, product, offset)),
                                  start, self._after_history()))]  # fmt: skip
        if role == "unparseable_end":
            return [(0, self._row(account, product, str(seats), start, end_text="2026-02-30"))]
        if role == "junk_seats":
            return [(0, self._row(account, product, "ten", start))]
        if role == "unknown_product":
            return [(0, self._row(account, product + "-PLUS", str(seats), start))]
        if role == "changed_later":
            entitlement_id = self._id()
            modified = calendar.end(0) - timedelta(days=200)
            old = self._row(account, product, str(seats + 5), start, None, None, entitlement_id,
                            modified)  # fmt: skip
            new = self._row(account, product, str(seats), start, None, None, entitlement_id,
                            modified + timedelta(days=30))  # fmt: skip
            return [(0, old), (1, new)]
        offset = self.rng.choice((0, 0, 0, 0, 1, 2, -1, -2))
        end = self._after_history()
        return [(0, self._row(account, product, str(self._seats(customer, product, offset)),
                              start, end))]  # fmt: skip


def write_seeds(seeds_dir: Path, legacy_rows: list[tuple[str, str]]) -> dict[str, int]:
    products = CsvFile(seeds_dir / "products.csv", reference.PRODUCT_COLUMNS)
    for product in PRODUCTS:
        is_billable = "true" if product.is_billable else "false"
        products.write([product.code, product.name, is_billable, f"{product.list_price:.2f}"])
    products.close()
    departments = CsvFile(seeds_dir / "valid_departments.csv", reference.DEPARTMENT_COLUMNS)
    for department in VALID_DEPARTMENTS:
        departments.write([department])
    departments.close()
    legacy = CsvFile(seeds_dir / "legacy_customer_names.csv", reference.LEGACY_COLUMNS)
    for legacy_name, account_id in legacy_rows:
        legacy.write([legacy_name, account_id])
    legacy.close()
    return {file.path.name: file.rows for file in (products, departments, legacy)}


# =========================================================================== entry point
def _remove_old_drops(out_dir: Path) -> None:
    """Drops of an earlier run would be read with this one's: remove them."""
    for pattern in (
        "ops_intake_log*.csv",
        "billing_invoice_lines*.csv",
        "contract_entitlements*.csv",
    ):
        for path in sorted(out_dir.glob(pattern)):
            path.unlink()


def _write_drops(
    world: World,
    out_dir: Path,
    spelling: Spelling,
    progress: Callable[[str], None],
) -> dict[str, int]:
    calendar = world.calendar
    events = EventWriter(calendar, spelling)
    lines = LineWriter(calendar, spelling)
    rows: dict[str, int] = {}
    carried_events: list[list[str]] = []
    carried_lines: list[list[str]] = []
    for month in range(len(calendar)):
        suffix = calendar.file_suffix(month)
        has_next = month + 1 < len(calendar)
        event_file = CsvFile(out_dir / f"ops_intake_log_{suffix}.csv", EVENT_HEADER)
        line_file = CsvFile(out_dir / f"billing_invoice_lines_{suffix}.csv", LINE_HEADER)
        event_drop = Drop(event_file, spelling, events.corrupt, has_next)
        line_drop = Drop(line_file, spelling, lines.corrupt, has_next)
        for row in carried_events:
            event_drop.file.write(row)
        for row in carried_lines:
            line_drop.file.write(row)
        events.write_month(world.customers, month, event_drop)
        lines.write_month(world.customers, month, line_drop)
        carried_events, carried_lines = event_drop.carried, line_drop.carried
        for drop in (event_drop, line_drop):
            drop.file.close()
            rows[drop.file.path.name] = drop.file.rows
        progress(
            f"{calendar.months[month]}: {event_drop.file.rows:,} events, "
            f"{line_drop.file.rows:,} invoice lines"
        )
    return rows


def generate(
    out_dir: Path,
    seeds_dir: Path,
    answer_key_dir: Path,
    accounts: int = 60,
    months: int = 6,
    seed: int = 42,
    end_month: str = "2026-10",
    progress: Callable[[str], None] | None = None,
    answer_key: bool = True,
    entitlements: bool = True,
) -> dict[str, Any]:
    """Writes raw files to `out_dir`, seeds to `seeds_dir` and (unless `answer_key` is
    false) the answer key computed from them to `answer_key_dir`; returns a summary.
    `entitlements` false leaves out the optional contract_entitlements*.csv files (the
    other files are the same either way)."""
    report = progress or (lambda message: None)
    calendar = Calendar.ending(end_month, months)
    rng = random.Random(seed)
    world = WorldBuilder(rng, calendar, accounts).build()
    spelling = Spelling(rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_old_drops(out_dir)
    rows = write_seeds(seeds_dir, world.legacy_rows)
    crm = CrmWriter(calendar, Spelling(rng, noise_rate=0.3))  # few rows: more noise each
    rows["crm_accounts.csv"] = crm.write_accounts(out_dir / "crm_accounts.csv", world.customers)
    rows["crm_providers.csv"] = crm.write_providers(out_dir / "crm_providers.csv", world.customers)
    report(f"CRM: {rows['crm_accounts.csv']:,} accounts, {rows['crm_providers.csv']:,} providers")
    if entitlements:
        entitlement_rng = random.Random(seed * 1_000_003 + 7)  # its own: other files unchanged
        rows.update(EntitlementWriter(calendar, entitlement_rng).write(out_dir, world.customers))
    rows.update(_write_drops(world, out_dir, spelling, report))
    summary: dict[str, Any] = {
        "months": list(calendar.months),
        "accounts": accounts,
        "seed": seed,
        "rows": rows,
        "events": sum(count for name, count in rows.items() if name.startswith("ops_intake_log")),
        "invoice_lines": sum(
            count for name, count in rows.items() if name.startswith("billing_invoice_lines")
        ),
        "answer_key": None,
    }
    if answer_key:
        report("answer key")
        summary["answer_key"] = _write_answer_key(
            out_dir, seeds_dir, answer_key_dir, calendar, {"seed": seed, "accounts": accounts}
        )
    return summary


def _write_answer_key(
    out_dir: Path,
    seeds_dir: Path,
    answer_key_dir: Path,
    calendar: Calendar,
    arguments: dict[str, int],
) -> dict[str, int]:
    """The answer key from the files just written, and its manifest."""
    rows = reference.write_answer_key(out_dir, seeds_dir, calendar.months, answer_key_dir)
    manifest = {**arguments, "months": list(calendar.months), "version": VERSION, "rows": rows}
    manifest_text = json.dumps(manifest, indent=2) + "\n"
    (answer_key_dir / "manifest.json").write_text(manifest_text, encoding="utf-8")
    return rows
