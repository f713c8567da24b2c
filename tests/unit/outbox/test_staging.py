"""The staging sink: durable, hashed files; disk full / permission denied / missing directory
give a one-line error and leave nothing behind."""

from __future__ import annotations

import builtins
import dataclasses
import errno
import hashlib
import os
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from domain.artifacts import ArtifactSpec
from domain.errors import UserFacingError
from domain.model import ArtifactFormat
from outbox import staging
from outbox.settings import Settings
from outbox.staging import StagingError, StagingSink, remove_staged, staged_file_path

SPEC = ArtifactSpec("an-1", "cleaned_csv", "cleaned_sales.csv", ArtifactFormat.CSV)
JSON_SPEC = ArtifactSpec("an-1", "report_json", "sales_report.json", ArtifactFormat.JSON)


def _settings(staging_dir: Path) -> Settings:
    return dataclasses.replace(
        Settings(), staging_dir=staging_dir, artifact_store_url="s3://bkt/pre", app_env="qa"
    )


def _write_chunks(*chunks: bytes) -> Any:
    def write(stream: BinaryIO) -> None:
        for chunk in chunks:
            stream.write(chunk)

    return write


def test_an_artifact_is_streamed_to_disk_with_its_size_and_sha256(tmp_path: Path) -> None:
    sink = StagingSink(_settings(tmp_path), "an-1", "2026-11-29T12:34:56Z")
    chunks = [b"a,b\n", bytearray(b"1,2\n"), memoryview(b"3,4\n")]

    written = sink.write_artifact(SPEC, _write_chunks(*chunks))  # type: ignore[arg-type]

    body = b"a,b\n1,2\n3,4\n"
    assert written.size_bytes == len(body)
    assert written.sha256 == hashlib.sha256(body).hexdigest()
    assert written.content is None
    assert written.staged_path is not None
    assert (tmp_path / written.staged_path).read_bytes() == body
    assert os.listdir(tmp_path) == [written.staged_path]  # no temporary file left
    assert written.staged_path.startswith(SPEC.download_id)
    assert written.object_key == (
        f"pre/qa/clean-my-data/an-1/20261129t123456z_cleaned_sales-{written.sha256[:12]}.csv"
    )
    assert written.s3_path == f"s3://bkt/{written.object_key}"
    assert sink.staged == [written]


def test_each_run_stages_under_its_own_name(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    one = StagingSink(settings, "an-1", "2026-11-29T12:34:56Z").write_artifact(
        SPEC, _write_chunks(b"x")
    )
    two = StagingSink(settings, "an-1", "2026-11-29T12:34:56Z").write_artifact(
        SPEC, _write_chunks(b"x")
    )
    assert one.staged_path != two.staged_path
    assert one.object_key == two.object_key  # same bytes, same second: same object
    three = StagingSink(settings, "an-1", "2026-11-29T12:34:56Z").write_artifact(
        SPEC, _write_chunks(b"y")
    )
    assert three.object_key != one.object_key  # different bytes: never the same key


def test_disk_full_while_writing_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    sink = StagingSink(_settings(tmp_path), "an-1", "2026-11-29T12:34:56Z")

    def fill_the_disk(stream: BinaryIO) -> None:
        stream.write(b"first chunk")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StagingError, match="no space left") as raised:
        sink.write_artifact(SPEC, fill_the_disk)

    assert isinstance(raised.value, UserFacingError)
    assert "\n" not in str(raised.value)
    assert os.listdir(tmp_path) == []
    assert sink.staged == []


def test_a_generator_error_propagates_and_leaves_nothing(tmp_path: Path) -> None:
    sink = StagingSink(_settings(tmp_path), "an-1", "2026-11-29T12:34:56Z")

    def broken(stream: BinaryIO) -> None:
        stream.write(b"partial")
        raise ValueError("bad cell")

    with pytest.raises(ValueError, match="bad cell"):
        sink.write_artifact(SPEC, broken)
    assert os.listdir(tmp_path) == []


def test_permission_denied_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    if os.access(read_only, os.W_OK):  # running as root: the mode is not enforced, so the
        real_open = builtins.open  # kernel's answer is simulated at the open() call

        def deny(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if str(file).startswith(str(read_only)) and "x" in mode:
                raise PermissionError(errno.EACCES, "Permission denied", str(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(staging, "open", deny, raising=False)
    sink = StagingSink(_settings(read_only), "an-1", "2026-11-29T12:34:56Z")

    with pytest.raises(StagingError, match="permission denied") as raised:
        sink.write_artifact(SPEC, _write_chunks(b"x"))

    assert "\n" not in str(raised.value)
    assert os.listdir(read_only) == []
    read_only.chmod(0o755)


def test_a_configured_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "not-mounted"
    sink = StagingSink(_settings(missing), "an-1", "2026-11-29T12:34:56Z")

    with pytest.raises(StagingError, match="does not exist") as raised:
        sink.write_artifact(SPEC, _write_chunks(b"x"))

    assert "STAGING_DIR" in str(raised.value)
    assert not missing.exists()


def test_the_default_directory_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    sink = StagingSink(Settings(), "an-1", "2026-11-29T12:34:56Z")

    written = sink.write_artifact(SPEC, _write_chunks(b"x"))

    assert written.staged_path is not None
    assert (tmp_path / "var" / "staging" / written.staged_path).read_bytes() == b"x"


def test_discard_and_remove_staged(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    sink = StagingSink(settings, "an-1", "2026-11-29T12:34:56Z")
    first = sink.write_artifact(SPEC, _write_chunks(b"x"))
    sink.write_artifact(JSON_SPEC, _write_chunks(b"{}"))
    assert first.staged_path is not None

    assert remove_staged(settings, [first.staged_path, "gone.csv"]) == [first.staged_path]
    sink.discard()

    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="not a staged file name"):
        staged_file_path(settings, "../escape")
