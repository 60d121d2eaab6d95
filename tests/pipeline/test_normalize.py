"""The contract's text rules: every example of OUTPUT.md, OCR variants, and agreement with the dev
set's reference parsers (check.py) on every raw value of the seven ground-truth forms."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from declscan.models.record import GroundTruth
from declscan.pipeline.normalize import (
    clean_cell_text,
    parse_amount,
    parse_date,
    parse_fiscal_year,
    parse_indicator_value,
    split_department,
    squash,
)


@pytest.fixture(scope="module")
def reference(ground_truth_dir: Path) -> ModuleType:
    """The dev set's own rule-3/4/6 parsers, loaded from the shared folder (not copied)."""
    path = ground_truth_dir / "check.py"
    assert path.is_file(), f"no reference parsers at {path}"
    spec = importlib.util.spec_from_file_location("ground_truth_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _value_triple(raw: str) -> tuple[object, object, object]:
    value = parse_indicator_value(raw)
    return value.operator, value.number, value.unit


# --- rule 1 and 2 -------------------------------------------------------------------------------

def test_squash_folds_width_and_white_space() -> None:
    assert squash(" 产业 扶持（元）：１２\u3000\n") == "产业扶持(元):12"


@pytest.mark.parametrize("lines", [
    ["指标1:"], ["指标2："], ["指标1"], ["目标3:"], ["....."], ["……"], [], [""], ["  "],
    ["指标１："], ["目标 2 :"], ["目标1: 目标2: 目标3: ....."], ["指标1:", ".....", "……"],
])
def test_placeholder_only_cells_are_blank(lines: list[str]) -> None:
    assert clean_cell_text(lines) is None


def test_contract_rule_2_examples() -> None:
    assert clean_cell_text(["指标1:扶持科技计划项目"]) == "扶持科技计划项目"
    assert clean_cell_text(["目标1:甲", "目标2:乙", "....."]) == "甲乙"


def test_lines_join_without_separator_and_inner_spaces_stay() -> None:
    assert clean_cell_text(["  严格按照文件", "执行 "]) == "严格按照文件执行"
    assert clean_cell_text(["指标1: 2023年创新能力建设项目建设经费"]) == "2023年创新能力建设项目建设经费"
    assert clean_cell_text(["有利于 七大重点产业链"]) == "有利于 七大重点产业链"


def test_flattened_goal_cell_drops_every_line_start_placeholder() -> None:
    """Form 5's goal cell as the seed transcription prints it (line breaks became spaces)."""
    cell = "目标1:引领区内科技创新企业的扶持、奖励 目标2:区内科技企业科技项目的研发扶持 目标4:智创城 ....."
    assert clean_cell_text([cell]) == "引领区内科技创新企业的扶持、奖励 区内科技企业科技项目的研发扶持 智创城"


def test_placeholder_that_lost_its_first_character_to_ocr_is_still_a_placeholder() -> None:
    assert clean_cell_text(["标1:兑现招商引资优惠政策"]) == "兑现招商引资优惠政策"
    assert clean_cell_text(["商标1:注册"]) == "商标1:注册"  # mid-word: real text


def test_placeholders_between_texts_leave_one_space() -> None:
    assert clean_cell_text(["目标1: 甲  目标2:  乙 ....."]) == "甲 乙"


def test_real_text_that_merely_contains_numbers_or_dots_is_kept() -> None:
    assert clean_cell_text(["指标值达到95%"]) == "指标值达到95%"
    assert clean_cell_text(["2024年12月31日前"]) == "2024年12月31日前"
    assert clean_cell_text(["包括设备...等"]) == "包括设备...等"


# --- rule 3 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "header", "yuan"), [
    ("11350万元", "万元", 113500000), ("9000000元", "元", 9000000), ("4000", "元", 4000),
    ("0", "元", 0), ("15000万元", "元", 150000000), ("4000", "万元", 40000000),
    ("2635.66万元", "元", 26356600), ("0.5", "元", 0.5), ("1亿元", "万元", 100000000),
    ("1,000,000", "元", 1000000), ("1，000，000元", "元", 1000000), ("4 000 万元", "元", 40000000),
    ("１２３４５", "元", 12345),
])
def test_amounts(raw: str, header: str, yuan: int | float) -> None:
    amount = parse_amount(raw, header)
    assert amount.raw == raw
    assert amount.yuan == yuan
    assert type(amount.yuan) is type(yuan)


@pytest.mark.parametrize("raw", ["详见附件", "四千万元", "1,00", "4000美元", "-5", "", "12.", "约4000万元"])
def test_non_amounts_keep_raw_and_have_no_yuan(raw: str) -> None:
    assert parse_amount(raw, "元").yuan is None
    assert parse_amount(raw, "元").raw == raw


def test_bare_number_without_header_unit_has_no_yuan() -> None:
    assert parse_amount("4000", None).yuan is None
    assert parse_amount("4000万元", None).yuan == 40000000


# --- rule 4 -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("大于5户", (">", 5, "户")), ("10户以上", (">=", 10, "户")), ("≥98百分比", (">=", 98, "%")),
    ("2635.66万元", ("=", 2635.66, "万元")), ("1亿元", ("=", 1, "亿元")), ("≥12项", (">=", 12, "项")),
    ("提高1个", (None, None, None)), ("及时", (None, None, None)), ("12月底前", (None, None, None)),
    ("2024年12月31日前", (None, None, None)),
])
def test_contract_rule_4_examples(raw: str, expected: tuple[object, object, object]) -> None:
    assert _value_triple(raw) == expected
    assert parse_indicator_value(raw).raw == raw


