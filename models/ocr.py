"""Text found on a page, by OCR or from a PDF's text layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from declscan.models.geometry import BBox

TextSource = Literal["ocr", "text_layer"]
# Why the OCR stage's checks doubt a line it kept (its confidence is then capped so it is flagged).
LineDoubt = Literal["skipped_character", "unread_ink", "stray_mark", "confusable_bracket",
                    "confusable_colon", "confusable_dash", "uncommon_character"]


class TextLine(BaseModel):
    """One recognized line of text (one detection box)."""

    model_config = ConfigDict(frozen=True)

    page: int = Field(ge=1, description="1-based page number")
    text: str
    bbox: BBox
    confidence: float = Field(ge=0.0, le=1.0)
    source: TextSource = "ocr"
    doubt: LineDoubt | None = Field(default=None, description="why the OCR checks doubt this line")
