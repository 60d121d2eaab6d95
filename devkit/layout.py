"""Lay a ground truth out as the real form prints it: a ruled grid of (merged) cells plus free text.

``layout_form`` decides *what* is printed where (labels, aliases, merged cells, placeholders),
reproducing the seed forms' layout; it knows nothing about pixels. ``layout_to_grid`` turns the
layout into what perfect OCR and perfect grid detection would report for one page, with the same
geometry ``declscan.devkit.draw`` renders. Every text of the truth is printed somewhere, so the truth
is recoverable from the page under the contract's rules 1 and 2.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from declscan.models.record import Amount, FundingBlock, GroundTruth, Indicator, Period

if TYPE_CHECKING:
    from declscan.models.ocr import TextLine
    from declscan.models.tables import TableGrid

Align = Literal["left", "center"]

# Grid columns (fractions of the table width). The indicator table needs 8 columns; the annual
# 三级 column is split in two so that the funding block can put its annual label/value boundary
# there, as the seed forms do.
COL_WIDTHS = (0.09, 0.08, 0.10, 0.16, 0.12, 0.10, 0.09, 0.10, 0.16)
N_COLS = len(COL_WIDTHS)
LABEL, L1, IMPL_L2, IMPL_L3, IMPL_VAL, ANN_L2, ANN_L3, ANN_VAL = 0, 1, 2, 3, 4, 5, 6, 8
FOOTER_GAP = "    "  # separates footer fragments printed on one line

FUNDING_ROWS_A = (("total", "资金总额:", "年度资金总额:"), ("fiscal", "其中:财政拨款", "其中:财政拨款"),
                  ("other", "其他资金", "其他资金"))
FUNDING_ROWS_B = (("total", "实施期资金总额:", "年度资金总额:"),
                  ("central", "其中:中央财政资金", "其中:中央财政资金"),
                  ("provincial", "省级财政资金", "省级财政资金"),
                  ("municipal", "市县(区)财政资金", "市县(区)财政资金"),
                  ("self_raised", "单位自筹", "单位自筹"), ("other", "其他资金", "其他资金"))
TEXT_ROWS = (("overview", "项目概况"), ("basis", "立项依据"), ("necessity", "项目设立必要性"),
             ("safeguards", "保证项目实施的制度、措施"), ("plan", "项目实施计划"))
SENTENCE_END = re.compile(r"(?<=[。；;])")


@dataclass(frozen=True)
class LayoutCell:
    """One (possibly merged) grid cell: its logical text lines and the contract field it prints.

    ``pointer`` is the JSON pointer whose value this cell's text is (None for labels and headers,
    and for merged 一级/二级 cells, which feed several indicators). The 主管部门及代码 cell points at
    ``/project/department``; it also carries ``department_code`` (``"623-…"``).
    """

    row: int
    col: int
    row_span: int
    col_span: int
    lines: tuple[str, ...]
    pointer: str | None = None
    align: Align = "center"

    @property
    def last_row(self) -> int:
        return self.row + self.row_span - 1

    @property
    def last_col(self) -> int:
        return self.col + self.col_span - 1


@dataclass(frozen=True)
class FormLayout:
    """A whole form: heading, the ruled table, and the signoff printed below it.

    ``footer_pointers[i]`` maps each value fragment printed on ``footer_lines[i]`` to its pointer.
    """

    title: str | None
    subtitle: str | None
    col_widths: tuple[float, ...]
    n_rows: int
    cells: tuple[LayoutCell, ...]
    footer_lines: tuple[str, ...]
    footer_pointers: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class _Style:
    """The per-form printing choices, drawn from the seed."""

    colon: str
    parens: tuple[str, str]
    period_label: str
    necessity_label: str
    goal_header: str
    municipal_label: str
    goals_as_template: bool
    missing_placeholder: bool
    prefix_level3: bool
    template_rows: bool
    footer_on_one_line: bool

    @classmethod
    def draw(cls, rng: random.Random) -> _Style:
        return cls(
            colon=rng.choice([":", "："]),
            parens=rng.choice([("(", ")"), ("（", "）")]),
            period_label=rng.choice(["项目期", "项目期", "项目日期"]),
            necessity_label=rng.choice(["项目设立必要性", "项目设立的必要性"]),
            goal_header=rng.choice(["实施期目标", "实施期目标", "项目总目标"]),
            municipal_label=rng.choice(["市县(区)财政资金", "市县(区)财政"]),
            goals_as_template=rng.random() < 0.4,
            missing_placeholder=rng.random() < 0.5,
            prefix_level3=rng.random() < 0.25,
            template_rows=rng.random() < 0.3,
            footer_on_one_line=rng.random() < 0.5,
        )

    def label(self, text: str) -> str:
        """A template label in this form's punctuation (half- or full-width colon and parens)."""
        return text.replace(":", self.colon).replace("(", self.parens[0]).replace(")", self.parens[1])


