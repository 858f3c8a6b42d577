"""Notifications: the message, delivery to a local endpoint, and a failing endpoint that is
retried and never fails the run."""

from __future__ import annotations

import pytest

from recon.notify import (
    NotificationFailed,
    build_message,
    notification_urls,
    send_notification,
)

MONTH_ONE = "2026-09"  # as in conftest.py


def test_urls_are_split_on_commas_and_whitespace(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECON_NOTIFY_URLS", "json://a/x, mailto://u:p@b\n  slack://t/o/k,,")
    assert notification_urls() == ["json://a/x", "mailto://u:p@b", "slack://t/o/k"]
    monkeypatch.delenv("RECON_NOTIFY_URLS")
    assert notification_urls() == []


def test_message_counts_new_findings_and_their_dollar_impact():
    new_findings = [
        {
            "customer_key": "A1",
            "customer_name": "Acme",
            "product_code": "RCM",
            "discrepancy_type": "OVERBILLED",
            "amount_delta": 120.0,
        },
        {
            "customer_key": "A4",
            "customer_name": "Plus",
            "product_code": "EHR",
            "discrepancy_type": "UNBILLED_USAGE",
            "amount_delta": -80.0,
        },
        {
            "customer_key": "A4",
            "customer_name": "Plus",
            "product_code": None,
            "discrepancy_type": "GO_LIVE_MISMATCH",
            "amount_delta": -80.0,
        },
    ]
    message = build_message("2026-10", new_findings, {"billing_match_rate": 0.5}, "/r.xlsx")
    assert message.title == "Provider reconciliation 2026-10: 3 new findings"
    assert "(2 on a product, 1 on the customer as a whole)" in message.body
    # an account finding's amount is its products' total: not counted twice, not shown
    assert "+$120.00 overbilled, -$80.00 underbilled" in message.body
    # the words of the workbook and the dashboard (recon/vocabulary.py)
    assert "- Acme / RCM: Billing mismatch +$120.00\n" in message.body
    assert "- Plus / EHR: Unbilled usage -$80.00\n" in message.body
    assert "- Plus / All products: Go-live mismatch\n" in message.body
    assert message.body.endswith("Report: /r.xlsx")


def test_send_notification_posts_and_raises_when_refused(
    http_endpoint, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(
        "RECON_NOTIFY_URLS", f"{http_endpoint.url('hook')} {http_endpoint.url('fail')}"
    )
    send_notification.fn(0, "a title", "a body")
    (posted,) = http_endpoint.posts("hook")
    assert (posted["title"], posted["message"]) == ("a title", "a body")
    with pytest.raises(NotificationFailed, match="did not accept"):
        send_notification.fn(1, "a title", "a body")


def test_the_flows_notification_reaches_the_endpoint(reconciled_month):
    (posted,) = reconciled_month.endpoint.posts("hook")
    assert posted["title"] == f"Provider reconciliation {MONTH_ONE}: 4 new findings"
    body = posted["message"]
    assert "+$280.00 overbilled, -$80.00 underbilled" in body  # A1 +120, A6 +160; A4 -80
    assert "@At Health / EHR: Billing mismatch +$160.00" in body
    assert "- ghost clinic / all products: missing from crm\n" in body.lower()
    assert reconciled_month.result["report_xlsx"] in body


def test_a_failing_endpoint_is_retried_and_does_not_fail_the_run(reconciled_month):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter

    assert len(reconciled_month.endpoint.posts("fail")) == 2  # the call and its one retry
    assert reconciled_month.result["notifications_sent"] == 1
    assert reconciled_month.result["notifications_failed"] == 1
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name={"any_": [f"reconcile-{MONTH_ONE}"]})
        )
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [run.id]}))
    states = {task.name: task.state.type.value for task in tasks if task.name.startswith("notify")}
    assert run.state.type.value == "COMPLETED"
    assert states == {"notify-endpoint-0": "COMPLETED", "notify-endpoint-1": "FAILED"}
