"""The relay refuses to start when its bucket does not exist: one configuration error line and
exit 78, instead of failing (or retrying) every record. Any other failure of the check (the
store unreachable) is left to the uploads, which retry it."""

from __future__ import annotations

from pathlib import Path

import pytest
from moto import mock_aws

from clean_my_data import main as cli
from tests.support.ports import free_port


def _set_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **extra: str) -> None:
    (tmp_path / "staging").mkdir()
    values = {
        "AWS_ACCESS_KEY_ID": "moto",
        "AWS_SECRET_ACCESS_KEY": "moto-secret",
        "AWS_REGION": "us-east-1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STAGING_DIR": str(tmp_path / "staging"),
        "LOG_FORMAT": "json",
    }
    for name, value in (values | extra).items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("once", [True, False])
def test_a_missing_bucket_is_a_configuration_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    once: bool,
) -> None:
    _set_env(monkeypatch, tmp_path, ARTIFACT_STORE_URL="s3://no-such-bucket/pre")
    with mock_aws():
        code = cli.main(["relay", "--once"] if once else ["relay"])
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("{")]
    assert code == 78
    assert err == [
        "clean-my-data: configuration error: ARTIFACT_STORE_URL s3://no-such-bucket/pre: "
        "the bucket 'no-such-bucket' does not exist"
    ]


def test_an_existing_bucket_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    _set_env(monkeypatch, tmp_path, ARTIFACT_STORE_URL="s3://here/pre")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="here")
        assert cli.main(["relay", "--once"]) == 0, capsys.readouterr().err


def test_an_unreachable_store_is_left_to_the_uploads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """S3 down when the relay starts is a transient fault: the uploads retry it with backoff,
    so the check passes and ``relay --once`` with nothing to do ends cleanly."""
    _set_env(
        monkeypatch,
        tmp_path,
        ARTIFACT_STORE_URL="s3://here/pre",
        S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        S3_CONNECT_TIMEOUT_SECONDS="0.5",
    )
    assert cli.main(["relay", "--once"]) == 0, capsys.readouterr().err
