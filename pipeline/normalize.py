"""Deterministic text rules of the output contract (shared/contract/OUTPUT.md, rules 1–4 and 6).

Every function takes the text as printed (or as OCR read it) and never raises on bad data: a value
that is not of the expected shape parses to ``None`` and the caller keeps the raw text. OCR variants
are accepted where they cannot change the meaning: full-width digits, colons and parentheses (NFKC),
``>=``/``＞=`` for ``≥``, spaces inside numbers, ``，`` as a thousands separator.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from declscan.models.record import Amount, IndicatorValue, Operator

# --- rule 1 and 2: cell text ------------------------------------------------------------------

# A template placeholder as printed (matched on the raw text, so the kept text stays as printed):
# 指标1: / 目标3： (any colon, full-width digits, spaces), or a run of dots or an ellipsis. OCR
# often loses the first character of a box (目标1: → 标1:), so a bare 标N: counts too.
_NUMBERED = r"(?:指标|目标|标)\s*[0-9０-９]+\s*[:：︰]"
_DOTS = r"(?:[.．。·・•]{3,}|[…⋯]+)"
_PLACEHOLDER = rf"(?:{_NUMBERED}|{_DOTS})"
# Placeholders at the start of a line or after white space. A cell flattened to one line keeps its
# old line breaks as spaces (`目标1:甲 目标2:乙 .....`), so "after white space" is a line start too.
_PLACEHOLDERS_AT_LINE_START = re.compile(rf"(^|\s)\s*(?:{_PLACEHOLDER}\s*)+")
# A numbered label without its colon counts only as a whole line: `指标1` (form 1).
_BARE_NUMBERED_LINE = re.compile(r"\s*(?:指标|目标)\s*[0-9０-９]+\s*")


def squash(text: str) -> str:
    """The contract's comparison form: NFKC, all white space removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def label_key(label: str, suffix: str) -> str:
    """An indicator level name as compared: ``squash``ed, ``suffix`` (指标) optional as printed."""
    return squash(label).removesuffix(suffix)


def label_in(label: str, names: Sequence[str], suffix: str) -> bool:
    """True when ``label`` is one of ``names``, compared by ``label_key``."""
    return label_key(label, suffix) in {label_key(name, suffix) for name in names}


def _drop_placeholders(line: str) -> str:
    if _BARE_NUMBERED_LINE.fullmatch(line):
        return ""
    return _PLACEHOLDERS_AT_LINE_START.sub(r"\1", line).strip()


def clean_cell_text(lines: Sequence[str]) -> str | None:
    """A cell's text by rules 1 and 2, or ``None`` when nothing but placeholders is printed.

    Placeholder-only lines are dropped, leading placeholders before real text are dropped, and the
    remaining lines are joined without a separator. White space inside a line is kept as printed.
    """
    kept = (_drop_placeholders(line.strip()) for line in lines)
    text = "".join(kept).strip()
    return text or None


# --- rule 3: amounts --------------------------------------------------------------------------

YUAN_PER_UNIT: dict[str, Decimal] = {"元": Decimal(1), "万元": Decimal(10_000), "亿元": Decimal(100_000_000)}
# Thousands separators only in proper groups: `1,000` is a thousand, `1,00` is an OCR misread.
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_AMOUNT = re.compile(rf"({_NUMBER})(万元|亿元|元)?")


def _to_number(digits: str) -> Decimal | None:
    try:
        return Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return None


def _plain(value: Decimal) -> int | float:
    """An int when the value is integral, else a float (the contract's JSON numbers)."""
    return int(value) if value == value.to_integral_value() else float(value)


def parse_amount(raw: str, header_unit: str | None) -> Amount:
    """Rule 3: a unit written in the cell wins, a bare number takes the header's unit.

    ``raw`` is the cleaned cell text (``clean_cell_text``); it is kept as printed. ``yuan`` is None
    when the text is not an amount, or when it is a bare number and the header unit is unknown.
    """
    match = _AMOUNT.fullmatch(squash(raw))
    if match is None:
        return Amount(raw=raw, yuan=None)
    number = _to_number(match.group(1))
    multiplier = YUAN_PER_UNIT.get(match.group(2) or header_unit or "")
    if number is None or multiplier is None:
        return Amount(raw=raw, yuan=None)
    return Amount(raw=raw, yuan=_plain(number * multiplier))


# --- rule 4: indicator values -----------------------------------------------------------------

def _longest_first(pairs: list[tuple[str, Operator]]) -> tuple[tuple[str, Operator], ...]:
    # 不低于 must win over 低于, and >= over >.
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


