"""Mapping of hand-built grids: the tricky cases of NOTES.md one at a time (merged and blank
continuation cells, placeholders, one-sided goals, 0 vs blank, unit in the cell vs the header,
footer styles, a block continued on the next page) and how confidence and source are derived."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from declscan.models.document import FormDocument, Issue
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine, TextSource
from declscan.models.record import Amount, Indicator, IndicatorValue, Source
from declscan.models.tables import GridCell, TableGrid
from declscan.pipeline.labels import load_labels
from declscan.pipeline.mapping import map_fields

# The form's nine grid columns (as on the real forms): label | 一级 | 二级 三级 值 | 二级 三级 ... 值
WIDTHS = (100, 80, 100, 180, 110, 100, 100, 120, 110)
LEFT, ROW_H = 100.0, 40.0
IMPL_L2, IMPL_L3, IMPL_VAL, ANN_L2, ANN_L3, ANN_VAL = 2, 3, 4, 5, 6, 8


@dataclass
class Table:
    """A hand-built table: ``add`` cells by grid row/column; perfect OCR lines come with them."""

    page: int = 1
    top: float = 300.0
    left: float = LEFT
    cells: list[GridCell] = field(default_factory=list)
    lines: list[TextLine] = field(default_factory=list)
    source: TextSource = "ocr"

    @property
    def col_edges(self) -> list[float]:
        edges = [self.left]
        for width in WIDTHS:
            edges.append(edges[-1] + width)
        return edges

    def add(self, row: int, col: int, text: str = "", *, last_col: int | None = None, rows: int = 1,
            confidence: float = 1.0, text_at: float | None = None) -> Table:
        """A cell; ``text`` lines split on newlines; ``text_at`` is where its text starts (x)."""
        last_col = col if last_col is None else last_col
        box = BBox.of(self.col_edges[col], self.top + row * ROW_H, self.col_edges[last_col + 1],
                      self.top + (row + rows) * ROW_H)
        lines = tuple(text.split("\n")) if text else ()
        self.cells.append(GridCell(row=row, col=col, row_span=rows, col_span=last_col - col + 1, bbox=box,
                                   lines=lines, confidence=confidence if lines else None,
                                   line_confidences=(confidence,) * len(lines)))
        x0 = box.x0 + 5 if text_at is None else text_at
        for i, line in enumerate(lines):
            y0 = box.y0 + 5 + i * 12
            box = BBox.of(x0, y0, x0 + 12 * len(line), y0 + 10)
            self.lines.append(TextLine(page=self.page, text=line, bbox=box, confidence=confidence,
                                       source=self.source))
        return self

    def row(self, row: int, *texts: str, start: int = 0) -> Table:
        """One cell per grid column, left to right."""
        for offset, text in enumerate(texts):
            self.add(row, start + offset, text)
        return self

    def grid(self) -> TableGrid:
        n_rows = max(c.row + c.row_span for c in self.cells)
        edges = self.col_edges
        bbox = BBox.of(edges[0], self.top, edges[-1], self.top + n_rows * ROW_H)
        return TableGrid(page=self.page, bbox=bbox,
                         row_edges=tuple(self.top + r * ROW_H for r in range(n_rows + 1)),
                         col_edges=tuple(edges), cells=tuple(self.cells))


def line(text: str, x: float, y: float, page: int = 1, confidence: float = 1.0) -> TextLine:
    box = BBox.of(x, y, x + 14 * len(text), y + 20)
    return TextLine(page=page, text=text, bbox=box, confidence=confidence)


def mapped(*tables: Table, lines: tuple[TextLine, ...] = (), kind: str = "scan") -> FormDocument:
    all_lines = tuple(ln for t in tables for ln in t.lines) + lines
    doc = FormDocument(document_id="case", kind=kind, tables=tuple(t.grid() for t in tables), lines=all_lines,
                       source=Source(filename="case.png", sha256="0" * 64, pages=1,
                                     received_at="2024-01-26T09:00:00Z"))
    out = map_fields(doc, labels=load_labels())
    assert out.declaration is not None
    return out


def codes(doc: FormDocument) -> dict[str, str]:
    return {issue.pointer: issue.code for issue in doc.issues}


# --- project rows and heading --------------------------------------------------------------------

def test_project_rows_map_by_label_with_aliases_and_department_code() -> None:
    table = (Table()
             .add(0, 0, "项目名称").add(0, 1, "产业扶持资金", last_col=8)
             .add(1, 0, "主管部门及代码").add(1, 1, "623-山西转型综改区\n产业链发展促进部", last_col=3)
             .add(1, 4, "实施单位").add(1, 5, "经济运行部", last_col=8)
             .add(2, 0, "项目属性").add(2, 1, "常年项目", last_col=3)
             .add(2, 4, "项目日期").add(2, 5, "", last_col=8)
             .add(3, 0, "项目设立的必要性").add(3, 1, "为了拉动\n全区经济增长", last_col=8))
    out = mapped(table)
    project = out.declaration.project
    assert project.name == "产业扶持资金"
    assert (project.department_code, project.department) == ("623", "山西转型综改区产业链发展促进部")
    assert (project.implementing_unit, project.attribute) == ("经济运行部", "常年项目")
    assert project.period is None  # 项目日期 printed, its cell blank
    assert project.necessity == "为了拉动全区经济增长"
    assert project.overview is None and codes(out)["/project/overview"] == "label_not_found"
    assert "/project/period" not in codes(out)  # a blank cell is not a missing label
    assert out.provenance["/project/department_code"] == out.provenance["/project/department"]


def test_a_value_split_over_several_cells_is_joined_up_to_the_next_label() -> None:
    table = (Table().add(0, 0, "项目属性").add(0, 1, "").add(0, 2, "一次性项目", last_col=3)
             .add(0, 4, "项目期").add(0, 5, "1年", last_col=8))
    project = mapped(table).declaration.project
    assert (project.attribute, project.period) == ("一次性项目", "1年")


def test_department_without_a_code() -> None:
    out = mapped(Table().add(0, 0, "主管部门及代码").add(0, 1, "经济运行部", last_col=3))
    project = out.declaration.project
    assert (project.department_code, project.department) == (None, "经济运行部")
    assert "/project/department_code" not in out.provenance


@pytest.mark.parametrize("heading", ["## 综改区项目支出绩效目标申报表", "**综改区项目支出绩效目标申报表**"])
def test_heading_loses_markdown_decorations_and_gives_the_fiscal_year(heading: str) -> None:
    table = Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8)
    year = line("（2024年度）", 500, 220)
    out = mapped(table, lines=(line(heading, 200, 150), year, line("附注", 100, 900)))
    assert out.declaration.form.title == "综改区项目支出绩效目标申报表"
    assert out.declaration.form.fiscal_year == 2024
    assert out.provenance["/form/fiscal_year"].bbox == year.bbox.as_list()


def test_a_title_wrapped_over_two_lines_is_joined() -> None:
    table = Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8)
    out = mapped(table, lines=(line("晋中开发区县(区)级预算部门", 150, 100),
                               line("(单位)项目支出绩效目标申报表", 300, 140), line("(2024年度)", 500, 200)))
    assert out.declaration.form.title == "晋中开发区县(区)级预算部门(单位)项目支出绩效目标申报表"


# --- funding ---------------------------------------------------------------------------------------

def funding_table(header: str, rows: list[tuple[str, str, str, str]]) -> Table:
    """The 项目资金 block as printed: label | value (实施期) | label | value (年度) per row."""
    table = Table().add(0, 0, header, rows=len(rows))
    for r, (impl_label, impl_value, annual_label, annual_value) in enumerate(rows):
        (table.add(r, 1, impl_label, last_col=2).add(r, 3, impl_value, last_col=4)
         .add(r, 5, annual_label, last_col=6).add(r, 7, annual_value, last_col=8))
    return table


def test_layout_a_zero_is_an_amount_blank_is_null() -> None:
    out = mapped(funding_table("项目资金 (万元)", [("资金总额:", "", "年度资金总额:", "11350万元"),
                                                 ("其中:财政拨款", "0", "其中:财政拨款", "11350"),
                                                 ("其他资金", "", "其他资金", "")]))
    funding = out.declaration.funding
    assert funding.unit == "万元"
    assert funding.implementation_period.total is None
    assert funding.implementation_period.fiscal == Amount(raw="0", yuan=0)
    assert funding.annual.total == Amount(raw="11350万元", yuan=113_500_000)
    assert funding.annual.fiscal == Amount(raw="11350", yuan=113_500_000)  # bare number: header unit
    assert funding.annual.other is None and funding.annual.central is None
    assert "/funding/implementation_period/total" not in out.provenance
    assert "/funding/implementation_period/total" not in codes(out), "a blank cell is no error"


def test_a_blank_amount_whose_cell_holds_unread_print_is_flagged() -> None:
    table = funding_table("项目资金（元）", [("实施期资金总额", "", "年度资金总额", "")])
    table.cells = [c.model_copy(update={"unread_ink": c.col == 3}) for c in table.cells]
    out = mapped(table)
    assert out.declaration.funding.implementation_period.total is None
    assert codes(out)["/funding/implementation_period/total"] == "unread_cell_ink"
    assert "/funding/annual/total" not in codes(out)


def test_layout_b_unit_in_the_cell_wins_over_the_header() -> None:
    out = mapped(funding_table("项目资金（元）", [("实施期资金总额：", "4000", "年度资金总额：", "4000万元"),
                                                ("其中：中央财政资金", "0", "其中：中央财政资金", "0"),
                                                ("省级财政资金", "0", "省级财政资金", "0"),
                                                ("市县（区）财政", "4000", "市县（区）财政", "4000万元"),
                                                ("单位自筹", "0", "单位自筹", "0"),
                                                ("其他资金", "", "其他资金", "")]))
    impl, annual = out.declaration.funding.implementation_period, out.declaration.funding.annual
    assert impl.total == Amount(raw="4000", yuan=4000)
    assert annual.total == Amount(raw="4000万元", yuan=40_000_000)
    assert impl.municipal == Amount(raw="4000", yuan=4000)
    assert annual.municipal == Amount(raw="4000万元", yuan=40_000_000)
    assert impl.central == impl.provincial == impl.self_raised == Amount(raw="0", yuan=0)
    assert impl.fiscal is None and impl.other is None


def test_an_amount_that_does_not_parse_keeps_its_text_and_scores_low() -> None:
    out = mapped(funding_table("项目资金（元）", [("实施期资金总额", "约四千", "年度资金总额", "9000000")]))
    assert out.declaration.funding.implementation_period.total == Amount(raw="约四千", yuan=None)
    assert out.provenance["/funding/implementation_period/total"].confidence == pytest.approx(0.1)
    assert out.provenance["/funding/annual/total"].confidence == 1.0


def test_a_bare_amount_is_only_as_sure_as_the_header_unit() -> None:
    table = funding_table("项目资金（元）", [("实施期资金总额", "4000", "年度资金总额", "4000万元")])
    table.cells[0] = table.cells[0].model_copy(update={"confidence": 0.7})  # the header read poorly
    out = mapped(table)
    assert out.provenance["/funding/unit"].confidence == pytest.approx(0.7)
    assert out.provenance["/funding/implementation_period/total"].confidence == pytest.approx(0.7)
    assert out.provenance["/funding/annual/total"].confidence == 1.0  # its own unit


def test_a_slip_in_the_header_unit_gives_no_unit_rather_than_a_guess() -> None:
    out = mapped(funding_table("项目资金（力元）", [("资金总额:", "4000", "年度资金总额:", "4000")]))
    assert out.declaration.funding.unit is None
    assert out.declaration.funding.annual.total == Amount(raw="4000", yuan=None)
    assert codes(out)["/funding/unit"] == "funding_unit_not_found"


# --- goals -----------------------------------------------------------------------------------------

def goals_table(impl: str, annual: str, *, header: str = "实施期目标") -> Table:
    return (Table().add(0, 0, "总体目标", rows=2)
            .add(0, 1, header, last_col=4).add(0, 5, "年度目标", last_col=8)
            .add(1, 1, impl, last_col=4).add(1, 5, annual, last_col=8))


@pytest.mark.parametrize(("impl", "annual", "expected"), [
    ("兑现招商引资优惠政策", "", ("兑现招商引资优惠政策", None)),
    ("", "完成奖励兑现", (None, "完成奖励兑现")),
    ("甲", "乙", ("甲", "乙")),
    ("目标1:\n目标2:\n.....", "目标1:甲\n目标2:乙\n.....", (None, "甲乙")),
])
def test_goals_go_to_the_side_they_are_printed_on(impl: str, annual: str,
                                                  expected: tuple[str | None, str | None]) -> None:
    goals = mapped(goals_table(impl, annual, header="项目总目标")).declaration.goals
    assert (goals.implementation_period, goals.annual) == expected


def test_goal_headers_above_the_row_that_holds_the_block_label() -> None:
    """Form 2's layout: 实施期目标 | 年度目标 on one row, then 总体目标 | text on the next."""
    table = (Table().add(0, 1, "实施期目标", last_col=4).add(0, 5, "年度目标", last_col=8)
             .add(1, 0, "总体目标").add(1, 1, "兑现招商引资优惠政策", last_col=4).add(1, 5, "", last_col=8))
    goals = mapped(table).declaration.goals
    assert (goals.implementation_period, goals.annual) == ("兑现招商引资优惠政策", None)


