"""Mapping on perfect OCR of the seven dev forms: the rendered layout (labels, aliases, placeholders,
footer styles vary by seed) must map back onto the ground truth exactly, under the contract's
comparison (NFKC, no white space), also with an OCR slip in every label and with the second page's
table shifted and scaled as a second scan would be."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import pytest

from declscan.devkit.draw import PageLayout, page_grid, paginate, pointer_boxes
from declscan.devkit.layout import FormLayout, layout_form
from declscan.models.document import FormDocument
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.models.record import Declaration, GroundTruth, Source
from declscan.models.tables import GridCell, TableGrid
from declscan.pipeline.labels import load_labels, normalize_label
from declscan.pipeline.mapping import map_fields

SEEDS = range(6)  # together they print every alias, placeholder style and footer style (see below)
FORMS = [f"form-0{n}" for n in range(1, 8)]


def squash(value: object) -> object:
    """The contract's comparison: texts after NFKC with all white space removed."""
    if isinstance(value, str):
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    if isinstance(value, dict):
        return {key: squash(item) for key, item in value.items()}
    if isinstance(value, list):
        return [squash(item) for item in value]
    return value


def declaration_of(truth: GroundTruth) -> dict:
    return squash(Declaration.model_validate(truth.model_dump(include=set(Declaration.model_fields)))
                  .model_dump(mode="json"))


def perfect_ocr(pages: list[PageLayout], name: str) -> FormDocument:
    """What perfect OCR and grid detection report for the rendered pages."""
    tables, lines = [], []
    for page in pages:
        grid, page_lines = page_grid(page)
        tables.append(grid)
        lines += page_lines
    source = Source(filename=f"{name}.png", sha256="0" * 64, pages=len(pages),
                    received_at="2024-01-26T09:00:00Z")
    return FormDocument(document_id=name, source=source, tables=tuple(tables), lines=tuple(lines))


def rendered(truth: GroundTruth, seed: int) -> tuple[FormLayout, list[PageLayout]]:
    layout = layout_form(truth, seed=seed)
    return layout, paginate(layout)


def mapped(doc: FormDocument) -> FormDocument:
    out = map_fields(doc, labels=load_labels())
    assert out.declaration is not None
    return out


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", FORMS)
def test_perfect_ocr_maps_onto_the_ground_truth(ground_truth: dict[str, GroundTruth], name: str,
                                                seed: int) -> None:
    _, pages = rendered(ground_truth[name], seed)
    out = mapped(perfect_ocr(pages, name))
    assert squash(out.declaration.model_dump(mode="json")) == declaration_of(ground_truth[name])
    assert out.issues == ()


@pytest.mark.parametrize("name", FORMS)
def test_provenance_points_at_the_printed_value(ground_truth: dict[str, GroundTruth], name: str) -> None:
    """Every printed value's provenance is the box the renderer printed it in, on its page; every
    leaf with a value has provenance, and nothing null has any."""
    _, pages = rendered(ground_truth[name], seed=5)
    out = mapped(perfect_ocr(pages, name))
    leaves = dict(_leaves(out.declaration.model_dump(mode="json")))
    printed = {p: where for p, where in pointer_boxes(pages).items() if leaves[p] is not None}
    assert len(printed) > 30
    for pointer, (page, box) in printed.items():
        assert out.provenance[pointer].page == page, pointer
        assert out.provenance[pointer].bbox == box.as_list(), pointer
        assert out.provenance[pointer].confidence == 1.0
        assert out.provenance[pointer].source == "ocr"
    for pointer in out.provenance:
        assert leaves.get(pointer) is not None, f"provenance for the blank {pointer}"
    for pointer, value in leaves.items():
        assert (value is None) == (pointer not in out.provenance), pointer


def _leaves(data: dict) -> list[tuple[str, object]]:
    """The contract's leaf pointers: amounts and indicator values are leaves, not their parts."""
    found: list[tuple[str, object]] = [("/form/title", data["form"]["title"]),
                                       ("/form/fiscal_year", data["form"]["fiscal_year"]),
                                       ("/funding/unit", data["funding"]["unit"])]
    found += [(f"/project/{key}", value) for key, value in data["project"].items()]
    for period in ("implementation_period", "annual"):
        found += [(f"/funding/{period}/{key}", v) for key, v in data["funding"][period].items()]
        found.append((f"/goals/{period}", data["goals"][period]))
    for i, row in enumerate(data["indicators"]):
        found += [(f"/indicators/{i}/{key}", row[key]) for key in ("level1", "level2", "level3", "value")]
    found += [(f"/signoff/{key}", value) for key, value in data["signoff"].items()]
    return found


