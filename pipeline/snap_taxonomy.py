"""Indicator level names one OCR slip away from the official taxonomy, set to the official name.

一级 and 二级 cells hold a fixed vocabulary (``config/taxonomy.yaml``), so a reading one character
off a single official name (``产出指`` for 产出指标, ``润意度指标`` for 满意度指标) is that name. The
field is set to it **and flagged**: the operator confirms it, nothing is published on a guess.
A name printed off the taxonomy on purpose (form 4's 社会效益指标 as a 一级) is more than one edit
from any 一级 and is left as printed for validation to flag.
"""

from __future__ import annotations

from collections.abc import Iterable

from declscan.config.formdata import Taxonomy
from declscan.models.document import FormDocument, Issue
from declscan.pipeline.labels import edit_distance
from declscan.pipeline.normalize import squash

TAXONOMY_SNAPPED = "taxonomy_snapped"
MIN_LENGTH = 3  # two-character readings are too short to tell one slip from another word


def official_name(text: str, names: Iterable[str], suffix: str) -> str | None:
    """The one official spelling (a name, or the name without ``suffix``) exactly one edit from
    ``text``; None when ``text`` is already one, is too short, or two names are equally near.
    The full name wins over its suffix-less form when both are one edit away."""
    read = squash(text)
    spellings = [(name, name.removesuffix(suffix)) for name in names]
    if len(read) < MIN_LENGTH or any(read in forms for forms in spellings):
        return None
    near = []
    for forms in spellings:
        if hits := [form for form in forms if edit_distance(read, form) == 1]:
            near.append(hits[0])
    return near[0] if len(near) == 1 else None


def snap_taxonomy(doc: FormDocument, *, taxonomy: Taxonomy) -> FormDocument:
    """``doc`` with 一级/二级 names one slip from an official name set to it, each flagged."""
    if doc.declaration is None:
        return doc
    level2_names = [name for names in taxonomy.levels.values() for name in names]
    rows, issues = [], []
    for i, row in enumerate(doc.declaration.indicators):
        update = {}
        for level, names in (("level1", list(taxonomy.levels)), ("level2", level2_names)):
            printed = getattr(row, level)
            if (name := official_name(printed, names, taxonomy.optional_suffix)) is not None:
                update[level] = name
                issues.append(Issue(pointer=f"/indicators/{i}/{level}", code=TAXONOMY_SNAPPED,
                                    message=f"识别为“{printed}”，按指标体系取为“{name}”，请核对"))
        rows.append(row.model_copy(update=update) if update else row)
    declaration = doc.declaration.model_copy(update={"indicators": rows})
    return doc.model_copy(update={"declaration": declaration, "issues": doc.issues + tuple(issues)})
