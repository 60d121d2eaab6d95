"""A ruled table found on a page: cells with row and column spans, like docling-core's TableCell."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from declscan.models.geometry import BBox


class GridCell(BaseModel):
    """One cell of a ruled grid; a merged cell spans several grid rows or columns.

    ``text`` is the cell's text in reading order, lines joined without a separator (contract
    rule 1). ``line_breaks`` keeps the line structure, since template placeholders are dropped
    line by line (rule 2). ``confidence`` is the lowest confidence of the text lines in the cell,
    or None when the cell is empty; ``line_confidences`` holds each line's.
    """

    model_config = ConfigDict(frozen=True)

    row: int = Field(ge=0)
    col: int = Field(ge=0)
    row_span: int = Field(default=1, ge=1)
    col_span: int = Field(default=1, ge=1)
    bbox: BBox
    lines: tuple[str, ...] = ()
    confidence: float | None = None
    line_confidences: tuple[float, ...] = Field(default=(), description="each of ``lines``' confidence")
    unread_ink: bool = Field(default=False, description="print in the cell, though no text was read there")

    @property
    def text(self) -> str:
        return "".join(line.strip() for line in self.lines).strip()

    @property
    def last_row(self) -> int:
        return self.row + self.row_span - 1

    @property
    def last_col(self) -> int:
        return self.col + self.col_span - 1


class TableGrid(BaseModel):
    """The ruled table of one page.

    ``col_edges`` and ``row_edges`` are the x and y positions of the grid lines in page pixels,
    so ``len(col_edges) - 1`` is the number of grid columns. Cells cover the grid without overlap.
    """

    model_config = ConfigDict(frozen=True)

    page: int = Field(ge=1)
    bbox: BBox
    row_edges: tuple[float, ...]
    col_edges: tuple[float, ...]
    cells: tuple[GridCell, ...]

    @property
    def n_rows(self) -> int:
        return max(len(self.row_edges) - 1, 0)

    @property
    def n_cols(self) -> int:
        return max(len(self.col_edges) - 1, 0)
