"""Content-addressed storage of source files, and the page images the review app serves.

A source file lives at ``store_dir/<sha[:2]>/<sha><suffix>``: its name is the sha256 of its bytes,
so storing the same bytes twice is a no-op and a stored file is never replaced by other content.
Page images live at ``data_dir/pages/<document id>/page-<n>.png``. Every write goes to a temporary
file in the target directory, is fsynced and renamed into place: after a crash a file is either
absent or complete, never partial.
"""

from __future__ import annotations

import hashlib
import logging
import numbers
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from declscan.config.settings import Settings

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
MAX_PAGE_NUMBER = 9999
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")


class InvalidKey(ValueError):
    """A document id or page number the store could never have made (``../etc``, ``0``, ``"1"``)."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path


def check_document_id(value: object) -> str:
    """``value`` if it is a document id (64 lowercase hex digits), else :class:`InvalidKey`."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise InvalidKey(f"not a document id (64 lowercase hex digits): {value!r:.80}")
    return value


def check_page_number(value: object) -> int:
    """``value`` as an int if it is a page number 1…MAX_PAGE_NUMBER, else :class:`InvalidKey`."""
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integral or not 1 <= value <= MAX_PAGE_NUMBER:
        raise InvalidKey(f"not a page number: {value!r:.80}")
    return int(value)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; published files are read by others
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network filesystems refuse fsync on a directory; the rename is atomic regardless
    finally:
        os.close(fd)


class DocumentStore:
    """Source files by sha256 and page images by document id, under the service's data directory.

    ``DocumentStore(settings)`` uses ``settings.store_dir`` and ``settings.data_dir / "pages"``;
    ``DocumentStore(store_dir=…, pages_dir=…)`` takes explicit paths.
    """

    def __init__(self, settings: Settings | None = None, *,
                 store_dir: Path | None = None, pages_dir: Path | None = None) -> None:
        if settings is not None:
            store_dir = store_dir or settings.store_dir
            pages_dir = pages_dir or settings.data_dir / "pages"
        if store_dir is None or pages_dir is None:
            raise TypeError("DocumentStore needs settings or both store_dir and pages_dir")
        self.store_dir = Path(store_dir)
        self.pages_dir = Path(pages_dir)

    # -- source files -------------------------------------------------------------------------

    def put_source(self, path: Path) -> StoredFile:
        """Copy ``path`` into the store, hashing the bytes as they are copied; idempotent.

        The copy is fsynced and renamed into place, so the returned file is complete and durable
        before the caller removes the original. Raises OSError when ``path`` cannot be read.
        """
        path = Path(path)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.store_dir, prefix=".put-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, path.open("rb") as src:
                os.fchmod(out.fileno(), 0o644)
                while chunk := src.read(CHUNK_BYTES):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            existing = self._find_source(sha)
            if existing is not None:
                Path(tmp).unlink()
                return StoredFile(sha, existing)
            suffix = path.suffix.lower() if _SAFE_SUFFIX.fullmatch(path.suffix.lower()) else ""
            dest = self.store_dir / sha[:2] / f"{sha}{suffix}"
            dest.parent.mkdir(exist_ok=True)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(dest.parent)
        log.debug("%s: stored as %s", path.name, dest)
        return StoredFile(sha, dest)

    def source_path(self, sha256: str) -> Path:
        """The stored source file of ``sha256``; FileNotFoundError when it was never stored."""
        found = self._find_source(check_document_id(sha256))
        if found is None:
            raise FileNotFoundError(f"no stored source file for {sha256}")
        return found

    def _find_source(self, sha: str) -> Path | None:
        shard = self.store_dir / sha[:2]
        matches = sorted(p for p in shard.glob(f"{sha}*") if p.name == sha or p.name[64:65] == ".")
        return matches[0] if matches else None

    # -- page images --------------------------------------------------------------------------

    def page_path(self, doc_id: str, n: int) -> Path:
        """Where page ``n`` (1-based) of ``doc_id`` is (or would be) stored.

        The review app serves only paths from here, so anything but a hex sha256 and an int page
        number raises :class:`InvalidKey`; no argument can name a file outside the pages folder.
        """
        path = self.pages_dir / check_document_id(doc_id) / f"page-{check_page_number(n)}.png"
        # Belt and braces against a symlink planted inside the pages folder.
        if not path.resolve().is_relative_to(self.pages_dir.resolve()):
            raise InvalidKey(f"page {n} of {doc_id} resolves outside the pages folder")
        return path

    def save_pages(self, doc_id: str, images: Sequence[np.ndarray]) -> list[Path]:
        """Write each image (BGR or grey uint8) as ``page-<n>.png``, n from 1; drops stale later pages."""
        import cv2

        paths = []
        for number, image in enumerate(images, start=1):
            ok, encoded = cv2.imencode(".png", image)
            if not ok:
                raise ValueError(f"page {number} of {doc_id}: cannot encode image as PNG")
            path = self.page_path(doc_id, number)
            write_atomic(path, encoded.tobytes())
            paths.append(path)
        number = len(paths) + 1
        while number <= MAX_PAGE_NUMBER and (stale := self.page_path(doc_id, number)).exists():
            stale.unlink()  # left by an earlier run that found more pages
            number += 1
        return paths

    def load_pages(self, doc_id: str) -> list[np.ndarray]:
        """The page images saved by :meth:`save_pages`, in page order; FileNotFoundError when none."""
        import cv2

        images = []
        while (path := self.page_path(doc_id, len(images) + 1)).exists():
            image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise ValueError(f"{path}: not a readable PNG")
            images.append(image)
        if not images:
            raise FileNotFoundError(f"no page images saved for {doc_id}")
        return images
