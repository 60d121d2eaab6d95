"""Checks of a declaration that need a person even when OCR read every character confidently.

Every issue raised here has a code starting with ``validation.``; ``validate`` replaces its own
earlier issues and keeps everyone else's, so the review app can re-run it after each correction
(contract rule 7). Thresholds, required fields and the taxonomy are data (``config/*.yaml``).
Messages are for the operators, in Chinese; codes are stable and English.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from declscan.config.formdata import FormRules, Taxonomy
from declscan.models.document import FormDocument, Issue
from declscan.models.record import FUNDING_KEYS, PERIOD_NAMES, PERIODS, Amount, Declaration, IndicatorValue
from declscan.pipeline.marks import confusable_marks, text_fields, unpaired_mark
from declscan.pipeline.normalize import YUAN_PER_UNIT, label_in, label_key, parse_amount, squash

VALIDATION_PREFIX = "validation."

FUNDING_NAMES = {"total": "资金总额", "fiscal": "财政拨款", "central": "中央财政资金",
                 "provincial": "省级财政资金", "municipal": "市县(区)财政资金",
                 "self_raised": "单位自筹", "other": "其他资金"}
FIELD_NAMES = {"/form/title": "申报表标题", "/form/fiscal_year": "预算年度", "/project/name": "项目名称",
               "/project/department": "主管部门", "/project/implementing_unit": "实施单位",
               "/funding/unit": "项目资金单位", "/signoff/responsible_person": "负责人",
               "/signoff/handler": "经办人", "/signoff/phone": "联系电话",
               "/signoff/filed_date": "填报日期", "/indicators": "绩效指标"}
# The two funding layouts: sources under 资金总额 (forms 2–6), else 财政拨款 + 其他资金 (forms 1, 7).
SOURCES_BY_LEVEL = ("central", "provincial", "municipal", "self_raised", "other")
SOURCES_FISCAL = ("fiscal", "other")


def validate(doc: FormDocument, *, rules: FormRules) -> FormDocument:
    """``doc`` with its validation issues recomputed; never raises for bad data."""
    kept = tuple(issue for issue in doc.issues if not issue.code.startswith(VALIDATION_PREFIX))
    declaration = doc.declaration
    if declaration is None:
        raised = [_issue("", "no_declaration", "未能从页面中识别出申报表内容")]
    else:
        raised = [
            *_required(declaration, rules), *_amounts(declaration), *_funding_sums(declaration, rules),
            *_unit_mismatches(declaration, rules),
            *_annual_over_period(declaration, rules), *_costs(declaration, rules),
            *_taxonomy(declaration, rules.taxonomy), *_indicator_values(declaration, rules),
            *_filed_date(declaration, rules), *_phone(declaration, rules), *_marks(declaration, rules),
            *(_confusable_marks(declaration, rules) if doc.kind == "scan" else ()),
        ]
    return doc.model_copy(update={"issues": kept + tuple(dict.fromkeys(raised))})


def _issue(pointer: str, code: str, message: str) -> Issue:
    return Issue(pointer=pointer, code=VALIDATION_PREFIX + code, message=message)


def _dec(value: int | float) -> Decimal:
    return Decimal(str(value))


def _yuan(value: int | float | None) -> Decimal | None:
    """An amount as an exact decimal; None when blank, unparsed or not finite (never compared)."""
    if value is None:
        return None
    decimal = _dec(value)
    return decimal if decimal.is_finite() else None


def _money(yuan: Decimal | int | float) -> str:
    value = yuan if isinstance(yuan, Decimal) else _dec(yuan)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _field_name(pointer: str) -> str:
    parts = pointer.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "funding":
        return PERIOD_NAMES.get(parts[1], parts[1]) + FUNDING_NAMES.get(parts[2], parts[2])
    return FIELD_NAMES.get(pointer, pointer)


# --- required fields ----------------------------------------------------------------------------

def _resolve(data: Any, pointer: str) -> Any:
    for part in pointer.strip("/").split("/"):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _required(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    data = d.model_dump(mode="json")
    for pointer in rules.required.fields:
        if _blank(_resolve(data, pointer)):
            yield _issue(pointer, "required_blank", f"必填项“{_field_name(pointer)}”为空")
    for group in rules.required.any_of:
        if group and all(_blank(_resolve(data, pointer)) for pointer in group):
            names = "、".join(_field_name(pointer) for pointer in group)
            yield _issue(group[0], "required_blank", f"{names}至少应填写一项，现均为空")
    if len(d.indicators) < rules.required.min_indicators:
        yield _issue("/indicators", "required_blank",
                     f"绩效指标应至少有 {rules.required.min_indicators} 条，现有 {len(d.indicators)} 条")


# --- funding ------------------------------------------------------------------------------------

def _amounts(d: Declaration) -> Iterator[Issue]:
    """Cells with text that is not an amount, and a ``yuan`` that rule 3 does not give for ``raw``."""
    for period, key in ((period, key) for period in PERIODS for key in FUNDING_KEYS):
        amount, pointer = getattr(getattr(d.funding, period), key), f"/funding/{period}/{key}"
        if amount is None:
            continue
        name = _field_name(pointer)
        expected = parse_amount(amount.raw, d.funding.unit).yuan
        if _yuan(amount.yuan) is None:
            why = "" if d.funding.unit else "（未识别出表头的金额单位）"
            yield _issue(pointer, "amount_unparsed", f"{name}“{amount.raw}”不是可识别的金额{why}")
        elif expected is not None and _dec(expected) != _yuan(amount.yuan):
            yield _issue(pointer, "amount_inconsistent",
                         f"{name}“{amount.raw}”应计为 {_money(expected)} 元，记录为 {_money(amount.yuan)} 元")


def _source_parts(d: Declaration, period: str) -> list[tuple[str, Amount]]:
    block = getattr(d.funding, period)
    by_level = [(key, getattr(block, key)) for key in SOURCES_BY_LEVEL]
    if all(amount is None for key, amount in by_level if key != "other"):
        by_level = [(key, getattr(block, key)) for key in SOURCES_FISCAL]
    return [(key, amount) for key, amount in by_level if amount is not None]


def _funding_sums(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    """Each period's sources add up to its total; skipped where a part did not parse (flagged)."""
    for period in PERIODS:
        parts = _source_parts(d, period)
        values = [(key, _yuan(amount.yuan)) for key, amount in parts]
        if not values or any(yuan is None for _, yuan in values):
            continue
        summed = sum(yuan or 0 for _, yuan in values)
        listing = " + ".join(f"{FUNDING_NAMES[key]} {_money(yuan or 0)}" for key, yuan in values)
        sources = f"{PERIOD_NAMES[period]}资金来源合计 {_money(summed)} 元（{listing}）"
        total, pointer = getattr(d.funding, period).total, f"/funding/{period}/total"
        total_yuan = _yuan(total.yuan) if total else None
        if total is None and summed:
            yield _issue(pointer, "funding_total_blank", f"资金总额为空，但{sources}")
        elif total_yuan is not None and abs(summed - total_yuan) > _dec(rules.funding.sum_tolerance_yuan):
            yield _issue(pointer, "funding_sum_mismatch", f"{sources}与资金总额 {_money(total_yuan)} 元 不符")


