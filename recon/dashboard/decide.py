"""Deciding on a finding in the dashboard: who is signed in, the evidence, the decision form,
and the audit trail page.

- Sign-in (recon/dashboard/auth.py): with an identity provider configured, nothing is shown
  before sign-in; without one the page is read-only and says so in one line.
- Evidence before deciding (recon/evidence.py): the providers behind each count with the raw
  file and line that made each one billable or not, the invoice lines behind the billed
  quantity, the contract's rule; downloadable as a small CSV whose sha256 is stored with the
  decision, so the evidence a person decided on can be shown again.
- The decision (recon/decisions.py): only the actions of the person's role; the store checks
  role, amount and the four-eyes rule again when it records, and its refusal is shown as is.
  Decisions are appended, never edited; the next monthly build reads them.
- The audit trail: every decision in the store, the decision in force per finding as the last
  build saw it (CSV decisions included), and the draft billing adjustments with their file.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from recon.dashboard.auth import (
    ROLE_WORDS,
    Person,
    RolesFileError,
    person_from_claims,
    read_only_person,
    read_roles,
    roles_file,
)
from recon.vocabulary import header, money

READ_ONLY_LINE = (
    "Read-only: no identity provider is configured (RECON_OIDC_METADATA_URL), so nobody "
    "signs in and no decision can be recorded here."
)
DECISION_WORDS = {
    "PROPOSE_CREDIT": "Propose a credit",
    "PROPOSE_INVOICE_CORRECTION": "Propose an invoice correction",
    "DISPUTE": "Dispute the finding",
    "APPROVE_CREDIT": "Approve a credit",
    "APPROVE_INVOICE_CORRECTION": "Approve an invoice correction",
    "ACCEPT_AS_IS": "Accept as is (no adjustment)",
}
WITHOUT_AMOUNT = ("DISPUTE", "ACCEPT_AS_IS")
HISTORY_COLUMNS = (
    "decided_at",
    "decided_by",
    "decided_role",
    "decision",
    "amount",
    "currency",
    "note",
    "evidence_sha256",
    "source",
    "discrepancy_id",
    "decision_id",
)


# --------------------------------------------------------------------------- sign-in
def who_is_here() -> Person | None:
    """The person the page is for; None while they still have to sign in (the page then
    shows only the sign-in button)."""
    user = st.user.to_dict()
    if "is_logged_in" not in user:  # no [auth] section: no identity provider configured
        st.caption(READ_ONLY_LINE)
        return read_only_person()
    if not user["is_logged_in"]:
        st.info("Sign in with your company account to see the findings and decide on them.")
        if st.button("Sign in", type="primary"):
            st.login()
        return None
    path = roles_file()
    try:
        roles = read_roles(path)
    except RolesFileError as error:
        st.error(f"{error}. Until it is fixed, everyone signed in is a viewer.")
        roles = {}
    person = person_from_claims(user, os.environ.get("RECON_ROLE_CLAIM") or None, roles, path)
    st.sidebar.markdown(f"Signed in as **{person.email or person.name}**")
    origin = person.role_from
    if origin == str(path):  # the roles file, named as in the repository when it is there
        from recon.config import PROJECT_DIR

        origin = str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else origin
    st.sidebar.caption(f"Role: {ROLE_WORDS[person.role]} (from {origin})")
    if st.sidebar.button("Sign out"):
        st.logout()
    if person.role != "viewer" and not person.email:
        st.warning("Your sign-in carries no e-mail address: you can read, not decide.")
    return person


# --------------------------------------------------------------------------- the store
def _store() -> Any:
    from recon.decisions import open_store

    return open_store()


def history_frame(decisions: list[Any]) -> pd.DataFrame:
    """Decisions (recon.decisions.Decision) as a table, newest first."""
    rows = [{name: getattr(item, name, None) for name in HISTORY_COLUMNS} for item in decisions]
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    return frame.iloc[::-1].reset_index(drop=True)


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as a person reads them, as text: blank for NULL, Yes/No, times to the second,
    dates as dates, numbers as written (a decimal keeps its cents)."""

    def word(value: Any) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, pd.Timestamp | datetime):
            return f"{value:%Y-%m-%d %H:%M:%S}".removesuffix(" 00:00:00")
        return str(value)

    return frame.astype(object).apply(lambda column: column.map(word)).rename(columns=header)


