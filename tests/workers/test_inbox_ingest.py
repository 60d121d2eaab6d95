"""ingest_file and quarantine on real folders and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from declscan.config.settings import Settings
from declscan.workers.db import DocumentRow
from declscan.workers.ingest import IngestResult, ReceiptRow, ingest_file
from declscan.workers.quarantine import quarantine

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def drop(settings: Settings, name: str, data: bytes) -> Path:
    settings.inbox.mkdir(parents=True, exist_ok=True)
    path = settings.inbox / name
    path.write_bytes(data)
    return path


def sidecar_of(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))


def test_a_new_file_becomes_a_received_document(settings: Settings, sessions: sessionmaker) -> None:
    data = b"%PDF-1.4\n" + os.urandom(500)
    path = drop(settings, "项目支出绩效目标申报表.pdf", data)
    before = dt.datetime.now(dt.UTC)

    result = ingest_file(path, settings=settings, sessions=sessions)

    sha = hashlib.sha256(data).hexdigest()
    assert result == IngestResult(document_id=sha)
    assert not path.exists()
    with sessions() as session:
        row = session.get_one(DocumentRow, sha)
        receipts = session.scalars(select(ReceiptRow)).all()
    assert (row.state, row.filename) == ("received", "项目支出绩效目标申报表.pdf")
    assert Path(row.stored_path).read_bytes() == data
    received = row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=dt.UTC)
    assert before - dt.timedelta(seconds=1) <= received <= dt.datetime.now(dt.UTC)
    assert [(r.document_id, r.duplicate) for r in receipts] == [(sha, False)]


def test_the_same_bytes_twice_are_one_document(settings: Settings, sessions: sessionmaker) -> None:
    data = PNG_HEAD + os.urandom(200)
    first = ingest_file(drop(settings, "scan.png", data), settings=settings, sessions=sessions)
    again = ingest_file(drop(settings, "scan (copy).png", data), settings=settings, sessions=sessions)

    assert first.document_id is not None
    assert again == IngestResult(duplicate_of=first.document_id)
    assert list(settings.inbox.iterdir()) == []
    with sessions() as session:
        assert session.scalars(select(DocumentRow.filename)).all() == ["scan.png"]
        receipts = session.scalars(select(ReceiptRow).order_by(ReceiptRow.id)).all()
    assert [(r.filename, r.document_id, r.duplicate) for r in receipts] == [
        ("scan.png", first.document_id, False), ("scan (copy).png", first.document_id, True)]


def test_racing_ingests_of_the_same_bytes_make_one_document(
    settings: Settings, sessions: sessionmaker
) -> None:
    data = b"%PDF-1.5\n" + os.urandom(100_000)
    paths = [drop(settings, f"copy-{n}.pdf", data) for n in range(2)]
    start = threading.Barrier(2)
    results: list[IngestResult] = []

    def ingest(path: Path) -> None:
        start.wait()
        results.append(ingest_file(path, settings=settings, sessions=sessions))

    threads = [threading.Thread(target=ingest, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    sha = hashlib.sha256(data).hexdigest()
    assert sorted(results, key=lambda r: r.document_id is None) == [
        IngestResult(document_id=sha), IngestResult(duplicate_of=sha)]
    with sessions() as session:
        assert session.scalars(select(DocumentRow.id)).all() == [sha]


def test_bad_files_are_quarantined_and_the_good_one_ingested(
    settings: Settings, sessions: sessionmaker
) -> None:
    empty = drop(settings, "empty.pdf", b"")
    text = drop(settings, "notes.txt", "不是表格".encode())
    folder = settings.inbox / "a folder"
    folder.mkdir()
    good = drop(settings, "form.pdf", b"%PDF-1.4 good")

    results = {p.name: ingest_file(p, settings=settings, sessions=sessions)
               for p in (empty, text, folder, good)}

    assert results["form.pdf"].document_id is not None
    assert list(settings.inbox.iterdir()) == []
    expected = {
        "empty.pdf": ("file is empty (0 bytes)", hashlib.sha256(b"").hexdigest()),
        "notes.txt": ("unsupported file type (expected PDF, PNG, JPEG or TIFF)",
                      hashlib.sha256("不是表格".encode()).hexdigest()),
        "a folder": ("not a regular file (a folder, link or device)", None),
    }
    for name, (reason, sha) in expected.items():
        result = results[name]
        assert result.quarantined == settings.quarantine / name
        assert result.reason == reason
        note = sidecar_of(result.quarantined)
        assert (note["filename"], note["reason"], note["sha256"]) == (name, reason, sha)
        assert note["at"].endswith("Z")
    assert (settings.quarantine / "notes.txt").read_bytes() == "不是表格".encode()
    with sessions() as session:
        assert len(session.scalars(select(DocumentRow)).all()) == 1


def test_an_oversized_file_is_quarantined(tmp_path: Path, sessions: sessionmaker) -> None:
    settings = Settings(data_dir=tmp_path / "var", limits={"max_file_bytes": 10})
    big = drop(settings, "big.pdf", b"%PDF-" + b"x" * 10)
    result = ingest_file(big, settings=settings, sessions=sessions)
    assert result.reason == "file is 15 bytes, over the limit of 10 bytes"
    assert result.quarantined is not None and result.quarantined.exists()


def test_a_vanished_file_is_reported_not_quarantined(settings: Settings, sessions: sessionmaker) -> None:
    result = ingest_file(settings.inbox / "gone.pdf", settings=settings, sessions=sessions)
    assert result.document_id is result.duplicate_of is result.quarantined is None
    assert result.reason == "file vanished before it could be taken"
    assert not settings.quarantine.exists()


def test_quarantine_never_overwrites_a_file_of_the_same_name(settings: Settings, caplog) -> None:
    first = quarantine(drop(settings, "x.pdf", b"one"), settings=settings, reason="first")
    second = quarantine(drop(settings, "x.pdf", b"two"), settings=settings, reason="second")
    third = quarantine(drop(settings, "x.pdf", b"three"), settings=settings, reason="third")

    assert [p.name for p in (first, second, third)] == ["x.pdf", "x-1.pdf", "x-2.pdf"]
    assert [p.read_bytes() for p in (first, second, third)] == [b"one", b"two", b"three"]
    assert [sidecar_of(p)["reason"] for p in (first, second, third)] == ["first", "second", "third"]
    assert sidecar_of(second)["filename"] == "x.pdf"
    lines = [r.getMessage() for r in caplog.records if r.name == "declscan.workers.quarantine"]
    assert len(lines) == 3 and lines[1].startswith("x.pdf: quarantined") and lines[1].endswith("second")
