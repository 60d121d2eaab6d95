"""Operator corrections re-normalize like the pipeline (rules 3, 4, 6) and hand provenance to the operator."""

from __future__ import annotations

import pytest

from declscan.models.document import FormDocument, Issue
from declscan.models.record import Declaration, Indicator, IndicatorValue, Provenance, Source
from declscan.pipeline.corrections import (
    CorrectionError,
    add_indicator,
    apply_correction,
    field_pointer,
    remove_indicator,
)


@pytest.fixture
def doc(ground_truth) -> FormDocument:
    truth = ground_truth["form-01"]
    declaration = Declaration.model_validate(truth.model_dump(exclude={"schema_version", "document_id"}))
    box = Provenance(page=1, bbox=[10, 20, 110, 40], confidence=0.5)
    return FormDocument(
        document_id="a" * 64,
        source=Source(filename="f.png", sha256="a" * 64, pages=1, received_at="2024-01-26T09:00:00Z"),
        declaration=declaration,
        provenance={"/funding/annual/total": box, "/indicators/1/value": box, "/indicators/2/value": box},
        issues=(Issue(pointer="/indicators/2/value", code="x", message="m"),),
    )


def test_an_amount_raw_recomputes_yuan_and_the_operator_becomes_the_source(doc: FormDocument) -> None:
    fixed = apply_correction(doc, "/funding/annual/total/raw", " 2,000.5万元 ")
    assert fixed.declaration.funding.annual.total.model_dump() == {"raw": "2,000.5万元", "yuan": 20005000}
    evidence = fixed.provenance["/funding/annual/total"]
    assert (evidence.source, evidence.confidence, evidence.bbox) == ("operator", 1.0, [10, 20, 110, 40])
    assert apply_correction(doc, "/funding/annual/total", "").declaration.funding.annual.total is None
    not_an_amount = apply_correction(doc, "/funding/annual/total", "见附件")
    assert not_an_amount.declaration.funding.annual.total.yuan is None


def test_a_bare_amount_takes_the_header_unit_and_moves_with_it(doc: FormDocument) -> None:
    bare = apply_correction(doc, "/funding/annual/other", "40")
    assert bare.declaration.funding.annual.other.yuan == 400000  # header unit 万元
    in_yuan = apply_correction(bare, "/funding/unit", "元")
    assert in_yuan.declaration.funding.annual.other.yuan == 40
    assert in_yuan.declaration.funding.annual.total.yuan == 113500000  # its own unit wins
    with pytest.raises(CorrectionError):
        apply_correction(doc, "/funding/unit", "千元")


def test_indicator_values_and_dates_are_reparsed(doc: FormDocument) -> None:
    value = apply_correction(doc, "/indicators/0/value/raw", "10户以上").declaration.indicators[0].value
    assert value.model_dump() == {"raw": "10户以上", "operator": ">=", "number": 10, "unit": "户"}
    deadline = apply_correction(doc, "/indicators/0/value", "12月底前").declaration.indicators[0].value
    assert (deadline.operator, deadline.number, deadline.unit) == (None, None, None)
    signoff = apply_correction(doc, "/signoff/filed_date", "2024年1月22日").declaration.signoff
    assert (signoff.filed_date_raw, signoff.filed_date) == ("2024年1月22日", "2024-01-22")


def test_unknown_fields_and_bad_values_are_refused(doc: FormDocument) -> None:
    for pointer, value in [("/project/nope", "x"), ("/review/flagged", "x"), ("/indicators/99/level3", "x"),
                           ("/form/fiscal_year", "24年"), ("/indicators/0/period", "monthly"),
                           ("/project/name", {"a": 1})]:
        with pytest.raises(CorrectionError):
            apply_correction(doc, pointer, value)
    assert apply_correction(doc, "/form/fiscal_year", "2025").declaration.form.fiscal_year == 2025


def test_indicator_rows_are_added_and_removed_with_pointers_renumbered(doc: FormDocument) -> None:
    count = len(doc.declaration.indicators)
    added = add_indicator(doc, Indicator(period="annual", level1="产出指标", level2="数量指标", level3="新",
                                         value=IndicatorValue(raw="≥98百分比")))
    assert added.declaration.indicators[-1].value.model_dump() == {
        "raw": "≥98百分比", "operator": ">=", "number": 98, "unit": "%"}
    removed = remove_indicator(doc, 1)
    assert len(removed.declaration.indicators) == count - 1
    assert "/indicators/1/value" in removed.provenance and "/indicators/2/value" not in removed.provenance
    assert [issue.pointer for issue in removed.issues] == ["/indicators/1/value"]
    with pytest.raises(CorrectionError):
        remove_indicator(doc, count)


def test_field_pointer_maps_leaves_onto_their_editable_field() -> None:
    assert field_pointer("/funding/annual/total/yuan") == "/funding/annual/total"
    assert field_pointer("/indicators/3/value/number") == "/indicators/3/value"
    assert field_pointer("/signoff/filed_date") == "/signoff/filed_date_raw"
    assert field_pointer("/project/name") == "/project/name"
