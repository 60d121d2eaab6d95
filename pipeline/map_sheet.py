"""The detected tables of a document read as one sheet: row bands across pages, labels read once.

A table continued on the next page is a new ``TableGrid``; its rows follow the previous table's
rows as further bands, and every x position is a fraction of its own table's width, so the
columns of both pages line up. Each cell's text is matched against the form's labels once; the
mappers then ask for label cells and the value cells to their right.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from declscan.models.document import FormDocument, Issue
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine, TextSource
from declscan.models.record import Provenance
from declscan.models.tables import GridCell, TableGrid
from declscan.pipeline.confidence import combine_confidence
from declscan.pipeline.labels import FormLabels, LabelKind, LabelMatch

# A value cell may start a hair left of its label's right edge (detected rulings jitter).
EDGE_TOLERANCE = 0.01

T = TypeVar("T")


@dataclass(frozen=True)
class Evidence:
    """Where a value was read and how well: the inputs of the field's confidence."""

    page: int
    bbox: BBox
    ocr: float | None
    source: TextSource
    label_score: float = 1.0

    def provenance(self, *, parsed: bool = True) -> Provenance:
        confidence = combine_confidence(self.ocr, self.label_score, parsed)
        return Provenance(page=self.page, bbox=self.bbox.as_list(), confidence=confidence,
                          source=self.source)

    @classmethod
    def of_lines(cls, lines: Sequence[TextLine], label_score: float = 1.0) -> Evidence:
        bbox = lines[0].bbox
        for line in lines[1:]:
            bbox = bbox.union(line.bbox)
        source: TextSource = "text_layer" if all(ln.source == "text_layer" for ln in lines) else "ocr"
        return cls(lines[0].page, bbox, min(ln.confidence for ln in lines), source, label_score)


@dataclass(frozen=True)
class SheetCell:
    """A grid cell placed on the sheet: bands ``first``..``last``, x as a fraction of its table."""

    cell: GridCell
    page: int
    first: int
    last: int
    x0: float
    x1: float
    label: LabelMatch | None
    source: TextSource
    text_x0: float | None  # where the cell's first text line starts, if the lines are known

    @property
    def lines(self) -> tuple[str, ...]:
        return self.cell.lines

    @property
    def text(self) -> str:
        return self.cell.text

    def is_label(self, *kinds: LabelKind) -> bool:
        return self.label is not None and (not kinds or self.label.kind in kinds)


def evidence_of(cells: Sequence[SheetCell], label_score: float = 1.0) -> Evidence:
    """The evidence of a value read from ``cells`` (one page): their box, their lowest OCR score."""
    bbox = cells[0].cell.bbox
    for sheet_cell in cells[1:]:
        bbox = bbox.union(sheet_cell.cell.bbox)
    scores = [c.cell.confidence for c in cells if c.cell.confidence is not None]
    source: TextSource = "text_layer" if all(c.source == "text_layer" for c in cells) else "ocr"
    return Evidence(cells[0].page, bbox, min(scores) if scores else None, source, label_score)


def lines_of(cells: Iterable[SheetCell]) -> list[str]:
    return [line for sheet_cell in cells for line in sheet_cell.lines]


@dataclass
class Mapped(Generic[T]):
    """What a mapper read: the value, the provenance of each leaf it set, and why to look again.

    ``consumed`` holds the sheet cells and text lines the mapper took as a label or a value, so
    whatever text no mapper took can be raised (``map_unmapped``) instead of silently dropped.
    """

    value: T
    provenance: dict[str, Provenance] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    consumed: set[Hashable] = field(default_factory=set)

    def note(self, pointer: str, evidence: Evidence, *, parsed: bool = True) -> None:
        self.provenance[pointer] = evidence.provenance(parsed=parsed)

    def consume(self, items: Iterable[SheetCell | TextLine]) -> None:
        self.consumed.update(items)

    def flag(self, pointer: str, code: str, message: str) -> None:
        self.issues.append(Issue(pointer=pointer, code=code, message=message))

    def flag_unread_ink(self, pointer: str, cells: Iterable[SheetCell], what: str) -> None:
        """Flag ``pointer`` (``what``, as the reviewer reads it), which read blank, when one of
        ``cells`` holds print the OCR read nothing in (``GridCell.unread_ink``): the detector leaves
        out a lone ``0`` or a short word, and a blank is a valid value, so nothing else catches it."""
        if any(sheet_cell.cell.unread_ink for sheet_cell in cells):
            self.flag(pointer, "unread_cell_ink", f"{what}格内有字迹，但未识别出文字，请对照原图填写")


class Sheet:
    """All table cells of a document in band order, with their labels."""

    def __init__(self, cells: Sequence[SheetCell], n_bands: int) -> None:
        self.cells = tuple(sorted(cells, key=lambda c: (c.first, c.x0)))
        self.n_bands = n_bands

    @classmethod
    def of(cls, doc: FormDocument, labels: FormLabels) -> Sheet:
        cells: list[SheetCell] = []
        offset = 0
        for grid in sorted(doc.tables, key=lambda g: (g.page, g.bbox.y0)):
            page_lines = [line for line in doc.lines if line.page == grid.page]
            cells += [_place(cell, grid, offset, page_lines, labels, doc) for cell in grid.cells]
            offset += grid.n_rows
        return cls(cells, offset)

    def band(self, index: int) -> list[SheetCell]:
        """The cells covering band ``index``, left to right (a merged cell covers several bands)."""
        return [c for c in self.cells if c.first <= index <= c.last]

    def starting(self, index: int) -> list[SheetCell]:
        return [c for c in self.cells if c.first == index]

    def labelled(self, *kinds: LabelKind) -> list[SheetCell]:
        return [c for c in self.cells if c.is_label(*kinds)]

    def values_right_of(self, label: SheetCell) -> list[SheetCell]:
        """The value cells right of ``label`` in its (first) band, up to the next label cell."""
        values: list[SheetCell] = []
        for sheet_cell in self.band(label.first):
            if sheet_cell.x0 < label.x1 - EDGE_TOLERANCE:
                continue
            if sheet_cell.is_label():
                break
            values.append(sheet_cell)
        return values


def _place(cell: GridCell, grid: TableGrid, offset: int, page_lines: Sequence[TextLine],
           labels: FormLabels, doc: FormDocument) -> SheetCell:
    width = grid.bbox.width or 1.0
    inside = [line for line in page_lines if cell.bbox.contains(*line.bbox.center)]
    if inside:
        source: TextSource = "text_layer" if all(ln.source == "text_layer" for ln in inside) else "ocr"
    else:
        source = "text_layer" if doc.kind == "digital" else "ocr"
    text_x0 = (min(line.bbox.x0 for line in inside) - grid.bbox.x0) / width if inside else None
    return SheetCell(
        cell=cell,
        page=grid.page,
        first=offset + cell.row,
        last=offset + cell.last_row,
        x0=(cell.bbox.x0 - grid.bbox.x0) / width,
        x1=(cell.bbox.x1 - grid.bbox.x0) / width,
        label=labels.match(cell.text) if cell.text else None,
        source=source,
        text_x0=text_x0,
    )


def outside_tables(doc: FormDocument) -> list[TextLine]:
    """The text lines that lie in no table (heading, subtitle, a footer printed under the table)."""
    return [
        line for line in doc.lines
        if not any(g.page == line.page and g.bbox.contains(*line.bbox.center) for g in doc.tables)
    ]
