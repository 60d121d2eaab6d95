"""Indicator level names the OCR did not read as printed, set from the official taxonomy.

一级 and 二级 cells hold a fixed vocabulary (``config/taxonomy.yaml``), so

* a reading one character off a single official name (``产出指`` for 产出指标, ``润意度指标`` for
  满意度指标) is that name;
* a reading that is an official name with letters, digits or marks beside it (``产出指标Nr``: a
  pen scrawl or a speck across the cell, read as text) is that name, as the taxonomy's names are
  ideographs only;
* a blank 一级 above a 二级 that belongs to one 一级 only (数量指标 → 产出指标) is that 一级.

The field is set **and flagged**: the operator confirms it, nothing is published on a guess. A name
printed off the taxonomy on purpose (form 4's 社会效益指标 as a 一级) is more than one edit from
any 一级 and is left as printed for validation to flag.
"""

from __future__ import annotations

from collections.abc import Iterable

from declscan.config.formdata import Taxonomy
from declscan.models.document import FormDocument, Issue
from declscan.models.record import Indicator
from declscan.pipeline.labels import edit_distance
from declscan.pipeline.map_indicators import LEVEL_MISSING
from declscan.pipeline.normalize import label_in, squash
from declscan.pipeline.ocr_check import is_cjk

TAXONOMY_SNAPPED = "taxonomy_snapped"
MIN_LENGTH = 3  # two-character readings are too short to tell one slip from another word


def official_name(text: str, names: Iterable[str], suffix: str) -> str | None:
    """The one official spelling (a name, or the name without ``suffix``) that ``text``'s
    ideographs spell, or are exactly one edit from; None when ``text`` is already one, is too
    short, or two names are equally near. The full name wins over its suffix-less form when both
    are one edit away."""
    read = squash(text)
    kept = "".join(char for char in read if is_cjk(char))
    spellings = [(name, name.removesuffix(suffix)) for name in names]
    if len(kept) < MIN_LENGTH or any(read in forms for forms in spellings):
        return None
    if exact := [form for forms in spellings for form in forms if form == kept]:
        return exact[0]
    near = []
    for forms in spellings:
        if hits := [form for form in forms if edit_distance(kept, form) == 1]:
            near.append(hits[0])
    return near[0] if len(near) == 1 else None


def level1_of(level2: str, taxonomy: Taxonomy) -> str | None:
    """The one 一级 whose 二级 names hold ``level2`` (as printed, with or without the suffix)."""
    owners = [level1 for level1, names in taxonomy.levels.items()
              if label_in(level2, names, taxonomy.optional_suffix)]
    return owners[0] if len(owners) == 1 else None


def snap_taxonomy(doc: FormDocument, *, taxonomy: Taxonomy) -> FormDocument:
    """``doc`` with 一级/二级 names the OCR did not read as printed set from the taxonomy, each
    flagged (a blank 一级's "missing" flag becomes the one saying what it was set to)."""
    if doc.declaration is None:
        return doc
    level2_names = [name for names in taxonomy.levels.values() for name in names]
    rows, issues = [], []
    for i, row in enumerate(doc.declaration.indicators):
        snapped, found = _snap_row(row, taxonomy, level2_names, f"/indicators/{i}")
        rows.append(snapped)
        issues += found
    settled = {issue.pointer for issue in issues}
    kept = tuple(issue for issue in doc.issues
                 if not (issue.code == LEVEL_MISSING and issue.pointer in settled))
    declaration = doc.declaration.model_copy(update={"indicators": rows})
    return doc.model_copy(update={"declaration": declaration, "issues": kept + tuple(issues)})


def _snap_row(row: Indicator, taxonomy: Taxonomy, level2_names: list[str],
              pointer: str) -> tuple[Indicator, list[Issue]]:
    update, issues = {}, []
    for level, names in (("level2", level2_names), ("level1", list(taxonomy.levels))):
        printed = getattr(row, level)
        if (name := official_name(printed, names, taxonomy.optional_suffix)) is not None:
            update[level] = name
            issues.append(Issue(pointer=f"{pointer}/{level}", code=TAXONOMY_SNAPPED,
                                message=f"识别为“{printed}”，按指标体系取为“{name}”，请核对"))
    level2 = update.get("level2", row.level2)
    if not squash(row.level1) and (level1 := level1_of(level2, taxonomy)) is not None:
        update["level1"] = level1
        issues.append(Issue(pointer=f"{pointer}/level1", code=TAXONOMY_SNAPPED,
                            message=f"一级指标未识别，按二级指标“{level2}”取为“{level1}”，请核对"))
    return (row.model_copy(update=update) if update else row), issues
