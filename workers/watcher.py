"""The watched inbox: take each file once it has finished arriving, ingest it, hand on new documents.

Three sources of candidates, because none is enough alone: filesystem events (inotify, or a
polling observer with ``settings.watch_polling`` for NFS/SMB shares, where inotify never hears of
files written by another host), a scan at start (files dropped while the service was down) and a
periodic full rescan (events lost to an overflowing queue, a file left after a failed ingest).

A file renamed into the inbox is taken at once: a rename is atomic, so its writer has finished
(the way writers should deliver: ``x.pdf.part`` then rename; such temporary names are never taken).
Any other file is taken only when its size and mtime are unchanged across two checks at least
:data:`SETTLE_SECONDS` apart, so a slow copy is not read half-written. The loop wakes on events
and checks pending files every :data:`CHECK_SECONDS`, so the service adds little to a file's latency.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from declscan.config.settings import Settings
from declscan.workers.db import make_engine, make_sessionmaker
from declscan.workers.ingest import ingest_file
from declscan.workers.quarantine import printable_name

log = logging.getLogger(__name__)

SETTLE_SECONDS = 1.0
CHECK_SECONDS = 0.2
# Browsers, office suites, rsync, scanners' upload tools and editors write under these names first.
TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".swp", "~")
TEMPORARY_PREFIXES = (".", "~$")


def is_candidate_name(name: str) -> bool:
    """False for dotfiles and names of files still being written (``.part``, ``~$x.docx`` …)."""
    lower = name.lower()
    return not (lower.startswith(TEMPORARY_PREFIXES) or lower.endswith(TEMPORARY_SUFFIXES))


@dataclass(frozen=True)
class _Seen:
    size: int
    mtime_ns: int
    since: float  # monotonic time this size and mtime were first seen


class InboxTracker:
    """The candidate files of one inbox folder and how long each has held still."""

    def __init__(self, inbox: Path, *, settle_seconds: float = SETTLE_SECONDS) -> None:
        self.inbox = inbox
        self.settle_seconds = settle_seconds
        self._pending: dict[Path, _Seen | None] = {}
        # Files an ingest left in place (could not remove them): skipped until they change.
        self._left: dict[Path, tuple[int, int]] = {}
        self._folders_named: set[str] = set()
        self._renamed: set[Path] = set()  # renamed into place: complete, no settling

    def note(self, path: Path, *, renamed: bool = False) -> None:
        """Consider ``path`` (from an event or a scan) if it is a candidate in the inbox itself.

        ``renamed``: it was just renamed into place, so it is complete and needs no settling.
        """
        if path.parent != self.inbox or not is_candidate_name(path.name):
            return
        self._pending.setdefault(path, None)
        if renamed:
            self._renamed.add(path)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def rescan(self) -> None:
        """Note every candidate file now in the inbox; sub-folders are not watched."""
        try:
            entries = list(os.scandir(self.inbox))
        except OSError as exc:
            log.warning("%s: cannot list the inbox: %s", self.inbox, exc)
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in self._folders_named and is_candidate_name(entry.name):
                    self._folders_named.add(entry.name)
                    log.warning("%s: a folder in the inbox is not looked into; drop files, not folders",
                                printable_name(entry.name))
                continue
            self.note(Path(entry.path))

    def take_stable(self, now: float) -> list[Path]:
        """The pending files whose size and mtime have held still for ``settle_seconds``."""
        stable = []
        for path, seen in list(self._pending.items()):
            renamed = path in self._renamed  # settled in this pass whatever happens
            self._renamed.discard(path)
            try:
                info = path.lstat()
            except OSError:
                del self._pending[path]  # gone (renamed away, taken by another host)
                continue
            signature = (info.st_size, info.st_mtime_ns)
            if self._left.get(path) == signature:
                del self._pending[path]
                continue
            if renamed:
                del self._pending[path]
                stable.append(path)
            elif seen is None or (seen.size, seen.mtime_ns) != signature:
                self._pending[path] = _Seen(*signature, since=now)
            elif now - seen.since >= self.settle_seconds:
                del self._pending[path]
                stable.append(path)
        return stable

    def left_in_place(self, path: Path) -> None:
        """``path`` is still there after its ingest: skip it until its size or mtime change."""
        try:
            info = path.lstat()
        except OSError:
            return
        self._left[path] = (info.st_size, info.st_mtime_ns)


class _EventsToQueue(FileSystemEventHandler):
    """Puts ``(path, renamed)`` of every file event on a queue; the watcher loop does the rest."""

    def __init__(self, paths: queue.SimpleQueue[tuple[Path, bool]]) -> None:
        self.paths = paths

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("deleted", "opened", "closed_no_write"):
            return
        renamed = event.event_type == "moved"
        self.paths.put((Path(os.fsdecode(event.dest_path if renamed else event.src_path)), renamed))


def run_watcher(
    settings: Settings,
    *,
    on_document: Callable[[str], None],
    stop_event: threading.Event,
    poll_interval: float = 2.0,
    rescan_interval: float = 60.0,
    sessions: sessionmaker | None = None,
) -> None:
    """Watch ``settings.inbox`` until ``stop_event`` is set; call ``on_document(id)`` per new document.

    The loop wakes on every event, and every :data:`CHECK_SECONDS` while files are pending (else
    every ``poll_interval`` seconds, also the polling observer's period); the settled files are
    ingested (:func:`~declscan.workers.ingest.ingest_file`), one at a time; a file whose ingest fails is
    logged and retried at the next rescan, and the others go on. ``sessions`` defaults to the
    database of ``settings.db_url``.
    """
    inbox = settings.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    sessions = sessions or make_sessionmaker(make_engine(settings.db_url))
    events: queue.SimpleQueue[tuple[Path, bool]] = queue.SimpleQueue()
    observer = _start_observer(inbox, _EventsToQueue(events), polling=settings.watch_polling,
                               poll_interval=poll_interval)
    tracker = InboxTracker(inbox)
    next_rescan = 0.0  # scan at start
    log.info("watching %s (%s)", inbox, "polling" if isinstance(observer, PollingObserver) else "inotify")
    try:
        while not stop_event.is_set():
            now = time.monotonic()
            if now >= next_rescan:
                tracker.rescan()
                next_rescan = now + rescan_interval
            for path in tracker.take_stable(now):
                if stop_event.is_set():
                    break  # the rest stays in the inbox for the next start
                _take(path, settings=settings, sessions=sessions, on_document=on_document, tracker=tracker)
            _note_events(events, tracker, wait=CHECK_SECONDS if tracker.has_pending else poll_interval)
    finally:
        observer.stop()
        observer.join(timeout=10)
        log.info("stopped watching %s", inbox)


def _note_events(events: queue.SimpleQueue[tuple[Path, bool]], tracker: InboxTracker, *,
                 wait: float) -> None:
    """Note every queued event in ``tracker``, first waiting up to ``wait`` seconds for one."""
    with contextlib.suppress(queue.Empty):
        path, renamed = events.get(timeout=wait)
        tracker.note(path, renamed=renamed)
        while True:
            path, renamed = events.get_nowait()
            tracker.note(path, renamed=renamed)


def _start_observer(inbox: Path, handler: FileSystemEventHandler, *, polling: bool,
                    poll_interval: float) -> BaseObserver:
    observer: BaseObserver = PollingObserver(timeout=poll_interval) if polling else Observer()
    observer.schedule(handler, str(inbox), recursive=False)
    try:
        observer.start()
    except OSError as exc:  # e.g. the inotify watch limit is reached
        if polling:
            raise
        log.warning("%s: inotify unavailable (%s); polling instead", inbox, exc)
        return _start_observer(inbox, handler, polling=True, poll_interval=poll_interval)
    return observer


def _take(path: Path, *, settings: Settings, sessions: sessionmaker,
          on_document: Callable[[str], None], tracker: InboxTracker) -> None:
    name = printable_name(path.name)
    try:
        result = ingest_file(path, settings=settings, sessions=sessions)
    except Exception:
        log.exception("%s: ingest failed; left in the inbox for the next scan", name)
        return
    if os.path.lexists(path):
        tracker.left_in_place(path)
    if result.document_id is None:
        return
    try:
        on_document(result.document_id)
    except Exception:
        log.exception("%s: stored as document %s but not handed on", name, result.document_id)