@pytest.mark.parametrize(("text_at", "expected"), [(260.0, "implementation_period"), (700.0, "annual")])
def test_a_goal_cell_spanning_both_sides_goes_where_its_text_starts(text_at: float, expected: str) -> None:
    table = (Table().add(0, 0, "总体目标", rows=2).add(0, 1, "实施期目标", last_col=4)
             .add(0, 5, "年度目标", last_col=8)
             .add(1, 1, "圆满完成补贴和奖励工作", last_col=8, text_at=text_at))
    goals = mapped(table).declaration.goals.model_dump()
    assert goals[expected] == "圆满完成补贴和奖励工作"
    assert [v for v in goals.values() if v is None] == [None]


# --- indicators ------------------------------------------------------------------------------------

HEADER = ("一级指标", "二级指标", "三级指标", "指标值", "二级指标", "三级指标", "指标值")


def indicator_header(table: Table, row: int, rows: int) -> Table:
    table.add(row, 0, "绩效指标", rows=rows)
    for col, title in zip((1, IMPL_L2, IMPL_L3, IMPL_VAL, ANN_L2, ANN_L3, ANN_VAL), HEADER, strict=True):
        table.add(row, col, title, last_col=7 if col == ANN_L3 else col)
    return table


def indicator_row(table: Table, row: int, impl: tuple[str, str, str], annual: tuple[str, str, str],
                  level1: str | None = "") -> Table:
    """One row: 二级/三级/值 per group; ``level1=None`` leaves the 一级 column to a merged cell."""
    if level1 is not None:
        table.add(row, 1, level1)
    groups = ((impl, (IMPL_L2, IMPL_L3, IMPL_VAL)), (annual, (ANN_L2, ANN_L3, ANN_VAL)))
    for (l2, l3, value), (c2, c3, cv) in groups:
        table.add(row, c2, l2).add(row, c3, l3, last_col=7 if c3 == ANN_L3 else c3).add(row, cv, value)
    return table


