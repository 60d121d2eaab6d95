"""Turn a finished FormDocument into the published record (pure: writing it is the worker's job)."""

from __future__ import annotations

from declscan.models.document import FormDocument
from declscan.models.record import Declaration, PublishedRecord, Review


def build_record(doc: FormDocument, *, review: Review | None = None) -> PublishedRecord:
    """The contract record of ``doc``.

    Args:
        doc: a document that went through mapping (``doc.declaration`` set; an unmapped document
            yields an all-null declaration, which validation will have flagged).
        review: who reviewed what; by default every flagged pointer of ``doc`` and nothing else.
    """
    declaration = doc.declaration or Declaration()
    review = review or Review(flagged=doc.flagged)
    return PublishedRecord(
        document_id=doc.document_id,
        source=doc.source,
        review=review,
        provenance=dict(sorted(doc.provenance.items())),
        **declaration.model_dump(),
    )
