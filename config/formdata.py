"""The form's data files as frozen typed models: the indicator taxonomy and the validation rules.

``taxonomy.yaml`` and ``form_rules.yaml`` ship inside ``declscan.config``; each is parsed once.
A broken file raises ``FormDataError`` naming the file and the reason.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_M = TypeVar("_M", bound=BaseModel)


class FormDataError(ValueError):
    """A shipped data file is missing, is not YAML, or does not have the expected shape."""


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Taxonomy(_Data):
    """The official 一级 → 二级 indicator names; ``optional_suffix`` may be left off as printed."""

    optional_suffix: str = "指标"
    levels: dict[str, tuple[str, ...]] = Field(min_length=1)


class RequiredFields(_Data):
    fields: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()
    min_indicators: int = Field(default=0, ge=0)

    @field_validator("fields", "any_of")
    @classmethod
    def _pointers(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        flat = [p for item in value for p in ((item,) if isinstance(item, str) else item)]
        bad = [p for p in flat if not p.startswith("/")]
        if bad:
            raise ValueError(f"not JSON pointers: {bad}")
        return value


class FundingRules(_Data):
    sum_tolerance_yuan: float = Field(ge=0)
    annual_over_period_tolerance: float = Field(ge=0)
    unit_mismatch_min_ratio: float = Field(gt=1)


class CostRules(_Data):
    level2: tuple[str, ...]
    exceed_tolerance: float = Field(ge=0)
    far_below_factor: float = Field(gt=1)


class NumericIndicators(_Data):
    level1: tuple[str, ...] = ()
    level2: tuple[str, ...] = ()
    marks: tuple[str, ...] = ()  # compared after NFKC: ％ is %


class FiledDateRules(_Data):
    max_years_from_fiscal_year: int = Field(ge=0)


class PhoneRules(_Data):
    separators: str
    patterns: tuple[str, ...] = Field(min_length=1)

    @field_validator("separators", "patterns")
    @classmethod
    def _compiles(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for pattern in (value,) if isinstance(value, str) else value:
            re.compile(pattern)
        return value


class ConfusableMark(_Data):
    """Text where a mark the recognizer confuses with another is likely misread (scans only)."""

    pattern: str = Field(description="regular expression over the NFKC text")
    message: str = Field(description="for the operator; {text} is the matched text")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value

    @field_validator("message")
    @classmethod
    def _formats(cls, value: str) -> str:
        value.format(text="")  # a stray brace fails at load, not in the middle of a batch
        return value


class MarkRules(_Data):
    """Paired marks (NFKC forms): opening → closing; ``strict`` marks never stand alone;
    ``confusable``: where a confidently read mark is likely the other of a confused pair."""

    pairs: dict[str, str] = Field(min_length=1)
    strict: frozenset[str] = frozenset()
    confusable: tuple[ConfusableMark, ...] = ()


class FormRules(_Data):
    """Everything ``validate`` checks against, as data."""

    required: RequiredFields
    funding: FundingRules
    cost: CostRules
    numeric_indicators: NumericIndicators
    filed_date: FiledDateRules
    phone: PhoneRules
    marks: MarkRules
    taxonomy: Taxonomy


def _read_yaml(name: str) -> dict[str, Any]:
    try:
        text = resources.files("declscan.config").joinpath(name).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise FormDataError(f"{name}: {exc}") from exc
    if not isinstance(data, dict):
        raise FormDataError(f"{name}: expected a mapping at the top level")
    return data


def _parse(model: type[_M], name: str, data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormDataError(f"{name}: {exc}") from exc


@cache
def load_taxonomy() -> Taxonomy:
    """The official indicator taxonomy (``taxonomy.yaml``), parsed once."""
    return _parse(Taxonomy, "taxonomy.yaml", _read_yaml("taxonomy.yaml"))


@cache
def load_form_rules() -> FormRules:
    """The validation rules (``form_rules.yaml``) with the taxonomy, parsed once."""
    data = _read_yaml("form_rules.yaml")
    return _parse(FormRules, "form_rules.yaml", {**data, "taxonomy": load_taxonomy()})
