"""Mapping stage: the detected table(s) and the text around them → the contract's ``Declaration``.

Labels are found by fuzzy matching against ``config/labels.yaml``; a value is the cell to the right
of its label (project, funding), the cell under its header (goals, indicators) or the text after its
label (signoff). Every leaf set from the page gets a provenance entry (page, box, confidence, source);
what the mapper could not place is raised as an issue. A field whose label is not found stays null,
and any text no mapper took is raised on the field nearest to it (``map_unmapped``).
"""

from __future__ import annotations

import logging

from declscan.models.document import FormDocument
from declscan.models.record import Declaration
from declscan.pipeline.labels import FormLabels
from declscan.pipeline.map_footer import map_signoff
from declscan.pipeline.map_funding import map_funding
from declscan.pipeline.map_goals import map_goals
from declscan.pipeline.map_header import map_heading, map_project
from declscan.pipeline.map_indicators import map_indicators
from declscan.pipeline.map_sheet import Mapped, Sheet, outside_tables
from declscan.pipeline.map_unmapped import flag_unmapped

log = logging.getLogger(__name__)


def map_fields(doc: FormDocument, *, labels: FormLabels) -> FormDocument:
    """``doc`` with ``declaration``, ``provenance`` and the mapper's issues (appended) filled in."""
    sheet = Sheet.of(doc, labels)
    outside = outside_tables(doc)
    form = map_heading(doc, outside)
    project = map_project(sheet, labels)
    funding = map_funding(sheet, labels)
    goals = map_goals(sheet)
    indicators = map_indicators(sheet)
    signoff = map_signoff(sheet, outside, labels)
    parts: list[Mapped] = [form, project, funding, goals, indicators, signoff]
    declaration = Declaration(form=form.value, project=project.value, funding=funding.value,
                              goals=goals.value, indicators=indicators.value, signoff=signoff.value)
    provenance = {pointer: p for part in parts for pointer, p in part.provenance.items()}
    issues = tuple(issue for part in parts for issue in part.issues)
    consumed = (item for part in parts for item in part.consumed)
    issues += tuple(flag_unmapped(sheet, outside, doc.tables, consumed, provenance))
    log.info("mapped %s: %d indicators, %d fields with provenance, %d issues",
             doc.document_id, len(declaration.indicators), len(provenance), len(issues))
    return doc.model_copy(update={"declaration": declaration, "provenance": provenance,
                                  "issues": doc.issues + issues})
