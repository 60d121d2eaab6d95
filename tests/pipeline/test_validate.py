"""validate() on the seven dev-set declarations and on edited copies of them, one rule at a time."""

from __future__ import annotations

from typing import Any

import pytest

from declscan.config.formdata import FiledDateRules, FormRules, load_form_rules, load_taxonomy
from declscan.models.document import DocumentKind, FormDocument, Issue
from declscan.models.record import Declaration, GroundTruth, Source
from declscan.pipeline.validate import VALIDATION_PREFIX, validate

SOURCE = Source(filename="form.png", sha256="0" * 64, pages=1, received_at="2024-01-26T09:00:00Z")
RULES = load_form_rules()


def _declaration(truth: GroundTruth, edits: dict[str, Any] | None = None) -> Declaration:
    """The ground truth as a Declaration, with ``{pointer: value}`` edits applied."""
    data = truth.model_dump(mode="json", include=set(Declaration.model_fields))
    for pointer, value in (edits or {}).items():
        *path, last = pointer.strip("/").split("/")
        target = data
        for part in path:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[int(last) if isinstance(target, list) else last] = value
    return Declaration.model_validate(data)


def _doc(declaration: Declaration | None, issues: tuple[Issue, ...] = (),
         kind: DocumentKind = "digital") -> FormDocument:
    # The truth is the text as printed, as a text layer gives it; scans add the confusable-mark
    # checks (tested apart below).
    return FormDocument(document_id="d", source=SOURCE, kind=kind, declaration=declaration, issues=issues)


def _found(truth: GroundTruth, edits: dict[str, Any] | None = None,
           rules: FormRules = RULES, kind: DocumentKind = "digital") -> set[tuple[str, str]]:
    doc = validate(_doc(_declaration(truth, edits), kind=kind), rules=rules)
    return {(issue.pointer, issue.code.removeprefix(VALIDATION_PREFIX)) for issue in doc.issues}


def _messages(truth: GroundTruth, edits: dict[str, Any]) -> dict[str, str]:
    doc = validate(_doc(_declaration(truth, edits)), rules=RULES)
    return {issue.pointer: issue.message for issue in doc.issues}


# --- the dev set as it is -------------------------------------------------------------------------

EXPECTED_ON_DEV_SET = {
    # Forms 1, 2, 3 and 6 are clean: sources add up, 0 implementation columns are not compared.
    "form-01": set(), "form-02": set(), "form-03": set(), "form-06": set(),
    # 社会效益指标 printed as the 一级 of two rows, in both column groups (NOTES.md, form 4).
    "form-04": {(f"/indicators/{i}/level1", "taxonomy_level1") for i in (4, 5, 11, 12)},
    # `4000` under 元 beside `4000万元` (NOTES.md, form 5): the bare cells are flagged.
    "form-05": {("/funding/implementation_period/total", "funding_unit_mismatch"),
                ("/funding/implementation_period/municipal", "funding_unit_mismatch")},
    # 2023年创新能力建设项目建设经费 has no 指标值 (NOTES.md, form 7).
    "form-07": {("/indicators/0/value", "indicator_value_blank")},
}


def test_dev_set_raises_exactly_the_known_problems(ground_truth: dict[str, GroundTruth]) -> None:
    assert set(ground_truth) == set(EXPECTED_ON_DEV_SET)
    for name, truth in ground_truth.items():
        assert _found(truth) == EXPECTED_ON_DEV_SET[name], name


def test_form_5_message_names_both_amounts(ground_truth: dict[str, GroundTruth]) -> None:
    message = _messages(ground_truth["form-05"], {})["/funding/implementation_period/total"]
    assert "“4000”" in message and "4,000 元" in message and "40,000,000 元" in message


# --- funding --------------------------------------------------------------------------------------

