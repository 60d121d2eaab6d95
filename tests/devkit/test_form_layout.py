"""The form layout: the grid is well formed, and every truth value is printed where its pointer says."""

from __future__ import annotations

import pytest

from declscan.devkit.draw import paginate
from declscan.devkit.layout import ANN_L2, IMPL_L2, L1, FormLayout, LayoutCell, layout_form, layout_to_grid
from declscan.devkit.variants import make_variant
from declscan.models.record import GroundTruth
from declscan.pipeline.normalize import clean_cell_text, squash

FORMS = [f"form-0{n}" for n in range(1, 8)]
SEEDS = range(6)


def cases(ground_truth: dict[str, GroundTruth]) -> list[tuple[str, int, GroundTruth]]:
    out = [(form, seed, ground_truth[form]) for form in FORMS for seed in SEEDS]
    out += [(f"{form}-v{seed}", seed, make_variant(ground_truth[form], seed=seed)) for form in FORMS
            for seed in (1, 2)]
    return out


def covering(layout: FormLayout, row: int, col: int) -> LayoutCell:
    hits = [c for c in layout.cells if c.row <= row <= c.last_row and c.col <= col <= c.last_col]
    assert len(hits) == 1, (row, col, hits)
    return hits[0]


def resolve(record: dict, pointer: str) -> object:
    node: object = record
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    return node


def expected_text(truth: GroundTruth, pointer: str) -> str | None:
    if pointer == "/project/department" and truth.project.department_code:
        return f"{truth.project.department_code}-{truth.project.department}"
    value = resolve(truth.model_dump(mode="json"), pointer)
    if isinstance(value, dict):  # an amount or an indicator value: the printed text is raw
        value = value["raw"]
    return value  # type: ignore[return-value]


def printed(lines: tuple[str, ...]) -> str | None:
    text = clean_cell_text(lines)
    return None if text is None else squash(text)


def test_grid_is_covered_exactly_for_every_form_and_seed(ground_truth: dict[str, GroundTruth]) -> None:
    for form, seed, truth in cases(ground_truth):
        layout = layout_form(truth, seed=seed)
        assert abs(sum(layout.col_widths) - 1) < 1e-9
        owner = [[0] * len(layout.col_widths) for _ in range(layout.n_rows)]
        for cell in layout.cells:
            assert cell.last_col < len(layout.col_widths) and cell.last_row < layout.n_rows, (form, cell)
            for row in range(cell.row, cell.last_row + 1):
                for col in range(cell.col, cell.last_col + 1):
                    owner[row][col] += 1
        assert all(count == 1 for row in owner for count in row), f"{form} seed {seed}: hole or overlap"


def test_every_pointed_cell_prints_its_truth_value(ground_truth: dict[str, GroundTruth]) -> None:
    for form, seed, truth in cases(ground_truth):
        layout = layout_form(truth, seed=seed)
        for cell in layout.cells:
            if cell.pointer:
                want = expected_text(truth, cell.pointer)
                got = printed(cell.lines)
                assert got == (None if want is None else squash(want)), (form, seed, cell.pointer)


def test_every_truth_value_is_printed(ground_truth: dict[str, GroundTruth]) -> None:
    for form, seed, truth in cases(ground_truth):
        layout = layout_form(truth, seed=seed)
        pointed = {cell.pointer for cell in layout.cells if cell.pointer}
        data = truth.model_dump(mode="json")
        for key, value in data["project"].items():
            if value is not None and key != "department_code":
                assert f"/project/{key}" in pointed, (form, key)
        for period in ("implementation_period", "annual"):
            for key, value in data["funding"][period].items():
                assert value is None or f"/funding/{period}/{key}" in pointed, (form, period, key)
            assert data["goals"][period] is None or f"/goals/{period}" in pointed
        for i in range(len(truth.indicators)):
            assert {f"/indicators/{i}/level3", f"/indicators/{i}/value"} <= pointed, (form, i)
        footer = {pointer: value for fragments in layout.footer_pointers
                  for value, pointer in fragments.items()}
        for key in ("responsible_person", "handler", "phone", "filed_date_raw"):
            value = data["signoff"][key]
            assert (footer.get(f"/signoff/{key}") == value) if value else f"/signoff/{key}" not in footer
            assert value is None or any(value in line for line in layout.footer_lines)
        assert layout.title == truth.form.title
        assert layout.subtitle is not None and str(truth.form.fiscal_year) in layout.subtitle