def _show_history(frame: pd.DataFrame, key: str, small: bool) -> None:
    """Decisions, newest first: a table on a finding (a few rows), a grid on the audit page."""
    frame = frame.assign(
        amount=frame["amount"].map(lambda value: "" if value is None else money(value)),
        decision=frame["decision"].map(lambda code: DECISION_WORDS.get(code, code)),
        evidence_sha256=frame["evidence_sha256"].map(lambda value: (value or "")[:12]),
    )
    if small:
        st.table(shown(frame.drop(columns=["discrepancy_id", "decision_id", "source"])))
    else:
        st.dataframe(shown(frame), hide_index=True, width="stretch", key=key)


# --------------------------------------------------------------------------- evidence
@st.cache_data(ttl=60, show_spinner=False)
def _evidence(source_key: str, discrepancy_id: str) -> pd.DataFrame:
    from recon.evidence import evidence_for

    return evidence_for(discrepancy_id)


def evidence_section(finding: pd.Series, source_key: str) -> tuple[str, str] | None:
    """The finding's evidence and its CSV to download; returns the CSV's sha256 and the
    invoices' currency (None when the evidence cannot be read: then nobody decides on it)."""
    from recon.evidence import evidence_csv, evidence_sha256

    discrepancy_id = finding["discrepancy_id"]
    st.markdown("**Evidence**: the records behind the counts, and the rule")
    try:
        evidence = _evidence(source_key, discrepancy_id)
    except Exception as error:  # the page says what is wrong instead of a stack trace
        st.error(f"Cannot read the evidence of this finding: {error}")
        return None
    if evidence.empty:
        st.warning("No evidence is published for this finding (its month was built before).")
        return None
    for rule in evidence.loc[evidence["evidence_kind"] == "rule", "rule_text"].dropna():
        st.caption(f"Rule: {rule}")
    providers = evidence[evidence["evidence_kind"].isin(["provider", "crm_provider"])]
    if not providers.empty:
        columns = ["evidence_kind", "product_code", "npi", "provider_name", "is_counted"]
        columns += ["why", "source_file", "source_line"]
        st.table(shown(providers[columns]))
    lines = evidence[evidence["evidence_kind"] == "invoice_line"]
    if not lines.empty:
        columns = ["invoice_id", "invoice_line_id", "product_code", "quantity", "unit_price"]
        columns += ["currency", "invoice_status", "is_counted", "why", "source_file"]
        columns += ["source_line"]
        st.table(shown(lines[columns]))
    csv = evidence_csv(evidence)
    digest = evidence_sha256(csv)
    st.download_button(
        "Download the evidence (CSV)",
        csv,
        file_name=f"evidence_{discrepancy_id}.csv",
        mime="text/csv",
        key=f"evidence-download-{discrepancy_id}",
    )
    st.caption(f"Evidence sha256 {digest}")
    currencies = set(lines["currency"].dropna()) if "currency" in lines else set()
    return digest, (currencies.pop() if len(currencies) == 1 else "USD")


# --------------------------------------------------------------------------- deciding
def decision_section(finding: pd.Series, person: Person, source_key: str) -> None:
    """Evidence, the decisions so far, and the form of the person's role (none for a
    viewer)."""
    from recon.decisions import ROLE_DECISIONS

    evidence = evidence_section(finding, source_key)
    discrepancy_id = finding["discrepancy_id"]
    try:
        store = _store()
        decisions = store.history(discrepancy_id)
    except Exception as error:
        st.error(f"Cannot read the decisions store: {error}")
        return
    if decisions:
        st.markdown("**Decisions recorded on this finding** (newest first)")
        _show_history(history_frame(decisions), key=f"history-{discrepancy_id}", small=True)
    recorded = st.session_state.pop(f"recorded-{discrepancy_id}", None)
    if recorded:
        st.success(recorded)
    allowed = ROLE_DECISIONS.get(person.role, ())
    if not person.signed_in:
        return  # the read-only line at the top says why there is no form
    if not person.may_decide or not allowed:
        st.info(f"You are a {ROLE_WORDS[person.role]}: you read the findings, you do not decide.")
        return
    if evidence is None:
        return
    digest, currency = evidence
    amount = finding["amount_delta"]
    default = 0.0 if amount is None or pd.isna(amount) else abs(float(amount))
    with st.form(f"decide-{discrepancy_id}", clear_on_submit=True):
        st.markdown(f"**Decide** as {person.email}, {ROLE_WORDS[person.role]}")
        decision = st.selectbox(
            "Decision", allowed, format_func=lambda code: DECISION_WORDS.get(code, code)
        )
        value = st.number_input(
            f"Amount ({currency}; for a credit or a correction, not a dispute or an acceptance)",
            min_value=0.0,
            value=default,
            step=0.01,
            format="%.2f",
        )
        note = st.text_area("Note", placeholder="why, and what was agreed with the customer")
        submitted = st.form_submit_button("Record the decision", type="primary")
    if submitted:
        record(store, finding, person, decision, value, currency, note, digest)


