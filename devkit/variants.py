"""New valid ground truths derived from a seed form: other amounts, values, dates, names and phones.

A variant keeps the seed form's structure (which cells are blank, the funding layout, the indicator
rows) and its texts, and redraws what a filled-in form varies: the header unit (元/万元), amounts
written bare or with 元/万元, indicator values with every rule-4 comparator and unit, the filing date
in every rule-6 format, people and phone numbers, the fiscal year. Derived fields (``yuan``, the
parsed indicator value, ``filed_date``) come from the project's own parsers of rules 3, 4 and 6.
"""

from __future__ import annotations

import random
from decimal import Decimal

from declscan.models.record import Amount, FundingBlock, GroundTruth, Indicator, Signoff
from declscan.pipeline.normalize import parse_amount, parse_date, parse_indicator_value

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红新文斌晶雁京晋素政佳兴"
PREFIXES = ("≥", "不低于", "不少于", "达到", "≤", "不超过", "不高于", ">", "＞", "大于", "高于", "超过",
            "<", "＜", "小于", "低于", "")
SUFFIXES = ("以上", "及以上", "以下", "及以下", "以内")
UNITS = ("户", "项", "个", "家", "%", "百分比", "万元", "亿元", "人次", "年", "")
RAW_ONLY_VALUES = ("及时", "有利于", "提高1个", "12月底前", "2024年12月31日前", "显著提升", "完成")
DATE_FORMATS = ("{y}{m:02d}{d:02d}{hms}", "{y}.{m}.{d}", "{y}. {m}. {d}", "{y}-{m:02d}-{d:02d}",
                "{y}年{m}月{d}日")


def make_variant(truth: GroundTruth, *, seed: int) -> GroundTruth:
    """A ground truth with the seed form's layout and new filled-in values (deterministic by seed).

    ``document_id`` becomes ``<seed id>-v<seed>``.
    """
    rng = random.Random(seed)
    unit = rng.choice(["元", "万元"])
    funding = truth.funding.model_copy(update={
        "unit": unit,
        "implementation_period": _funding_block(truth.funding.implementation_period, unit, rng),
        "annual": _funding_block(truth.funding.annual, unit, rng),
    })
    return truth.model_copy(update={
        "document_id": f"{truth.document_id}-v{seed}",
        "form": truth.form.model_copy(update={"fiscal_year": rng.choice([2023, 2024, 2025])}),
        "funding": funding,
        "indicators": [_indicator(indicator, rng) for indicator in truth.indicators],
        "signoff": _signoff(truth.signoff, rng),
    })


def _funding_block(block: FundingBlock, header_unit: str, rng: random.Random) -> FundingBlock:
    """Same blank cells; the total goes to one source row (as on the real forms), the rest are 0."""
    keys = [key for key, value in block if value is not None]
    if not keys:
        return block
    wan = Decimal(rng.randint(1, 60000)) if rng.random() < 0.7 else Decimal(rng.randint(100, 999999)) / 100
    if rng.random() < 0.15:
        wan = Decimal(0)
    sources = [key for key in keys if key != "total"]
    main = rng.choice(sources) if sources else None
    update = {key: _amount(wan if key in ("total", main) else Decimal(0), header_unit, rng) for key in keys}
    return block.model_copy(update=update)


def _amount(wan: Decimal, header_unit: str, rng: random.Random) -> Amount:
    """The amount written bare (in the header's unit), in 万元 or in 元; ``yuan`` by rule 3."""
    yuan = wan * 10_000
    if wan == 0:
        raw = "0"
    else:
        style = rng.choice(["bare", "万元", "元"])
        if style == "bare":
            raw = _plain(wan if header_unit == "万元" else yuan)
        else:
            raw = _plain(wan) + "万元" if style == "万元" else _plain(yuan) + "元"
    return parse_amount(raw, header_unit)


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")  # normalize() drops trailing zeros; "f" avoids 1E+1


def _indicator(indicator: Indicator, rng: random.Random) -> Indicator:
    if indicator.value is None or rng.random() < 0.25:
        return indicator
    raw = rng.choice(RAW_ONLY_VALUES) if rng.random() < 0.2 else _value_text(rng)
    return indicator.model_copy(update={"value": parse_indicator_value(raw)})


def _value_text(rng: random.Random) -> str:
    unit = rng.choice(UNITS)
    number = str(rng.randint(1, 500)) if rng.random() < 0.8 else f"{rng.randint(1, 9999) / 100:g}"
    if unit in ("%", "百分比"):
        number = str(rng.choice([80, 85, 90, 95, 98, 100]))
    if rng.random() < 0.25:
        return f"{number}{unit}{rng.choice(SUFFIXES)}"
    return f"{rng.choice(PREFIXES)}{number}{unit}"


def _signoff(signoff: Signoff, rng: random.Random) -> Signoff:
    def maybe(value: str | None, make: str) -> str | None:
        return make if value is not None or rng.random() < 0.5 else None

    raw = maybe(signoff.filed_date_raw, _date_text(rng))
    return Signoff(
        responsible_person=maybe(signoff.responsible_person, _name(rng)),
        handler=maybe(signoff.handler, _name(rng)),
        phone=maybe(signoff.phone, _phone(rng)),
        filed_date=None if raw is None else parse_date(raw),
        filed_date_raw=raw,
    )


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "1" + rng.choice("3589") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return str(rng.randint(2, 3)) + "".join(str(rng.randint(0, 9)) for _ in range(6))


def _date_text(rng: random.Random) -> str:
    y, m, d = rng.choice([2023, 2024]), rng.randint(1, 12), rng.randint(1, 28)
    hms = f"{rng.randint(8, 18):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
    return rng.choice(DATE_FORMATS).format(y=y, m=m, d=d, hms=hms)
