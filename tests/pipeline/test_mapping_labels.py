"""The label data (config/labels.yaml) and its fuzzy matching: every alias reads as itself, one OCR
slip still reads as the right label, and no value printed on the dev forms reads as a label."""

from __future__ import annotations

import pytest

from declscan.models.record import GroundTruth
from declscan.pipeline.labels import FormLabels, edit_distance, load_labels, normalize_label


def all_aliases(labels: FormLabels) -> list[tuple[str, str, str]]:
    """(kind, key, alias) of every label in the file."""
    found = [("project", k, a) for k, aliases in labels.project.items() for a in aliases]
    found += [("funding", k, a) for k, aliases in labels.funding.rows.items() for a in aliases]
    found += [("signoff", k, a) for k, aliases in labels.signoff.items() for a in aliases]
    found += [("goals", "implementation_period", a) for a in labels.goals.implementation_period]
    found += [("goals", "annual", a) for a in labels.goals.annual]
    found += [("goals_block", "block", a) for a in labels.goals.block]
    found += [("indicators_block", "block", a) for a in labels.indicators.block]
    found += [("funding_header", "header", a) for a in labels.funding.header]
    return found


def test_labels_load_once_as_package_data() -> None:
    labels = load_labels()
    assert labels is load_labels()
    assert "项目设立的必要性" in labels.project["necessity"]
    assert labels.funding.units == ("万元", "元")


@pytest.mark.parametrize(("kind", "key", "alias"), all_aliases(load_labels()))
def test_every_alias_reads_as_itself(kind: str, key: str, alias: str) -> None:
    match = load_labels().match(alias)
    assert match is not None and (match.kind, match.key, match.score) == (kind, key, 1.0)


@pytest.mark.parametrize(("kind", "key", "alias"), all_aliases(load_labels()))
def test_one_slip_anywhere_still_reads_as_the_same_label(kind: str, key: str, alias: str) -> None:
    # (一级/二级/三级指标 are one character apart and not tested here: the header row is read by
    # position.)
    labels = load_labels()
    aliases = {normalize_label(a) for k, ky, a in all_aliases(labels) if (k, ky) == (kind, key)}
    for i in range(len(alias)):
        for slipped in (alias[:i] + "口" + alias[i + 1:], alias[:i] + alias[i + 1:]):
            norm = normalize_label(slipped)
            if not norm or norm == normalize_label(alias):
                continue  # the slip hit punctuation, which the comparison ignores anyway
            match = labels.match(slipped)
            if any(edit_distance(norm, normalize_label(text)) <= 1 for text in labels.not_labels):
                assert match is None, slipped  # 口效指标: as near 时效指标 as 绩效指标, so no label
                continue
            assert match is not None and (match.kind, match.key) == (kind, key), slipped
            assert match.score < 1.0 or norm in aliases  # 项目日期 less 日 is the alias 项目期


@pytest.mark.parametrize("text", ["其中:中央财政资金", "其中：市县（区）财政", "项目资金（万元）",
                                  "年度资金总额:", "项目资金 (元)", "其中:财政拨款"])
def test_prefixes_units_and_punctuation_are_optional(text: str) -> None:
    match = load_labels().match(text)
    assert match is not None and match.score == 1.0


def test_no_value_printed_on_the_dev_forms_reads_as_a_label(ground_truth: dict[str, GroundTruth]) -> None:
    labels = load_labels()
    values: set[str] = set()
    for truth in ground_truth.values():
        values |= {v for v in truth.project.model_dump().values() if v}
        values |= {v for v in truth.goals.model_dump().values() if v}
        values |= {v for v in truth.signoff.model_dump().values() if v}
        for block in (truth.funding.implementation_period, truth.funding.annual):
            values |= {amount.raw for _, amount in block if amount is not None}
        for row in truth.indicators:
            values |= {row.level1, row.level2, row.level3} | ({row.value.raw} if row.value else set())
    assert len(values) > 150
    assert [(v, labels.match(v)) for v in sorted(values) if labels.match(v)] == []


def test_short_aliases_match_exactly_only() -> None:
    data = load_labels().model_dump()
    data["signoff"]["phone"] = ["电话"]
    labels = FormLabels.model_validate(data)
    assert labels.match("电话") is not None
    assert labels.match("电脑") is None


@pytest.mark.parametrize(("header", "unit"), [
    ("项目资金（万元）", "万元"), ("项目资金 (元)", "元"), ("项目资金(万元", "万元"),
    ("项目资金万元", "万元"),
    ("项口资金（万元）", "万元"),  # a slip in the label does not touch the unit
    ("项目资金(力元)", None), ("项目资金口元", None), ("项目资金", None),  # never a guess
])
def test_funding_unit_is_read_only_when_exact(header: str, unit: str | None) -> None:
    assert load_labels().funding_unit(header) == unit


def test_normalize_and_distance() -> None:
    assert normalize_label("其中：市县（区）财政 资金") == "其中市县区财政资金"
    assert normalize_label("ＡＢ１") == "AB1"
    assert edit_distance("项目期", "项目日期") == 1
    assert edit_distance("负责人", "经办人") == 2
    assert edit_distance("", "abc") == 3


@pytest.mark.parametrize(("a", "b", "limit", "expected"), [
    ("项目期", "项目日期", 1, 1),
    ("负责人", "经办人", 1, 2),  # above the limit: limit + 1
    ("负责人", "经办人", 2, 2),
    ("项目名称", "联系电话", 0, 1),
    ("实施期目标", "项目总目标", 3, 3),
    ("abcdef", "ab", 2, 3),  # lengths alone rule it out
])
def test_edit_distance_stops_once_above_its_limit(a: str, b: str, limit: int, expected: int) -> None:
    assert edit_distance(a, b, limit) == expected
    assert min(edit_distance(a, b), limit + 1) == expected
