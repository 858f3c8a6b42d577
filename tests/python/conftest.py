"""Fixtures of the Prefect flow tests: one Prefect test server, a small hand-made dataset,
local HTTP endpoints for notifications, and one reconciled month shared by the tests.

Only the flow, export, validation and notification tests use these (by name); the other
tests of the suite never start Prefect.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dbt_helpers import RESOLUTIONS_HEADER

# Session fixtures of the Snowflake tests (one fakesnow server, the flow on both engines):
# imported here so that each runs once per session for every module that uses it.
from snowflake_runs import emulator_port, generated_dataset, snowflake_flow_runs  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """Each pytest-xdist worker gets its own dbt target and log folders (tests that name their
    own still do): dbt stages the seeds and writes its manifest there, and two builds sharing
    one folder read each other's seeds.

    The controller runs this hook first and its workers inherit its environment, so a worker
    sets its own folders rather than keeping the inherited ones (both workers once shared
    target/pytest-main, and a build read the other worker's seeds: another dataset's legacy
    names, customers unmatched). A folder named before pytest started is kept.
    """
    workerinput = getattr(config, "workerinput", None)
    worker = workerinput["workerid"] if workerinput else "main"
    target = Path(__file__).resolve().parents[2] / "target" / f"pytest-{worker}"
    inherited = os.environ.get("RECON_PYTEST_TARGET_SET") == os.environ.get("DBT_TARGET_PATH")
    if "DBT_TARGET_PATH" not in os.environ or (workerinput and inherited):
        os.environ["DBT_TARGET_PATH"] = str(target)
        os.environ["DBT_LOG_PATH"] = str(target / "logs")
        os.environ["RECON_PYTEST_TARGET_SET"] = str(target)


MONTH_ONE = "2026-09"
MONTH_TWO = "2026-10"

# Valid NPIs (Luhn check digit with the 80840 prefix).
NPIS = ["1234567893", "2345678900", "3456789015", "4567890122", "5678901237", "6789012344"]
NPIS += ["7890123459", "8901234566"]

SEEDS = {
    "products.csv": """\
product_code,product_name,is_billable,list_price
RCM,Revenue Cycle,true,120.00
EHR,Electronic Health Record,true,80.00
PORTAL,Patient Portal,false,0
""",
    "valid_departments.csv": "department\nCardiology\nPrimary Care\nPediatrics\n",
    "legacy_customer_names.csv": "legacy_name,account_id\nOld Acme Medical,A1\n",
}

# Month one (2026-09), by design:
#   A1 Acme Health    RCM  billable 2 (E1, E2; E10 has no parseable date), billed 3: OVERBILLED +120
#   A2 =Formula       RCM  billable 1, billed 1: match
#   A4 +Plus Clinic   EHR  billable 1, billed 0: UNBILLED_USAGE -80
#   A5 -Minus Medical RCM  billable 1, billed 1: match
#   A6 @At Health     EHR  billable 1 (matched by name), billed 3 at 80: OVERBILLED +160
#   Ghost Clinic      RCM  billable 1, billed 1, not in the CRM: MISSING_FROM_CRM
# One event_at of eight is not a date: a raw-file warning (parse rate below 95%).
RAW_FILES = {
    "crm_accounts.csv": """\
account_id,account_name,account_status,go_live_date,billing_account_id,last_modified_at
A1,"Acme Health, Inc.",active,2025-01-15,B-100,2026-01-01T10:00:00
A2,=Formula Clinic,active,03/01/2025,B-200,2026-01-01 10:00
A3,Sunset Care,churned,2024-01-01,B-300,2026-01-01
A4,+Plus Clinic,active,05-Jan-2025,B-400,2026-01-01
A5,-Minus Medical,active,2025-02-01,B-500,2026-01-01
A6,@At Health,active,2025/02/01,B-600,2026-01-01
""",
    "crm_providers.csv": f"""\
crm_provider_id,account_id,npi,provider_name,provider_status,department,location,last_modified_at
P1,A1,{NPIS[0]},"Smith, John A. MD",active,Cardiology,Boston,2026-01-01
P2,A1,{NPIS[1]},Jane Doe,active,Cardiology,Boston,2026-01-01
P3,A2,{NPIS[2]},Bob Brown,active,Primary Care,Austin,2026-01-01
P4,A4,{NPIS[4]},Carl Cox,active,Pediatrics,Dallas,2026-01-01
P5,A5,{NPIS[5]},Dee Dee,active,Pediatrics,Reno,2026-01-01
P6,A6,{NPIS[6]},Eve Ng,active,Cardiology,Reno,2026-01-01
""",
    "ops_intake_log_2026_09.csv": f"""\
