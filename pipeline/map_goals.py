"""The 总体目标 block: a header row (实施期目标 or 项目总目标 | 年度目标) and the text under it.

A text cell belongs to the group whose side of the 年度目标 header it is printed on. A text printed
on one side only fills that group; the other stays null (it is not copied across).
"""

from __future__ import annotations

from declscan.models.record import PERIOD_NAMES, PERIODS, Goals, Period
from declscan.pipeline.map_sheet import Mapped, Sheet, SheetCell, evidence_of, lines_of
from declscan.pipeline.normalize import clean_cell_text

# Label kinds that start the next block, so the goal text has ended.
_NEXT_BLOCK = ("indicators_block", "indicator_column", "signoff", "project", "funding", "funding_header")


def map_goals(sheet: Sheet) -> Mapped[Goals]:
    mapped: Mapped[Goals] = Mapped(Goals())
    headers = sheet.labelled("goals")
    if not headers:
        mapped.flag("/goals", "label_not_found", "未找到“实施期目标/年度目标”表头")
        return mapped
    divider = _divider(headers)
    cells: dict[Period, list[SheetCell]] = {period: [] for period in PERIODS}
    for band in range(max(h.last for h in headers) + 1, sheet.n_bands):
        starting = sheet.starting(band)
        if any(c.is_label(*_NEXT_BLOCK) for c in starting):
            break
        for sheet_cell in starting:
            if sheet_cell.is_label() or not (sheet_cell.text or sheet_cell.cell.unread_ink):
                continue
            cells["annual" if _position(sheet_cell, divider) >= divider else "implementation_period"].append(
                sheet_cell)
    texts: dict[Period, str | None] = {}
    for period, side in cells.items():
        mapped.consume(side)
        texts[period] = clean_cell_text(lines_of(side))
        if texts[period] is None:
            mapped.flag_unread_ink(f"/goals/{period}", side, f"{PERIOD_NAMES[period]}目标")
        else:
            header_score = max((h.label.score for h in headers if h.label and h.label.key == period),
                               default=1.0)
            mapped.note(f"/goals/{period}", evidence_of(side, header_score))
    mapped.value = Goals(**texts)
    return mapped


def _divider(headers: list[SheetCell]) -> float:
    """Where the 年度 side starts: the 年度目标 header's left edge (else the 实施期 header's right)."""
    annual = [h.x0 for h in headers if h.label and h.label.key == "annual"]
    if annual:
        return min(annual)
    return max(h.x1 for h in headers)


def _position(sheet_cell: SheetCell, divider: float) -> float:
    """The x a text cell is judged by: its middle, or where its text starts if it spans both sides."""
    if sheet_cell.x0 < divider < sheet_cell.x1:
        return sheet_cell.x0 if sheet_cell.text_x0 is None else sheet_cell.text_x0
    return (sheet_cell.x0 + sheet_cell.x1) / 2
