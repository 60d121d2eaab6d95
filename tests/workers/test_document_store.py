"""DocumentStore on a real folder: content addressing, atomic writes, page images, path safety."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from declscan.config.settings import Settings
from declscan.workers.store import DocumentStore, InvalidKey, write_atomic

SHA = "ab" * 32


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_put_source_names_the_copy_by_the_sha256_of_its_bytes(settings: Settings, tmp_path: Path) -> None:
    data = b"%PDF-1.7\n" + os.urandom(3_000_000)  # several copy chunks
    source = tmp_path / "申报表.PDF"
    source.write_bytes(data)
    store = DocumentStore(settings)

    stored = store.put_source(source)

    sha = hashlib.sha256(data).hexdigest()
    assert stored.sha256 == sha
    assert stored.path == settings.store_dir / sha[:2] / f"{sha}.pdf"
    assert stored.path.read_bytes() == data
    assert source.read_bytes() == data, "the original is the caller's to remove"
    assert store.source_path(sha) == stored.path
    assert files_under(settings.store_dir) == [stored.path], "no temporary file left behind"


def test_same_bytes_under_another_name_are_stored_once(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF- same")
    (tmp_path / "b.bin").write_bytes(b"%PDF- same")
    store = DocumentStore(settings)

    first = store.put_source(tmp_path / "a.pdf")
    second = store.put_source(tmp_path / "b.bin")

    assert second == first
    assert files_under(settings.store_dir) == [first.path]


def test_a_failed_put_leaves_nothing_in_the_store(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "folder.pdf").mkdir()
    store = DocumentStore(settings)
    with pytest.raises(IsADirectoryError):
        store.put_source(tmp_path / "folder.pdf")
    with pytest.raises(FileNotFoundError):
        store.put_source(tmp_path / "missing.pdf")
    assert files_under(settings.store_dir) == []


def test_source_path_of_unknown_or_malformed_ids(settings: Settings) -> None:
    store = DocumentStore(settings)
    with pytest.raises(FileNotFoundError):
        store.source_path(SHA)
    with pytest.raises(InvalidKey):
        store.source_path("../" + SHA[3:])


def test_write_atomic_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "out" / "record.json"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]  # fails after the temp file exists
    assert target.read_bytes() == b"old"
    assert files_under(tmp_path) == [target]
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"


def test_pages_round_trip_in_order_and_stale_pages_go(settings: Settings) -> None:
    rng = np.random.default_rng(7)
    colour = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (20, 50), dtype=np.uint8)
    store = DocumentStore(settings)

    paths = store.save_pages(SHA, [colour, grey, colour])
    assert paths == [settings.data_dir / "pages" / SHA / f"page-{n}.png" for n in (1, 2, 3)]
    loaded = store.load_pages(SHA)
    assert [img.shape for img in loaded] == [(40, 30, 3), (20, 50), (40, 30, 3)]
    assert np.array_equal(loaded[0], colour) and np.array_equal(loaded[1], grey)

    store.save_pages(SHA, [grey])
    assert [img.shape for img in store.load_pages(SHA)] == [(20, 50)]
    assert not store.page_path(SHA, 2).exists()


def test_load_pages_of_a_document_without_pages_fails(settings: Settings) -> None:
    with pytest.raises(FileNotFoundError):
        DocumentStore(settings).load_pages(SHA)


@pytest.mark.parametrize("doc_id", [
    "../../etc/passwd", SHA + "/../..", "/" + SHA[1:], SHA.upper(), SHA[:-1], SHA + "0", "", "..", None, 12,
    SHA[:-1] + "\x00",
])
def test_page_path_refuses_any_id_but_a_sha256(settings: Settings, doc_id: object) -> None:
    with pytest.raises(InvalidKey):
        DocumentStore(settings).page_path(doc_id, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("number", [0, -1, "1", "../1", 1.0, True, 10_000, None])
def test_page_path_refuses_any_page_but_a_positive_int(settings: Settings, number: object) -> None:
    with pytest.raises(InvalidKey):
        DocumentStore(settings).page_path(SHA, number)  # type: ignore[arg-type]


def test_page_path_refuses_a_symlink_out_of_the_pages_folder(settings: Settings, tmp_path: Path) -> None:
    pages = settings.data_dir / "pages"
    pages.mkdir(parents=True)
    (pages / SHA).symlink_to(tmp_path)
    with pytest.raises(InvalidKey):
        DocumentStore(settings).page_path(SHA, 1)


def test_page_path_of_a_valid_key(settings: Settings) -> None:
    expected = settings.data_dir / "pages" / SHA / "page-2.png"
    assert DocumentStore(settings).page_path(SHA, np.int64(2)) == expected
