"""The raw files of the months before the measured one, validated as the monthly flow's
earlier runs validated them (recon/validate.py keeps a registry of validated files beside
the database): `python -m bench.validated_history MONTH`, in the step's environment.

The bench runs it before the measured `recon run`, not counted: a monthly deployment's flow
validates its own drop, the files of earlier months having been validated by earlier runs.
"""

from __future__ import annotations

import sys

from recon.config import Settings
from recon.validate import ValidatedFiles, check_raw_files


def main(month: str) -> None:
    settings = Settings.from_env()
    result = check_raw_files(
        settings.raw_dir, None, ValidatedFiles(settings.validated_files_path, month)
    )
    print(f"{len(result.files)} files validated, {len(result.unchanged)} validated before")


if __name__ == "__main__":
    main(sys.argv[1])
