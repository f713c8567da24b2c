"""Trimming the stored final object; JSON text without NaN."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from outbox.jsontext import dumps_json
from outbox.trimming import measure_json_bytes, trim_final_object


def _final(issues: int) -> dict[str, Any]:
    return {
        "analysis_id": "an-1",
        "report": {
            "summary": "s",
            "rowLevelIssues": [
                {"row": i, "code": "bad_value", "old_value": "x" * 40} for i in range(issues)
            ],
        },
    }


def test_a_small_object_is_stored_as_it_is() -> None:
    final = _final(3)
    result = trim_final_object(final, 10_000)
    assert result.final_object == final
    assert not result.trimmed
    assert result.size_bytes == measure_json_bytes(final)


@pytest.mark.parametrize("limit", [1024, 2048, 5000, 20_000])
def test_row_level_issues_are_cut_to_the_longest_prefix_that_fits(limit: int) -> None:
    final = _final(1000)
    result = trim_final_object(
        final, limit, full_report={"download_id": "d", "file_name": "r.json"}
    )

    kept = result.final_object["report"]["rowLevelIssues"]
    assert result.trimmed
    assert result.size_bytes == measure_json_bytes(result.final_object) <= limit
    assert kept == final["report"]["rowLevelIssues"][: len(kept)]
    longer = dict(result.final_object)
    longer["report"] = {
        **result.final_object["report"],
        "rowLevelIssues": final["report"]["rowLevelIssues"][: len(kept) + 1],
    }
    longer["trimmed"] = {**result.final_object["trimmed"], "row_level_issues_kept": len(kept) + 1}
    assert measure_json_bytes(longer) > limit  # one more would not fit
    marker = result.final_object["trimmed"]
    assert marker["row_level_issues_total"] == 1000
    assert marker["row_level_issues_kept"] == len(kept)
    assert marker["full_report_download_id"] == "d"
    assert len(final["report"]["rowLevelIssues"]) == 1000  # the input is not modified


@pytest.mark.parametrize("issues", [10, 0])
def test_long_values_are_cut_with_a_mark_when_issues_are_not_enough(issues: int) -> None:
    final = _final(issues)
    final["report"]["summary"] = "y" * 5000
    final["report"]["top"] = [{"value": "z" * 1_000_000, "count": 3}]
    result = trim_final_object(final, 4096)
    assert result.trimmed
    assert result.size_bytes == measure_json_bytes(result.final_object) <= 4096
    assert result.final_object["report"]["rowLevelIssues"] == []
    summary = result.final_object["report"]["summary"]
    kept = result.final_object["trimmed"]["values_truncated_to_characters"]
    assert summary == "y" * kept + f"…[{5000 - kept} more characters]"
    assert result.final_object["report"]["top"][0]["count"] == 3
    assert final["report"]["top"][0]["value"] == "z" * 1_000_000  # the input is not modified


def test_an_object_too_large_even_cut_is_stored_marked() -> None:
    final = _final(0)
    final["report"]["many"] = ["w" * 100] * 1000
    result = trim_final_object(final, 1024)
    assert result.trimmed
    assert result.final_object["report"]["many"][0] == "w" * 64 + "…[36 more characters]"


def test_json_text_is_compact_utf8_and_has_no_nan() -> None:
    text = dumps_json(
        {"a": [1.5, math.nan, math.inf], "é": "東京", "t": datetime(2026, 1, 2, tzinfo=UTC)}
    )
    assert json.loads(text) == {
        "a": [1.5, None, None],
        "é": "東京",
        "t": "2026-01-02T00:00:00+00:00",
    }
    assert " " not in text
    with pytest.raises(TypeError):
        dumps_json({"x": object()})
