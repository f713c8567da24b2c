"""Object keys: hostile analysis ids and file names always give safe, bounded keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from outbox.keys import MAX_KEY_LENGTH, build_object_key, build_s3_path, format_key_timestamp
from outbox.settings import StoreLocation

SAFE_KEY = re.compile(r"^[a-z0-9._/-]+$")
HOSTILE = st.one_of(
    st.text(max_size=2000),
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "../",
            "../../etc/passwd",
            "/abs/path",
            "a/../../b",
            "\x00\x1f\x7f",
            "C:\\Windows\\system32",
            "ÄÖÜ-ß-東京",
            "\u202e\u200b",
            "x" * 2000,
            " ",
            "....",
        ]
    ),
    st.builds(lambda a, b: a + "/" + b, st.text(max_size=50), st.text(max_size=50)),
)
EXTENSIONS = st.sampled_from(["csv", "CSV", "xlsx", "json", "Json", "gz", "txt1"])
TIMESTAMP = datetime(2026, 11, 29, 12, 34, 56, tzinfo=UTC)


def _assert_safe(key: str) -> None:
    assert SAFE_KEY.match(key), key
    assert key == key.lower()
    assert len(key) <= MAX_KEY_LENGTH
    assert ".." not in key
    assert "//" not in key
    assert not key.startswith("/")
    for segment in key.split("/"):
        assert segment not in ("", ".", ".."), key
        assert not segment.startswith(("-", ".")), key


@settings(max_examples=300)
@given(analysis_id=HOSTILE, stem=HOSTILE, ext=EXTENSIONS, prefix=HOSTILE, env=HOSTILE)
def test_hostile_parts_give_a_safe_bounded_deterministic_key(
    analysis_id: str, stem: str, ext: str, prefix: str, env: str
) -> None:
    file_name = f"{stem}.{ext}"
    key = build_object_key(prefix, env, "clean-my-data", analysis_id, TIMESTAMP, file_name)

    _assert_safe(key)
    assert key == build_object_key(prefix, env, "clean-my-data", analysis_id, TIMESTAMP, file_name)
    assert key.endswith("." + ext.lower())  # the extension is kept
    parts = key.split("/")
    assert parts[-1].startswith("20261129t123456z_")
    assert parts[-2 - 1] == "clean-my-data"  # env/tool/analysis/file: always four parts at the end


@given(analysis_id=HOSTILE, file_name=HOSTILE)
def test_any_file_name_without_extension_is_still_safe(analysis_id: str, file_name: str) -> None:
    _assert_safe(build_object_key("", "dev", "clean-my-data", analysis_id, TIMESTAMP, file_name))


@given(prefix=st.lists(st.sampled_from(["team", "Data", "x y", "..", ""]), max_size=4))
def test_the_key_stays_inside_the_sanitised_prefix(prefix: list[str]) -> None:
    raw = "/".join(prefix)
    key = build_object_key(raw, "dev", "clean-my-data", "an-1", TIMESTAMP, "a.csv")
    bare = build_object_key("", "dev", "clean-my-data", "an-1", TIMESTAMP, "a.csv")
    assert key.endswith(bare)
    head = key[: -len(bare)]
    assert head == "" or head.endswith("/")
    assert ".." not in head


@given(a=st.text(min_size=1, max_size=200), b=st.text(min_size=1, max_size=200))
def test_different_analysis_ids_never_share_a_folder(a: str, b: str) -> None:
    key_a = build_object_key("", "dev", "t", a, TIMESTAMP, "r.csv")
    key_b = build_object_key("", "dev", "t", b, TIMESTAMP, "r.csv")
    assert (key_a.split("/")[2] == key_b.split("/")[2]) == (a == b)


def test_a_plain_key_reads_as_the_design_says() -> None:
    key = build_object_key(
        "base", "prod", "clean-my-data", "abcd1234", "2025-11-29T12:34:56Z", "cleaned_sample.csv"
    )
    assert key == "base/prod/clean-my-data/abcd1234/20251129t123456z_cleaned_sample.csv"


def test_the_discriminator_separates_same_second_reruns_and_keeps_the_extension() -> None:
    one = build_object_key("", "dev", "t", "a", TIMESTAMP, "Report.JSON", discriminator="0a1b2c")
    two = build_object_key("", "dev", "t", "a", TIMESTAMP, "Report.JSON", discriminator="ffee00")
    assert one == "dev/t/a/20261129t123456z_report-0a1b2c.json"
    assert one != two
    assert two.endswith("-ffee00.json")


def test_hostile_examples_by_hand() -> None:
    key = build_object_key("", "dev", "t", "../../x", TIMESTAMP, "../../etc/Pass Wd.CSV")
    _assert_safe(key)
    assert key.endswith("_pass-wd.csv")
    assert key.split("/")[2].startswith("x-")  # sanitised, with a hash of the original id
    empty = build_object_key("", "", "", "", TIMESTAMP, "")
    _assert_safe(empty)
    assert len(empty.split("/")) == 4


def test_timestamps_are_utc_whatever_their_form() -> None:
    plus_two = TIMESTAMP.astimezone(timezone(timedelta(hours=2)))
    assert format_key_timestamp(plus_two) == "20261129t123456z"
    assert format_key_timestamp(TIMESTAMP.replace(tzinfo=None)) == "20261129t123456z"
    assert format_key_timestamp("2026-11-29T14:34:56+02:00") == "20261129t123456z"
    assert format_key_timestamp("not a time/..") == format_key_timestamp("not a time/..")
    _assert_safe(format_key_timestamp("not a time/.."))


def test_s3_and_file_paths() -> None:
    assert build_s3_path(StoreLocation("s3", "bkt", "p"), "p/k.csv") == "s3://bkt/p/k.csv"
    assert build_s3_path(StoreLocation("file", "/srv/art", ""), "k.csv") == "file:///srv/art/k.csv"


def _folder(analysis_id: str) -> str:
    return build_object_key("", "dev", "t", analysis_id, TIMESTAMP, "r.csv").split("/")[2]


def test_an_id_spelled_like_another_ids_folder_gets_its_own_folder() -> None:
    sanitised = _folder("ABC1")  # "abc1-<hash>": itself a valid analysis id
    assert _folder(sanitised) != sanitised


@given(raw=st.text(min_size=1, max_size=200))
def test_a_folder_name_used_as_an_id_never_lands_in_the_same_folder(raw: str) -> None:
    folder = _folder(raw)
    assert (_folder(folder) == folder) == (folder == raw)


@given(
    a=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True),
    b=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True),
)
def test_different_valid_ids_never_share_a_folder(a: str, b: str) -> None:
    assert (_folder(a) == _folder(b)) == (a == b)
    assert _folder(a) == _folder(a)  # deterministic