event_id,event_at,customer_name,account_id,npi,provider_name,department,location,product,status,go_live_date
E1,2026-09-01T09:00:00,Acme Health,,{NPIS[0]},John Smith,Cardiology,Boston,RCM,live,2026-09-01
E2,2026-09-02 09:00,ACME HEALTH INC,,{NPIS[1]},Jane Doe,Cardiology,Boston,Revenue Cycle,live,
E3,2026-09-03,=Formula Clinic,A2,{NPIS[2]},Bob Brown,Primary Care,Austin,RCM,live,2026-09-03
E4,2026-09-04T10:00:00Z,+Plus Clinic,A4,{NPIS[4]},Carl Cox,Pediatrics,Dallas,EHR,live,2026-09-04
E5,09/05/2026,-Minus Medical,A5,{NPIS[5]},Dee Dee,Pediatrics,Reno,RCM,live,
E6,06-Sep-2026,@At Health,,{NPIS[6]},Eve Ng,Cardiology,Reno,EHR,live,
E7,2026-09-07,Ghost Clinic,,{NPIS[7]},Zed Zee,Cardiology,Nowhere,RCM,live,
E10,not a date,Acme Health,A1,{NPIS[3]},Ann Lee,Cardiology,Boston,RCM,live,
""",
    "ops_intake_log_2026_10.csv": f"""\
event_id,event_at,customer_name,account_id,npi,provider_name,department,location,product,status,go_live_date
E8,2026-10-05T09:00:00,Acme Health,A1,{NPIS[3]},Ann Lee,Cardiology,Boston,RCM,live,2026-10-05
""",
    "billing_invoice_lines_2026_09.csv": """\
invoice_id,invoice_line_id,billing_account_id,billed_customer_name,billing_period,product_code,billed_quantity,unit_price,line_amount,invoice_status,currency
INV1,L1,B-100,Acme Health,2026-09,RCM,3,120.00,360.00,closed,USD
INV2,L2,B-200,=Formula Clinic,2026-09,RCM,1,120.00,120.00,open,USD
INV3,L3,B-400,+Plus Clinic,2026-09,EHR,0,80,0,closed,USD
INV4,L4,B-500,-Minus Medical,2026-09,RCM,1,120,120,open,USD
INV5,L5,B-600,@At Health,2026-09,EHR,3,80,240,open,USD
INV6,L6,,Ghost Clinic,2026-09,RCM,1,120,120,open,USD
""",
    # Entitlements at 2026-09-30: A1 RCM 1 seat, 2 billable (above: true-up 1 x 120.00); A2 RCM 3
    # seats, 1 billable (below: 2 unused); A5 RCM 1 (within); A6 EHR ended 2026-08-31 and A4
    # EHR none (NO_ENTITLEMENT); E-9 names an account the CRM lacks.
    "contract_entitlements.csv": """\
entitlement_id,account_id,product_code,contracted_seats,start_date,end_date,last_modified_at
E-1,A1,RCM,1,2025-01-01,,2026-01-01
E-2,a2,rcm,3,01/01/2025,2026-12-31,2026-01-01
E-5,A5,RCM,1,2025-02-01,,2026-01-01
E-6,A6,EHR,1,2025-02-01,2026-08-31,2026-01-01
E-9,A9,RCM,4,2025-02-01,,2026-01-01
""",
    "billing_invoice_lines_2026_10.csv": """\
invoice_id,invoice_line_id,billing_account_id,billed_customer_name,billing_period,product_code,billed_quantity,unit_price,line_amount,invoice_status,currency
INV7,L7,B-100,Acme Health,2026-10,RCM,3,120.00,360.00,open,USD
""",
}


def write_dataset(root: Path) -> tuple[Path, Path]:
    """Writes the small raw dataset and seeds under root; returns (raw_dir, seeds_dir)."""
    raw_dir, seeds_dir = root / "raw", root / "seeds"
    for folder, files in ((raw_dir, RAW_FILES), (seeds_dir, SEEDS)):
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    return raw_dir, seeds_dir


@pytest.fixture(scope="session")
def small_dataset() -> Any:
    """The function that writes the small dataset: small_dataset(root) -> (raw_dir, seeds_dir)."""
    return write_dataset


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API (SQLite) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        with prefect_test_harness(server_startup_timeout=180):
            yield


# --------------------------------------------------------------------------- HTTP endpoints
@dataclass
class Endpoint:
    """A local HTTP server recording what Apprise's json:// posts; /fail answers 500."""

    server: http.server.ThreadingHTTPServer
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.server.server_port}/{path}"

    def posts(self, path: str) -> list[dict[str, Any]]:
        return [body for posted_path, body in self.received if posted_path == f"/{path}"]


