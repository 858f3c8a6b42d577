"""recon/manifest_check.py: each rule fails on a model that breaks it, and the project
passes them all, with the catalog of a real build (the flow's dbt docs)."""

from __future__ import annotations

import json
from typing import Any

from conftest import MONTH_ONE

from recon.manifest_check import main, problems

PROJECT = "provider_recon"


def _model(name: str, path: str, **overrides: Any) -> tuple[str, dict[str, Any]]:
    node = {
        "resource_type": "model",
        "package_name": PROJECT,
        "name": name,
        "original_file_path": f"models/{path}/{name}.sql",
        "description": "One row per thing.",
        "columns": {"thing_id": {"name": "thing_id", "description": "The thing."}},
        "depends_on": {"nodes": []},
    }
    node.update(overrides)
    return f"model.{PROJECT}.{name}", node


def _test(kind: str, model_id: str, column: str | None = None) -> tuple[str, dict[str, Any]]:
    return f"test.{PROJECT}.{kind}_{model_id}_{column}", {
        "resource_type": "test",
        "package_name": PROJECT,
        "test_metadata": {"name": kind},
        "attached_node": model_id,
        "column_name": column,
    }


def _manifest(*models: tuple[str, dict[str, Any]], keyed: bool = True) -> dict[str, Any]:
    nodes = dict(models)
    if keyed:
        for model_id in list(nodes):
            nodes.update(
                [_test("unique", model_id, "thing_id"), _test("not_null", model_id, "thing_id")]
            )
    return {"nodes": nodes}


def test_a_good_model_passes():
    assert problems(_manifest(_model("fct_things", "marts/reconciliation"))) == []


def test_a_model_without_description_or_grain_fails():
    found = problems(
        _manifest(
            _model("int_things_joined", "intermediate/things", description=""),
            _model("int_things_named", "intermediate/things", description="Things, named."),
        )
    )
    assert any("int_things_joined" in line and "no description" in line for line in found)
    assert any("int_things_named" in line and "grain" in line for line in found)


def test_a_column_without_description_fails():
    columns = {"thing_id": {"name": "thing_id", "description": ""}}
    found = problems(_manifest(_model("stg_crm__things", "staging/crm", columns=columns)))
    assert found == [
        "stg_crm__things (staging/crm/stg_crm__things.sql): column thing_id has no description"
    ]


def test_a_model_without_primary_key_test_fails():
    model_id, node = _model("rpt_things", "marts/reporting")
    only_unique = {"nodes": dict([(model_id, node), _test("unique", model_id, "thing_id")])}
    assert any("no primary-key test" in line for line in problems(only_unique))
    combined = {"nodes": dict([(model_id, node), _test("unique_combination_of_columns", model_id)])}
    assert problems(combined) == []


def test_a_columns_not_null_test_counts_as_the_not_null_test():
    model_id, node = _model("stg_crm__things", "staging/crm")
    grouped = _test("columns_not_null", model_id)
    grouped[1]["test_metadata"]["kwargs"] = {"columns": ["thing_id", "other"]}
    unique = _test("unique", model_id, "thing_id")
    assert problems({"nodes": dict([(model_id, node), unique, grouped])}) == []
    grouped[1]["test_metadata"]["kwargs"] = {"columns": ["other"]}
    found = problems({"nodes": dict([(model_id, node), unique, grouped])})
    assert any("no primary-key test" in line for line in found)


def test_an_enforced_not_null_constraint_counts_as_the_not_null_test():
    columns = {
        "thing_id": {
            "name": "thing_id",
            "description": "The thing.",
            "constraints": [{"type": "not_null"}],
        }
    }
    enforced = {"contract": {"enforced": True}}
    model_id, node = _model("fct_things", "marts/reconciliation", columns=columns, config=enforced)
    unique = _test("unique", model_id, "thing_id")
    assert problems({"nodes": dict([(model_id, node), unique])}) == []
    # a constraint that is not enforced guarantees nothing
    model_id, node = _model("fct_things", "marts/reconciliation", columns=columns, config={})
    found = problems({"nodes": dict([(model_id, node), unique])})
    assert any("no primary-key test" in line for line in found)


def test_a_mart_reading_a_source_fails_but_staging_may():
    reads_source = {"nodes": ["source.provider_recon.crm.crm_accounts"]}
    found = problems(
        _manifest(
            _model("fct_things", "marts/reconciliation", depends_on=reads_source),
            _model("stg_crm__accounts", "staging/crm", depends_on=reads_source),
        )
    )
    assert len(found) == 1 and "fct_things" in found[0] and "source" in found[0]


def test_names_follow_their_folder():
    found = problems(
        _manifest(
            _model("things", "staging/crm"),
            _model("stg_things", "staging/crm"),
            _model("things_joined", "intermediate/things"),
            _model("rpt_things", "marts/reconciliation"),
            _model("fct_things", "marts/reporting"),
        )
    )
    assert sorted(line.split(" ")[0] for line in found) == [
        "fct_things",
        "rpt_things",
        "stg_things",
        "things",
        "things_joined",
    ]


def test_with_a_catalog_every_mart_column_must_be_described():
    model_id, node = _model("fct_things", "marts/reconciliation")
    catalog = {"nodes": {model_id: {"columns": {"THING_ID": {}, "AMOUNT": {}}}}}
    found = problems(_manifest((model_id, node)), catalog)
    assert found == [
        "fct_things (marts/reconciliation/fct_things.sql): column amount is not described"
    ]


def test_the_project_passes_with_the_catalog_of_a_real_build(reconciled_month, capsys):
    docs = reconciled_month.report_dir / MONTH_ONE / "dbt_docs"
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    assert problems(manifest, catalog) == []
    assert main([str(docs / "manifest.json"), str(docs / "catalog.json")]) == 0
    assert "models described" in capsys.readouterr().out