def test_the_seeds_print_every_variant(ground_truth: dict[str, GroundTruth]) -> None:
    """Guards the exact-mapping test: its seeds must really exercise the aliases and template quirks."""
    texts: set[str] = set()
    footers: set[int] = set()
    for seed in SEEDS:
        for truth in ground_truth.values():
            layout = layout_form(truth, seed=seed)
            texts |= {normalize_label(line) for cell in layout.cells for line in cell.lines}
            texts |= {line for cell in layout.cells for line in cell.lines
                      if re.match(r"(指标|目标)\d", line)}
            footers.add(len(layout.footer_lines))
    for alias in ("项目期", "项目日期", "项目设立必要性", "项目设立的必要性", "实施期目标", "项目总目标",
                  "市县区财政", "市县区财政资金", "资金总额", "实施期资金总额", "其中财政拨款"):
        assert alias in texts, alias
    assert any(re.fullmatch(r"指标\d[:：]", t) for t in texts), "no placeholder-only 三级 cell"
    assert any(re.fullmatch(r"指标\d[:：].+", t) for t in texts), "no 指标N: prefix before real text"
    assert any(re.fullmatch(r"目标\d[:：].+", t) for t in texts), "no 目标N: goal list"
    assert footers == {1, 4}, "footer both on one line and on four lines"


# --- OCR slips in the labels -------------------------------------------------------------------

def replace_one(word: str) -> str:
    middle = len(word) // 2
    return word[:middle] + "口" + word[middle + 1:]


def drop_one(word: str) -> str:
    return word[:-1]


def slip_label(text: str, slip: Callable[[str], str]) -> str:
    """``text`` with one slip in its longest run of CJK characters (the label, not its unit)."""
    runs = list(re.finditer(r"[\u4e00-\u9fff]{3,}", text))
    if not runs:
        return text
    run = max(runs, key=lambda m: len(m.group()))
    return text[: run.start()] + slip(run.group()) + text[run.end():]


def with_slipped_labels(doc: FormDocument, slip: Callable[[str], str]) -> tuple[FormDocument, int]:
    """Every label cell and every footer label before a colon gets one slip."""
    labels = load_labels()
    count = 0

    def cell(c: GridCell) -> GridCell:
        nonlocal count
        match = labels.match(c.text) if c.text else None
        if match is None or match.score < 1.0:
            return c
        count += 1
        return c.model_copy(update={"lines": (slip_label(c.text, slip),)})  # one slip per label

    def footer(line: TextLine) -> TextLine:
        nonlocal count
        labelled = re.fullmatch(r"(.*?)([:：].*)", line.text, re.DOTALL)
        if labelled is None or labels.match(labelled.group(1), ("signoff",)) is None:
            return line
        count += 1
        return line.model_copy(update={"text": slip_label(labelled.group(1), slip) + labelled.group(2)})

    tables = tuple(g.model_copy(update={"cells": tuple(cell(c) for c in g.cells)}) for g in doc.tables)
    return doc.model_copy(update={"tables": tables, "lines": tuple(footer(ln) for ln in doc.lines)}), count


@pytest.mark.parametrize("slip", [replace_one, drop_one])
@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("name", FORMS)
def test_one_slip_in_every_label_still_maps(ground_truth: dict[str, GroundTruth], name: str, seed: int,
                                            slip: Callable[[str], str]) -> None:
    _, pages = rendered(ground_truth[name], seed)
    doc, slipped = with_slipped_labels(perfect_ocr(pages, name), slip)
    assert slipped >= 32  # 10 project, 7+ funding, 3 goals, 8 indicator header, 4 footer labels
    out = mapped(doc)
    assert squash(out.declaration.model_dump(mode="json")) == declaration_of(ground_truth[name])
    # the slip shows in the confidence, so the fields can be flagged for a person
    assert out.provenance["/project/name"].confidence < 1.0
    assert out.provenance["/funding/annual/total"].confidence < 1.0
    assert all(out.provenance[f"/indicators/{i}/level3"].confidence < 1.0
               for i in range(len(out.declaration.indicators)))


# --- a table continued on a second scan --------------------------------------------------------

def shifted(doc: FormDocument, page: int, dx: float, dy: float, scale: float) -> FormDocument:
    """``doc`` with everything on ``page`` moved and scaled, as a second, differently placed scan."""

    def box(b: BBox) -> BBox:
        return BBox.of(dx + b.x0 * scale, dy + b.y0 * scale, dx + b.x1 * scale, dy + b.y1 * scale)

    def grid(g: TableGrid) -> TableGrid:
        if g.page != page:
            return g
        return g.model_copy(update={
            "bbox": box(g.bbox),
            "row_edges": tuple(dy + y * scale for y in g.row_edges),
            "col_edges": tuple(dx + x * scale for x in g.col_edges),
            "cells": tuple(c.model_copy(update={"bbox": box(c.bbox)}) for c in g.cells),
        })

    lines = tuple(ln.model_copy(update={"bbox": box(ln.bbox)}) if ln.page == page else ln for ln in doc.lines)
    return doc.model_copy(update={"tables": tuple(grid(g) for g in doc.tables), "lines": lines})


@pytest.mark.parametrize("name", FORMS)
def test_a_table_continued_on_a_shifted_second_page_maps_the_same(ground_truth: dict[str, GroundTruth],
                                                                  name: str) -> None:
    _, pages = rendered(ground_truth[name], seed=4)
    assert len(pages) == 2
    doc = shifted(perfect_ocr(pages, name), page=2, dx=83.0, dy=-40.0, scale=0.93)
    out = mapped(doc)
    assert squash(out.declaration.model_dump(mode="json")) == declaration_of(ground_truth[name])
    assert {p.page for p in out.provenance.values()} == {1, 2}
