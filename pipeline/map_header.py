"""The heading above the table (title, fiscal year) and the project rows (项目名称 … 项目实施计划)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from declscan.models.document import FormDocument
from declscan.models.ocr import TextLine
from declscan.models.record import FormInfo, Project
from declscan.pipeline.labels import FormLabels
from declscan.pipeline.map_sheet import Evidence, Mapped, Sheet, SheetCell, evidence_of, lines_of
from declscan.pipeline.normalize import clean_cell_text, parse_fiscal_year, split_department

# Markdown-like decorations a text layer or a converted heading may carry: `## 标题`, `**标题**`.
_DECORATION = re.compile(r"^[#*\s]+|[#*\s]+$")


def map_heading(doc: FormDocument, outside: Sequence[TextLine]) -> Mapped[FormInfo]:
    """Title and fiscal year from the text lines above the first table (or on page 1 without one)."""
    mapped: Mapped[FormInfo] = Mapped(FormInfo())
    first_table = min((g for g in doc.tables if g.cells), key=lambda g: (g.page, g.bbox.y0), default=None)
    page = first_table.page if first_table else 1
    top = first_table.bbox.y0 if first_table else float("inf")
    heading = sorted((ln for ln in outside if ln.page == page and ln.bbox.center[1] < top),
                     key=lambda ln: (ln.bbox.y0, ln.bbox.x0))
    year_lines = [ln for ln in heading if parse_fiscal_year(ln.text) is not None]
    title_lines = [ln for ln in heading if ln not in year_lines and _undecorated(ln.text)]
    title = "".join(_undecorated(ln.text) for ln in title_lines) or None
    year = parse_fiscal_year(year_lines[0].text) if year_lines else None
    mapped.value = FormInfo(title=title, fiscal_year=year)
    mapped.consume(title_lines + year_lines[:1])
    if title_lines:
        mapped.note("/form/title", Evidence.of_lines(title_lines))
    else:
        mapped.flag("/form/title", "title_not_found", "表格上方未找到标题")
    if year_lines:
        mapped.note("/form/fiscal_year", Evidence.of_lines(year_lines[:1]))
    return mapped


def _undecorated(text: str) -> str:
    return _DECORATION.sub("", text)


def map_project(sheet: Sheet, labels: FormLabels) -> Mapped[Project]:
    """Each project field is the text of the cell(s) right of its label cell."""
    mapped: Mapped[Project] = Mapped(Project())
    values: dict[str, str | None] = {}
    for key, aliases in labels.project.items():
        label = _best_label(sheet.labelled("project"), key)
        pointer = f"/project/{key}"
        if label is None:
            mapped.flag(pointer, "label_not_found", f"未找到“{aliases[0]}”")
            continue
        cells = sheet.values_right_of(label)
        mapped.consume(cells)
        values[key] = clean_cell_text(lines_of(cells))
        if values[key] is None:
            mapped.flag_unread_ink(pointer, cells, f"“{label.text}”")
            continue
        assert label.label is not None
        evidence = evidence_of(cells, label.label.score)
        if key == "department":
            code, department = split_department(values[key] or "")
            values["department_code"], values[key] = code, department or None
            if code is not None:
                mapped.note("/project/department_code", evidence)
        if values[key] is not None:
            mapped.note(pointer, evidence)
    mapped.value = Project(**values)
    return mapped


def _best_label(cells: Sequence[SheetCell], key: str) -> SheetCell | None:
    """The closest match of ``key`` (the first one on a tie)."""
    matches = [c for c in cells if c.label is not None and c.label.key == key]
    return max(matches, key=lambda c: c.label.score if c.label else 0.0, default=None)
