"""Child process for test_crash: stage three artifacts, arm a crash point, persist.

    python -m tests.integration.outbox.crash_child DB_URL STAGING_DIR ANALYSIS_ID CONTENT POINT

POINT ``-`` arms nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from outbox import crashpoints
from outbox.db import open_database
from outbox.persist import persist_analysis_report
from outbox.settings import Settings
from tests.integration.outbox.support import build_final_object, stage_artifacts


def main(argv: list[str]) -> int:
    url, staging, analysis_id, content, point = argv
    settings = dataclasses.replace(Settings(), database_url=url, staging_dir=Path(staging))
    engine = open_database(settings)
    artifacts = stage_artifacts(settings, analysis_id, content.encode())
    crashpoints.arm(None if point == "-" else point)  # "-": no crash point
    persist_analysis_report(engine, build_final_object(analysis_id, artifacts), artifacts, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