def _positive(amount: Amount | None) -> Decimal | None:
    yuan = _yuan(amount.yuan) if amount else None
    return yuan if yuan is not None and yuan > 0 else None


def _period_pairs(d: Declaration) -> Iterator[tuple[str, Amount, Amount, Decimal, Decimal]]:
    """Rows filled with a positive amount in both periods: (key, 实施期, 年度, their yuan).

    A 0 implementation-period column is how one-year projects leave it unused (forms 2, 3, 6 print
    0 in every cell), not a project without money, so a row with a 0 or blank side is not compared.
    """
    for key in FUNDING_KEYS:
        a, b = getattr(d.funding.implementation_period, key), getattr(d.funding.annual, key)
        ya, yb = _positive(a), _positive(b)
        if a is not None and b is not None and ya is not None and yb is not None:
            yield key, a, b, ya, yb


def _unit_mismatches(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    """The two periods' amounts of a row so far apart that one must be in the wrong unit (form 5:
    ``4000`` under 元 beside ``4000万元``). The bare number, which took the header's unit, is the
    suspect; both are flagged when neither or both carry a unit."""
    for key, a, b, ya, yb in _period_pairs(d):
        ratio = max(ya, yb) / min(ya, yb)
        if ratio < _dec(rules.funding.unit_mismatch_min_ratio):
            continue
        cells = {"implementation_period": a, "annual": b}
        bare = [period for period, amount in cells.items() if not _has_unit(amount.raw)]
        yuan = {"implementation_period": ya, "annual": yb}
        for period in bare if len(bare) == 1 else PERIODS:
            other, pointer = PERIODS[1 - PERIODS.index(period)], f"/funding/{period}/{key}"
            yield _issue(pointer, "funding_unit_mismatch",
                         f"{_field_name(pointer)}“{cells[period].raw}”计为 {_money(yuan[period])} 元，"
                         f"与{PERIOD_NAMES[other]}“{cells[other].raw}”（{_money(yuan[other])} 元）"
                         f"相差 {_money(ratio)} 倍，金额单位可能漏写或写错")


def _annual_over_period(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    """The annual total within a (non-zero) implementation-period total; either may be the wrong one,
    so both are flagged. Left to ``_unit_mismatches`` when they are a unit apart."""
    for key, _, _, ya, yb in _period_pairs(d):
        limit = ya * (1 + _dec(rules.funding.annual_over_period_tolerance))
        if key == "total" and limit < yb < ya * _dec(rules.funding.unit_mismatch_min_ratio):
            message = f"年度资金总额 {_money(yb)} 元 超过实施期资金总额 {_money(ya)} 元"
            yield _issue("/funding/annual/total", "annual_exceeds_period", message)
            yield _issue("/funding/implementation_period/total", "annual_exceeds_period", message)


def _has_unit(raw: str) -> bool:
    return squash(raw).endswith("元")


# --- indicators ---------------------------------------------------------------------------------


def _value_yuan(value: IndicatorValue | None) -> Decimal | None:
    if value is None or value.unit not in YUAN_PER_UNIT:
        return None
    number = _yuan(value.number)
    return None if number is None else number * YUAN_PER_UNIT[value.unit]


def _costs(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    """Money cost indicators of a period against that period's (non-zero) total."""
    suffix = rules.taxonomy.optional_suffix
    for period in PERIODS:
        total = _positive(getattr(d.funding, period).total)
        costs = [(i, yuan) for i, row in enumerate(d.indicators)
                 if row.period == period and label_in(row.level2, rules.cost.level2, suffix)
                 and (yuan := _value_yuan(row.value)) is not None]
        if total is None or not costs:
            continue
        spent, label = sum(yuan for _, yuan in costs), PERIOD_NAMES[period]
        if spent > total * (1 + _dec(rules.cost.exceed_tolerance)):
            code, why = "cost_exceeds_funding", "超过"
        elif spent * _dec(rules.cost.far_below_factor) < total:
            code, why = "cost_far_below_funding", f"不到其 1/{rules.cost.far_below_factor:g}，远低于"
        else:
            continue
        for i, _ in costs:
            yield _issue(f"/indicators/{i}/value", code,
                         f"{label}成本指标合计 {_money(spent)} 元 {why}{label}资金总额 {_money(total)} 元")


def _taxonomy(d: Declaration, taxonomy: Taxonomy) -> Iterator[Issue]:
    suffix = taxonomy.optional_suffix
    official = {label_key(name, suffix): name for name in taxonomy.levels}
    for i, row in enumerate(d.indicators):
        level1 = official.get(label_key(row.level1, suffix))
        if level1 is None:
            yield _issue(f"/indicators/{i}/level1", "taxonomy_level1",
                         f"一级指标“{row.level1}”不是规定的一级指标（{'、'.join(taxonomy.levels)}）")
        elif not label_in(row.level2, taxonomy.levels[level1], suffix):
            yield _issue(f"/indicators/{i}/level2", "taxonomy_level2",
                         f"二级指标“{row.level2}”不属于一级指标“{level1}”"
                         f"（应为 {'、'.join(taxonomy.levels[level1])}）")


def _indicator_values(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    """A blank 指标值 beside a 三级指标, and text where the indicator must hold a number."""
    numeric, suffix = rules.numeric_indicators, rules.taxonomy.optional_suffix
    for i, row in enumerate(d.indicators):
        pointer = f"/indicators/{i}/value"
        if row.value is None:
            yield _issue(pointer, "indicator_value_blank", f"三级指标“{row.level3}”没有指标值")
        elif row.value.number is None and (label_in(row.level1, numeric.level1, suffix)
                                           or label_in(row.level2, numeric.level2, suffix)
                                           or any(mark in squash(row.value.raw) for mark in numeric.marks)):
            yield _issue(pointer, "indicator_value_unparsed",
                         f"{row.level2}“{row.level3}”的指标值“{row.value.raw}”应为数值（如 ≥98%），无法解析")


# --- sign-off -----------------------------------------------------------------------------------

def _filed_date(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    signoff, pointer = d.signoff, "/signoff/filed_date"
    try:
        filed = dt.date.fromisoformat(signoff.filed_date) if signoff.filed_date else None
    except ValueError:
        filed = None
    if filed is None:
        printed = signoff.filed_date_raw or signoff.filed_date
        if printed:
            yield _issue(pointer, "filed_date_unparsed", f"填报日期“{printed}”无法识别为日期")
        return
    year, limit = d.form.fiscal_year, rules.filed_date.max_years_from_fiscal_year
    if year is not None and abs(filed.year - year) > limit:
        yield _issue(pointer, "filed_date_far_from_fiscal_year",
                     f"填报日期 {filed.isoformat()} 与预算年度 {year} 相差超过 {limit} 年")


def _phone(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    phone = d.signoff.phone
    if not phone or not phone.strip():
        return
    text, separators = unicodedata.normalize("NFKC", phone), rules.phone.separators
    # Spaces may sit inside one number (0354 1234567) or between two (3366685 3368860).
    for reading, split in ((re.sub(r"\s+", "", text), separators), (text, rf"{separators}|\s+")):
        numbers = [n for n in re.split(split, reading) if n]
        if numbers and all(any(re.fullmatch(p, n) for p in rules.phone.patterns) for n in numbers):
            return
    yield _issue("/signoff/phone", "phone_malformed",
                 f"联系电话“{phone}”不是有效号码（7–8 位座机号、带区号的座机号或 11 位手机号）")


def _marks(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    for pointer, text in text_fields(d):
        if mark := unpaired_mark(text, rules.marks):
            yield _issue(pointer, "unpaired_mark",
                         f"“{mark}”与前后的括号或引号不成对，可能识别有误，请核对标点")


def _confusable_marks(d: Declaration, rules: FormRules) -> Iterator[Issue]:
    for pointer, text in text_fields(d):
        for message in confusable_marks(text, rules.marks):
            yield _issue(pointer, "confusable_mark", message)
