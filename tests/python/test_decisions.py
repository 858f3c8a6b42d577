"""The decision store (recon/decisions.py) and how the build reads it.

On a temporary folder, without dbt: roles, amounts, the four-eyes rule, concurrent writers.
How the build reads stored decisions is in test_resolutions.py (beside the CSV's tests, on the
same session build: conftest.decided_history), the Snowflake store in
test_snowflake_emulator.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from recon.decisions import (
    DECISIONS,
    ROLE_DECISIONS,
    Decision,
    DecisionRefused,
    FolderDecisionStore,
    materiality_threshold,
)

FINDING = "0123456789abcdef0123456789abcdef"
REVIEWER, APPROVER, OTHER_APPROVER = "cs@example.com", "finance@example.com", "cfo@example.com"


def _decision(code: str, by: str, role: str, amount: str | None = None, **extra) -> Decision:
    return Decision(
        discrepancy_id=extra.pop("discrepancy_id", FINDING),
        decision=code,
        decided_by=by,
        decided_role=role,
        amount=None if amount is None else Decimal(amount),
        **extra,
    )


@pytest.fixture
def store(tmp_path: Path) -> FolderDecisionStore:
    return FolderDecisionStore(tmp_path / "decisions")


# --------------------------------------------------------------------------- roles and amounts
def test_roles_decide_only_what_they_may(store):
    for code in DECISIONS:
        with pytest.raises(DecisionRefused, match="viewer, who reads but decides nothing"):
            store.record(_decision(code, "someone@example.com", "viewer", "10"))
    for code in ("APPROVE_CREDIT", "APPROVE_INVOICE_CORRECTION", "ACCEPT_AS_IS"):
        with pytest.raises(DecisionRefused, match=rf"reviewer, who may record .* not {code}"):
            store.record(_decision(code, REVIEWER, "reviewer", "10"))
    with pytest.raises(DecisionRefused, match=r"approver, who may record .* not PROPOSE_CREDIT"):
        store.record(_decision("PROPOSE_CREDIT", APPROVER, "approver", "10"))
    with pytest.raises(DecisionRefused, match="is not a role"):
        store.record(_decision("DISPUTE", APPROVER, "admin"))
    with pytest.raises(DecisionRefused, match="PROPOSE_CREDIT needs an amount"):
        store.record(_decision("PROPOSE_CREDIT", REVIEWER, "reviewer"))
    with pytest.raises(DecisionRefused, match="sign in first"):
        store.record(_decision("DISPUTE", " ", "reviewer"))
    assert store.history() == []  # nothing refused was written

    proposal = store.record(_decision("propose_credit", REVIEWER, "Reviewer", "12.345"))
    assert (proposal.decision, proposal.decided_role, proposal.amount) == (
        "PROPOSE_CREDIT",
        "reviewer",
        Decimal("12.35"),  # cents, as decimal(18, 2)
    )
    dispute = store.record(_decision("DISPUTE", APPROVER, "approver", "99"))
    assert dispute.amount is None  # a dispute carries no amount
    assert [d.decision for d in store.history(FINDING)] == ["PROPOSE_CREDIT", "DISPUTE"]
    assert set(ROLE_DECISIONS) == {"viewer", "reviewer", "approver"}


# --------------------------------------------------------------------------- four eyes
def test_four_eyes_above_the_threshold(store):
    threshold = materiality_threshold()
    assert threshold == Decimal("50.00")  # dbt_project.yml's var
    below = str(threshold - Decimal("0.01"))
    # below the threshold one approver is enough
    alone = store.record(_decision("APPROVE_CREDIT", APPROVER, "approver", below))
    assert alone.amount == Decimal("49.99")
    # at the threshold, without a proposal: refused, and said why
    with pytest.raises(DecisionRefused, match="needs two people, a proposal by a reviewer first"):
        store.record(_decision("APPROVE_CREDIT", APPROVER, "approver", "-50.00"))
    # the proposer cannot approve their own proposal (even signed in as an approver)
    store.record(_decision("PROPOSE_CREDIT", REVIEWER, "reviewer", "120"))
    with pytest.raises(DecisionRefused, match=r"proposed this 120\.00 USD and cannot also approve"):
        store.record(_decision("APPROVE_CREDIT", REVIEWER.upper(), "approver", "120"))
    # a proposal on another finding does not count
    other = "f" * 32
    with pytest.raises(DecisionRefused, match="needs two people"):
        store.record(_decision("APPROVE_CREDIT", APPROVER, "approver", "120", discrepancy_id=other))
    # someone else approves: recorded
    approved = store.record(_decision("APPROVE_CREDIT", OTHER_APPROVER, "approver", "120"))
    assert [(d.decision, d.decided_by) for d in store.history(FINDING)] == [
        ("APPROVE_CREDIT", APPROVER),
        ("PROPOSE_CREDIT", REVIEWER),
        ("APPROVE_CREDIT", OTHER_APPROVER),
    ]
    assert store.history(FINDING)[-1] == approved
    # the same decision twice is refused; a file is never replaced
    with pytest.raises(DecisionRefused, match="already stored"):
        store.record(approved)
    with pytest.raises(FileExistsError):
        store._append(approved)
    assert len(list(store.folder.glob("*.json"))) == 3


# --------------------------------------------------------------------------- concurrent writers
WRITER = """
import sys
from decimal import Decimal
from pathlib import Path
from recon.decisions import Decision, FolderDecisionStore
store = FolderDecisionStore(Path(sys.argv[1]))
for index in range(4):
    store.record(Decision(discrepancy_id=sys.argv[2], decision="PROPOSE_CREDIT",
        decided_by=f"process{index}@example.com", decided_role="reviewer",
        amount=Decimal(100 + index)))
"""


def test_concurrent_decisions_are_all_kept(store):
    """Eight threads here and a second process write at the same moment: every decision is
    kept, each in its own whole file, and the four-eyes check saw the proposal."""
    store.record(_decision("PROPOSE_CREDIT", REVIEWER, "reviewer", "500"))
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(store.folder), FINDING])
    start = threading.Barrier(8)
    recorded: list[Decision] = []
    errors: list[BaseException] = []

    def decide(index: int) -> None:
        decision = (
            _decision("APPROVE_CREDIT", f"approver{index}@example.com", "approver", "500")
            if index % 2
            else _decision("DISPUTE", f"reviewer{index}@example.com", "reviewer")
        )
        start.wait()
        try:
            recorded.append(store.record(decision))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=decide, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert process.wait(timeout=60) == 0
    assert errors == []
    history = store.history(FINDING)
    assert len(history) == 1 + 8 + 4
    assert {d.decision_id for d in recorded} <= {d.decision_id for d in history}
    assert len({d.decision_id for d in history}) == len(history)
    files = list(store.folder.glob("*.json"))
    assert len(files) == len(history)
    for path in files:  # each file holds one whole decision, the one its name says
        assert json.loads(path.read_text(encoding="utf-8"))["decision_id"] in path.name
    assert not list(store.folder.glob(".*.partial"))