def ind(period: str, l1: str, l2: str, l3: str, value: IndicatorValue | None) -> Indicator:
    return Indicator(period=period, level1=l1, level2=l2, level3=l3, value=value)  # type: ignore[arg-type]


def raw(text: str) -> IndicatorValue:
    return IndicatorValue(raw=text)


def value(text: str, operator: str, number: float, unit: str) -> IndicatorValue:
    return IndicatorValue(raw=text, operator=operator, number=number, unit=unit)  # type: ignore[arg-type]


def test_merged_and_blank_cells_placeholders_and_blank_values() -> None:
    table = indicator_header(Table(), 0, rows=7)
    table.add(1, 1, "产出指标", rows=3)  # merged 一级 over rows 1-3
    indicator_row(table, 1, ("数量指标", "指标1:", ""), ("数量指标", "满足补贴条件", "大于5户"), level1=None)
    indicator_row(table, 2, ("", "指标2", ""), ("", "指标2:入区扶持企业", "2户"), level1=None)  # blank 二级
    indicator_row(table, 3, ("质量指标", ".....", ""), ("质量指标", "严格按照文件执行", ""), level1=None)
    indicator_row(table, 4, ("经济效益指标", "税收", "1亿元"), ("经济效益指标", "", "有利于"),
                  level1="效益指标")
    indicator_row(table, 5, ("", "完善产业链", "提高1个"), ("", "", ""), level1="")  # blank 一级 continues
    indicator_row(table, 6, ("服务对象满意度", "企业", "≥98百分比"), ("服务对象满意度", "企业", "≥98百分比"),
                  level1="满意度指标")
    out = mapped(table)
    gt = value("≥98百分比", ">=", 98, "%")
    assert out.declaration.indicators == [
        ind("implementation_period", "效益指标", "经济效益指标", "税收", value("1亿元", "=", 1, "亿元")),
        ind("implementation_period", "效益指标", "经济效益指标", "完善产业链", raw("提高1个")),
        ind("implementation_period", "满意度指标", "服务对象满意度", "企业", gt),
        ind("annual", "产出指标", "数量指标", "满足补贴条件", value("大于5户", ">", 5, "户")),
        ind("annual", "产出指标", "数量指标", "入区扶持企业", value("2户", "=", 2, "户")),
        ind("annual", "产出指标", "质量指标", "严格按照文件执行", None),  # blank value keeps the row
        ind("annual", "满意度指标", "服务对象满意度", "企业", gt),
    ]
    assert "/indicators/5/value" not in out.provenance
    # a continued 一级 points at the merged cell it came from
    assert out.provenance["/indicators/4/level1"].bbox == out.provenance["/indicators/3/level1"].bbox