def _start_endpoint() -> Endpoint:
    endpoint: Endpoint

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            endpoint.received.append((self.path, body))
            self.send_response(500 if self.path.startswith("/fail") else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    endpoint = Endpoint(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    threading.Thread(target=endpoint.server.serve_forever, daemon=True).start()
    return endpoint


@pytest.fixture
def http_endpoint() -> Iterator[Endpoint]:
    endpoint = _start_endpoint()
    yield endpoint
    endpoint.server.shutdown()


# --------------------------------------------------------------------------- one month, run once
@dataclass(frozen=True)
class ReconciledMonth:
    """The state after the flow reconciled MONTH_ONE on the small dataset."""

    root: Path
    env: dict[str, str]
    result: dict[str, Any]
    endpoint: Endpoint

    @property
    def duckdb_path(self) -> Path:
        """The build's private database."""
        return Path(self.env["RECON_DUCKDB_PATH"])

    @property
    def published_catalog(self) -> Path:
        """What readers open: the published catalog (recon/publish.py)."""
        return published_catalog(self.env)

    @property
    def report_dir(self) -> Path:
        return Path(self.env["RECON_REPORT_DIR"])


def published_catalog(env: dict[str, str]) -> Path:
    """The published catalog of a test environment (default place: published/ beside the
    build's database)."""
    database = Path(env["RECON_DUCKDB_PATH"])
    return database.parent / "published" / database.name


def copy_state(source_root: Path, target_root: Path) -> None:
    """The build's database and the published months of `source_root`, copied into
    `target_root` (the catalog written again for the files' new place)."""
    from recon.config import PROJECT_DIR, Settings
    from recon.publish import refresh_catalog

    shutil.copy2(source_root / "warehouse.duckdb", target_root / "warehouse.duckdb")
    shutil.copytree(source_root / "published", target_root / "published")
    refresh_catalog(
        Settings(
            project_dir=PROJECT_DIR,
            raw_dir=target_root / "raw",
            seeds_dir=target_root / "seeds",
            duckdb_path=target_root / "warehouse.duckdb",
            report_dir=target_root / "reports",
            target="duckdb",
        )
    )


def recon_env(root: Path, raw_dir: Path, seeds_dir: Path, dbt_target: Path) -> dict[str, str]:
    return {
        "RECON_RAW_DIR": str(raw_dir),
        "RECON_SEEDS_DIR": str(seeds_dir),
        "RECON_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "RECON_REPORT_DIR": str(root / "reports"),
        "RECON_TARGET": "duckdb",
        # dbt's artifacts apart from the repository's target/ (others build there)
        "DBT_TARGET_PATH": str(dbt_target),
        "DBT_LOG_PATH": str(dbt_target / "logs"),
    }


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target folder for the session (dbt's partial parsing is kept between runs)."""
    return tmp_path_factory.mktemp("dbt_target")


@pytest.fixture(scope="session")
def reconciled_month(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory, dbt_target: Path
) -> ReconciledMonth:
    """The whole flow, once, on MONTH_ONE, notifying a good and a failing (500) endpoint."""
    from flows.monthly_reconciliation import monthly_reconciliation

    root = tmp_path_factory.mktemp("month_one")
    raw_dir, seeds_dir = write_dataset(root)
    endpoint = _start_endpoint()
    env = recon_env(root, raw_dir, seeds_dir, dbt_target)
    env["RECON_NOTIFY_URLS"] = f"{endpoint.url('hook')}, {endpoint.url('fail')}"
    env["RECON_NOTIFY_RETRIES"] = "1"
    env["RECON_NOTIFY_RETRY_DELAY_SECONDS"] = "0"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result = monthly_reconciliation(MONTH_ONE)
    return ReconciledMonth(root=root, env=env, result=result, endpoint=endpoint)


@pytest.fixture
def copy_of_month_one(reconciled_month: ReconciledMonth, tmp_path: Path) -> dict[str, str]:
    """A private copy (raw files, seeds, database, reports) of the reconciled month, for tests
    that break something; returns its environment (not set: the test sets it)."""
    for name in ("raw", "seeds", "reports"):
        shutil.copytree(reconciled_month.root / name, tmp_path / name)
    copy_state(reconciled_month.root, tmp_path)
    return recon_env(
        tmp_path,
        tmp_path / "raw",
        tmp_path / "seeds",
        Path(reconciled_month.env["DBT_TARGET_PATH"]),
    )


# --------------------------------------------------------------------------- decisions on findings


def discrepancy_id(month: str, customer_key: str, product_code: str, finding_type: str) -> str:
    """The contract's id of a finding, computed here independently of the SQL: md5 of
    'YYYY-MM|customer|product|type' (product empty for an account finding)."""
    import hashlib

    text = f"{month}|{customer_key}|{product_code}|{finding_type}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DecidedHistory:
    """MONTH_ONE built, decisions then recorded on two of its findings, MONTH_TWO built."""

    root: Path
    settings: Any
    credited_id: str  # A4 EHR UNBILLED_USAGE of MONTH_ONE: invoice correction approved
    disputed_id: str  # A1 RCM OVERBILLED of MONTH_ONE: disputed

    @property
    def duckdb_path(self) -> Path:
        return self.settings.duckdb_path


def build_production(settings: Any, month: str) -> None:
    """The monthly build (models and data tests, no unit tests) and its publication, as
    `recon build` does; fails the test on a build error."""
    from recon.dbt import PRODUCTION_BUILD_ARGS, run_dbt, target_dir
    from recon.publish import publish_month

    result = run_dbt("build", settings, month, *PRODUCTION_BUILD_ARGS)
    assert result.success, f"dbt build of {month} failed:\n" + "\n".join(result.failures)
    publish_month(settings, month, target_dir(settings) / "manifest.json")


@pytest.fixture(scope="session")
def decided_history(tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> DecidedHistory:
    """Two months on the small dataset, with decisions recorded between the two builds, as
    Finance would: the report of MONTH_ONE is out, decisions are taken, MONTH_TWO is run."""
    from recon.config import PROJECT_DIR, Settings

    root = tmp_path_factory.mktemp("decided_history")
    raw_dir, seeds_dir = write_dataset(root)
    resolutions_dir = root / "resolutions"
    resolutions_dir.mkdir()
    resolutions = resolutions_dir / "discrepancy_resolutions.csv"
    resolutions.write_text(RESOLUTIONS_HEADER, encoding="utf-8")
    settings = Settings(
        project_dir=PROJECT_DIR,
        raw_dir=raw_dir,
        seeds_dir=seeds_dir,
        duckdb_path=root / "warehouse.duckdb",
        report_dir=root / "reports",
        target="duckdb",
        resolutions_dir=resolutions_dir,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(dbt_target))
        patch.setenv("DBT_LOG_PATH", str(dbt_target / "logs"))
        build_production(settings, MONTH_ONE)
        credited = discrepancy_id(MONTH_ONE, "A4", "EHR", "UNBILLED_USAGE")
        disputed = discrepancy_id(MONTH_ONE, "A1", "RCM", "OVERBILLED")
        accepted = discrepancy_id(MONTH_TWO, "A6", "EHR", "UNBILLED_USAGE")
        resolutions.write_text(
            RESOLUTIONS_HEADER
            # a dispute first, then the invoice correction: the latest decision is in force
            + f"{credited},DISPUTE,cs@example.com,2026-10-01T09:00:00,,,customer says 0\n"
            + f"{credited},approve_invoice_correction,finance@example.com,"
            "2026-10-03T15:30:00,80.00,USD,supplementary invoice INV-S1\n"
            + f"{disputed},DISPUTE,cs@example.com,2026-10-02T10:00:00,,,"
            '"customer disputes one seat, ""Ann Lee"""\n'
            # decided before MONTH_TWO is built, on a finding that MONTH_TWO's build creates
             + f"{accepted},ACCEPT_AS_IS,finance@example.com,2026-11-02T08:00:00,,,"
            "free seat agreed in the contract\n",
            encoding="utf-8",
        )
        build_production(settings, MONTH_TWO)
    return DecidedHistory(root, settings, credited, disputed)
