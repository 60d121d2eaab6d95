"""The 绩效指标 block: one indicator per filled 三级指标 per column group (contract rule 5).

The header row (一级指标 | 二级指标 三级指标 指标值 | 二级指标 三级指标 指标值) gives the x-range of every
column; each later cell belongs to the column it overlaps most, so a block continued in the next
page's table lines up by position. A merged or blank 一级/二级 cell takes the label above it. A
三级 cell that is blank or only a placeholder makes no row; a blank 指标值 keeps the row with a null
value. All 实施期 rows come first, then all 年度 rows, each in table order.

A blank 指标值 is flagged when the other group prints the same 三级 in the same row with a value:
the form repeats an indicator across its groups, so one blank side is a value the scan lost (faint,
under a seal) far more often than one the filer left out. A blank 指标值 or 三级 cell that holds print
the OCR read nothing in is flagged too: a row or a value the detector left out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from declscan.models.record import PERIOD_NAMES, PERIODS, Indicator, Period
from declscan.pipeline.map_sheet import Evidence, Mapped, Sheet, SheetCell, evidence_of
from declscan.pipeline.normalize import clean_cell_text, parse_indicator_value, squash
from declscan.pipeline.ocr_check import is_cjk

# The header row's columns left to right, when all seven are printed.
HEADER_ORDER: tuple[tuple[str, Period | None], ...] = (
    ("level1", None),
    ("level2", "implementation_period"), ("level3", "implementation_period"),
    ("value", "implementation_period"),
    ("level2", "annual"), ("level3", "annual"), ("value", "annual"),
)
MIN_HEADER_CELLS = 4
LEVEL_MISSING = "indicator_level_missing"  # a row with no 一级/二级 name above it
# A line with no ideograph read less surely than this is a pen scrawl or a speck across a level
# cell (0.09-0.56 on the held-out harsh scans), not print: print beside a name, a (30分), reads surely.
SCRAWL_SCORE = 0.7


@dataclass(frozen=True)
class Column:
    key: str  # level1, level2, level3, value
    period: Period | None  # None for 一级, which both groups share
    x0: float
    x1: float
    score: float  # how well the header label matched


@dataclass(frozen=True)
class _Label:
    text: str
    evidence: Evidence


_Row = tuple[Indicator, dict[str, Evidence], SheetCell | None]  # the row, its evidence, its 指标值 cell


def map_indicators(sheet: Sheet) -> Mapped[list[Indicator]]:
    mapped: Mapped[list[Indicator]] = Mapped([])
    start = next((b for b in range(sheet.n_bands) if _header_columns(sheet.starting(b))), None)
    if start is None:
        mapped.flag("/indicators", "label_not_found", "未找到绩效指标表头行（一级/二级/三级指标、指标值）")
        return mapped
    columns = _header_columns(sheet.starting(start))
    rows: dict[Period, list[_Row]] = {p: [] for p in PERIODS}
    bands: dict[Period, list[int]] = {p: [] for p in PERIODS}  # the band each row was read in
    above: dict[tuple[str, Period | None], _Label] = {}
    emitted: dict[Period, SheetCell] = {}
    for band in range(start + 1, sheet.n_bands):
        starting = sheet.starting(band)
        if any(c.is_label("signoff", "project", "funding", "goals") for c in starting):
            break
        if repeated := _header_columns(starting):  # the header printed again on a new page
            columns = repeated
            continue
        by_column = _cells_by_column(sheet.band(band), columns)
        for column in columns:
            cell = by_column.get(column)
            if column.key in ("level1", "level2") and cell and (label := _level_name(cell, column.score)):
                above[column.key, column.period] = label
                mapped.consume([cell])
        for period in PERIODS:
            _flag_unread_row(mapped, by_column, period, band)
            found = _indicator(period, by_column, above, emitted)
            if found is not None:
                rows[period].append(found)
                bands[period].append(band)
                mapped.consume(cell for column, cell in by_column.items()
                               if column.period == period and column.key in ("level3", "value"))
    for indicator, evidence, value_cell in rows["implementation_period"] + rows["annual"]:
        index = len(mapped.value)
        mapped.value.append(indicator)
        for field, item in evidence.items():
            # a raw-only value (及时, 12月底前) is a complete reading under rule 4, not a failed parse
            mapped.note(f"/indicators/{index}/{field}", item)
        if indicator.value is None and value_cell is not None:
            what = f"“{indicator.level3}”的指标值"
            mapped.flag_unread_ink(f"/indicators/{index}/value", [value_cell], what)
        for level in ("level1", "level2"):
            if not getattr(indicator, level):
                mapped.flag(f"/indicators/{index}/{level}", LEVEL_MISSING,
                            "该指标上方未找到一级/二级指标名称")
    _flag_one_sided_values(mapped, [band for p in PERIODS for band in bands[p]])
    return mapped


def _level_name(cell: SheetCell, label_score: float) -> _Label | None:
    """A 一级/二级 cell's name, or None for a blank cell. The taxonomy's names are ideographs only,
    so a line without one read unsurely (``SCRAWL_SCORE``: a pen scrawl across the merged cell, read
    as ``Nr`` or ``√``) is not part of the name when other lines are, nor is its doubt the name's."""
    lines, scores = cell.lines, cell.cell.line_confidences
    if len(scores) != len(lines):  # a document stored before cells kept each line's score
        scores = (1.0,) * len(lines)
    printed = [i for i, line in enumerate(lines) if any(map(is_cjk, line)) or scores[i] >= SCRAWL_SCORE]
    kept = printed or range(len(lines))
    text = clean_cell_text([lines[i] for i in kept])
    if text is None:
        return None
    evidence = evidence_of([cell], label_score)
    if len(kept) < len(lines):
        evidence = dataclasses.replace(evidence, ocr=min(scores[i] for i in kept))
    return _Label(text, evidence)