def test_a_two_line_cell_is_one_indicator() -> None:
    table = indicator_header(Table(), 0, rows=2)
    indicator_row(table, 1, ("质量指标", "综示晋开管发【2022】23号\n水平有显著提升", "严格执行\n高质量完成"),
                  ("质量指标", "", ""), level1="产出指标")
    out = mapped(table)
    assert out.declaration.indicators == [
        ind("implementation_period", "产出指标", "质量指标", "综示晋开管发【2022】23号水平有显著提升",
            raw("严格执行高质量完成"))]


def test_the_block_continues_in_the_next_pages_table_by_x_position() -> None:
    first = indicator_header(Table(), 0, rows=2)
    indicator_row(first, 1, ("数量指标", "扶持项目", "≥12项"), ("数量指标", "扶持项目", "≥12项"),
                  level1="产出指标")
    # page 2: placed 60 px further right, the merged cells left blank, the header printed again
    second = Table(page=2, top=120.0, left=LEFT + 60)
    indicator_header(second, 0, rows=3)
    indicator_row(second, 1, ("", "扶持金额", "100万元"), ("", "", ""), level1="")
    indicator_row(second, 2, ("质量指标", "按文件执行", "1个"), ("质量指标", "按文件执行", "1个"), level1="")
    out = mapped(first, second)
    assert [(i.period, i.level1, i.level2, i.level3) for i in out.declaration.indicators] == [
        ("implementation_period", "产出指标", "数量指标", "扶持项目"),
        ("implementation_period", "产出指标", "数量指标", "扶持金额"),
        ("implementation_period", "产出指标", "质量指标", "按文件执行"),
        ("annual", "产出指标", "数量指标", "扶持项目"),
        ("annual", "产出指标", "质量指标", "按文件执行"),
    ]
    assert out.provenance["/indicators/1/level3"].page == 2
    assert out.provenance["/indicators/1/level2"].page == 1  # carried from the cell above


