"""Download entries in the final object, report rendering, analysis id validation."""

from __future__ import annotations

from typing import Any

import pytest

from clean_my_data.commands.report import render_report
from domain.analysis_id import InvalidAnalysisIdError, validate_analysis_id
from domain.errors import UserFacingError
from outbox.reports import build_download_entry, merge_download_entries

ROW: dict[str, Any] = {
    "download_id": "d1",
    "file_name": "a.csv",
    "format": "csv",
    "size_bytes": 10,
    "sha256": "ab" * 32,
    "s3_path": "s3://b/k.csv",
    "status": "upload_failed",
    "last_error": "AccessDenied",
    "staged_path": "secret-internal",
}


def test_an_entry_has_the_design_fields_and_the_error_only_when_failed() -> None:
    entry = build_download_entry(ROW)
    assert entry == {
        "download_id": "d1",
        "file_name": "a.csv",
        "format": "csv",
        "size_bytes": 10,
        "sha256": "ab" * 32,
        "s3_path": "s3://b/k.csv",
        "status": "upload_failed",
        "error": "AccessDenied",
    }
    assert "error" not in build_download_entry({**ROW, "status": "uploaded"})


def test_merge_replaces_in_place_appends_new_and_keeps_others() -> None:
    final = {"report": {"downloads": [{"download_id": "d0"}, {"download_id": "d1", "x": 1}]}}
    merged = merge_download_entries(final, [{"download_id": "d1", "y": 2}, {"download_id": "d2"}])
    assert merged["report"]["downloads"] == [
        {"download_id": "d0"},
        {"download_id": "d1", "y": 2},
        {"download_id": "d2"},
    ]
    assert final["report"]["downloads"][1] == {"download_id": "d1", "x": 1}  # input untouched
    assert merge_download_entries({}, [{"download_id": "a"}])["report"]["downloads"] == [
        {"download_id": "a"}
    ]


def test_render_report_presigns_only_uploaded_entries() -> None:
    stored = {
        "report": {
            "downloads": [
                {"download_id": "a", "status": "uploaded", "s3_path": "s3://b/a"},
                {"download_id": "b", "status": "pending", "s3_path": "s3://b/b"},
                {
                    "download_id": "c",
                    "status": "uploaded",
                    "s3_path": "s3://b/c",
                    "presigned_url": "old",
                },
            ]
        }
    }
    asked: list[str] = []

    def presign(s3_path: str) -> str:
        asked.append(s3_path)
        return f"https://signed/{s3_path[-1]}"

    plain = render_report(stored)
    signed = render_report(stored, presign)

    assert [e.get("presigned_url") for e in plain["report"]["downloads"]] == [None, None, None]
    assert [e.get("presigned_url") for e in signed["report"]["downloads"]] == [
        "https://signed/a",
        None,
        "https://signed/c",
    ]
    assert asked == ["s3://b/a", "s3://b/c"]
    assert stored["report"]["downloads"][2]["presigned_url"] == "old"  # input untouched


@pytest.mark.parametrize(
    "bad", ["", "   ", "x" * 129, "a\nb", "tab\there", "a b", "-x", "a/b", "Ünïcødé"]
)
def test_unstorable_analysis_ids_are_one_line_errors(bad: str) -> None:
    with pytest.raises(InvalidAnalysisIdError) as raised:
        validate_analysis_id(bad)
    assert isinstance(raised.value, UserFacingError)
    assert "\n" not in str(raised.value)


def test_ids_of_letters_digits_and_punctuation_up_to_128_characters_are_accepted() -> None:
    for good in ("an-1", "x" * 128, "ABC1", "run:2026.12_04"):
        assert validate_analysis_id(good) == good