def record(
    store: Any,
    finding: pd.Series,
    person: Person,
    decision: str,
    amount: float,
    currency: str,
    note: str,
    digest: str,
) -> None:
    """Appends the decision to the store; a refusal (role, amount, four-eyes) is shown as the
    store words it."""
    from recon.decisions import Decision, DecisionRefused

    entry = Decision(
        discrepancy_id=finding["discrepancy_id"],
        decision=decision,
        amount=None if decision in WITHOUT_AMOUNT else Decimal(f"{amount:.2f}"),
        currency=currency,
        note=note.strip() or None,
        decided_by=person.email,
        decided_role=person.role,
        evidence_sha256=digest,
    )
    try:
        recorded = store.record(entry)
    except DecisionRefused as refusal:
        st.error(f"Not recorded: {refusal}")
        return
    amount_words = "" if recorded.amount is None else f" of {money(recorded.amount)}"
    # shown after the rerun, under the finding's decisions that now include this one
    st.session_state[f"recorded-{recorded.discrepancy_id}"] = (
        f"Recorded: {DECISION_WORDS.get(recorded.decision, recorded.decision)}{amount_words} "
        f"by {recorded.decided_by} at {recorded.decided_at:%Y-%m-%d %H:%M} UTC. "
        "The next monthly run shows it."
    )
    st.rerun()


# --------------------------------------------------------------------------- audit trail
def adjustments_file(settings: Any, settled_in_month: Any) -> Path:
    """The monthly job's adjustments CSV that holds a month's lines (recon/export.py)."""
    from recon.export import report_folder

    month = pd.Timestamp(settled_in_month).strftime("%Y-%m")
    return report_folder(settings, month) / f"adjustments_{month}.csv"


def audit_page(load: Any, source: Any, source_key: str) -> None:
    """Every decision, the decision in force per finding, and the adjustment lines."""
    st.subheader("Audit trail: who decided what, when, on which finding, with which evidence")
    st.markdown("**Every decision recorded in the dashboard** (newest first; never edited)")
    try:
        decisions = _store().history()
    except Exception as error:
        st.error(f"Cannot read the decisions store: {error}")
        decisions = []
    if decisions:
        _show_history(history_frame(decisions), key="audit-history", small=False)
    else:
        st.info("No decision has been recorded in the dashboard yet.")

    st.markdown(
        "**The decision in force on each finding, as the last monthly run read it** "
        "(dashboard and `resolutions/discrepancy_resolutions.csv`)"
    )
    try:
        resolutions = load(source, source_key, "resolutions")
    except Exception as error:
        st.error(f"Cannot read fct_discrepancy_resolutions: {error}")
        resolutions = pd.DataFrame()
    if resolutions.empty:
        st.info("No decision is in force yet.")
    else:
        st.dataframe(shown(resolutions), hide_index=True, width="stretch", key="in-force")

    st.markdown("**Draft billing adjustments of the approved decisions**, with their file")
    try:
        adjustments = load(source, source_key, "adjustments")
    except Exception as error:
        st.info(f"No billing adjustments are published yet ({error}).")
        return
    if adjustments.empty:
        st.info("No approved decision has an adjustment yet.")
        return
    from recon.config import Settings

    settings = Settings.from_env()
    adjustments["file"] = adjustments["settled_in_month"].map(
        lambda month: str(adjustments_file(settings, month))
    )
    st.dataframe(shown(adjustments), hide_index=True, width="stretch", key="adjustments")
