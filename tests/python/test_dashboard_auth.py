"""Sign-in, roles and decisions in the dashboard, end to end (issue 17's "done when").

A local OpenID Connect provider (oidc-provider-mock, in this process, on a free port) signs
people in; `recon dashboard` runs over a private copy of conftest.decided_history (two months
built, CSV decisions in force) with its sign-in settings from RECON_OIDC_* and its roles from
a roles file and a claim; Debian's headless Chromium (recon/dashboard/screenshot.py) drives
it. A reviewer proposes a credit on a finding of MONTH_ONE, signs out; an approver (another
person, role from the ID token's claim) is refused an approval that skips the proposal (four
eyes) and approves the proposed one; a viewer sees no form. Then the next monthly build reads
the stored decisions: the finding is resolved in the published marts, and its adjustment
line has the approved amount.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import MONTH_ONE, MONTH_TWO, build_production, copy_state, discrepancy_id
from dbt_helpers import query

from recon.dashboard import screenshot
from recon.dashboard.decide import adjustments_file
from recon.evidence import evidence_csv, evidence_for, evidence_sha256
from recon.export import export_month
from recon.marts import MartReader

REVIEWER = "sam.reviewer@example.com"
APPROVER = "ana.approver@example.com"
VIEWER = "vic.viewer@example.com"
ROLE_CLAIM = "recon_role"
# A1 RCM of MONTH_ONE: billed 3 on closed invoice INV1, 2 billable: 120.00 overbilled, disputed
# in the CSV on 2026-10-02 (conftest), credited now in the dashboard.
CREDITED = discrepancy_id(MONTH_ONE, "A1", "RCM", "OVERBILLED")
# A6 EHR of MONTH_ONE: 160.00 overbilled, nobody proposed anything: an approval is refused.
UNPROPOSED = discrepancy_id(MONTH_ONE, "A6", "EHR", "OVERBILLED")


@dataclass(frozen=True)
class Deciding:
    root: Path
    settings: Any
    url: str


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[str]:
    """oidc-provider-mock on a free port with three people; its metadata URL."""
    from oidc_provider_mock import User, run_server_in_thread

    people = [
        User(sub=REVIEWER, claims={"email": REVIEWER, "name": "Sam Reviewer"}),
        # the approver's role comes from the ID token's claim, not from the roles file
        User(sub=APPROVER, claims={"email": APPROVER, "name": "Ana", ROLE_CLAIM: ["approver"]}),
        User(sub=VIEWER, claims={"email": VIEWER, "name": "Vic Viewer"}),
    ]
    with run_server_in_thread(port=0, user_claims=people) as server:
        yield f"http://localhost:{server.server_port}/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def deciding(
    decided_history, identity_provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deciding]:
    """A private copy of decided_history (its decisions CSV included) and `recon dashboard`
    over it, with sign-in."""
    root = tmp_path_factory.mktemp("deciding")
    for name in ("raw", "seeds", "resolutions"):
        shutil.copytree(decided_history.root / name, root / name)
    copy_state(decided_history.root, root)
    settings = replace(
        decided_history.settings,
        raw_dir=root / "raw",
        seeds_dir=root / "seeds",
        duckdb_path=root / "warehouse.duckdb",
        report_dir=root / "reports",
        resolutions_dir=root / "resolutions",
    )
    roles = root / "roles.yml"  # the reviewed roles file: the reviewer only
    roles.write_text(f"# who decides\n{REVIEWER.upper()}: Reviewer\n", encoding="utf-8")
    port = screenshot.free_port()
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        **settings.dbt_env(),
        **screenshot.sign_in_env(identity_provider, url, roles),
        "RECON_ROLE_CLAIM": ROLE_CLAIM,
    }
    log = root / "dashboard.log"
    server = screenshot.start_dashboard(port, log, env)
    secrets = None
    try:
        screenshot.wait_until_healthy(url.replace("localhost", "127.0.0.1"), server, log)
        secrets = _secrets_file_of(server.pid)
        # Streamlit's [auth] settings: in a private file, only while the dashboard runs
        assert secrets.stat().st_mode & 0o777 == 0o600
        assert secrets.parent.stat().st_mode & 0o777 == 0o700
        assert 'client_secret = "local-provider-only"' in secrets.read_text(encoding="utf-8")
        yield Deciding(root, settings, url)
    finally:
        screenshot.stop_dashboard(server)
    assert secrets is None or not secrets.parent.exists(), "the sign-in secrets outlived it"


def _secrets_file_of(pid: int) -> Path:
    """The secrets file `recon dashboard` (pid) handed its Streamlit child."""
    (child,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    arguments = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
    return Path(arguments[arguments.index("--secrets.files") + 1])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with screenshot.chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


def _open_finding(driver: Any, finding_label: str) -> None:
    """MONTH_ONE in the sidebar, then the finding in the drill-down; waits for its evidence."""
    screenshot.choose(driver, "Billing month", MONTH_ONE)
    screenshot.wait(driver, lambda page: f"Billing month {MONTH_ONE}" in screenshot.page_text(page))
    screenshot.choose(driver, "Finding", finding_label)
    screenshot.wait(
        driver, lambda page: "Download the evidence (CSV)" in screenshot.page_text(page)
    )


# --------------------------------------------------------------------------- the test
def test_reviewer_proposes_approver_approves_viewer_reads_and_the_next_build_resolves(
    deciding: Deciding, browser: Any
):
    from selenium.webdriver.common.by import By

    from recon.decisions import FolderDecisionStore

    started = time.monotonic()
    acme = "Acme Health"

    # a reviewer (roles file, e-mail in another case) reads the evidence and proposes a credit
    # of the finding's amount
    screenshot.sign_in(browser, deciding.url, REVIEWER)
    assert "Role: reviewer (proposes and disputes)" in screenshot.page_text(browser)
    _open_finding(browser, acme)
    evidence = evidence_for(CREDITED, MartReader.published(deciding.settings))
    page = screenshot.page_text(browser)
    (rule,) = evidence.loc[evidence["evidence_kind"] == "rule", "rule_text"]
    assert f"Rule: {rule}" in page
    invoice_lines = evidence[evidence["evidence_kind"] == "invoice_line"]
    assert list(invoice_lines["invoice_id"]) == ["INV1"]  # conftest: 3 seats on INV1, closed
    assert "billing_invoice_lines_2026_09.csv" in page and "INV1" in page
    billable = evidence[(evidence["evidence_kind"] == "provider") & evidence["is_counted"]]
    assert len(billable) == 2 and all(npi in page for npi in billable["npi"])
    assert screenshot.options(browser, "Decision") == [
        "Propose a credit",
        "Propose an invoice correction",
        "Dispute the finding",
    ]  # a reviewer cannot approve: no approval is offered
    answer = screenshot.decide(
        browser, "Propose a credit", "two seats billed too many, see evidence"
    )
    assert answer.startswith(f"Recorded: Propose a credit of $120.00 by {REVIEWER}"), answer
    screenshot.sign_out(browser)

    # an approver (role from the ID token's claim): no approval without a proposal (four eyes),
    # then the proposed credit approved
    screenshot.sign_in(browser, deciding.url, APPROVER)
    assert "Role: approver (approves and accepts)" in screenshot.page_text(browser)
    _open_finding(browser, "@At Health")
    answer = screenshot.decide(browser, "Approve a credit", "no proposal yet")
    assert answer.startswith("Not recorded:") and "two" in answer, answer
    _open_finding(browser, acme)
    answer = screenshot.decide(browser, "Approve a credit", "credit note to send")
    assert answer.startswith(f"Recorded: Approve a credit of $120.00 by {APPROVER}"), answer
    screenshot.sign_out(browser)

    # a viewer (signed in, named nowhere) reads, and has no form
    screenshot.sign_in(browser, deciding.url, VIEWER)
    _open_finding(browser, acme)
    body = screenshot.page_text(browser)
    assert (
        "You are a viewer (reads)" in body
        and screenshot.button(browser, "Record the decision") is None
    )

    # the store holds what the pages said, with who, role and the evidence's hash
    stored = FolderDecisionStore(deciding.settings.decisions_dir).history()
    assert [(d.discrepancy_id, d.decision, d.decided_by, d.decided_role) for d in stored] == [
        (CREDITED, "PROPOSE_CREDIT", REVIEWER, "reviewer"),
        (CREDITED, "APPROVE_CREDIT", APPROVER, "approver"),
    ]
    # the evidence the deciders were shown, as its CSV (the download) hashes
    shown = evidence_sha256(evidence_csv(evidence))
    assert all(d.amount == Decimal("120.00") and d.evidence_sha256 == shown for d in stored)
    browsing = time.monotonic() - started

    # the next monthly build reads the stored decisions: the finding is resolved
    build_production(deciding.settings, MONTH_TWO)
    ((status, decision, decided_by, amount),) = query(
        deciding.settings.duckdb_path,
        f"""select resolution_status, decision, decided_by, decided_amount
            from recon.fct_discrepancy_resolutions where discrepancy_id = '{CREDITED}'""",
    )
    assert (status, decision, decided_by, amount) == (
        "resolved",
        "APPROVE_CREDIT",
        APPROVER,
        Decimal("120.00"),
    )
    # its draft adjustment: a credit note on the closed invoice INV1 for the approved 120.00
    adjustments = query(
        deciding.settings.duckdb_path,
        f"""select adjustment_kind, invoice_id, decided_by, amount, approved_amount,
                   settled_in_month
            from recon.fct_billing_adjustments where discrepancy_id = '{CREDITED}'""",
    )
    assert {row[:3] for row in adjustments} == {("credit_note", "INV1", APPROVER)}
    assert abs(sum(row[3] for row in adjustments)) == Decimal("120.00")
    assert {abs(row[4]) for row in adjustments} == {Decimal("120.00")}  # signed for import

    # the month's import file has the line; the audit page names that file
    report = export_month(deciding.settings, MONTH_TWO)
    assert report.adjustments_csv_path == adjustments_file(deciding.settings, f"{MONTH_TWO}-01")
    with report.adjustments_csv_path.open(encoding="utf-8-sig", newline="") as handle:
        lines = [line for line in csv.DictReader(handle) if line["discrepancy_id"] == CREDITED]
    assert abs(sum(Decimal(line["amount"]) for line in lines)) == Decimal("120.00")

    # the audit trail page, read by the viewer: both decisions and the adjustment line (the
    # grids' cells are read from their accessible text)
    browser.get(f"{deciding.url}/audit")

    def audit_text(page: Any) -> str:
        return page.find_element(By.TAG_NAME, "body").get_attribute("textContent")

    screenshot.wait(browser, lambda page: "credit_note" in audit_text(page))
    audit = audit_text(browser)
    assert f"{APPROVER}approverApprove a credit$120.00" in audit
    assert f"{REVIEWER}reviewerPropose a credit$120.00" in audit
    assert "INV1" in audit.split("Draft billing adjustments")[1]
    print(f"browser {browsing:.0f} s, build {time.monotonic() - started - browsing:.0f} s")
    assert time.monotonic() - started < 120


# --------------------------------------------------------------------------- roles, no browser
def test_the_role_comes_from_the_claim_then_the_roles_file_else_viewer(tmp_path: Path):
    from recon.dashboard.auth import person_from_claims, read_roles

    roles_path = tmp_path / "roles.yml"
    roles_path.write_text("Sam@Example.com: reviewer\nana@example.com: APPROVER\n", "utf-8")
    roles = read_roles(roles_path)
    assert roles == {"sam@example.com": "reviewer", "ana@example.com": "approver"}

    def role(claims: dict) -> tuple[str, str]:
        person = person_from_claims(claims, "groups", roles, roles_path)
        return person.role, person.role_from

    assert role({"email": "SAM@example.com"}) == ("reviewer", str(roles_path))
    assert role({"email": "sam@example.com", "groups": ["staff", "approver"]}) == (
        "approver",
        "claim groups",
    )  # the claim comes first; a list grants its highest role
    assert role({"email": "ana@example.com", "groups": "staff"}) == ("approver", str(roles_path))
    assert role({"email": "new@example.com"}) == ("viewer", "default")  # signed in, not named
    nobody = person_from_claims({"name": "No Mail"}, None, {"": "approver"}, roles_path)
    assert (nobody.role, nobody.may_decide) == ("viewer", False)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("sam@example.com: admin\n", "'admin' is not a role"),
        ("- sam@example.com\n", "must map e-mail addresses to roles"),
        ("sam: reviewer\n", "'sam' is not an e-mail address"),
        ("sam@example.com: [reviewer\n", "is not valid YAML"),
    ],
)
def test_a_wrong_roles_file_is_refused_whole_naming_why(tmp_path: Path, text: str, complaint):
    from recon.dashboard.auth import RolesFileError, read_roles

    roles_path = tmp_path / "roles.yml"
    roles_path.write_text(text, encoding="utf-8")
    with pytest.raises(RolesFileError, match=re.escape(complaint)):
        read_roles(roles_path)


def test_the_sign_in_settings_become_streamlits_auth_section(tmp_path: Path):
    import tomllib

    from recon.dashboard.auth import auth_secrets_toml, read_roles

    env = {
        "RECON_OIDC_METADATA_URL": "https://id.example.com/.well-known/openid-configuration",
        "RECON_OIDC_CLIENT_ID": "recon",
        "RECON_OIDC_CLIENT_SECRET": 'a "quoted" secret\\',
    }
    auth = tomllib.loads(auth_secrets_toml(8502, env))["auth"]
    assert auth["redirect_uri"] == "http://localhost:8502/oauth2callback"
    assert auth["client_secret"] == 'a "quoted" secret\\'
    assert auth["server_metadata_url"] == env["RECON_OIDC_METADATA_URL"]
    assert len(auth["cookie_secret"]) == 64
    with pytest.raises(ValueError, match="RECON_OIDC_CLIENT_SECRET"):
        auth_secrets_toml(8502, {**env, "RECON_OIDC_CLIENT_SECRET": ""})
    # the committed roles file is valid and names nobody (the examples are comments)
    assert read_roles(Path(__file__).resolve().parents[2] / "access" / "roles.yml") == {}
