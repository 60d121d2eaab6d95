"""The safety net: text on the page that no mapper took is raised, never silently dropped.

Every table cell and every text line outside the tables that no mapper consumed (as a label, a
value, a header, the title or a signoff item), and that is more than template placeholders
(contract rule 2), becomes an ``unmapped_text`` issue. It goes on the field printed nearest to it,
so a lost indicator row, a value in the wrong column or a row the grid merged sends the record to a
person at the place where the text went missing. Text printed beside a table (within its height,
outside its box) means the grid was found only in part: every x position on that page is then a
fraction of the wrong width, so the issue goes on every field read from that table.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

from declscan.models.document import Issue
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.models.record import Provenance
from declscan.models.tables import TableGrid
from declscan.pipeline.map_sheet import Sheet
from declscan.pipeline.normalize import clean_cell_text

CODE = "unmapped_text"
# Where to put a text when nothing at all was mapped: the form as a whole.
WHOLE_FORM = "/form"
# Shared evidence (a merged 一级/二级 cell stands for many rows) says nothing about where a text is.
_SHARED_LEAVES = ("/level1", "/level2")
MAX_QUOTE = 40


def flag_unmapped(sheet: Sheet, outside: Sequence[TextLine], tables: Sequence[TableGrid],
                  consumed: Iterable[Hashable], provenance: dict[str, Provenance]) -> list[Issue]:
    """An issue for every text of ``sheet`` and ``outside`` that is not in ``consumed``.

    Label cells count as consumed (they are the form's own print). The issue's pointer is the
    nearest field with provenance, an indicator's at row level (``/indicators/3``); text beside a
    table raises one on every field read from that table.
    """
    taken = set(consumed)
    anchors = [(p, BBox.of(*prov.bbox), prov.page) for p, prov in provenance.items()
               if not p.endswith(_SHARED_LEAVES)]
    issues: list[Issue] = []
    for cell in sheet.cells:
        if cell.label is None and cell not in taken and (text := clean_cell_text(cell.lines)) is not None:
            issues.append(_issue(_nearest(cell.page, cell.cell.bbox, anchors), cell.page, text))
    for line in outside:
        if line in taken or (text := clean_cell_text([line.text])) is None:
            continue
        beside = [grid for grid in tables if grid.page == line.page and _beside(line.bbox, grid.bbox)]
        pointers = {_row_level(p) for p, box, page in anchors
                    if any(page == grid.page and grid.bbox.contains(*box.center) for grid in beside)}
        for pointer in sorted(pointers) or [_nearest(line.page, line.bbox, anchors)]:
            issues.append(_issue(pointer, line.page, text, beside=bool(beside)))
    return issues


def _issue(pointer: str, page: int, text: str, *, beside: bool = False) -> Issue:
    where = "表格旁" if beside else ""
    hint = "表格可能只识别了一部分，本页各列可能错位" if beside else "请核对是否遗漏或错位"
    message = f"第{page}页{where}有文字未归入任何字段：“{_quote(text)}”，{hint}"
    return Issue(pointer=pointer, code=CODE, message=message)


def _beside(line: BBox, table: BBox) -> bool:
    """A line outside every table, printed within this table's height: left or right of it."""
    return table.y0 < line.center[1] < table.y1


def _nearest(page: int, box: BBox, anchors: list[tuple[str, BBox, int]]) -> str:
    """The pointer printed nearest ``box``: on its page, in its row first, then by distance; else
    the last field of an earlier page or the first of a later one."""
    def distance(anchor: tuple[str, BBox, int]) -> tuple[int, float, float]:
        _, other, other_page = anchor
        if other_page != page:
            return 1, abs(other_page - page), -other.y1 if other_page < page else other.y0
        same_row = min(box.y1, other.y1) > max(box.y0, other.y0)
        return 0, 0 if same_row else 1, _gap(box, other)

    if not anchors:
        return WHOLE_FORM
    return _row_level(min(anchors, key=distance)[0])


def _row_level(pointer: str) -> str:
    """An indicator's leaf → its row (``/indicators/3/value`` → ``/indicators/3``): what a person checks."""
    return "/".join(pointer.split("/")[:3]) if pointer.startswith("/indicators/") else pointer


def _gap(a: BBox, b: BBox) -> float:
    dx = max(0.0, b.x0 - a.x1, a.x0 - b.x1)
    dy = max(0.0, b.y0 - a.y1, a.y0 - b.y1)
    return (dx * dx + dy * dy) ** 0.5


def _quote(text: str) -> str:
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE] + "…"
