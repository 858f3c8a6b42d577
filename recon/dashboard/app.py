"""The reconciliation dashboard (Streamlit): `recon dashboard` starts it.

For Finance and Customer Success: the month's headline numbers, provider counts by account
and product over the months, the billing match rate and mis-billed dollars over time, the
month's findings by dollar impact with their decision status (drill down from a finding to
the providers behind its count), and the month's data-quality issues. It reads the marts
(recon/dashboard/data.py). Signed in through the company's identity provider, a reviewer or an
approver decides on a finding after seeing its evidence, and an audit-trail page lists every
decision and billing adjustment (recon/dashboard/decide.py); without an identity provider it
is read-only.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recon.dashboard.auth import Person
from recon.dashboard.charts import dollars_chart, match_rate_chart, provider_count_chart
from recon.dashboard.data import MartSource, as_date, days, month_label, rate
from recon.dashboard.decide import audit_page, decision_section, who_is_here
from recon.vocabulary import FINDINGS_LEAD_COLUMNS, finding_label, header, money, product_shown

CACHE_SECONDS = 60
# The findings table: the workbook's Findings sheet's columns (recon/export.py), same order
FINDINGS_SHOWN = (
    *FINDINGS_LEAD_COLUMNS,
    "resolution_status",
    "decision",
    "age_days",
    "is_new",
    "is_material",
    "is_reopened",
    "previous_decision",
    "billable_providers",
    "billed_quantity",
    "reason",
    "discrepancy_id",
)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def load(_source: MartSource, source_key: str, name: str, *parameters: object) -> pd.DataFrame:
    """One mart query, cached for a minute per source, query and parameters."""
    return _source.query(name, *parameters)


def headline(summary: pd.Series) -> None:
    """The month's numbers, under the workbook's Summary names; the browser test compares
    them with the marts."""
    first = st.columns(4)
    first[0].metric(header("billing_match_rate"), rate(summary["billing_match_rate"]))
    first[1].metric(header("overbilled_amount"), money(summary["overbilled_amount"]))
    first[2].metric(header("underbilled_amount"), money(summary["underbilled_amount"]))
    first[3].metric(header("open_amount_at_risk"), money(summary["open_amount_at_risk"]))
    second = st.columns(4)
    second[0].metric(header("account_findings"), f"{int(summary['account_findings'])}")
    second[1].metric(
        "Open / disputed / resolved",
        f"{int(summary['open_findings'])} / {int(summary['disputed_findings'])}"
        f" / {int(summary['resolved_findings'])}",
    )
    second[2].metric(header("mean_days_to_resolve"), days(summary["mean_days_to_resolve"]))
    second[3].metric(header("data_quality_issues"), f"{int(summary['data_quality_issues'])}")


def trend_section(summary: pd.DataFrame) -> None:
    st.subheader("Billing match rate and mis-billed dollars over time")
    left, right = st.columns(2)
    left.altair_chart(match_rate_chart(summary), width="stretch")
    right.altair_chart(dollars_chart(summary), width="stretch")


def provider_count_section(counts: pd.DataFrame) -> None:
    st.subheader("Provider count by account and product over the months")
    if counts.empty:
        st.info("No provider counts yet.")
        return
    counts = counts.assign(
        account_product=counts["customer_name"] + " / " + counts["product_code"],
    )
    choices = sorted(counts["account_product"].unique())
    latest = counts[counts["billing_month"] == counts["billing_month"].max()]
    default = (
        latest.sort_values("billable_providers", ascending=False)["account_product"]
        .head(5)
        .tolist()
    )
    chosen = st.multiselect("Accounts and products", choices, default=default)
    shown = counts[counts["account_product"].isin(chosen)]
    if shown.empty:
        return
    st.altair_chart(provider_count_chart(shown), width="stretch")


def findings_table(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings as the workbook's Findings sheet shows them: an account-level finding's
    product is "All products" and it has no dollar impact of its own (the query leaves it
    NULL: its products' findings carry it)."""
    return findings.assign(
        product_code=findings["product_code"].map(product_shown),
        amount_delta=findings["amount_delta"].astype(float),
    )