def text_lines(text: str | None) -> tuple[str, ...]:
    """The printed lines of a truth text: white space in the truth marks a line break in the seed."""
    return tuple(text.split()) if text else ()


class _Grid:
    def __init__(self) -> None:
        self.cells: list[LayoutCell] = []
        self.n_rows = 0

    def add(self, row: int, col: int, last_col: int, lines: tuple[str, ...] = (), pointer: str | None = None,
            *, rows: int = 1, align: Align = "center") -> None:
        self.cells.append(LayoutCell(row, col, rows, last_col - col + 1, lines, pointer, align))
        self.n_rows = max(self.n_rows, row + rows)


def layout_form(truth: GroundTruth, *, seed: int = 0) -> FormLayout:
    """The printed form of ``truth``; the label aliases and template quirks are chosen by ``seed``."""
    style = _Style.draw(random.Random(seed))
    grid = _Grid()
    _project_rows(grid, truth, style)
    _funding_rows(grid, truth, style)
    _text_rows(grid, truth, style)
    _goal_rows(grid, truth, style)
    _indicator_rows(grid, truth, style)
    footer_lines, footer_pointers = _footer(truth, style)
    year = truth.form.fiscal_year
    return FormLayout(
        title=truth.form.title,
        subtitle=None if year is None else style.label(f"({year}年度)"),
        col_widths=COL_WIDTHS,
        n_rows=grid.n_rows,
        cells=tuple(grid.cells),
        footer_lines=footer_lines,
        footer_pointers=footer_pointers,
    )


def _project_rows(grid: _Grid, truth: GroundTruth, style: _Style) -> None:
    project = truth.project
    department = project.department
    if department and project.department_code:
        department = f"{project.department_code}-{department}"
    grid.add(0, LABEL, LABEL, ("项目名称",))
    grid.add(0, L1, N_COLS - 1, text_lines(project.name), "/project/name")
    pairs = ((("主管部门及代码", department, "/project/department"),
              ("实施单位", project.implementing_unit, "/project/implementing_unit")),
             (("项目属性", project.attribute, "/project/attribute"),
              (style.period_label, project.period, "/project/period")))
    for row, (left, right) in enumerate(pairs, start=1):
        grid.add(row, LABEL, LABEL, (left[0],))
        grid.add(row, L1, IMPL_L3, text_lines(left[1]), left[2])
        grid.add(row, IMPL_VAL, IMPL_VAL, (right[0],))
        grid.add(row, ANN_L2, N_COLS - 1, text_lines(right[1]), right[2])


def _funding_rows(grid: _Grid, truth: GroundTruth, style: _Style) -> None:
    funding = truth.funding
    rows = _funding_layout(funding.implementation_period, funding.annual)
    start = grid.n_rows
    unit = "" if funding.unit is None else style.label(f"({funding.unit})")
    grid.add(start, LABEL, LABEL, ("项目资金" + unit,), rows=len(rows))
    for offset, (key, impl_label, annual_label) in enumerate(rows):
        row = start + offset
        if key == "municipal":
            impl_label = annual_label = style.municipal_label
        for period, label, label_cols, value_cols in (
            ("implementation_period", impl_label, (L1, IMPL_L2), (IMPL_L3, IMPL_VAL)),
            ("annual", annual_label, (ANN_L2, ANN_L3), (ANN_L3 + 1, ANN_VAL)),
        ):
            amount: Amount | None = getattr(getattr(funding, period), key)
            grid.add(row, *label_cols, (style.label(label),))
            grid.add(row, *value_cols, () if amount is None else (amount.raw,), f"/funding/{period}/{key}")


def _funding_layout(impl: FundingBlock, annual: FundingBlock) -> tuple[tuple[str, str, str], ...]:
    """Layout A (资金总额/财政拨款/其他资金) when a 财政拨款 amount exists, else layout B."""
    has = {key for block in (impl, annual) for key, value in block if value is not None}
    if "fiscal" not in has:
        return FUNDING_ROWS_B
    if has & {"central", "provincial", "municipal", "self_raised"}:
        raise ValueError("a form prints either 财政拨款 or the central/provincial/municipal split, not both")
    return FUNDING_ROWS_A


