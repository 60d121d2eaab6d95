"""The working document every pipeline stage takes and returns (docling's ConversionResult idea).

Stages never mutate it: each returns ``doc.model_copy(update=...)``. Pixels stay out of it (the
caller passes page images beside it), so it is small JSON that a worker can persist per stage.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from declscan.models.ocr import TextLine
from declscan.models.record import Declaration, Provenance, Source
from declscan.models.tables import TableGrid

DocumentKind = Literal["scan", "digital"]


class PageInfo(BaseModel):
    """One page as the pipeline saw it after preprocessing."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    width: int
    height: int
    dpi: float
    rotation: int = Field(default=0, description="clockwise degrees applied to upright the page")
    skew: float = Field(default=0.0, description="degrees of skew corrected")


class Issue(BaseModel):
    """Why a field needs a person: shown in the review UI beside the field."""

    model_config = ConfigDict(frozen=True)

    pointer: str = Field(description="JSON pointer into the record, e.g. /funding/annual/total")
    code: str = Field(description="stable machine code, e.g. funding_sum_mismatch")
    message: str = Field(description="human-readable reason")


class FormDocument(BaseModel):
    """A declaration on its way through the pipeline."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document_id: str
    source: Source
    kind: DocumentKind = "scan"
    pages: tuple[PageInfo, ...] = ()
    lines: tuple[TextLine, ...] = ()
    tables: tuple[TableGrid, ...] = ()
    declaration: Declaration | None = None
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    issues: tuple[Issue, ...] = ()

    @property
    def flagged(self) -> list[str]:
        """Pointers that need a person, in first-raised order, each once."""
        return list(dict.fromkeys(issue.pointer for issue in self.issues))
