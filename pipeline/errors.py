"""The one exception a user's bad input raises: reported as a single line, never a traceback."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """An input file the pipeline refuses (empty, corrupt, unsupported, locked, too large).

    ``str()`` is one line, ``"<filename>: <reason>"``, fit to show an operator or write to a log.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = " ".join(reason.split())  # one line, whatever the underlying library said
        super().__init__(f"{self.path.name}: {self.reason}")