def _text_rows(grid: _Grid, truth: GroundTruth, style: _Style) -> None:
    for key, label in TEXT_ROWS:
        row = grid.n_rows
        if key == "necessity":
            label = style.necessity_label
        grid.add(row, LABEL, LABEL, (label,))
        grid.add(row, L1, N_COLS - 1, text_lines(getattr(truth.project, key)), f"/project/{key}",
                 align="left")


def _goal_rows(grid: _Grid, truth: GroundTruth, style: _Style) -> None:
    row = grid.n_rows
    grid.add(row, LABEL, LABEL, ("总体目标",), rows=2)
    grid.add(row, L1, IMPL_VAL, (style.goal_header,))
    grid.add(row, ANN_L2, N_COLS - 1, ("年度目标",))
    for period, first, last in (("implementation_period", L1, IMPL_VAL), ("annual", ANN_L2, N_COLS - 1)):
        text = getattr(truth.goals, period)
        grid.add(row + 1, first, last, _goal_lines(text, style), f"/goals/{period}", align="left")


def _goal_lines(text: str | None, style: _Style) -> tuple[str, ...]:
    """Plain lines, or the template's ``目标1:…`` / ``目标2:…`` / ``.....`` list (rule 2 undoes it)."""
    if not style.goals_as_template:
        return text_lines(text)
    if text is None:
        return (*(f"目标{n}{style.colon}" for n in (1, 2, 3)), ".....")
    items = list(text_lines(text))
    if len(items) == 1:
        items = [part for part in SENTENCE_END.split(items[0]) if part]
    return (*(f"目标{n}{style.colon}{item}" for n, item in enumerate(items, start=1)), ".....")


def _indicator_rows(grid: _Grid, truth: GroundTruth, style: _Style) -> None:
    header = grid.n_rows
    titles = ("一级指标", "二级指标", "三级指标", "指标值", "二级指标", "三级指标", "指标值")
    for col, title in zip((L1, IMPL_L2, IMPL_L3, IMPL_VAL, ANN_L2, ANN_L3, ANN_VAL), titles, strict=True):
        grid.add(header, col, ANN_L3 + 1 if col == ANN_L3 else col, (title,))
    rows = _pair_indicator_rows(truth.indicators, template_rows=style.template_rows) or [IndicatorRow("", "")]
    grid.add(header, LABEL, LABEL, ("绩效指标",), rows=len(rows) + 1)
    first = header + 1
    _merged_column(grid, first, L1, [row.level1 for row in rows])
    _merged_column(grid, first, IMPL_L2, [(row.level1, row.level2) for row in rows])
    _merged_column(grid, first, ANN_L2, [(row.level1, row.level2) for row in rows])
    for offset, row in enumerate(rows):
        for period, l3_cols, val_col in (("implementation_period", (IMPL_L3, IMPL_L3), IMPL_VAL),
                                         ("annual", (ANN_L3, ANN_L3 + 1), ANN_VAL)):
            index = row.index(period)
            if index is None:
                placeholder = style.missing_placeholder and row.level2 != ""
                lines = (f"指标{row.position + 1}{style.colon}",) if placeholder else ()
                grid.add(first + offset, *l3_cols, lines)
                grid.add(first + offset, val_col, val_col)
                continue
            indicator = truth.indicators[index]
            level3 = text_lines(indicator.level3)
            if style.prefix_level3:
                level3 = (f"指标{row.position + 1}{style.colon}{level3[0]}", *level3[1:])
            grid.add(first + offset, *l3_cols, level3, f"/indicators/{index}/level3")
            value = () if indicator.value is None else text_lines(indicator.value.raw)
            grid.add(first + offset, val_col, val_col, value, f"/indicators/{index}/value")


@dataclass(frozen=True)
class IndicatorRow:
    """One printed indicator row: the 实施期 and 年度 indicators (indexes into the truth) side by side."""

    level1: str
    level2: str
    position: int = 0  # the row's place within its (一级, 二级) run, for 指标N: placeholders
    impl: int | None = None
    annual: int | None = None

    def index(self, period: Period) -> int | None:
        return self.impl if period == "implementation_period" else self.annual


Run = tuple[tuple[str, str], list[int]]
STANDARD_LEVEL2 = {"产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
                   "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
                   "满意度指标": ("服务对象满意度指标",)}


