"""The Python API on the embedded default: SQLite, a staging directory and a local object store,
all in a temporary directory. Run: ``python examples/python_api.py [FILE.csv]``."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import clean_my_data


def main(source: Path) -> int:
    clean_my_data.configure_logging(log_level="warning")  # structured logs to stderr
    with tempfile.TemporaryDirectory(prefix="clean-my-data-example-") as tmp:
        root = Path(tmp)
        (root / "staging").mkdir()
        settings = clean_my_data.Settings(
            database_url=f"sqlite:///{root / 'clean-my-data.sqlite3'}",
            staging_dir=root / "staging",
            artifact_store_url=f"file://{root / 'artifacts'}",
        )
        try:
            final = clean_my_data.analyze_and_commit(source, settings=settings)
        except clean_my_data.InputError as exc:
            print(f"cannot analyse {source}: {exc}", file=sys.stderr)
            return exc.exit_code
        summary = final["report"]["executiveSummary"].split(". ")[0]
        print(f"analysis {final['analysis_id']}: {summary}")

        clean_my_data.relay_once(settings=settings)  # what the relay daemon does continuously
        report = clean_my_data.get_report(final["analysis_id"], presign=True, settings=settings)
        for entry in report["report"]["downloads"]:
            print(f"{entry['file_name']}: {entry['status']}, {entry['presigned_url']}")

        attempts = list(clean_my_data.history(analysis_id=final["analysis_id"], settings=settings))
        print(f"{len(attempts)} upload attempts recorded")
        result = clean_my_data.verify(settings=settings)
        print("consistent" if result.consistent else f"{len(result.problems)} problem(s)")
        return 0 if result.consistent else 1


if __name__ == "__main__":
    default = Path(__file__).with_name("sales_dirty.csv")
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
