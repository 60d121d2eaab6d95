"""How sure the service is of each field, and flagging the fields it is not sure of (rule 7)."""

from __future__ import annotations

from declscan.models.document import FormDocument, Issue

LOW_CONFIDENCE = "low_confidence"
# A value that should have parsed (an amount, a date) but did not is wrong or misread far more
# often than not: scaling by this keeps it below any threshold an operator would sensibly set.
PARSE_FAILURE_FACTOR = 0.1


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
    ``threshold``. Re-runnable: earlier ``low_confidence`` issues are replaced, others are kept."""
    kept = tuple(issue for issue in doc.issues if issue.code != LOW_CONFIDENCE)
    raised = tuple(
        Issue(pointer=pointer, code=LOW_CONFIDENCE,
              message=f"识别置信度 {provenance.confidence:.2f} 低于阈值 {threshold:.2f}，请核对")
        for pointer, provenance in doc.provenance.items()
        if provenance.confidence < threshold
    )
    return doc.model_copy(update={"issues": kept + raised})