def test_an_indicator_with_no_label_above_is_flagged() -> None:
    table = indicator_header(Table(), 0, rows=2)
    indicator_row(table, 1, ("", "扶持项目", "≥12项"), ("", "", ""), level1="")
    out = mapped(table)
    assert out.declaration.indicators[0].level1 == ""
    assert codes(out)["/indicators/0/level1"] == "indicator_level_missing"
    assert codes(out)["/indicators/0/level2"] == "indicator_level_missing"


@pytest.mark.parametrize(("lines", "scores", "level1", "sure"), [
    ("产出指标\nNr", (0.99, 0.32), "产出指标", True),   # a pen scrawl across the merged cell, read as letters
    ("√\n产出指标", (0.29, 0.99), "产出指标", True),
    ("产出指\n标", (0.99, 0.40), "产出指标", False),    # a line of the name itself: its doubt is the name's
    ("Nr", (0.32,), "Nr", False),                         # nothing but the scrawl: kept for the reviewer
    ("产出指标\n(30分)", (0.99, 0.95), "产出指标(30分)", True),  # print read surely stays, for validation
])
def test_a_level_line_without_ideographs_is_not_part_of_the_name(lines: str, scores: tuple[float, ...],
                                                                   level1: str, sure: bool) -> None:
    table = indicator_header(Table(), 0, rows=3)
    table.add(1, 1, lines, rows=2)
    table.cells[-1] = table.cells[-1].model_copy(update={"line_confidences": scores,
                                                         "confidence": min(scores)})
    indicator_row(table, 1, ("数量指标", "扶持项目", "≥12项"), ("", "", ""), level1=None)
    indicator_row(table, 2, ("数量指标", "扶持金额", "100万元"), ("", "", ""), level1=None)
    out = mapped(table)
    assert [i.level1 for i in out.declaration.indicators] == [level1, level1]
    assert (out.provenance["/indicators/1/level1"].confidence >= 0.9) is sure