def _runs(indicators: list[Indicator], period: Period) -> list[Run]:
    """The period's indicators grouped into runs of consecutive rows with the same (一级, 二级)."""
    runs: list[Run] = []
    for index, indicator in enumerate(indicators):
        if indicator.period != period:
            continue
        key = (indicator.level1, indicator.level2)
        if runs and runs[-1][0] == key:
            runs[-1][1].append(index)
        else:
            runs.append((key, [index]))
    return runs


def _pair_indicator_rows(indicators: list[Indicator], *, template_rows: bool) -> list[IndicatorRow]:
    """Both column groups' runs merged in table order; runs with the same (一级, 二级) share rows."""
    impl, annual = _runs(indicators, "implementation_period"), _runs(indicators, "annual")
    paired: list[tuple[tuple[str, str], list[int], list[int]]] = []
    while impl or annual:
        if impl and annual and impl[0][0] == annual[0][0]:
            paired.append((impl[0][0], impl.pop(0)[1], annual.pop(0)[1]))
        elif impl and (not annual or impl[0][0] not in {key for key, _ in annual}):
            paired.append((impl[0][0], impl.pop(0)[1], []))
        else:
            paired.append((annual[0][0], [], annual.pop(0)[1]))
    if template_rows:
        paired = _with_template_rows(paired)
    rows = []
    for (level1, level2), impl_rows, annual_rows in paired:
        for position in range(max(len(impl_rows), len(annual_rows), 1)):
            rows.append(IndicatorRow(level1, level2, position,
                                     impl_rows[position] if position < len(impl_rows) else None,
                                     annual_rows[position] if position < len(annual_rows) else None))
    return rows


def _with_template_rows(paired: list) -> list:
    """Adds the template's empty rows for standard 二级 labels the truth lacks (no indicator results)."""
    for level1, standard in STANDARD_LEVEL2.items():
        for rank, level2 in enumerate(standard):
            positions = [i for i, ((l1, _), _, _) in enumerate(paired) if l1 == level1]
            if not positions or any(paired[i][0][1] == level2 for i in positions):
                continue
            # before the first run of a later standard 二级, else at the end of the 一级 block
            later = [i for i in positions if paired[i][0][1] in standard[rank + 1:]]
            paired.insert(later[0] if later else positions[-1] + 1, ((level1, level2), [], []))
    return paired


def _merged_column(grid: _Grid, first_row: int, col: int, keys: list) -> None:
    """One cell per run of equal keys (the merged 一级/二级 cells); the text is the run's label."""
    start = 0
    for end in range(1, len(keys) + 1):
        if end == len(keys) or keys[end] != keys[start]:
            key = keys[start]
            label = key[-1] if isinstance(key, tuple) else key
            grid.add(first_row + start, col, col, text_lines(label), rows=end - start)
            start = end


def _footer(truth: GroundTruth, style: _Style) -> tuple[tuple[str, ...], tuple[dict[str, str], ...]]:
    signoff = truth.signoff
    fields = (("负责人", signoff.responsible_person, "/signoff/responsible_person"),
              ("经办人", signoff.handler, "/signoff/handler"),
              ("联系电话", signoff.phone, "/signoff/phone"),
              ("填报日期", signoff.filed_date_raw, "/signoff/filed_date_raw"))
    fragments = [(f"{label}{style.colon}{value or ''}", {value: pointer} if value else {})
                 for label, value, pointer in fields]
    if style.footer_on_one_line:
        merged: dict[str, str] = {}
        for _, pointers in fragments:
            merged.update(pointers)
        return (FOOTER_GAP.join(text for text, _ in fragments),), (merged,)
    return tuple(text for text, _ in fragments), tuple(pointers for _, pointers in fragments)


def layout_to_grid(layout: FormLayout, *, page: int = 1, width: int = 1654,
                   dpi: int = 200) -> tuple[TableGrid, list[TextLine]]:
    """What perfect OCR + grid detection reports for ``page``: the table and every printed line.

    Geometry is exactly what ``declscan.devkit.draw.render_clean_pages`` draws at ``dpi`` (an A4 page
    ``width`` pixels wide). The TextLines hold the title, subtitle and footer fragments outside the
    table and one line per printed (wrapped) line of each cell; all confidences are 1.0.
    """
    # Imported here because draw.py builds on this module's types.
    from declscan.devkit.draw import page_grid, paginate

    pages = paginate(layout, dpi=dpi, width=width)
    if not 1 <= page <= len(pages):
        raise ValueError(f"the layout has {len(pages)} page(s), not page {page}")
    return page_grid(pages[page - 1])