# Matched after NFKC, which already folds ＞ ＜ ％ and full-width digits. `>=`, `≧` and `⩾` are how
# OCR and fonts render the printed ≥; they are the same comparator, not new words.
PREFIX_OPERATORS = _longest_first([
    ("≥", ">="), (">=", ">="), ("≧", ">="), ("⩾", ">="),
    ("不低于", ">="), ("不少于", ">="), ("达到", ">="),
    ("≤", "<="), ("<=", "<="), ("≦", "<="), ("⩽", "<="), ("不超过", "<="), ("不高于", "<="),
    (">", ">"), ("大于", ">"), ("高于", ">"), ("超过", ">"),
    ("<", "<"), ("小于", "<"), ("低于", "<"),
])
SUFFIX_OPERATORS = _longest_first([
    ("以上", ">="), ("及以上", ">="), ("以下", "<="), ("及以下", "<="), ("以内", "<="),
])
_PERCENT = ("%", "百分比")
# A deadline such as 12月底前 is not a unit of measure (NOTES.md, "Rule 4 and 12月底前").
_TIME_POSITION = frozenset("前后底初末")
_VALUE = re.compile(rf"({_NUMBER})(.*)")


def _strip_prefix(text: str) -> tuple[Operator | None, str]:
    for word, operator in PREFIX_OPERATORS:
        if text.startswith(word):
            return operator, text[len(word):]
    return None, text


def _strip_suffix(text: str) -> tuple[Operator | None, str]:
    for word, operator in SUFFIX_OPERATORS:
        if text.endswith(word):
            return operator, text[: -len(word)]
    return None, text


def _is_unit(text: str) -> bool:
    return (0 < len(text) <= 3
            and all(unicodedata.category(ch).startswith("L") for ch in text)
            and not _TIME_POSITION & set(text))


def parse_indicator_value(raw: str) -> IndicatorValue:
    """Rule 4: operator, number and unit when the whole text is that shape, else raw only."""
    raw_only = IndicatorValue(raw=raw)
    prefix, rest = _strip_prefix(squash(raw))
    suffix, rest = _strip_suffix(rest)
    if prefix and suffix and prefix != suffix:
        return raw_only
    match = _VALUE.fullmatch(rest)
    if match is None:
        return raw_only
    digits, unit_text = match.groups()
    if unit_text in _PERCENT:
        unit: str | None = "%"
    elif unit_text == "":
        unit = None
    elif _is_unit(unit_text):
        unit = unit_text
    else:
        return raw_only
    plain = digits.replace(",", "")
    number: int | float = float(plain) if "." in plain else int(plain)
    return IndicatorValue(raw=raw, operator=prefix or suffix or "=", number=number, unit=unit)


# --- rule 6: dates, and the heading's fiscal year -----------------------------------------------

_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\d{6})?")  # 20240105 or 20240105163341
_DATE_SEPARATED = re.compile(r"(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?")


def parse_date(raw: str) -> str | None:
    """Rule 6: ISO ``YYYY-MM-DD`` from 20240105163341, 2024.1.22, 2024. 1. 21, 2024-01-22,
    2024年1月22日 or 2024/1/22; None when the text is no date or no valid day."""
    text = unicodedata.normalize("NFKC", raw).strip()
    match = _DATE_DIGITS.fullmatch(text) or _DATE_SEPARATED.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(group) for group in match.groups())
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


_FISCAL_YEAR = re.compile(r"(\d{4})\s*年度")


def parse_fiscal_year(text: str) -> int | None:
    """The year of ``(2024年度)`` / ``（2024年度）`` in a heading, or None."""
    match = _FISCAL_YEAR.search(unicodedata.normalize("NFKC", text))
    return int(match.group(1)) if match else None


# --- 主管部门及代码 ------------------------------------------------------------------------------

# Matched on the raw text so the department keeps its printed characters. Any hyphen or dash glyph
# (ASCII, full-width, en/em dash, minus) or plain white space separates the code from the name.
_DEPARTMENT_CODE = re.compile(r"\s*([0-9０-９]+)\s*(?:[-－‐‑‒–—―−﹣~～]+|\s)\s*(\S.*)", re.DOTALL)


def split_department(text: str) -> tuple[str | None, str]:
    """``"623-山西…"`` → ``("623", "山西…")``; ``(None, text)`` when no code is printed."""
    match = _DEPARTMENT_CODE.fullmatch(text)
    if match is None:
        return None, text.strip()
    code = unicodedata.normalize("NFKC", match.group(1))
    return code, match.group(2).strip()