def drill_down(
    finding: pd.Series, providers: pd.DataFrame, provider_findings: pd.DataFrame
) -> None:
    """The providers behind a finding's count (every product of the customer for a finding
    about the customer), or, when none is billable, why the billed seats stand alone."""
    about_customer = finding["product_code"] == product_shown(None)
    behind = providers[providers["customer_key"] == finding["customer_key"]]
    if not about_customer:
        behind = behind[behind["product_code"] == finding["product_code"]]
    st.markdown(f"**{finding['status_label']}**: {finding['reason']}")
    action = finding["recommended_action"]
    invoices = finding["invoice_ids"] or "none"
    st.caption(f"Action: {action}. Invoices: {invoices} ({finding['invoice_status'] or 'n/a'}).")
    if behind.empty:
        st.info(
            f"No billable provider of {finding['customer_name']} for {finding['product_code']} "
            f"at the month end: every one of the {finding['billed_quantity']} billed seats "
            "has no live provider in operations."
        )
    else:
        st.caption(
            f"{len(behind)} billable providers of {finding['customer_name']} for "
            f"{finding['product_code']} at the month end; billed {finding['billed_quantity']}."
        )
        behind = behind.assign(go_live_date=behind["go_live_date"].map(as_date))
        columns = ["npi", "provider_name", "department", "go_live_date", "event_id"]
        if about_customer:
            columns.insert(0, "product_code")
        st.table(behind[columns].rename(columns=header))
    related = provider_findings[provider_findings["account_id"] == finding["customer_key"]]
    if not related.empty:
        st.caption("Provider findings of the account")
        related = related.assign(
            status_label=related["discrepancy_type"].map(
                lambda code: finding_label(code, "provider")
            )
        )
        columns = ["npi", "status_label", "provider_name", "crm_provider_name", "reason"]
        st.table(related[columns].rename(columns=header))


def findings_section(
    findings: pd.DataFrame,
    providers: pd.DataFrame,
    provider_findings: pd.DataFrame,
    person: Person,
    source_key: str,
) -> None:
    st.subheader("Findings of the month, largest dollar impact first")
    if findings.empty:
        st.success("No findings: every customer-product of the month matches.")
        return
    show_immaterial = st.toggle("Show immaterial findings", value=True)
    shown = findings if show_immaterial else findings[findings["is_material"].fillna(True)]
    shown = findings_table(shown)
    table = shown[list(FINDINGS_SHOWN)].copy()
    flags = ("is_new", "is_material", "is_reopened")
    text = [name for name in table.select_dtypes(include="object").columns if name not in flags]
    table[text] = table[text].fillna("")  # blank, as in the workbook, not "None"
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={name: st.column_config.Column(header(name)) for name in FINDINGS_SHOWN}
        | {
            "amount_delta": st.column_config.NumberColumn(header("amount_delta"), format="dollar"),
            "is_new": st.column_config.CheckboxColumn(header("is_new")),
            "is_material": st.column_config.CheckboxColumn(header("is_material")),
            "is_reopened": st.column_config.CheckboxColumn(header("is_reopened")),
            "reason": st.column_config.TextColumn(header("reason"), width="large"),
        },
    )
    if shown.empty:
        return
    st.markdown("**Drill down: the providers behind a finding** (the largest first)")
    labels = {
        row.discrepancy_id: f"{row.customer_name} / {row.product_code}: {row.status_label}"
        + ("" if pd.isna(row.amount_delta) else f", {money(row.amount_delta)}")
        for row in shown.itertuples()
    }
    chosen = st.selectbox("Finding", list(labels), index=0, format_func=labels.__getitem__)
    finding = shown[shown["discrepancy_id"] == chosen].iloc[0]
    drill_down(finding, providers, provider_findings)
    decision_section(finding, person, source_key)


def data_quality_section(issues: pd.DataFrame) -> None:
    st.subheader("Data-quality issues of the month")
    if issues.empty:
        st.success("No data-quality issues.")
        return
    from recon.vocabulary import humanise

    issues = issues.assign(issue=issues["issue"].map(humanise))
    st.dataframe(issues.rename(columns=header), hide_index=True, width="stretch")


def findings_page(source: MartSource, key: str, chosen: str, person: Person) -> None:
    month = as_date(f"{chosen}-01")
    summary = load(source, key, "summary")
    month_summary = summary[summary["billing_month"].map(as_date) == month].iloc[0]
    st.caption(f"{header('billing_month')} {chosen}")
    headline(month_summary)
    findings_section(
        load(source, key, "findings", month),
        load(source, key, "billable_providers", month),
        load(source, key, "provider_findings", month),
        person,
        key,
    )
    trend_section(summary)
    provider_count_section(load(source, key, "provider_counts"))
    data_quality_section(load(source, key, "data_quality", month))


def main() -> None:
    st.set_page_config(page_title="Provider reconciliation", layout="wide")
    source = MartSource.from_env()
    key = source.describe()
    st.title("Provider reconciliation")
    person = who_is_here()
    if person is None:  # an identity provider is configured: nothing before sign-in
        return
    try:
        months = load(source, key, "months")
    except Exception as error:  # the page says what is wrong instead of a stack trace
        st.error(f"Cannot read the marts from {key}: {error}")
        return
    if months.empty:
        st.warning(f"No month has been reconciled yet in {key}.")
        return
    # the latest month with customer-products first
    month_labels = [month_label(value) for value in months["billing_month"]]
    chosen = st.sidebar.selectbox(header("billing_month"), month_labels, index=0)
    st.sidebar.caption(f"Reading {key}")
    pages = st.navigation(
        [
            st.Page(
                lambda: findings_page(source, key, chosen, person),
                title="Findings",
                url_path="findings",
                default=True,
            ),
            st.Page(lambda: audit_page(load, source, key), title="Audit trail", url_path="audit"),
        ]
    )
    pages.run()


main()