def test_a_level_cell_stored_without_line_scores_keeps_every_line() -> None:
    table = indicator_header(Table(), 0, rows=2)
    table.add(1, 1, "产出指标\nNr", confidence=0.32)
    table.cells[-1] = table.cells[-1].model_copy(update={"line_confidences": ()})
    indicator_row(table, 1, ("数量指标", "扶持项目", "≥12项"), ("", "", ""), level1=None)
    assert mapped(table).declaration.indicators[0].level1 == "产出指标Nr"


def test_no_indicator_header_is_an_issue() -> None:
    out = mapped(Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8))
    assert out.declaration.indicators == []
    assert codes(out)["/indicators"] == "label_not_found"


# --- signoff ---------------------------------------------------------------------------------------

def signoff(out: FormDocument) -> tuple[str | None, ...]:
    s = out.declaration.signoff
    return s.responsible_person, s.handler, s.phone, s.filed_date, s.filed_date_raw


def test_signoff_as_the_tables_last_row() -> None:
    table = Table().row(0, "负责人:", "", "经办人:", "王素晋", "联系电话:", "3366685", "填报日期:",
                        "20240105163341")
    out = mapped(table)
    assert signoff(out) == (None, "王素晋", "3366685", "2024-01-05", "20240105163341")
    assert out.provenance["/signoff/handler"].bbox == table.cells[3].bbox.as_list()


def test_signoff_labels_side_by_side_then_one_value_is_the_date() -> None:
    out = mapped(Table().row(0, "负责人：", "经办人：", "联系电话：", "填报日期：", "20240129161124"))
    assert signoff(out) == (None, None, None, "2024-01-29", "20240129161124")


def test_signoff_lines_under_the_table() -> None:
    table = Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8)
    lines = (line("负责人:王静", 100, 500), line("经办人：", 100, 550), line("胡京雁", 400, 552),
             line("联系电话:", 100, 600), line("填报日期:2024. 1. 21", 100, 650))
    out = mapped(table, lines=lines)
    assert signoff(out) == ("王静", "胡京雁", None, "2024-01-21", "2024. 1. 21")
    assert out.provenance["/signoff/handler"].bbox == lines[2].bbox.as_list()
    assert "/signoff/phone" not in out.provenance


@pytest.mark.parametrize("text", ["负责人：刘佳    经办人：常兴    联系电话：3368860    填报日期：2024.1.26",
                                  "负责人:刘佳经办人:常兴联系电话:3368860填报日期:2024.1.26"])
def test_signoff_on_one_line(text: str) -> None:
    out = mapped(Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8), lines=(line(text, 100, 500),))
    assert signoff(out) == ("刘佳", "常兴", "3368860", "2024-01-26", "2024.1.26")


def test_signoff_values_keep_their_printed_characters() -> None:
    out = mapped(Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8),
                 lines=(line("联系电话：３３６８６５８", 100, 500),
                        line("填报日期：２０２４．１．２１", 100, 550)))
    assert signoff(out)[2:] == ("３３６８６５８", "2024-01-21", "２０２４．１．２１")


def test_signoff_with_blank_values_on_one_line() -> None:
    out = mapped(Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8),
                 lines=(line("负责人:    经办人:柴政    联系电话:    填报日期:2024.1.22", 100, 500),))
    assert signoff(out) == (None, "柴政", None, "2024-01-22", "2024.1.22")


def test_an_unreadable_date_keeps_its_text_and_scores_low() -> None:
    out = mapped(Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8),
                 lines=(line("填报日期:2024.13.45", 100, 500),))
    assert signoff(out)[3:] == (None, "2024.13.45")
    assert out.provenance["/signoff/filed_date_raw"].confidence == 1.0
    assert out.provenance["/signoff/filed_date"].confidence == pytest.approx(0.1)


