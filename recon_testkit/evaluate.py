"""dbt-project-evaluator's rules on this project, in a scratch copy: nothing is vendored.

    make evaluate
    python -m recon_testkit.evaluate --evaluator DIR --dbt-utils DIR

Needs local copies of dbt-labs/dbt-project-evaluator (v1.3.2, the release for dbt-core 1.11)
and dbt-labs/dbt-utils (1.x), each a folder with its dbt_project.yml or a bare git mirror (the
given tag, else HEAD, is exported): --evaluator / --dbt-utils, or RECON_EVALUATOR_DIR /
RECON_DBT_UTILS_DIR. The project as it is in the working tree is copied to a temporary folder
with both packages in its dbt_packages/, `dbt build --select package:dbt_project_evaluator`
runs there on a scratch DuckDB file (the project's hooks ingest RECON_RAW_DIR first: run it
after `make demo`), and each rule's findings are printed. Exit 1 while any remain. The
project's settings for the evaluator, and every deliberate exception with its reason, are in
dbt_project.yml (vars: dbt_project_evaluator).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from recon.config import PROJECT_DIR, Settings

EVALUATOR_TAG = "v1.3.2"
DBT_UTILS_TAG = "1.4.1"
# summaries, not findings: one row each whatever the project
COVERAGE_TABLES = {"fct_documentation_coverage", "fct_test_coverage"}


def _package(source: Path, tag: str, destination: Path) -> None:
    """A package folder, or the tag (else HEAD) of a bare git mirror, into destination."""
    if (source / "dbt_project.yml").exists():
        shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".git"))
        return
    git = ["git", f"--git-dir={source}"]
    ref = (
        tag
        if subprocess.run(
            [*git, "rev-parse", "-q", "--verify", tag], capture_output=True
        ).returncode
        == 0
        else "HEAD"
    )
    destination.mkdir(parents=True)
    archive = subprocess.run([*git, "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)


def _project_files() -> list[str]:
    """The working tree's files that git knows or would add (not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (PROJECT_DIR / name).is_file()]


def _copy_project(destination: Path) -> None:
    for name in _project_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_DIR / name, target)


def write_exceptions(project: Path) -> int:
    """The exceptions listed in dbt_project.yml (vars: dbt_project_evaluator: exceptions), as
    the evaluator's exceptions seed of the scratch project, in place of the package's empty
    one; returns how many."""
    import csv

    import yaml

    config = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))
    exceptions = config["vars"]["dbt_project_evaluator"].get("exceptions") or []
    (
        project / "dbt_packages/dbt_project_evaluator/seeds/dbt_project_evaluator_exceptions.csv"
    ).unlink()
    seed = project / "seeds" / "dbt_project_evaluator_exceptions.csv"
    with seed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fct_name", "column_name", "id_to_exclude", "comment"])
        for exception in exceptions:
            writer.writerow(
                [
                    exception["fct_name"],
                    exception["column_name"],
                    exception["id_to_exclude"],
                    " ".join(str(exception["comment"]).split()),
                ]
            )
    return len(exceptions)


def findings(project: Path, duckdb_path: Path) -> dict[str, list[tuple]]:
    """Rows of every fct_* table of the evaluator but the coverage summaries."""
    import duckdb

    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_name like 'fct\\_%' escape '\\' order by table_name"
        ).fetchall()
        return {
            table: connection.execute(f'select * from "{schema}"."{table}"').fetchall()
            for schema, table in tables
            if table not in COVERAGE_TABLES
        }
    finally:
        connection.close()


def evaluate(evaluator: Path, dbt_utils: Path, keep: Path | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="recon-evaluate-") as scratch:
        root = keep or Path(scratch)
        project = root / "project"
        _copy_project(project)
        _package(evaluator, EVALUATOR_TAG, project / "dbt_packages" / "dbt_project_evaluator")
        _package(dbt_utils, DBT_UTILS_TAG, project / "dbt_packages" / "dbt_utils")
        exceptions = write_exceptions(project)
        duckdb_path = root / "evaluator.duckdb"
        env = {
            **os.environ,
            "RECON_DUCKDB_PATH": str(duckdb_path),
            # the project's hooks ingest the raw files first (after `make demo`: data/raw)
            "RECON_RAW_DIR": str(Settings.from_env().raw_dir),
            "RECON_SEEDS_DIR": str(project / "seeds"),
            "RECON_RESOLUTIONS_DIR": str(project / "resolutions"),
            "RECON_TARGET": "duckdb",
            "DBT_TARGET_PATH": str(root / "target"),
            "DBT_LOG_PATH": str(root / "logs"),
            "DO_NOT_TRACK": "1",
        }
        dbt = str(Path(sys.executable).with_name("dbt"))
        build = subprocess.run(
            [
                dbt,
                "build",
                "--select",
                "package:dbt_project_evaluator",
                "dbt_project_evaluator_exceptions",
                "--profiles-dir",
                str(project / "profiles"),
                "--project-dir",
                str(project),
                "--quiet",
            ],
            env=env,
            cwd=project,
        )
        # the evaluator's own data tests fail on any finding; the tables are what counts
        results = findings(project, duckdb_path)
        if not results and build.returncode:
            print("the evaluator did not build; see the output above", file=sys.stderr)
            return 2
    total = 0
    for table, rows in results.items():
        if rows:
            print(f"{table}: {len(rows)}")
            for row in rows:
                print("   " + " | ".join(str(value) for value in row))
        total += len(rows)
    rules = sum(1 for rows in results.values() if rows)
    print(
        f"dbt-project-evaluator {EVALUATOR_TAG}: {total} findings over {rules} rules; "
        f"{exceptions} documented exceptions (dbt_project.yml)"
    )
    return 1 if total else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--evaluator", default=os.environ.get("RECON_EVALUATOR_DIR"))
    parser.add_argument("--dbt-utils", default=os.environ.get("RECON_DBT_UTILS_DIR"))
    parser.add_argument("--keep", default=None, help="build in this folder and keep it")
    args = parser.parse_args(argv)
    if not args.evaluator or not args.dbt_utils:
        parser.error("name the two packages: --evaluator and --dbt-utils (see the module doc)")
    keep = Path(args.keep) if args.keep else None
    return evaluate(Path(args.evaluator), Path(args.dbt_utils), keep)


if __name__ == "__main__":
    sys.exit(main())
