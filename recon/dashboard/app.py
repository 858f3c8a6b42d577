"""The reconciliation dashboard (Streamlit): `recon dashboard` starts it.

For Finance and Customer Success: the month's headline numbers, provider counts by account
and product over the months, the billing match rate and mis-billed dollars over time, the
month's findings by dollar impact with their decision status (drill down from a finding to
the providers behind its count), and the month's data-quality issues. It only reads the
marts (recon/dashboard/data.py); decisions are recorded in
resolutions/discrepancy_resolutions.csv (docs/DECISIONS.md says why).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from recon.dashboard.data import MartSource, as_date, days, money, month_label, rate

CACHE_SECONDS = 60


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def load(_source: MartSource, source_key: str, name: str, *parameters: object) -> pd.DataFrame:
    """One mart query, cached for a minute per source, query and parameters."""
    return _source.query(name, *parameters)


def headline(summary: pd.Series, findings: pd.DataFrame) -> None:
    """The month's numbers; the browser test compares them with the marts."""
    first = st.columns(4)
    first[0].metric("Billing match rate", rate(summary["billing_match_rate"]))
    first[1].metric("Overbilled", money(summary["overbilled_amount"]))
    first[2].metric("Underbilled", money(summary["underbilled_amount"]))
    first[3].metric("Open dollars at risk", money(summary["open_amount_at_risk"]))
    second = st.columns(4)
    second[0].metric("Account findings", f"{int(summary['account_findings'])}")
    second[1].metric(
        "Open / disputed / resolved",
        f"{int(summary['open_findings'])} / {int(summary['disputed_findings'])}"
        f" / {int(summary['resolved_findings'])}",
    )
    second[2].metric("Mean time to resolve", days(summary["mean_days_to_resolve"]))
    second[3].metric("Data-quality issues", f"{int(summary['data_quality_issues'])}")


def trend_section(summary: pd.DataFrame) -> None:
    st.subheader("Billing match rate and mis-billed dollars over time")
    trend = summary.assign(month=summary["billing_month"].map(month_label)).set_index("month")
    left, right = st.columns(2)
    left.line_chart(trend[["billing_match_rate"]].astype(float), y_label="match rate")
    right.bar_chart(
        trend[["overbilled_amount", "underbilled_amount"]].astype(float),
        y_label="dollars",
        stack=False,
    )


def provider_count_section(counts: pd.DataFrame) -> None:
    st.subheader("Provider count by account and product over the months")
    if counts.empty:
        st.info("No provider counts yet.")
        return
    counts = counts.assign(
        month=counts["billing_month"].map(month_label),
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
    wide = shown.pivot_table(
        index="month", columns="account_product", values="billable_providers", aggfunc="sum"
    )
    st.line_chart(wide, y_label="billable providers")


def findings_section(
    findings: pd.DataFrame, providers: pd.DataFrame, provider_findings: pd.DataFrame
) -> None:
    st.subheader("Findings of the month, by dollar impact")
    show_immaterial = st.toggle("Show immaterial findings", value=True)
    shown = findings if show_immaterial else findings[findings["is_material"]]
    shown = shown.assign(impact=shown["amount_delta"].astype(float).abs())
    st.dataframe(
        shown[
            [
                "customer_name",
                "product_code",
                "status_label",
                "amount_delta",
                "resolution_status",
                "decision",
                "age_days",
                "is_reopened",
                "previous_decision",
                "is_material",
                "is_new",
                "billable_providers",
                "billed_quantity",
                "reason",
                "discrepancy_id",
            ]
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "amount_delta": st.column_config.NumberColumn("amount_delta ($)", format="%.2f"),
        },
    )
    product_findings = shown[shown["product_code"].notna()]
    if product_findings.empty:
        return
    st.markdown("**Drill down: the providers behind a count**")
    labels = {
        row.discrepancy_id: f"{row.customer_name} / {row.product_code}: {row.status_label}, "
        f"{row.billable_providers} billable, {row.billed_quantity} billed, "
        f"{money(row.amount_delta)}"
        for row in product_findings.itertuples()
    }
    chosen = st.selectbox("Finding", list(labels), format_func=labels.__getitem__)
    finding = product_findings[product_findings["discrepancy_id"] == chosen].iloc[0]
    behind = providers[
        (providers["customer_key"] == finding["customer_key"])
        & (providers["product_code"] == finding["product_code"])
    ]
    st.caption(
        f"{len(behind)} billable providers of {finding['customer_name']} for "
        f"{finding['product_code']} at the month end; billed {finding['billed_quantity']}."
    )
    behind = behind.assign(go_live_date=behind["go_live_date"].map(as_date))
    st.table(behind[["npi", "provider_name", "department", "go_live_date", "event_id"]])
    account_id = finding["customer_key"]
    related = provider_findings[provider_findings["account_id"] == account_id]
    if not related.empty:
        st.caption("Provider findings of the account")
        st.table(related)


def data_quality_section(issues: pd.DataFrame) -> None:
    st.subheader("Data-quality issues of the month")
    if issues.empty:
        st.success("No data-quality issues.")
        return
    st.dataframe(issues, hide_index=True, width="stretch")


def main() -> None:
    st.set_page_config(page_title="Provider reconciliation", layout="wide")
    source = MartSource.from_env()
    key = source.describe()
    st.title("Provider reconciliation")
    try:
        months = load(source, key, "months")
    except Exception as error:  # the page says what is wrong instead of a stack trace
        st.error(f"Cannot read the marts from {key}: {error}")
        return
    if months.empty:
        st.warning(f"No month has been reconciled yet in {key}.")
        return
    month_labels = [month_label(value) for value in months["billing_month"]]
    chosen = st.sidebar.selectbox("Billing month", month_labels)
    st.sidebar.caption(f"Reading {key}")
    month = as_date(f"{chosen}-01")

    summary = load(source, key, "summary")
    findings = load(source, key, "findings", month)
    month_summary = summary[summary["billing_month"].map(as_date) == month].iloc[0]
    st.caption(f"Billing month {chosen}")
    headline(month_summary, findings)
    findings_section(
        findings,
        load(source, key, "billable_providers", month),
        load(source, key, "provider_findings", month),
    )
    trend_section(summary)
    provider_count_section(load(source, key, "provider_counts"))
    data_quality_section(load(source, key, "data_quality", month))


main()
