"""Log lines that say which document they are about.

A context variable holds the document a process (or task) is working on; a filter on every
handler copies it onto each record, so ``grep <document id>`` over the service's logs shows that
document's whole story, whichever module logged the line. Celery tasks set it in ``task_prerun``.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOG_FORMAT = "%(asctime)s %(levelname)s %(processName)s[%(process)d] doc=%(document_id)s %(name)s %(message)s"

current_document: contextvars.ContextVar[str | None] = contextvars.ContextVar("document_id", default=None)


class DocumentIdFilter(logging.Filter):
    """Adds ``record.document_id`` (``-`` outside any document) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "document_id"):
            record.document_id = current_document.get() or "-"
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Root logging to stderr in :data:`LOG_FORMAT`; replaces any handler set before (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(DocumentIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


@contextmanager
def document_context(document_id: str | None) -> Iterator[None]:
    """Log lines inside the block carry ``document_id``."""
    token = current_document.set(document_id)
    try:
        yield
    finally:
        current_document.reset(token)
