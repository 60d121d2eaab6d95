"""Operator corrections to a FormDocument's declaration, re-normalized the way the pipeline does.

A correction names a field by JSON pointer and gives the text an operator typed. Derived values are
recomputed, never typed: an amount's ``yuan`` comes from its ``raw`` (rule 3), an indicator value's
``operator``/``number``/``unit`` from its ``raw`` (rule 4), ``filed_date`` from ``filed_date_raw``
(rule 6). The edited field's provenance becomes ``source="operator"``, ``confidence=1.0``, so
low-confidence flagging never raises it again. Issues are left alone: re-run validation afterwards.
"""

from __future__ import annotations

import re
from typing import Any

from declscan.models.document import FormDocument
from declscan.models.record import FUNDING_KEYS, PERIODS, Declaration, Indicator, Project, Provenance
from declscan.pipeline.normalize import parse_amount, parse_date, parse_indicator_value


class CorrectionError(ValueError):
    """A correction names no editable field or carries a value that field cannot hold."""


_PERIOD = "|".join(PERIODS)
_FUNDING = "|".join(FUNDING_KEYS)
_PROJECT = "|".join(Project.model_fields)
# Pointers below a field's own (an amount's /raw, an indicator value's /number …) edit that field.
_SUBFIELD = re.compile(
    rf"^(?P<field>/funding/(?:{_PERIOD})/(?:{_FUNDING}))/(?:raw|yuan)$"
    rf"|^(?P<value>/indicators/\d+/value)/(?:raw|operator|number|unit)$"
)
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("text", rf"^/form/title$|^/project/(?:{_PROJECT})$|^/goals/(?:{_PERIOD})$"
                 r"|^/signoff/(?:responsible_person|handler|phone)$"),
        ("year", r"^/form/fiscal_year$"),
        ("unit", r"^/funding/unit$"),
        ("amount", rf"^/funding/(?:{_PERIOD})/(?:{_FUNDING})$"),
        ("date_raw", r"^/signoff/filed_date_raw$"),
        ("level", r"^/indicators/\d+/level[123]$"),
        ("period", r"^/indicators/\d+/period$"),
        ("value", r"^/indicators/\d+/value$"),
        ("indicator", r"^/indicators/\d+$"),
    )
)
_INDICATOR_INDEX = re.compile(r"^/indicators/(\d+)(?=/|$)")


def field_pointer(pointer: str) -> str:
    """The editable field a pointer belongs to (``/funding/annual/total/raw`` → ``…/total``)."""
    if pointer == "/signoff/filed_date":
        return "/signoff/filed_date_raw"
    match = _SUBFIELD.match(pointer)
    if match:
        return match.group("field") or match.group("value")
    return pointer


def field_kind(pointer: str) -> str | None:
    """``text``, ``year``, ``unit``, ``amount``, ``date_raw``, ``level``, ``period``, ``value`` or
    ``indicator`` for an editable field pointer; None when the pointer names no editable field."""
    for kind, pattern in _KINDS:
        if pattern.match(pointer):
            return kind
    return None


def apply_correction(doc: FormDocument, pointer: str, value: Any) -> FormDocument:
    """``doc`` with the field at ``pointer`` set to ``value`` and its derived values recomputed.

    ``value`` is what an operator typed: a string (blank means an empty cell, ``null``), ``None``,
    an int for the fiscal year, or for a whole indicator row (``/indicators/N``) an object.
    Raises :class:`CorrectionError` for an unknown pointer or a value the field cannot hold.
    """
    if doc.declaration is None:
        raise CorrectionError("the document has no declaration to correct yet")
    target = field_pointer(pointer)
    kind = field_kind(target)
    if kind is None:
        raise CorrectionError(f"{pointer}: not an editable field")
    data = doc.declaration.model_dump(mode="json")
    parts = target.strip("/").split("/")
    container = _container(data, parts)
    container[_key(container, parts[-1], target)] = _normalized(kind, value, data, target)
    if kind == "date_raw":
        raw = data["signoff"]["filed_date_raw"]
        data["signoff"]["filed_date"] = parse_date(raw) if raw else None
    if kind == "unit":
        _renormalize_amounts(data)
    try:
        declaration = Declaration.model_validate(data)
    except ValueError as exc:
        raise CorrectionError(f"{pointer}: {exc}") from exc
    provenance = _by_operator(doc.provenance, target)
    return doc.model_copy(update={"declaration": declaration, "provenance": provenance})


def add_indicator(doc: FormDocument, indicator: Indicator) -> FormDocument:
    """``doc`` with ``indicator`` appended (its value re-parsed from ``raw``), typed by an operator.
    The new row has no provenance: nothing on the page backs it but the operator."""
    if doc.declaration is None:
        raise CorrectionError("the document has no declaration to correct yet")
    if indicator.value is not None:
        indicator = indicator.model_copy(update={"value": _indicator_value(indicator.value.raw)})
    indicators = [*doc.declaration.indicators, indicator]
    declaration = doc.declaration.model_copy(update={"indicators": indicators})
    return doc.model_copy(update={"declaration": declaration})