def _flag_one_sided_values(mapped: Mapped[list[Indicator]], bands: list[int]) -> None:
    """A blank 指标值 whose row repeats, with a value, in the other group (same band, same 三级;
    a 年度 三级 clipped by its narrow cell is a prefix of the 实施期 one)."""
    for index, (indicator, band) in enumerate(zip(mapped.value, bands, strict=True)):
        if indicator.value is not None:
            continue
        mine = squash(indicator.level3)
        for other, other_band in zip(mapped.value, bands, strict=True):
            theirs = squash(other.level3)
            if (other.period != indicator.period and other_band == band and other.value is not None
                    and (mine.startswith(theirs) or theirs.startswith(mine))):
                mapped.flag(f"/indicators/{index}/value", "indicator_value_one_sided",
                            f"另一栏同一指标“{indicator.level3}”的指标值为“{other.value.raw}”，本栏指标值为空，"
                            "请核对是否漏识别")
                break


def _flag_unread_row(mapped: Mapped[list[Indicator]], by_column: dict[Column, SheetCell], period: Period,
                     band: int) -> None:
    """Flag a 三级 cell starting in ``band`` that reads blank but holds print: a row the OCR left out."""
    cell = next((c for col, c in by_column.items() if (col.key, col.period) == ("level3", period)), None)
    if cell is not None and cell.first == band and not cell.lines:
        mapped.flag_unread_ink("/indicators", [cell], f"一行{PERIOD_NAMES[period]}三级指标")


def _indicator(period: Period, by_column: dict[Column, SheetCell],
               above: dict[tuple[str, Period | None], _Label],
               emitted: dict[Period, SheetCell]) -> _Row | None:
    """The group's indicator of one band, or None (blank or placeholder 三级, or a merged 三级 seen)."""
    cells = {c.key: cell for c, cell in by_column.items() if c.period == period}
    scores = {c.key: c.score for c in by_column if c.period == period}
    level3_cell = cells.get("level3")
    if level3_cell is None or emitted.get(period) is level3_cell:
        return None
    level3 = clean_cell_text(level3_cell.lines)
    if level3 is None:
        return None
    emitted[period] = level3_cell
    evidence = {"level3": evidence_of([level3_cell], scores["level3"])}
    level1, level2 = above.get(("level1", None)), above.get(("level2", period))
    for field, label in (("level1", level1), ("level2", level2)):
        if label is not None:
            evidence[field] = label.evidence
    value_cell = cells.get("value")
    raw = clean_cell_text(value_cell.lines) if value_cell is not None else None
    if raw is not None and value_cell is not None:
        evidence["value"] = evidence_of([value_cell], scores["value"])
    indicator = Indicator(
        period=period,
        level1=level1.text if level1 else "",
        level2=level2.text if level2 else "",
        level3=level3,
        value=parse_indicator_value(raw) if raw is not None else None,
    )
    return indicator, evidence, value_cell


def _header_columns(cells: list[SheetCell]) -> list[Column]:
    """The columns a header row defines, or [] when ``cells`` are no 绩效指标 header row."""
    heads = sorted((c for c in cells if c.is_label("indicator_column")), key=lambda c: c.x0)
    if len(heads) < MIN_HEADER_CELLS:
        return []
    # All seven printed: read them by position, since a slip can turn 一级 into 二级 (one character
    # apart) but cannot change their order.
    keys = list(HEADER_ORDER) if len(heads) == len(HEADER_ORDER) else _keys_by_label(heads)
    return [Column(key, period, h.x0, h.x1, h.label.score if h.label else 0.0)
            for (key, period), h in zip(keys, heads, strict=True) if key]


def _keys_by_label(heads: list[SheetCell]) -> list[tuple[str, Period | None]]:
    """Header keys from the labels themselves: the first 二级/三级/指标值 is 实施期, the second 年度."""
    seen: dict[str, int] = {}
    keys: list[tuple[str, Period | None]] = []
    for head in heads:
        key = head.label.key if head.label else ""
        count = seen.get(key, 0)
        seen[key] = count + 1
        if key == "level1":
            keys.append((key, None) if count == 0 else ("", None))
        else:
            keys.append((key, PERIODS[count]) if count < len(PERIODS) else ("", None))
    return keys


def _cells_by_column(cells: list[SheetCell], columns: list[Column]) -> dict[Column, SheetCell]:
    """Each column's cell in a band: the cell that overlaps the column's x-range most."""
    found: dict[Column, tuple[float, SheetCell]] = {}
    for cell in cells:
        overlaps = [(min(cell.x1, c.x1) - max(cell.x0, c.x0), c) for c in columns]
        overlap, column = max(overlaps, key=lambda pair: pair[0])
        if overlap > 0 and overlap > found.get(column, (0.0, cell))[0]:
            found[column] = (overlap, cell)
    return {column: cell for column, (_, cell) in found.items()}
