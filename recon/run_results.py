"""What a dbt build cost, from dbt's run_results.json (the flow's summary reports it).

- `node_seconds`: the sum of every node's `execution_time` (seeds, models, snapshots, tests):
  the time spent in the warehouse and in dbt per node, threads added up (it can exceed the
  wall-clock time with several threads);
- `elapsed_seconds`: the invocation's wall-clock time (`elapsed_time`);
- what the adapter reports per node in `adapter_response`. dbt-snowflake 1.11 reports, for the
  LAST statement a node ran, its `query_id` and `rows_affected` (and rows inserted, deleted,
  updated from the connector's DML statistics when they are known). A node that runs several
  statements (an incremental model: create the new rows, then begin, delete, insert, commit;
  a seed's batches) is reported by its last one only: the other queries are in Snowflake's
  QUERY_HISTORY under the session's query tag. dbt-duckdb 1.11 reports no query id, and rows
  for seeds only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SLOWEST = 5
WRITING_NODES = ("model.", "seed.", "snapshot.")


@dataclass(frozen=True)
class BuildCost:
    nodes: int
    node_seconds: float
    elapsed_seconds: float
    query_ids: int  # nodes whose adapter response names a warehouse query
    rows_affected: int | None  # summed over the models, seeds and snapshots that report rows
    rows_reported_by: int = 0  # how many of them report rows
    writing_nodes: int = 0  # models, seeds and snapshots
    slowest: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "build_nodes": self.nodes,
            "build_seconds": round(self.node_seconds, 3),
            "build_elapsed_seconds": round(self.elapsed_seconds, 3),
            "build_query_ids": self.query_ids,
            "build_rows_affected": self.rows_affected,
            "build_rows_reported_by": self.rows_reported_by,
            "build_slowest_nodes": self.slowest,
        }

    def markdown(self) -> list[str]:
        lines = [
            "## The build",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| dbt nodes | {self.nodes} |",
            f"| seconds in nodes (sum of execution_time) | {self.node_seconds:.1f} |",
            f"| wall-clock seconds | {self.elapsed_seconds:.1f} |",
        ]
        if self.query_ids:
            lines.append(f"| nodes with a warehouse query id | {self.query_ids} |")
        if self.rows_affected is not None:
            lines.append(
                f"| rows written, as reported by {self.rows_reported_by} of the "
                f"{self.writing_nodes} models, seeds and snapshots | {self.rows_affected} |"
            )
        lines += ["", "| slowest nodes | seconds | query id |", "|---|---:|---|"]
        lines += [
            f"| {node['unique_id']} | {node['seconds']:.1f} | {node['query_id'] or ''} |"
            for node in self.slowest
        ]
        return lines


def _rows(response: dict[str, Any]) -> int | None:
    value = response.get("rows_affected")
    return value if isinstance(value, int) and value >= 0 else None


def build_cost(run_results_path: Path) -> BuildCost:
    """The cost of the build whose run_results.json this is."""
    document = json.loads(run_results_path.read_text(encoding="utf-8"))
    results = document.get("results") or []
    rows = [
        _rows(result.get("adapter_response") or {})
        for result in results
        if result["unique_id"].startswith(WRITING_NODES)
    ]
    known_rows = [value for value in rows if value is not None]
    slowest = sorted(results, key=lambda result: -float(result.get("execution_time") or 0))
    return BuildCost(
        nodes=len(results),
        node_seconds=sum(float(result.get("execution_time") or 0) for result in results),
        elapsed_seconds=float(document.get("elapsed_time") or 0),
        query_ids=sum(
            1 for result in results if (result.get("adapter_response") or {}).get("query_id")
        ),
        rows_affected=sum(known_rows) if known_rows else None,
        rows_reported_by=len(known_rows),
        writing_nodes=len(rows),
        slowest=[
            {
                "unique_id": result["unique_id"],
                "seconds": round(float(result.get("execution_time") or 0), 3),
                "query_id": (result.get("adapter_response") or {}).get("query_id"),
            }
            for result in slowest[:SLOWEST]
        ],
    )