def remove_indicator(doc: FormDocument, index: int) -> FormDocument:
    """``doc`` without indicator row ``index``; provenance and issues of later rows are renumbered."""
    if doc.declaration is None or not 0 <= index < len(doc.declaration.indicators):
        raise CorrectionError(f"/indicators/{index}: no such indicator row")
    indicators = [row for i, row in enumerate(doc.declaration.indicators) if i != index]
    provenance = {
        moved: entry
        for pointer, entry in doc.provenance.items()
        if (moved := pointer_after_removal(pointer, index)) is not None
    }
    issues = tuple(
        issue.model_copy(update={"pointer": moved})
        for issue in doc.issues
        if (moved := pointer_after_removal(issue.pointer, index)) is not None
    )
    declaration = doc.declaration.model_copy(update={"indicators": indicators})
    return doc.model_copy(update={"declaration": declaration, "provenance": provenance, "issues": issues})


def pointer_after_removal(pointer: str, index: int) -> str | None:
    """Where ``pointer`` points once indicator row ``index`` is gone; None if it was in that row."""
    match = _INDICATOR_INDEX.match(pointer)
    if not match:
        return pointer
    row = int(match.group(1))
    if row == index:
        return None
    if row < index:
        return pointer
    return f"/indicators/{row - 1}{pointer[match.end():]}"


def _normalized(kind: str, value: Any, data: dict[str, Any], pointer: str) -> Any:
    if kind == "indicator":
        return _indicator_row(value, pointer)
    if kind == "year":
        return _year(value, pointer)
    text = _text(value, pointer)
    if kind == "level":
        return text or ""
    if kind == "period":
        if text not in PERIODS:
            raise CorrectionError(f"{pointer}: period is one of {', '.join(PERIODS)}")
        return text
    if kind == "unit":
        if text not in (None, "元", "万元"):
            raise CorrectionError(f"{pointer}: the funding unit is 元 or 万元")
        return text
    if kind == "amount":
        return _dump(parse_amount(text, data["funding"]["unit"])) if text else None
    if kind == "value":
        return _dump(_indicator_value(text))
    return text


def _indicator_row(value: Any, pointer: str) -> dict[str, Any]:
    """A whole row: ``{period, level1, level2, level3, value}``, value as raw text or ``{raw}``."""
    if not isinstance(value, dict):
        raise CorrectionError(f"{pointer}: an indicator row is an object")
    given = value.get("value")
    raw = given.get("raw") if isinstance(given, dict) else given
    try:
        row = Indicator.model_validate({**value, "value": None})
    except ValueError as exc:
        raise CorrectionError(f"{pointer}: {exc}") from exc
    return {**row.model_dump(mode="json"), "value": _dump(_indicator_value(_text(raw, pointer)))}


def _indicator_value(raw: str | None) -> Any:
    return parse_indicator_value(raw) if raw else None


def _renormalize_amounts(data: dict[str, Any]) -> None:
    """A bare number takes the header's unit (rule 3), so a unit change moves every bare amount."""
    unit = data["funding"]["unit"]
    for period in PERIODS:
        block = data["funding"][period]
        for key in FUNDING_KEYS:
            if block[key] is not None:
                block[key] = _dump(parse_amount(block[key]["raw"], unit))


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json") if model is not None else None


def _text(value: Any, pointer: str) -> str | None:
    """Rule 1 for typed text: surrounding white space removed, blank is null."""
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise CorrectionError(f"{pointer}: expected text")
    return str(value).strip() or None


def _year(value: Any, pointer: str) -> int | None:
    text = _text(value, pointer)
    if text is None:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise CorrectionError(f"{pointer}: a fiscal year is four digits")
    return int(text)


def _container(data: dict[str, Any], parts: list[str]) -> Any:
    node: Any = data
    for part in parts[:-1]:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (IndexError, KeyError):
            node = None
        if node is None:
            raise CorrectionError(f"/{'/'.join(parts)}: no such field")
    return node


def _key(container: Any, key: str, pointer: str) -> Any:
    if isinstance(container, list):
        index = int(key)
        if not 0 <= index < len(container):
            raise CorrectionError(f"{pointer}: no such indicator row")
        return index
    return key


def _by_operator(provenance: dict[str, Provenance], pointer: str) -> dict[str, Provenance]:
    """The operator is now the source of ``pointer`` and of every leaf below it that has evidence;
    the page region stays, so the review page still shows where the value was printed."""
    return {
        key: entry.model_copy(update={"confidence": 1.0, "source": "operator"})
        if key == pointer or key.startswith(pointer + "/") else entry
        for key, entry in provenance.items()
    }