def test_no_signoff_printed_flags_each_field() -> None:
    out = mapped(Table().add(0, 0, "项目名称").add(0, 1, "甲", last_col=8))
    assert {p for p, c in codes(out).items() if c == "label_not_found" and p.startswith("/signoff/")} == {
        "/signoff/responsible_person", "/signoff/handler", "/signoff/phone", "/signoff/filed_date"}


# --- confidence and source -------------------------------------------------------------------------

def test_confidence_combines_ocr_and_the_label_match() -> None:
    table = Table().add(0, 0, "项目名口").add(0, 1, "产业扶持资金", last_col=8, confidence=0.8)
    out = mapped(table)
    assert out.declaration.project.name == "产业扶持资金"
    assert out.provenance["/project/name"].confidence == pytest.approx(0.8 * 0.75)


def test_text_layer_source_comes_from_the_lines() -> None:
    table = Table(source="text_layer").add(0, 0, "项目名称").add(0, 1, "产业扶持资金", last_col=8)
    assert mapped(table, kind="digital").provenance["/project/name"].source == "text_layer"
    assert mapped(Table().add(0, 0, "项目名称").add(0, 1, "产业扶持资金", last_col=8)).provenance[
        "/project/name"].source == "ocr"


def test_issues_are_appended_to_the_documents_issues() -> None:
    earlier = Issue(pointer="/form/title", code="earlier", message="x")
    doc = FormDocument(document_id="case", issues=(earlier,),
                       source=Source(filename="c.png", sha256="0" * 64, pages=1,
                                     received_at="2024-01-26T09:00:00Z"))
    out = map_fields(doc, labels=load_labels())
    assert out.issues[0].code == "earlier"
    assert len(out.issues) > 1
    assert out.declaration is not None and out.declaration.indicators == []


# --- the safety net: text no mapper took -------------------------------------------------------------

def unmapped(out: FormDocument) -> dict[str, list[str]]:
    """``{pointer: [message, …]}`` of the ``unmapped_text`` issues."""
    found: dict[str, list[str]] = {}
    for issue in out.issues:
        if issue.code == "unmapped_text":
            found.setdefault(issue.pointer, []).append(issue.message)
    return found


def two_rows(block_rows: int = 3) -> Table:
    """The header and one indicator row (both groups), the 绩效指标 cell spanning ``block_rows``."""
    table = indicator_header(Table(), 0, rows=block_rows)
    indicator_row(table, 1, ("数量指标", "扶持项目", "≥12项"), ("数量指标", "扶持项目", "≥12项"),
                  level1="产出指标")
    return table


def test_a_value_beside_a_placeholder_is_raised_on_its_row() -> None:
    """指标1: | ≥5户: the row is not made (rule 2), but its value is data the form printed."""
    table = two_rows()
    indicator_row(table, 2, ("质量指标", "指标1:", "≥5户"), ("质量指标", "按文件执行", "1个"), level1="")
    out = mapped(table)
    assert [i.level3 for i in out.declaration.indicators] == ["扶持项目", "扶持项目", "按文件执行"]
    assert list(unmapped(out)) == ["/indicators/2"]  # the row printed beside it (年度 按文件执行)
    assert "“≥5户”" in unmapped(out)["/indicators/2"][0]


def test_a_cell_split_by_a_spurious_rule_is_raised() -> None:
    """The grid cut a 三级 cell in two: the column reads the larger part, the other part is raised."""
    table = two_rows()
    table.add(2, 1, "").add(2, IMPL_L2, "质量指标")
    table.cells.append(GridCell(row=2, col=IMPL_L3, bbox=BBox.of(380, 380, 500, 420), lines=("按文件",)))
    table.cells.append(GridCell(row=2, col=IMPL_L3, bbox=BBox.of(500, 380, 560, 420), lines=("执行",)))
    table.add(2, IMPL_VAL, "1个").add(2, ANN_L2, "").add(2, ANN_L3, "", last_col=7).add(2, ANN_VAL, "")
    out = mapped(table)
    assert out.declaration.indicators[1].level3 == "按文件"
    assert list(unmapped(out)) == ["/indicators/1"]


