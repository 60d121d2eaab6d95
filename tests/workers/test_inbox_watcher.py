"""run_watcher on a real inbox folder with real inotify / polling observers and a real SQLite database."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from declscan.config.settings import Settings
from declscan.workers.db import DocumentRow
from declscan.workers.store import DocumentStore
from declscan.workers.watcher import InboxTracker, is_candidate_name, run_watcher

POLL = 0.2


@contextmanager
def watching(settings: Settings, sessions: sessionmaker, on_document: Callable[[str], None], *,
             rescan_interval: float = 60.0) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=run_watcher, args=(settings,), kwargs=dict(
        on_document=on_document, stop_event=stop, poll_interval=POLL, rescan_interval=rescan_interval,
        sessions=sessions))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def document_ids(sessions: sessionmaker) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(DocumentRow.id)))


@pytest.mark.parametrize("name", ["x.pdf.part", "x.pdf.PART", ".x.pdf", "~$x.pdf", "x.pdf.crdownload",
                                  "x.tmp", "x.pdf~"])
def test_temporary_names_are_not_candidates(name: str) -> None:
    assert not is_candidate_name(name)


@pytest.mark.parametrize("name", ["x.pdf", "申报表.PNG", "x.part.pdf", "scan 1.tiff"])
def test_ordinary_names_are_candidates(name: str) -> None:
    assert is_candidate_name(name)


def test_the_start_scan_takes_the_batch_and_goes_on_past_failures(
    settings: Settings, sqlite_sessions: sessionmaker
) -> None:
    inbox = settings.inbox
    inbox.mkdir(parents=True)
    good = [b"%PDF-1.4 first", b"%PDF-1.4 second", b"\xff\xd8\xff third"]
    for n, data in enumerate(good):
        (inbox / f"form-{n}.pdf").write_bytes(data)
    (inbox / "again.pdf").write_bytes(good[0])
    (inbox / "empty.pdf").write_bytes(b"")
    (inbox / "readme.txt").write_bytes(b"hello")
    temporary = ["half.pdf.part", ".hidden.pdf", "~$lock.pdf", "dl.pdf.crdownload", "x.tmp"]
    for name in temporary:
        (inbox / name).write_bytes(b"%PDF-1.4 not yet")
    handed_on: list[str] = []

    def on_document(document_id: str) -> None:
        handed_on.append(document_id)
        if len(handed_on) == 1:
            raise RuntimeError("queue down for the first one")

    with watching(settings, sqlite_sessions, on_document):
        wait_until(lambda: sorted(p.name for p in inbox.iterdir()) == sorted(temporary))
        time.sleep(3 * POLL)

    expected = sorted(hashlib.sha256(data).hexdigest() for data in good)
    assert sorted(handed_on) == expected, "each new document handed on once, the duplicate not at all"
    assert sorted(document_ids(sqlite_sessions)) == expected
    assert sorted(p.name for p in settings.quarantine.iterdir()) == [
        "empty.pdf", "empty.pdf.json", "readme.txt", "readme.txt.json"]


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_file_dropped_while_watching_is_taken_without_a_rescan(
    settings: Settings, sqlite_sessions: sessionmaker, polling: bool
) -> None:
    settings = settings.model_copy(update={"watch_polling": polling})
    handed_on: list[str] = []
    with watching(settings, sqlite_sessions, handed_on.append, rescan_interval=3600):
        time.sleep(2 * POLL)  # the start scan has run and found nothing
        (settings.inbox / "late.pdf.part").write_bytes(b"%PDF-1.4 late")
        os.rename(settings.inbox / "late.pdf.part", settings.inbox / "late.pdf")
        wait_until(lambda: len(handed_on) == 1)
    assert handed_on == [hashlib.sha256(b"%PDF-1.4 late").hexdigest()]
    assert list(settings.inbox.iterdir()) == []


def test_a_slow_writer_is_taken_once_and_complete(settings: Settings, sqlite_sessions: sessionmaker) -> None:
    chunks = [b"%PDF-1.4\n"] + [os.urandom(4096) for _ in range(12)]
    target = settings.inbox / "slow.pdf"
    settings.inbox.mkdir(parents=True)
    handed_on: list[str] = []

    def write_slowly() -> None:
        with target.open("ab") as fh:
            for chunk in chunks:
                fh.write(chunk)
                fh.flush()
                time.sleep(0.25)  # ~3 s in all, each pause shorter than the settle time

    with watching(settings, sqlite_sessions, handed_on.append):
        writer = threading.Thread(target=write_slowly)
        writer.start()
        writer.join()
        wait_until(lambda: not target.exists())
        time.sleep(5 * POLL)

    data = b"".join(chunks)
    sha = hashlib.sha256(data).hexdigest()
    assert handed_on == [sha]
    assert document_ids(sqlite_sessions) == [sha]
    assert DocumentStore(settings).source_path(sha).read_bytes() == data
    assert not settings.quarantine.exists()


def test_a_file_renamed_into_place_needs_no_settling_and_a_written_one_does(tmp_path) -> None:
    tracker = InboxTracker(tmp_path, settle_seconds=30.0)
    (tmp_path / "renamed.pdf").write_bytes(b"%PDF-1.4 complete")
    (tmp_path / "written.pdf").write_bytes(b"%PDF-1.4 maybe still growing")
    tracker.note(tmp_path / "renamed.pdf", renamed=True)
    tracker.note(tmp_path / "written.pdf")

    assert tracker.take_stable(now=100.0) == [tmp_path / "renamed.pdf"]
    assert tracker.take_stable(now=110.0) == [], "unchanged, but not yet for the settle time"
    assert tracker.take_stable(now=130.0) == [tmp_path / "written.pdf"]
    assert not tracker.has_pending