@pytest.mark.parametrize(("raw", "expected"), [
    ("不低于90%", (">=", 90, "%")), ("不少于3家", (">=", 3, "家")), ("达到100%", (">=", 100, "%")),
    ("≤500万元", ("<=", 500, "万元")), ("不超过5天", ("<=", 5, "天")), ("不高于3%", ("<=", 3, "%")),
    ("＞90%", (">", 90, "%")), ("高于2个", (">", 2, "个")), ("超过7人", (">", 7, "人")),
    ("<5%", ("<", 5, "%")), ("＜5%", ("<", 5, "%")), ("小于1次", ("<", 1, "次")), ("低于2%", ("<", 2, "%")),
    ("5人及以上", (">=", 5, "人")), ("3%以下", ("<=", 3, "%")), ("5%及以下", ("<=", 5, "%")),
    ("30天以内", ("<=", 30, "天")), ("≥10户以上", (">=", 10, "户")), ("100", ("=", 100, None)),
    ("98.0%", ("=", 98.0, "%")), ("＞=90％", (">=", 90, "%")), (">=90%", (">=", 90, "%")),
    ("≥ 9 8 %", (">=", 98, "%")), ("１,０００户", ("=", 1000, "户")),
    # conflicting prefix and suffix, units too long or not letters, time words
    ("≥10户以下", (None, None, None)), ("大于5户以内", (None, None, None)), ("5平方公里", (None, None, None)),
    ("5m2", (None, None, None)), ("3年底", (None, None, None)), ("1季度末", (None, None, None)),
    ("约5户", (None, None, None)), ("5户左右", ("=", 5, "户左右")), ("", (None, None, None)),
    ("≥", (None, None, None)),
])
def test_indicator_value_shapes(raw: str, expected: tuple[object, object, object]) -> None:
    got = _value_triple(raw)
    assert got == expected
    assert type(got[1]) is type(expected[1])


# --- rule 6 and the heading -----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "iso"), [
    ("20240105163341", "2024-01-05"), ("2024.1.22", "2024-01-22"), ("2024. 1. 21", "2024-01-21"),
    ("2024-01-22", "2024-01-22"), ("2024年1月22日", "2024-01-22"), ("2024/1/22", "2024-01-22"),
    ("２０２４．１．２６", "2024-01-26"), ("20240129", "2024-01-29"), (" 2024年 1 月 2 日 ", "2024-01-02"),
])
def test_dates(raw: str, iso: str) -> None:
    assert parse_date(raw) == iso


@pytest.mark.parametrize("raw", [
    "2024.2.30", "2024.13.1", "20241345", "2024年1月", "明天", "", "202401051633",
])
def test_invalid_dates(raw: str) -> None:
    assert parse_date(raw) is None


@pytest.mark.parametrize(("text", "year"), [
    ("(2024年度)", 2024), ("（2024年度）", 2024), ("项目支出绩效目标申报表 （ ２０２５年度 ）", 2025),
    ("项目支出绩效目标申报表", None),
])
def test_fiscal_year(text: str, year: int | None) -> None:
    assert parse_fiscal_year(text) == year


@pytest.mark.parametrize(("text", "expected"), [
    ("623-山西晋中开发区产业链发展促进部", ("623", "山西晋中开发区产业链发展促进部")),
    ("610－产业规划与创新发育部", ("610", "产业规划与创新发育部")),
    ("620—金融服务中心", ("620", "金融服务中心")), ("622 – 国运公司", ("622", "国运公司")),
    ("６２２-国运公司", ("622", "国运公司")), ("622 国运公司", ("622", "国运公司")),
    ("经济运行部", (None, "经济运行部")), ("2024年度专项", (None, "2024年度专项")), ("623", (None, "623")),
])
def test_split_department(text: str, expected: tuple[str | None, str]) -> None:
    assert split_department(text) == expected


# --- agreement with the reference parsers ---------------------------------------------------------

def test_reference_self_test_cases_agree(reference: ModuleType) -> None:
    assert reference.self_test_parsers() == []
    for raw in ["大于5户", "10户以上", "≥98百分比", "2635.66万元", "1亿元", "≥12项", "提高1个", "及时",
                "2024年12月31日前"]:
        assert _value_triple(raw) == reference.parse_value(raw)
    for raw, unit in [("11350万元", "万元"), ("9000000元", "元"), ("4000", "元"), ("0", "元")]:
        assert parse_amount(raw, unit).yuan == reference.parse_amount_yuan(raw, unit)
    for raw in ["20240105163341", "2024.1.22", "2024. 1. 21", "2024-01-22", "2024年1月22日"]:
        assert parse_date(raw) == reference.parse_date(raw)


def test_every_ground_truth_raw_value_parses_as_recorded(
    ground_truth: dict[str, GroundTruth], reference: ModuleType,
) -> None:
    checked = 0
    for name, truth in ground_truth.items():
        unit = truth.funding.unit
        for block in (truth.funding.implementation_period, truth.funding.annual):
            for amount in block.model_dump().values():
                if amount is not None:
                    got = parse_amount(amount["raw"], unit).yuan
                    assert (got, type(got)) == (amount["yuan"], type(amount["yuan"])), (name, amount)
                    assert got == reference.parse_amount_yuan(amount["raw"], unit)
                    checked += 1
        for indicator in truth.indicators:
            if indicator.value is not None:
                assert parse_indicator_value(indicator.value.raw) == indicator.value, name
                assert _value_triple(indicator.value.raw) == reference.parse_value(indicator.value.raw)
                checked += 1
        raw_date = truth.signoff.filed_date_raw
        if raw_date is not None:
            assert parse_date(raw_date) == truth.signoff.filed_date == reference.parse_date(raw_date)
            checked += 1
        if truth.project.department_code is not None:
            assert truth.project.department is not None
    assert checked > 150  # 7 forms: ~60 amounts, ~90 indicator values, 6 dates