def test_text_beside_a_continued_table_raises_every_field_read_from_it() -> None:
    """Only part of page 2's table was found: its x fractions are of the wrong width, so every row
    read from it is suspect, not just the nearest."""
    second = Table(page=2, top=120.0)
    indicator_row(second, 0, ("", "扶持金额", "100万元"), ("", "扶持金额", "100万元"), level1="")
    beside = line("满意度", LEFT + sum(WIDTHS) + 30, 130, page=2)
    out = mapped(two_rows(), second, lines=(beside,))
    rows_on_page_2 = {f"/indicators/{i}" for i, ind in enumerate(out.declaration.indicators)
                      if out.provenance[f"/indicators/{i}/level3"].page == 2}
    assert len(rows_on_page_2) == 2
    assert set(unmapped(out)) == rows_on_page_2
    assert all("表格旁" in m for messages in unmapped(out).values() for m in messages)


def test_a_line_under_the_table_that_is_no_signoff_is_raised() -> None:
    table = two_rows()
    out = mapped(table, lines=(line("负责人:王静", LEFT, 450), line("另附：企业名单12户", LEFT, 480)))
    assert out.declaration.signoff.responsible_person == "王静"
    assert [m for ms in unmapped(out).values() for m in ms] == [
        "第1页有文字未归入任何字段：“另附：企业名单12户”，请核对是否遗漏或错位"]


def test_labels_placeholders_and_mapped_text_raise_nothing() -> None:
    table = goals_table("目标1:\n目标2:\n.....", "目标1:甲\n.....")
    out = mapped(table, lines=(line("(2024年度)", 300, 100), line("项目支出绩效目标申报表", 200, 60)))
    assert unmapped(out) == {}


def test_a_repeated_funding_label_raises_its_value() -> None:
    out = mapped(funding_table("项目资金 (万元)", [("资金总额:", "100", "年度资金总额:", "50"),
                                                 ("资金总额:", "999", "其他资金", "")]))
    assert out.declaration.funding.implementation_period.total == Amount(raw="100", yuan=1_000_000)
    assert any("“999”" in m for ms in unmapped(out).values() for m in ms)


def test_a_blank_value_is_flagged_when_the_other_group_prints_the_same_row_with_one() -> None:
    table = two_rows(block_rows=4)
    # the 年度 三级 clipped by its narrow cell, its value lost under a seal
    indicator_row(table, 2, ("质量指标", "根据项目协议约定进度执行", "1个"),
                  ("质量指标", "根据项目协议约定", ""), level1="")
    indicator_row(table, 3, ("时效指标", "及时拨付", "及时"), ("时效指标", "年底前完成", ""), level1="")
    out = mapped(table)
    flagged = {i.pointer: i.code for i in out.issues if i.code == "indicator_value_one_sided"}
    rows = out.declaration.indicators
    blank = [f"/indicators/{i}/value" for i, row in enumerate(rows) if row.value is None]
    assert len(blank) == 2
    assert flagged == {blank[0]: "indicator_value_one_sided"}  # not 年底前完成: another indicator


def project_name_table() -> Table:
    return Table().add(0, 0, "项目名称").add(0, 1, "", last_col=8)


def indicators_table(annual_level3: str) -> Table:
    table = indicator_header(Table(), 0, rows=2)
    return indicator_row(table, 1, ("数量指标", "补贴企业", "5户"), ("数量指标", annual_level3, ""),
                         level1="产出指标")


@pytest.mark.parametrize(("build", "cell", "pointer"), [
    (project_name_table, (0, 1), "/project/name"),
    (lambda: goals_table("兑现招商引资优惠政策", ""), (1, 5), "/goals/annual"),
    (lambda: indicators_table("兑现奖励"), (1, ANN_VAL), "/indicators/1/value"),
    (lambda: indicators_table(""), (1, ANN_L3), "/indicators"),  # a whole row the OCR left out
])
def test_a_blank_cell_that_holds_unread_print_is_flagged(build: Callable[[], Table], cell: tuple[int, int],
                                                         pointer: str) -> None:
    table = build()
    assert pointer not in codes(mapped(table)), "a blank cell is no error"
    table.cells = [c.model_copy(update={"unread_ink": (c.row, c.col) == cell}) for c in table.cells]
    assert codes(mapped(table))[pointer] == "unread_cell_ink"
