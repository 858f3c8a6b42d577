"""Settings from environment variables, with the documented defaults.

| variable          | meaning                                  | default                    |
|-------------------|------------------------------------------|----------------------------|
| RECON_RAW_DIR     | folder of raw CSV files                  | data/raw                   |
| RECON_SEEDS_DIR   | folder of the reference seeds            | seeds                      |
| RECON_DUCKDB_PATH | DuckDB database the marts are written to | data/provider_recon.duckdb |
| RECON_REPORT_DIR  | where monthly reports are written        | reports                    |
| RECON_TARGET      | dbt target (duckdb or snowflake)         | duckdb                     |

What readers see (recon/publish.py, recon/marts.py): RECON_PUBLISHED_DIR on DuckDB (default
`published/` beside RECON_DUCKDB_PATH; readers open the catalog file of the same name in it),
RECON_PUBLISHED_SCHEMA on Snowflake (default `recon`).

RECON_RESOLUTIONS_DIR (default `resolutions`) is the folder of discrepancy_resolutions.csv,
the decisions on findings reviewed in git (docs/DECISIONS.md). RECON_DECISIONS_DIR (default
`decisions/` in it) is the DuckDB decision store of the dashboard, one JSON file per decision;
on Snowflake the store is the table `discrepancy_decisions` of RECON_DECISIONS_SCHEMA (default
`recon_decisions`) (recon/decisions.py).

Relative paths are relative to the project directory (the repository root).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(os.environ.get("RECON_PROJECT_DIR", Path(__file__).resolve().parents[1]))


def _path(variable: str, default: str) -> Path:
    value = Path(os.environ.get(variable) or default)
    return value if value.is_absolute() else PROJECT_DIR / value


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    raw_dir: Path
    seeds_dir: Path
    duckdb_path: Path
    report_dir: Path
    target: str
    resolutions_dir: Path = PROJECT_DIR / "resolutions"
    # Write-audit-publish (recon/publish.py): dbt builds and tests in duckdb_path (DuckDB) or
    # the profile's schema (Snowflake), a private place; readers read what was published.
    published_dir_setting: Path | None = None
    published_schema: str = "recon"
    # The decision store (recon/decisions.py): a folder on DuckDB, a schema on Snowflake.
    decisions_dir_setting: Path | None = None
    decisions_schema: str = "recon_decisions"

    @property
    def decisions_dir(self) -> Path:
        """DuckDB: the append-only folder of stored decisions (one JSON file each)."""
        return self.decisions_dir_setting or self.resolutions_dir / "decisions"

    @property
    def published_dir(self) -> Path:
        """DuckDB: the folder of the published months and of the catalog readers open."""
        return self.published_dir_setting or self.duckdb_path.parent / "published"

    @property
    def published_catalog(self) -> Path:
        """DuckDB: the database file readers (BI tools, the dashboard, the export) open."""
        return self.published_dir / self.duckdb_path.name

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            project_dir=PROJECT_DIR,
            raw_dir=_path("RECON_RAW_DIR", "data/raw"),
            seeds_dir=_path("RECON_SEEDS_DIR", "seeds"),
            duckdb_path=_path("RECON_DUCKDB_PATH", "data/provider_recon.duckdb"),
            report_dir=_path("RECON_REPORT_DIR", "reports"),
            target=os.environ.get("RECON_TARGET", "duckdb"),
            resolutions_dir=_path("RECON_RESOLUTIONS_DIR", "resolutions"),
            published_dir_setting=(
                _path("RECON_PUBLISHED_DIR", "") if os.environ.get("RECON_PUBLISHED_DIR") else None
            ),
            published_schema=os.environ.get("RECON_PUBLISHED_SCHEMA") or "recon",
            decisions_dir_setting=(
                _path("RECON_DECISIONS_DIR", "") if os.environ.get("RECON_DECISIONS_DIR") else None
            ),
            decisions_schema=os.environ.get("RECON_DECISIONS_SCHEMA") or "recon_decisions",
        )

    def dbt_env(self) -> dict[str, str]:
        """Absolute paths for dbt, whatever directory it is started from."""
        return {
            "RECON_RAW_DIR": str(self.raw_dir),
            "RECON_SEEDS_DIR": str(self.seeds_dir),
            "RECON_RESOLUTIONS_DIR": str(self.resolutions_dir),
            "RECON_DECISIONS_DIR": str(self.decisions_dir),
            "RECON_DECISIONS_SCHEMA": self.decisions_schema,
            "RECON_DUCKDB_PATH": str(self.duckdb_path),
            "RECON_TARGET": self.target,
        }
