"""``examples/python_api.py`` runs as documented, from a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "python_api.py"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STAGING_"))}
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_the_python_api_example_runs(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("analysis ")
    assert "27 rows and 13 columns analysed" in lines[0]
    assert sum(", file://" in line and ": uploaded, " in line for line in lines) == 4
    assert lines[-2:] == ["4 upload attempts recorded", "consistent"]
    assert list(tmp_path.iterdir()) == []  # everything lived in its temporary directory


def test_the_example_reports_bad_input_with_exit_65(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    result = _run(tmp_path, str(bad))
    assert result.returncode == 65
    assert result.stderr.startswith(f"cannot analyse {bad}: ")
    assert "Traceback" not in result.stderr