def test_sources_not_adding_up_flag_the_total(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/funding/annual/municipal": {"raw": "1500万元", "yuan": 15000000}}
    assert _found(ground_truth["form-02"], edits) == {("/funding/annual/total", "funding_sum_mismatch")}
    message = _messages(ground_truth["form-02"], edits)["/funding/annual/total"]
    assert "资金来源合计 15,000,000 元" in message and "市县(区)财政资金 15,000,000" in message
    assert "与资金总额 150,000,000 元 不符" in message


def test_fiscal_layout_sums_fiscal_and_other(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-01"]
    assert _found(truth, {"/funding/annual/other": {"raw": "100万元", "yuan": 1000000}}) == {
        ("/funding/annual/total", "funding_sum_mismatch")}
    fiscal_and_other = {"/funding/annual/fiscal": {"raw": "11000万元", "yuan": 110000000},
                        "/funding/annual/other": {"raw": "350万元", "yuan": 3500000}}
    assert _found(truth, fiscal_and_other) == set()


def test_sources_without_a_total_flag_the_blank_total(ground_truth: dict[str, GroundTruth]) -> None:
    found = _found(ground_truth["form-02"], {"/funding/annual/total": None})
    assert found == {("/funding/annual/total", "funding_total_blank")}


def test_text_in_a_funding_cell_is_flagged_and_not_summed(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/funding/annual/municipal": {"raw": "详见附件", "yuan": None}}
    assert _found(ground_truth["form-02"], edits) == {("/funding/annual/municipal", "amount_unparsed")}


def test_non_finite_numbers_are_flagged_not_raised(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-02"]
    nan_total = {"/funding/annual/total": {"raw": "15000万元", "yuan": float("nan")}}
    assert _found(truth, nan_total) == {("/funding/annual/total", "amount_unparsed")}
    inf_cost = {"raw": "15000万元", "operator": "=", "number": float("inf"), "unit": "万元"}
    assert _found(truth, {"/indicators/12/value": inf_cost}) == set()


def test_yuan_disagreeing_with_raw_is_flagged(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/funding/annual/central": {"raw": "0", "yuan": 5}}
    found = _found(ground_truth["form-02"], edits)
    assert ("/funding/annual/central", "amount_inconsistent") in found


def test_annual_above_the_period_total_flags_both(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/funding/implementation_period/total": {"raw": "5000000", "yuan": 5000000},
             "/funding/implementation_period/municipal": {"raw": "5000000", "yuan": 5000000}}
    assert _found(ground_truth["form-04"], edits) - EXPECTED_ON_DEV_SET["form-04"] == {
        ("/funding/annual/total", "annual_exceeds_period"),
        ("/funding/implementation_period/total", "annual_exceeds_period")}


def test_ten_thousand_fold_apart_flags_the_bare_cell(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/funding/implementation_period/total": {"raw": "900", "yuan": 900},
             "/funding/implementation_period/municipal": {"raw": "900", "yuan": 900}}
    assert _found(ground_truth["form-04"], edits) - EXPECTED_ON_DEV_SET["form-04"] == {
        ("/funding/implementation_period/total", "funding_unit_mismatch"),
        ("/funding/implementation_period/municipal", "funding_unit_mismatch"),
        # ≤300万元 of cost against a 实施期 total read as 900 元: true, and a second hint
        ("/indicators/3/value", "cost_exceeds_funding")}


def test_unit_mismatch_between_two_bare_cells_flags_both(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/funding/annual/total": {"raw": "900", "yuan": 900},
             "/funding/annual/municipal": {"raw": "900", "yuan": 900}}
    found = _found(ground_truth["form-04"], edits) - EXPECTED_ON_DEV_SET["form-04"]
    assert found == {(f"/funding/{period}/{key}", "funding_unit_mismatch")
                     for period in ("implementation_period", "annual") for key in ("total", "municipal")
                     } | {("/indicators/10/value", "cost_exceeds_funding")}


# --- cost indicators --------------------------------------------------------------------------------

def test_costs_above_the_total_flag_every_cost_value(ground_truth: dict[str, GroundTruth]) -> None:
    value = {"raw": "2000万元", "operator": "=", "number": 2000, "unit": "万元"}
    found = _found(ground_truth["form-07"], {"/indicators/7/value": value})
    assert found - EXPECTED_ON_DEV_SET["form-07"] == {
        (f"/indicators/{i}/value", "cost_exceeds_funding") for i in (6, 7, 8, 9)}


def test_one_cost_above_the_total_is_flagged(ground_truth: dict[str, GroundTruth]) -> None:
    value = {"raw": "≤2000万元", "operator": "<=", "number": 2000, "unit": "万元"}
    found = _found(ground_truth["form-03"], {"/indicators/12/value": value})
    assert found == {("/indicators/12/value", "cost_exceeds_funding")}


def test_cost_far_below_the_total_is_flagged(ground_truth: dict[str, GroundTruth]) -> None:
    value = {"raw": "11.35万元", "operator": "=", "number": 11.35, "unit": "万元"}
    assert _found(ground_truth["form-01"], {"/indicators/4/value": value}) == {
        ("/indicators/4/value", "cost_far_below_funding")}


# --- indicators -----------------------------------------------------------------------------------

def test_level2_outside_its_level1_is_flagged(ground_truth: dict[str, GroundTruth]) -> None:
    found = _found(ground_truth["form-06"], {"/indicators/0/level2": "经济效益指标"})
    assert found == {("/indicators/0/level2", "taxonomy_level2")}


def test_taxonomy_accepts_labels_without_the_suffix_and_with_ocr_spacing(
    ground_truth: dict[str, GroundTruth],
) -> None:
    edits = {"/indicators/0/level1": "产出", "/indicators/0/level2": "数量 指标",
             "/indicators/19/level2": "服务对象满意度"}
    assert _found(ground_truth["form-06"], edits) == set()


def test_text_where_a_number_is_expected_is_flagged(ground_truth: dict[str, GroundTruth]) -> None:
    raw_only = {"operator": None, "number": None, "unit": None}
    edits = {"/indicators/4/value": {"raw": "叁亿伍仟贰佰万元", **raw_only},
             "/indicators/19/value": {"raw": "满意", **raw_only}}
    assert _found(ground_truth["form-06"], edits) == {("/indicators/4/value", "indicator_value_unparsed"),
                                                       ("/indicators/19/value", "indicator_value_unparsed")}


def test_a_percentage_that_does_not_parse_is_flagged_whatever_the_indicator(
    ground_truth: dict[str, GroundTruth],
) -> None:
    raw_only = {"operator": None, "number": None, "unit": None}
    edits = {"/indicators/5/value": {"raw": "达到:00%", **raw_only},  # 经济效益指标: text is allowed there
             "/indicators/15/value": {"raw": "1O0百分比", **raw_only},
             "/indicators/8/value": {"raw": "持续增强", **raw_only}}
    assert _found(ground_truth["form-06"], edits) == {("/indicators/5/value", "indicator_value_unparsed"),
                                                       ("/indicators/15/value", "indicator_value_unparsed")}


# --- sign-off -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "iso", "expected"), [
    ("2023.11.30", "2023-11-30", set()),
    ("2021.1.26", "2021-01-26", {("/signoff/filed_date", "filed_date_far_from_fiscal_year")}),
    ("2026.1.26", "2026-01-26", {("/signoff/filed_date", "filed_date_far_from_fiscal_year")}),
    ("2024.13.26", None, {("/signoff/filed_date", "filed_date_unparsed")}),
    ("1月26日", None, {("/signoff/filed_date", "filed_date_unparsed")}),
])
def test_filed_date(ground_truth: dict[str, GroundTruth], raw: str, iso: str | None,
                    expected: set[tuple[str, str]]) -> None:
    edits = {"/signoff/filed_date_raw": raw, "/signoff/filed_date": iso}
    assert _found(ground_truth["form-06"], edits) == expected


def test_filed_date_limit_is_data(ground_truth: dict[str, GroundTruth]) -> None:
    strict = RULES.model_copy(update={"filed_date": FiledDateRules(max_years_from_fiscal_year=0)})
    edits = {"/signoff/filed_date_raw": "2023.11.30", "/signoff/filed_date": "2023-11-30"}
    assert _found(ground_truth["form-06"], edits, strict) == {
        ("/signoff/filed_date", "filed_date_far_from_fiscal_year")}


@pytest.mark.parametrize("phone", [
    "3366685", "33668601", "0354-1234567", "0354 1234567", "03541234567", "(0354)1234567",
    "19935426868", "３３６６６８５", "3366685/13912345678", "3366685、3368860", "3366685 3368860",
    "0354－1234567",
])
def test_good_phone_numbers(ground_truth: dict[str, GroundTruth], phone: str) -> None:
    assert _found(ground_truth["form-06"], {"/signoff/phone": phone}) == set()


@pytest.mark.parametrize("phone", [
    "336668", "123456789", "12345678901", "10935426868", "1993542686", "1234-5678", "电话", "3366685/12",
    "/",
])
def test_malformed_phone_numbers(ground_truth: dict[str, GroundTruth], phone: str) -> None:
    found = _found(ground_truth["form-06"], {"/signoff/phone": phone})
    assert found == {("/signoff/phone", "phone_malformed")}


# --- required fields --------------------------------------------------------------------------------

def test_required_blanks(ground_truth: dict[str, GroundTruth]) -> None:
    edits = {"/project/name": None, "/form/title": "  ", "/form/fiscal_year": None,
             "/funding/annual/total": None, "/funding/annual/municipal": None,
             "/funding/implementation_period/total": None, "/indicators": []}
    assert _found(ground_truth["form-06"], edits) == {
        ("/project/name", "required_blank"), ("/form/title", "required_blank"),
        ("/form/fiscal_year", "required_blank"), ("/funding/annual/total", "required_blank"),
        ("/indicators", "required_blank")}


def test_unknown_funding_unit_flags_the_unit_and_bare_numbers(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-04"]
    edits = {"/funding/unit": None, "/funding/implementation_period/total": {"raw": "9000000", "yuan": None}}
    found = _found(truth, edits) - EXPECTED_ON_DEV_SET["form-04"]
    assert found == {("/funding/unit", "required_blank"),
                     ("/funding/implementation_period/total", "amount_unparsed")}


def test_required_fields_are_data(ground_truth: dict[str, GroundTruth]) -> None:
    required = RULES.required.model_copy(update={"fields": (*RULES.required.fields, "/signoff/phone")})
    rules = RULES.model_copy(update={"required": required})
    assert _found(ground_truth["form-01"], rules=rules) == {("/signoff/phone", "required_blank")}


# --- re-running (contract rule 7) and the loaders -------------------------------------------------

def test_rerun_replaces_own_issues_and_keeps_others(ground_truth: dict[str, GroundTruth]) -> None:
    other = Issue(pointer="/project/name", code="low_confidence", message="识别置信度低")
    once = validate(_doc(_declaration(ground_truth["form-05"]), (other,)), rules=RULES)
    assert validate(once, rules=RULES) == once
    assert once.issues[0] == other and len(once.issues) == 3
    fixed = once.model_copy(update={"declaration": _declaration(ground_truth["form-05"], {
        "/funding/implementation_period/total": {"raw": "4000万元", "yuan": 40000000},
        "/funding/implementation_period/municipal": {"raw": "4000万元", "yuan": 40000000}})})
    assert validate(fixed, rules=RULES).issues == (other,)


def test_document_without_declaration(ground_truth: dict[str, GroundTruth]) -> None:
    doc = validate(_doc(None), rules=RULES)
    assert [(i.pointer, i.code) for i in doc.issues] == [("", "validation.no_declaration")]


def test_every_message_is_chinese_and_every_code_prefixed(ground_truth: dict[str, GroundTruth]) -> None:
    for truth in ground_truth.values():
        for issue in validate(_doc(_declaration(truth)), rules=RULES).issues:
            assert issue.code.startswith(VALIDATION_PREFIX)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in issue.message)


def test_loaders_parse_once_and_carry_the_official_taxonomy() -> None:
    assert load_form_rules() is load_form_rules()
    taxonomy = load_taxonomy()
    assert RULES.taxonomy == taxonomy
    assert taxonomy.levels["产出指标"] == ("数量指标", "质量指标", "时效指标", "成本指标")
    assert taxonomy.levels["满意度指标"] == ("服务对象满意度指标",)
    assert taxonomy.levels["效益指标"] == ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标")


# --- paired marks ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("pointer", "misread", "mark"), [
    ("/project/basis", "市政发〔2019）36号", ")"),          # 〕 read as ）
    ("/project/basis", "综示晋开管发（2023〕50号", "〕"),     # 〔 read as （
    ("/goals/annual", "5家挂牌晋兴板”和其中3家", "”"),         # the opening quote dropped
    ("/indicators/1/level3", "综示晋开管发【2022123号", "【"),  # 】 read as 1
    ("/indicators/0/value", "《办法(试行》", "》"),
])
def test_marks_that_do_not_pair_are_flagged(ground_truth: dict[str, GroundTruth], pointer: str,
                                            misread: str, mark: str) -> None:
    truth = ground_truth["form-03"]
    value: Any = misread
    if pointer.endswith("value"):
        value = {"raw": misread, "operator": None, "number": None, "unit": None}
    assert _found(truth, {pointer: value}) == {(pointer, "unpaired_mark")}
    assert f"“{mark}”" in _messages(truth, {pointer: value})[pointer]


@pytest.mark.parametrize("text", [
    "1）建立平台；2）运维子平台",               # enumerations close what they never opened
    "晋开发(2015)10号（试行）",                 # full and half width are one mark
    "《通知》（综示晋开管发【2022】9号）“晋兴板”",  # nested and in sequence
    "（一",                                       # an unclosed parenthesis may be a cut cell
])
def test_marks_that_pair_or_may_stand_alone_are_not_flagged(ground_truth: dict[str, GroundTruth],
                                                            text: str) -> None:
    assert _found(ground_truth["form-03"], {"/project/plan": text}) == set()


@pytest.mark.parametrize(("text", "flagged"), [
    ("1、建立平台；2、运维平台：3、建设平台", True),  # ： inside a list is ；misread
    ("建设内容如下：1、建立平台；2、运维平台", False),  # a list may start after ：
    ("每日9:30、14:00各开放一次", False),  # times
    ("晋开管发〔2023〕50号", False),
    ("指标1科技创新示范引领", True),  # a placeholder whose colon was not read
    ("目标2提高企业产能", True),
    ("提高指标1的完成率", False),
])
def test_on_scans_a_colon_inside_a_list_or_after_a_placeholder_is_checked(
        ground_truth: dict[str, GroundTruth], text: str, flagged: bool) -> None:
    found = _found(ground_truth["form-03"], {"/project/plan": text}, kind="scan")
    assert (("/project/plan", "confusable_mark") in found) is flagged
