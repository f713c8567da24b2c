"""The multipart body parsed as it arrives: the file part written once into the store's
temporary file, every malformed or unexpected body refused, nothing left behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from clean_my_data.jobs.inputs import InputTooLargeError, PendingInput
from clean_my_data.web.multipart import MAX_FIELD_BYTES, MultipartFile, multipart_boundary
from clean_my_data.web.problems import ProblemError
from outbox.jobs.model import JobInput
from outbox.settings import Settings
from relay.stores.local import LocalStore

DATA = b"id,name\r\n1, Ann \r\n2,NULL\r\n" * 1000


def _body(*parts: tuple[str, tuple[str | None, bytes]]) -> tuple[bytes, bytes]:
    """A multipart body of ``parts`` (name, (filename or None for a plain field, bytes))."""
    request = httpx.Request("POST", "http://test/", files=list(parts))
    return request.read(), multipart_boundary(request.headers["content-type"])


def _receive(
    store: LocalStore, settings: Settings, body: bytes, boundary: bytes, step: int = 4093
) -> JobInput:
    opened: list[str] = []

    def open_input(name: str) -> PendingInput:
        opened.append(name)
        return PendingInput(store, settings, name)

    with MultipartFile(boundary, open_input) as parsed:
        for start in range(0, len(body), step):
            parsed.write(body[start : start + step])
        return parsed.finish().publish()


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.mark.parametrize("step", [1, 7, 4093, 1 << 20])
def test_the_file_part_is_stored_byte_for_byte_whatever_the_chunking(
    store: LocalStore, settings: Settings, step: int
) -> None:
    body, boundary = _body(("note", (None, b"x" * 100)), ("file", ("orders.csv", DATA)))
    stored = _receive(store, settings, body, boundary, step)
    assert stored.name == "orders.csv"
    assert stored.size == len(DATA)
    assert stored.sha256 == hashlib.sha256(DATA).hexdigest()
    assert b"".join(store.read_chunks(stored.key)) == DATA


def test_a_plain_field_named_file_is_the_input_and_a_path_in_the_name_is_dropped(
    store: LocalStore, settings: Settings
) -> None:
    body, boundary = _body(("file", (None, b"a,b\n1,2\n")))
    assert _receive(store, settings, body, boundary).name == "input.csv"
    body, boundary = _body(("file", ("../../etc/orders.csv", DATA)))
    assert _receive(store, settings, body, boundary).name == "orders.csv"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (_body(("other", ("o.csv", DATA))), 422, "no file part named 'file'"),
        (
            _body(("file", ("a.csv", DATA)), ("file", ("b.csv", DATA))),
            422,
            "more than one part named 'file'",
        ),
        (_body(("x", (None, b"y" * (MAX_FIELD_BYTES + 1)))), 400, "other fields exceed"),
        ((b"not a multipart body at all", b"abc"), 400, "the multipart body is malformed"),
    ],
)
def test_a_body_without_exactly_one_file_part_is_refused_and_nothing_is_kept(
    store: LocalStore,
    settings: Settings,
    tmp_path: Path,
    body: tuple[bytes, bytes],
    status: int,
    detail: str,
) -> None:
    with pytest.raises(ProblemError) as raised:
        _receive(store, settings, *body)
    assert raised.value.status == status
    assert detail in raised.value.detail
    assert _files(tmp_path / "store") == []


def test_a_body_cut_off_inside_the_file_part_is_refused_and_its_bytes_removed(
    store: LocalStore, settings: Settings, tmp_path: Path
) -> None:
    body, boundary = _body(("file", ("orders.csv", DATA)))
    with pytest.raises(ProblemError, match="ends before its closing boundary"):
        _receive(store, settings, body[: len(body) // 2], boundary)
    assert _files(tmp_path / "store") == []


def test_a_file_part_over_the_limit_is_refused_while_it_arrives(
    store: LocalStore, settings: Settings, tmp_path: Path
) -> None:
    small = Settings(**{**settings.__dict__, "max_upload_bytes": len(DATA) - 1})
    body, boundary = _body(("file", ("orders.csv", DATA)))
    with pytest.raises(InputTooLargeError):
        _receive(store, small, body, boundary)
    assert _files(tmp_path / "store") == []


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=", "text/csv"]
)
def test_a_content_type_without_a_boundary_is_refused(content_type: str) -> None:
    with pytest.raises(ProblemError) as raised:
        multipart_boundary(content_type)
    assert raised.value.status == 400
