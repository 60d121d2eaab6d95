"""Confidence combination and low-confidence flagging (pure logic)."""

from __future__ import annotations

import typing

import pytest

from declscan.models.document import FormDocument, Issue
from declscan.models.geometry import BBox
from declscan.models.ocr import LineDoubt, TextLine
from declscan.models.record import Provenance, Source
from declscan.pipeline.confidence import (
    DOUBT_REASONS,
    LOW_CONFIDENCE,
    combine_confidence,
    flag_low_confidence,
)

SOURCE = Source(filename="form.png", sha256="0" * 64, pages=1, received_at="2024-01-26T09:00:00Z")


def _prov(confidence: float, source: str = "ocr") -> Provenance:
    return Provenance(page=1, bbox=[0, 0, 10, 10], confidence=confidence, source=source)


def _doc(**provenance: float) -> FormDocument:
    return FormDocument(
        document_id="d", source=SOURCE,
        provenance={"/" + key.replace("__", "/"): _prov(value) for key, value in provenance.items()},
        issues=(Issue(pointer="/project/name", code="mapping.ambiguous_label", message="两个候选"),),
    )


def test_combine_multiplies_ocr_and_label_match() -> None:
    assert combine_confidence(0.98, 1.0, True) == pytest.approx(0.98)
    assert combine_confidence(0.9, 0.8, True) == pytest.approx(0.72)
    assert combine_confidence(None, 0.95, True) == pytest.approx(0.95)


def test_parse_failure_falls_below_any_sane_threshold() -> None:
    assert combine_confidence(1.0, 1.0, False) <= 0.1
    assert combine_confidence(0.99, 0.99, False) < combine_confidence(0.2, 1.0, True)


def test_combine_is_clamped() -> None:
    assert combine_confidence(1.2, 1.0, True) == 1.0
    assert combine_confidence(-0.1, 1.0, True) == 0.0


def test_flags_exactly_the_pointers_below_threshold() -> None:
    doc = _doc(project__name=0.95, funding__annual__total=0.5, signoff__phone=0.89)
    flagged = flag_low_confidence(doc, threshold=0.9)
    low = [issue for issue in flagged.issues if issue.code == LOW_CONFIDENCE]
    assert [issue.pointer for issue in low] == ["/funding/annual/total", "/signoff/phone"]
    assert "0.50" in low[0].message and "0.90" in low[0].message
    assert flagged.issues[0].code == "mapping.ambiguous_label"  # others' issues are kept


def test_rerun_replaces_its_own_issues() -> None:
    doc = flag_low_confidence(_doc(project__name=0.5, signoff__phone=0.6), threshold=0.9)
    # an operator corrects the name: its provenance becomes operator-made, confidence 1.0
    corrected = doc.model_copy(update={"provenance": {**doc.provenance,
                                                      "/project/name": _prov(1.0, "operator")}})
    again = flag_low_confidence(corrected, threshold=0.9)
    assert [(i.pointer, i.code) for i in again.issues] == [
        ("/project/name", "mapping.ambiguous_label"), ("/signoff/phone", LOW_CONFIDENCE)]
    assert flag_low_confidence(again, threshold=0.9) == again


def test_the_message_names_the_ocr_checks_doubt_about_a_line_of_the_field() -> None:
    doubted = TextLine(page=1, text="次性项目", bbox=BBox.of(2, 2, 8, 8), confidence=0.5, doubt="unread_ink")
    elsewhere = TextLine(page=1, text="其他", bbox=BBox.of(20, 20, 30, 30), confidence=0.5,
                         doubt="skipped_character")
    doc = _doc(project__attribute=0.5, signoff__phone=0.6).model_copy(update={"lines": (elsewhere, doubted)})
    messages = {i.pointer: i.message for i in flag_low_confidence(doc, threshold=0.9).issues}
    assert messages["/project/attribute"].startswith(DOUBT_REASONS["unread_ink"])
    assert "0.50" in messages["/project/attribute"]
    doc = doc.model_copy(update={"lines": (elsewhere,)})
    messages = {i.pointer: i.message for i in flag_low_confidence(doc, threshold=0.9).issues}
    assert messages["/project/attribute"] == "识别置信度 0.50 低于阈值 0.90，请核对"


def test_every_doubt_the_ocr_checks_record_has_a_reason() -> None:
    assert set(DOUBT_REASONS) == set(typing.get_args(LineDoubt))
