"""snap_taxonomy: 一级/二级 readings one slip from the official taxonomy take the official name, flagged."""

from __future__ import annotations

import pytest

from declscan.config.formdata import load_taxonomy
from declscan.models.document import FormDocument, Issue
from declscan.models.record import Declaration, GroundTruth, Source
from declscan.pipeline.map_indicators import LEVEL_MISSING
from declscan.pipeline.snap_taxonomy import (
    TAXONOMY_SNAPPED,
    level1_of,
    official_name,
    snap_taxonomy,
)

TAXONOMY = load_taxonomy()
LEVEL1 = list(TAXONOMY.levels)
LEVEL2 = [name for names in TAXONOMY.levels.values() for name in names]
SOURCE = Source(filename="form.png", sha256="0" * 64, pages=1, received_at="2024-01-26T09:00:00Z")


@pytest.mark.parametrize(("read", "names", "official"), [
    ("产出指", LEVEL1, "产出指标"),             # the full name wins over 产出 (also one edit away)
    ("润意度指标", LEVEL1, "满意度指标"),
    ("成木指标", LEVEL2, "成本指标"),
    ("服务对象满意", LEVEL2, "服务对象满意度"),   # nearest to the suffix-less spelling form 2 prints
    ("产出指标Nr", LEVEL1, "产出指标"),          # a pen scrawl across the merged cell, read as letters
    ("√数量指标", LEVEL2, "数量指标"),
    ("产出指vm", LEVEL1, "产出指标"),            # a scrawl and a slip
])
def test_one_slip_from_one_name_takes_that_name(read: str, names: list[str], official: str) -> None:
    assert official_name(read, names, TAXONOMY.optional_suffix) == official


@pytest.mark.parametrize(("read", "names"), [
    ("产出指标", LEVEL1), ("服务对象满意度", LEVEL2),  # already official
    ("社会效益指标", LEVEL1),                       # printed off the taxonomy (form 4): two edits
    ("贡量指标", LEVEL2),                           # 数量指标 or 质量指标: no guess
    ("产出", LEVEL1), ("指", LEVEL2),                # too short to call a slip
    ("社会效益指标W", LEVEL1),                      # off the taxonomy, with a scrawl's letter
    ("Nr", LEVEL1), ("产出A", LEVEL1),               # too few ideographs
])
def test_official_far_or_ambiguous_readings_are_left(read: str, names: list[str]) -> None:
    assert official_name(read, names, TAXONOMY.optional_suffix) is None


def test_snapped_names_are_flagged_and_the_rest_untouched(ground_truth: dict[str, GroundTruth]) -> None:
    fields = set(Declaration.model_fields)
    truth = Declaration.model_validate(ground_truth["form-01"].model_dump(include=fields))
    misread = truth.model_copy(deep=True)
    misread.indicators[0] = misread.indicators[0].model_copy(update={"level1": "产出指"})
    misread.indicators[2] = misread.indicators[2].model_copy(update={"level2": "质量指"})
    doc = snap_taxonomy(FormDocument(document_id="d", source=SOURCE, declaration=misread), taxonomy=TAXONOMY)

    assert doc.declaration == truth
    assert [(issue.pointer, issue.code) for issue in doc.issues] == [
        ("/indicators/0/level1", TAXONOMY_SNAPPED), ("/indicators/2/level2", TAXONOMY_SNAPPED)]
    assert "“产出指”" in doc.issues[0].message


@pytest.mark.parametrize(("level2", "level1"), [
    ("数量指标", "产出指标"), ("可持续影响", "效益指标"), ("服务对象满意度", "满意度指标"),  # suffix optional
    ("", None), ("量指", None), ("效益指标", None),
])
def test_a_level2_names_its_level1_only_when_official(level2: str, level1: str | None) -> None:
    assert level1_of(level2, TAXONOMY) == level1


def test_a_blank_level1_takes_its_level2s_and_says_so(ground_truth: dict[str, GroundTruth]) -> None:
    fields = set(Declaration.model_fields)
    truth = Declaration.model_validate(ground_truth["form-01"].model_dump(include=fields))
    misread = truth.model_copy(deep=True)
    misread.indicators[0] = misread.indicators[0].model_copy(update={"level1": ""})
    misread.indicators[1] = misread.indicators[1].model_copy(update={"level1": "", "level2": "量指"})
    missing = tuple(Issue(pointer=f"/indicators/{i}/level1", code=LEVEL_MISSING, message="未找到")
                    for i in (0, 1))
    doc = snap_taxonomy(FormDocument(document_id="d", source=SOURCE, declaration=misread, issues=missing),
                        taxonomy=TAXONOMY)

    assert doc.declaration is not None
    assert doc.declaration.indicators[0] == truth.indicators[0]
    assert doc.declaration.indicators[1].level1 == ""  # 量指 names no one 一级: left for the reviewer
    assert [(issue.pointer, issue.code) for issue in doc.issues] == [
        ("/indicators/1/level1", LEVEL_MISSING), ("/indicators/0/level1", TAXONOMY_SNAPPED)]
    assert f"“{truth.indicators[0].level2}”" in doc.issues[1].message


def test_the_dev_set_is_left_as_printed(ground_truth: dict[str, GroundTruth]) -> None:
    for truth in ground_truth.values():
        declaration = Declaration.model_validate(truth.model_dump(include=set(Declaration.model_fields)))
        doc = snap_taxonomy(FormDocument(document_id="d", source=SOURCE, declaration=declaration),
                            taxonomy=TAXONOMY)
        assert doc.declaration == declaration and doc.issues == ()
