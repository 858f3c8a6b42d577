"""The dashboard's charts (Altair, drawn by Streamlit): percentages as percentages, and a point
on every month, so that one month run is a visible point, not an empty chart."""

from __future__ import annotations

import altair as alt
import pandas as pd

from recon.dashboard.data import month_label
from recon.vocabulary import header

PERCENT = ".0%"
DOLLARS = "$,.0f"


def _by_month(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(month=frame["billing_month"].map(month_label))


def match_rate_chart(summary: pd.DataFrame) -> alt.Chart:
    """The billing match rate per month, a percentage axis from 0 to 100%."""
    frame = _by_month(summary)[["month", "billing_match_rate"]].astype(
        {"billing_match_rate": float}
    )
    title = header("billing_match_rate")
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=alt.OverlayMarkDef(size=80))
        .encode(
            x=alt.X("month:O", title=header("billing_month")),
            y=alt.Y(
                "billing_match_rate:Q",
                title=title,
                axis=alt.Axis(format=PERCENT),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=[
                alt.Tooltip("month:O", title=header("billing_month")),
                alt.Tooltip("billing_match_rate:Q", title=title, format=".1%"),
            ],
        )
    )


def dollars_chart(summary: pd.DataFrame) -> alt.Chart:
    """Overbilled and underbilled dollars per month, side by side."""
    names = {name: header(name) for name in ("overbilled_amount", "underbilled_amount")}
    frame = (
        _by_month(summary)[["month", *names]]
        .astype(dict.fromkeys(names, float))
        .melt(id_vars="month", var_name="measure", value_name="dollars")
        .assign(measure=lambda frame: frame["measure"].map(names))
    )
    return (
        alt.Chart(frame, title="Mis-billed dollars")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=header("billing_month")),
            xOffset="measure:N",
            y=alt.Y("dollars:Q", title="Dollars", axis=alt.Axis(format=DOLLARS)),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(range=["#C00000", "#ED7D31"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["month:O", "measure:N", alt.Tooltip("dollars:Q", format="$,.2f")],
        )
    )


def provider_count_chart(counts: pd.DataFrame) -> alt.Chart:
    """Billable providers per month of the chosen account-products, a point on every month."""
    title = header("billable_providers")
    return (
        alt.Chart(_by_month(counts))
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("month:O", title=header("billing_month")),
            y=alt.Y("billable_providers:Q", title=title, axis=alt.Axis(format="d")),
            color=alt.Color("account_product:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                "account_product:N",
                "month:O",
                alt.Tooltip("billable_providers:Q", title=title),
            ],
        )
    )
