"""The project's own dbt-project-evaluator: rules read from dbt's manifest.json (and, when
given, catalog.json). Run by `make lint` after `dbt parse`:

    python -m recon.manifest_check target/manifest_check/manifest.json [catalog.json]

Fails (exit 1, one line per problem) when a model of this project

- has no description, or its description does not state the grain in its first sentence
  ("One row per ...");
- declares a column without a description;
- (with a catalog) under marts/, has a column in the database that its properties file does
  not describe;
- has no primary-key test: `unique` and `not_null` on one column (the column in a
  `columns_not_null` test, or an enforced contract's not_null constraint, counts as the
  `not_null`), or `unique_combination_of_columns`;
- under marts/, selects from a source directly (only staging reads sources);
- breaks its folder's naming convention (NAMING below).
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

PROJECT = "provider_recon"
GRAIN = re.compile(r"^\s*One row per\b")

# (folder prefix under models/, name pattern); the first matching folder applies.
NAMING: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("staging/", re.compile(r"^(stg|base)_[a-z0-9]+__[a-z0-9_]+$")),
    ("intermediate/", re.compile(r"^int_[a-z0-9_]+$")),
    ("marts/reconciliation/", re.compile(r"^fct_[a-z0-9_]+$")),
    ("marts/reporting/", re.compile(r"^rpt_[a-z0-9_]+$")),
    ("marts/", re.compile(r"^(fct|dim|rpt)_[a-z0-9_]+$")),
)


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    }


def _folder_path(node: dict[str, Any]) -> str:
    """The model's path under models/ (original_file_path minus the models/ prefix)."""
    path = node["original_file_path"].replace("\\", "/")
    return path.split("models/", 1)[1] if "models/" in path else path


def _primary_key_tests(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """For each model: 'combination' when it has unique_combination_of_columns, and each
    column that has both a unique test and a not_null test or enforced constraint."""
    unique_columns: dict[str, set[str]] = defaultdict(set)
    not_null_columns: dict[str, set[str]] = defaultdict(set)
    keys: dict[str, set[str]] = defaultdict(set)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        name = node["test_metadata"]["name"]
        model = node.get("attached_node")
        if not model:
            continue
        column = (node.get("column_name") or "").lower()
        if name == "unique_combination_of_columns":
            keys[model].add("combination")
        elif name == "unique" and column:
            unique_columns[model].add(column)
        elif name == "not_null" and column:
            not_null_columns[model].add(column)
        elif name == "columns_not_null":
            columns = node["test_metadata"].get("kwargs", {}).get("columns") or []
            not_null_columns[model].update(str(name).lower() for name in columns)
    for unique_id, node in _models(manifest).items():
        if node.get("config", {}).get("contract", {}).get("enforced"):
            for name, column in node.get("columns", {}).items():
                if any(c.get("type") == "not_null" for c in column.get("constraints", [])):
                    not_null_columns[unique_id].add(name.lower())
    for model, columns in unique_columns.items():
        keys[model] |= columns & not_null_columns[model]
    return keys


def problems(manifest: dict[str, Any], catalog: dict[str, Any] | None = None) -> list[str]:
    """Every rule broken by every model, as sentences naming the model."""
    found: list[str] = []
    keys = _primary_key_tests(manifest)
    for unique_id, node in sorted(_models(manifest).items()):
        name, path = node["name"], _folder_path(node)
        description = (node.get("description") or "").strip()
        if not description:
            found.append(f"{name} ({path}): no description")
        elif not GRAIN.match(description):
            found.append(
                f"{name} ({path}): the description's first sentence must state the grain "
                f"('One row per ...'), got {description[:60]!r}"
            )
        for column, properties in sorted(node.get("columns", {}).items()):
            if not (properties.get("description") or "").strip():
                found.append(f"{name} ({path}): column {column} has no description")
        if not keys.get(unique_id):
            found.append(
                f"{name} ({path}): no primary-key test (unique + not_null on a column, "
                "or unique_combination_of_columns)"
            )
        if path.startswith("marts/"):
            sources = [
                parent for parent in node["depends_on"]["nodes"] if parent.startswith("source.")
            ]
            if sources:
                found.append(
                    f"{name} ({path}): a mart selects from a source directly: {', '.join(sources)}"
                )
            if catalog is not None and unique_id in catalog.get("nodes", {}):
                declared = {column.lower() for column in node.get("columns", {})}
                for column in sorted(catalog["nodes"][unique_id]["columns"]):
                    if column.lower() not in declared:
                        found.append(f"{name} ({path}): column {column.lower()} is not described")
        pattern = next((rule for folder, rule in NAMING if path.startswith(folder)), None)
        if pattern is not None and not pattern.match(name):
            found.append(
                f"{name} ({path}): the name breaks its folder's convention ({pattern.pattern})"
            )
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    manifest = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    catalog = json.loads(Path(args[1]).read_text(encoding="utf-8")) if len(args) > 1 else None
    found = problems(manifest, catalog)
    models = len(_models(manifest))
    if found:
        print(f"manifest check: {len(found)} problems in {models} models", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"manifest check: {models} models described, keyed, layered and named by the rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
