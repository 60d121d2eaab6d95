"""The quarantine folder: where refused inbox files go, each beside a JSON note saying why.

Nothing is ever deleted: a refused file is moved (renamed, or copied then removed when the
quarantine is on another filesystem) and an operator decides what to do with it.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import shutil
from pathlib import Path

from declscan.config.settings import Settings
from declscan.pipeline.digest import file_sha256
from declscan.workers.store import fsync_dir, write_atomic

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".json"


def quarantine(path: Path, *, settings: Settings, reason: str) -> Path:
    """Move ``path`` into ``settings.quarantine`` with a sidecar ``<name>.json``; returns the new path.

    The sidecar holds ``{filename, reason, sha256, at}`` (``sha256`` is null for what is not a
    regular file). A name already taken gets ``-1``, ``-2``… before its suffix. Logs one line.
    """
    path = Path(path)
    folder = settings.quarantine
    folder.mkdir(parents=True, exist_ok=True)
    dest = _reserve_name(folder, path.name)
    try:
        _move(path, dest)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    note = {
        "filename": printable_name(path.name),
        "reason": reason,
        "sha256": file_sha256(dest) if dest.is_file() and not dest.is_symlink() else None,
        "at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    sidecar = dest.with_name(dest.name + SIDECAR_SUFFIX)
    write_atomic(sidecar, (json.dumps(note, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    log.warning("%s: quarantined as %s: %s", printable_name(path.name), dest, reason)
    return dest


def printable_name(name: str) -> str:
    """A file name fit for a log line, JSON or a database (undecodable bytes become U+FFFD)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _reserve_name(folder: Path, name: str) -> Path:
    """A free path in ``folder`` for ``name``, claimed by creating it, whose sidecar name is free too."""
    stem, suffix = os.path.splitext(name)
    counter = 0
    while True:
        candidate = folder / (name if counter == 0 else f"{stem}-{counter}{suffix}")
        counter += 1
        if candidate.with_name(candidate.name + SIDECAR_SUFFIX).exists():
            continue
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        return candidate


def _move(src: Path, dest: Path) -> None:
    """Move ``src`` onto the placeholder ``dest``; across filesystems copy, fsync, then remove."""
    if src.is_dir() and not src.is_symlink():
        dest.unlink()  # a directory cannot replace a file; the name stays ours for the instant between
        os.rename(src, dest)
        return
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        if src.is_symlink():
            dest.unlink()
            os.symlink(os.readlink(src), dest)
        else:
            shutil.copy2(src, dest)
            with dest.open("rb") as fh:
                os.fsync(fh.fileno())
        src.unlink()
    fsync_dir(dest.parent)
