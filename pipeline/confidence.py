"""How sure the service is of each field, and flagging the fields it is not sure of (rule 7)."""

from __future__ import annotations

from collections.abc import Sequence

from declscan.models.document import FormDocument, Issue
from declscan.models.ocr import LineDoubt, TextLine
from declscan.models.record import Provenance

LOW_CONFIDENCE = "low_confidence"
# A value that should have parsed (an amount, a date) but did not is wrong or misread far more
# often than not: scaling by this keeps it below any threshold an operator would sensibly set.
PARSE_FAILURE_FACTOR = 0.1
# What an operator should look for when a line the field was read from is doubted by the OCR checks.
DOUBT_REASONS: dict[LineDoubt, str] = {
    "skipped_character": "文字间有空缺，可能漏识别了字",
    "unread_ink": "原图上有未被识别的字或标点",
    "stray_mark": "表格线可能被识别成了字母",
    "confusable_bracket": "文号年份的括号读作“（）”，原图可能是“〔〕”，形状无法判定",
    "confusable_colon": "“：”与“；”易混，原图墨迹无法判定是哪一个",
    "confusable_dash": "汉字前的“-”常是“一”的误识",
    "uncommon_character": "含常用简体字（GB 2312）以外的字，可能是误识（如读成繁体字）",
}


def combine_confidence(ocr: float | None, label_match: float, parsed: bool) -> float:
    """A field's confidence: ``ocr × label_match``, times 0.1 when a parse was expected and failed.

    ``ocr`` is the lowest recognition score of the text lines the value was read from (``None``
    when no OCR was involved, e.g. a PDF text layer: taken as 1.0). ``label_match`` is how well
    the row/column label that placed the value matched its alias (1.0 exact). The two are
    independent ways of being wrong, so they multiply. ``parsed`` is False only where the field
    must parse (an amount, a date) and did not; free text that rule 4 keeps raw-only is parsed.
    The result is clamped to [0, 1].
    """
    score = (1.0 if ocr is None else ocr) * label_match
    if not parsed:
        score *= PARSE_FAILURE_FACTOR
    return min(max(score, 0.0), 1.0)


def flag_low_confidence(doc: FormDocument, *, threshold: float) -> FormDocument:
    """``doc`` with one ``low_confidence`` issue per provenance pointer whose confidence is below
    ``threshold``; its message names the OCR checks' doubt (``TextLine.doubt``) about a line inside
    the field's box, if any. Re-runnable: earlier ``low_confidence`` issues are replaced, others are
    kept."""
    kept = tuple(issue for issue in doc.issues if issue.code != LOW_CONFIDENCE)
    raised = tuple(
        Issue(pointer=pointer, code=LOW_CONFIDENCE, message=_message(provenance, threshold, doc.lines))
        for pointer, provenance in doc.provenance.items()
        if provenance.confidence < threshold
    )
    return doc.model_copy(update={"issues": kept + raised})


def _message(provenance: Provenance, threshold: float, lines: Sequence[TextLine]) -> str:
    """Why the field is flagged: the OCR checks' doubt about a line inside its box, when there is one."""
    score = f"识别置信度 {provenance.confidence:.2f} 低于阈值 {threshold:.2f}"
    x0, y0, x1, y1 = provenance.bbox
    for line in lines:
        cx, cy = line.bbox.center
        if line.doubt and line.page == provenance.page and x0 <= cx <= x1 and y0 <= cy <= y1:
            return f"{DOUBT_REASONS[line.doubt]}（{score}），请对照原图核对"
    return f"{score}，请核对"