def test_merged_level_cells_label_every_row_they_span(ground_truth: dict[str, GroundTruth]) -> None:
    for form, seed, truth in cases(ground_truth):
        layout = layout_form(truth, seed=seed)
        for cell in layout.cells:
            if cell.pointer and cell.pointer.endswith("/level3"):
                indicator = truth.indicators[int(cell.pointer.split("/")[2])]
                level2_col = IMPL_L2 if indicator.period == "implementation_period" else ANN_L2
                assert printed(covering(layout, cell.row, L1).lines) == squash(indicator.level1), form
                assert printed(covering(layout, cell.row, level2_col).lines) == squash(indicator.level2), form


def test_level_cells_are_really_merged(ground_truth: dict[str, GroundTruth]) -> None:
    layout = layout_form(ground_truth["form-02"], seed=0)
    level1 = [c for c in layout.cells if c.col == L1 and c.lines == ("产出指标",)]
    assert level1 and level1[0].row_span == 4  # 数量 / 质量 / 时效 / 成本
    assert any(c.col == ANN_L2 and c.row_span == 2 for c in layout_form(ground_truth["form-06"]).cells)


def test_goals_printed_as_template_lines_drop_back_to_the_truth(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-07"]
    templated = [seed for seed in range(20) if any(
        line.startswith("目标1") for c in layout_form(truth, seed=seed).cells
        if c.pointer == "/goals/annual" for line in c.lines)]
    assert templated, "no seed prints the template 目标1: lines"
    cell = next(c for c in layout_form(truth, seed=templated[0]).cells if c.pointer == "/goals/annual")
    assert cell.lines[-1] == "....." and len(cell.lines) == 6
    assert printed(cell.lines) == squash(truth.goals.annual or "")


def test_grid_of_every_page_matches_the_layout(ground_truth: dict[str, GroundTruth]) -> None:
    for form in FORMS:
        layout = layout_form(ground_truth[form], seed=3)
        pages = paginate(layout)
        texts_by_pointer: dict[str, str] = {}
        for number in range(1, len(pages) + 1):
            grid, lines = layout_to_grid(layout, page=number)
            owner = [[0] * grid.n_cols for _ in range(grid.n_rows)]
            for cell in grid.cells:
                for row in range(cell.row, cell.last_row + 1):
                    for col in range(cell.col, cell.last_col + 1):
                        owner[row][col] += 1
                assert grid.row_edges[cell.row] == cell.bbox.y0 and grid.col_edges[cell.col] == cell.bbox.x0
            assert all(count == 1 for row in owner for count in row), (form, number)
            line_texts = [line.text for line in lines]
            if number == 1:
                assert "".join(line_texts).startswith((layout.title or "")[:6])
            for page_cell, grid_cell in zip(pages[number - 1].cells, grid.cells, strict=True):
                if page_cell.cell.pointer:
                    texts_by_pointer[page_cell.cell.pointer] = grid_cell.text
                for placed in page_cell.lines:
                    assert grid_cell.bbox.contains(*placed.bbox.center)
        for cell in layout.cells:  # wrapping splits lines but never adds or drops characters
            if cell.pointer:
                assert texts_by_pointer[cell.pointer] == "".join(cell.lines), (form, cell.pointer)


def test_a_merged_cell_cut_by_the_page_break_continues_blank(ground_truth: dict[str, GroundTruth]) -> None:
    layout = layout_form(ground_truth["form-07"], seed=0)
    pages = paginate(layout)
    assert len(pages) == 2
    grid, _ = layout_to_grid(layout, page=2)
    label = [c for c in grid.cells if c.col == 0 and c.row == 0]
    assert label and label[0].lines == () and label[0].row_span == grid.n_rows  # 绩效指标 continues
    with pytest.raises(ValueError, match="page 3"):
        layout_to_grid(layout, page=3)
