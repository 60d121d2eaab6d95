"""The form's printed labels (``config/labels.yaml``) and fuzzy matching of cell text against them.

A label matches when the edit distance between the normalized text and a normalized alias is
within the tolerance of ``fuzzy`` (one slip on a short label), so an OCR misread still maps. The
match score (1.0 for an exact match) feeds the field's confidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, PrivateAttr

LabelKind = Literal[
    "project", "funding_header", "funding", "goals_block", "goals", "indicators_block",
    "indicator_column", "signoff",
]

_Aliases = tuple[str, ...]
_PARENTHESIZED = re.compile(r"\(([^()]*)\)")  # after NFKC, which folds （） into ()


class _Labels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FuzzyOptions(_Labels):
    max_edit_ratio: float = 0.25
    min_edits: int = 1


class FundingLabels(_Labels):
    header: _Aliases
    units: _Aliases
    rows: dict[str, _Aliases]


class GoalLabels(_Labels):
    block: _Aliases
    implementation_period: _Aliases
    annual: _Aliases


class IndicatorLabels(_Labels):
    block: _Aliases
    level1: _Aliases
    level2: _Aliases
    level3: _Aliases
    value: _Aliases


@dataclass(frozen=True)
class LabelMatch:
    """A cell text read as a label: which one, and how closely (1.0 = exact)."""

    kind: LabelKind
    key: str
    score: float


@dataclass(frozen=True)
class _Variant:
    kind: LabelKind
    key: str
    text: str  # normalized, possibly with a prefix or unit around the alias
    edits: int  # tolerated edit distance

    @cached_property
    def chars(self) -> frozenset[str]:
        """The distinct characters of ``text``."""
        return frozenset(self.text)


class FormLabels(_Labels):
    """The typed form of ``config/labels.yaml``."""

    fuzzy: FuzzyOptions = FuzzyOptions()
    prefixes: _Aliases = ()
    not_labels: _Aliases = ()
    project: dict[str, _Aliases]
    funding: FundingLabels
    goals: GoalLabels
    indicators: IndicatorLabels
    signoff: dict[str, _Aliases]
    _variants: tuple[_Variant, ...] = PrivateAttr(default=())

    def model_post_init(self, context: object, /) -> None:
        self._variants = _variants(self)

    def match(self, text: str, kinds: tuple[LabelKind, ...] | None = None) -> LabelMatch | None:
        """The label ``text`` reads as (restricted to ``kinds``), or None when it is no label."""
        norm = normalize_label(text)
        if not norm:
            return None
        best: tuple[int, float, _Variant] | None = None
        chars = set(norm)
        for variant in self._variants:
            if kinds is not None and variant.kind not in kinds:
                continue
            # Each edit takes at most one of the variant's distinct characters away: a cheap bound
            # that rules out nearly every variant before the distance is computed.
            if len(variant.chars) - len(variant.chars & chars) > variant.edits:
                continue
            distance = edit_distance(norm, variant.text, variant.edits)
            if distance > variant.edits:
                continue
            score = 1.0 - distance / max(len(norm), len(variant.text))
            if best is None or (distance, -score) < (best[0], -best[1]):
                best = (distance, score, variant)
        if best is None or self._is_no_label(norm, best[0]):
            return None
        return LabelMatch(kind=best[2].kind, key=best[2].key, score=round(best[1], 4))

    def _is_no_label(self, norm: str, distance: int) -> bool:
        """True when ``norm`` is at least as close to a known non-label text as to the label."""
        return any(edit_distance(norm, normalize_label(text), distance) <= distance
                   for text in self.not_labels)

    def funding_unit(self, header_text: str) -> str | None:
        """The unit printed in the 项目资金 header cell, or None when it cannot be read for sure.

        Only an exact unit counts: in parentheses (``项目资金（万元）``), or right after an exact
        header label when the parentheses are lost. A slip in the unit itself (``（力元）``) gives None
        rather than a guess, because a wrong unit silently scales every bare amount.
        """
        text = unicodedata.normalize("NFKC", header_text)
        units = {normalize_label(unit): unit for unit in self.funding.units}
        if inner := _PARENTHESIZED.search(text):
            return units.get(normalize_label(inner.group(1)))
        norm = normalize_label(text)
        headers = {normalize_label(alias) for alias in self.funding.header}
        found = [unit for key, unit in units.items() if norm.endswith(key) and norm[: -len(key)] in headers]
        return max(found, key=len, default=None)

    def _aliases(self) -> list[tuple[LabelKind, str, str]]:
        entries: list[tuple[LabelKind, str, str]] = []
        for key, aliases in self.project.items():
            entries += [("project", key, a) for a in aliases]
        for key, aliases in self.funding.rows.items():
            entries += [("funding", key, a) for a in aliases]
        for key, aliases in self.signoff.items():
            entries += [("signoff", key, a) for a in aliases]
        entries += [("funding_header", "header", a) for a in self.funding.header]
        entries += [("goals_block", "block", a) for a in self.goals.block]
        entries += [("goals", "implementation_period", a) for a in self.goals.implementation_period]
        entries += [("goals", "annual", a) for a in self.goals.annual]
        entries += [("indicators_block", "block", a) for a in self.indicators.block]
        for key in ("level1", "level2", "level3", "value"):
            entries += [("indicator_column", key, a) for a in getattr(self.indicators, key)]
        return entries


def _tolerated_edits(labels: FormLabels, alias: str) -> int:
    if len(alias) < 3:  # one edit would leave a single character to match
        return 0
    return max(labels.fuzzy.min_edits, int(len(alias) * labels.fuzzy.max_edit_ratio))


def _variants(labels: FormLabels) -> tuple[_Variant, ...]:
    variants: list[_Variant] = []
    for kind, key, alias in labels._aliases():
        norm = normalize_label(alias)
        edits = _tolerated_edits(labels, norm)
        texts = [norm] + [normalize_label(p) + norm for p in labels.prefixes]
        if kind == "funding_header":
            # the header prints its unit: 项目资金（万元）
            texts += [norm + normalize_label(unit) for unit in labels.funding.units]
        variants += [_Variant(kind, key, text, edits) for text in texts]
    return tuple(variants)


def normalize_label(text: str) -> str:
    """NFKC, without white space, punctuation or symbols: ``其中：市县（区）财政`` → ``其中市县区财政``."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch)[0] in "LN"
    )


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Levenshtein distance (insert, delete, replace one character). With ``limit``, a distance
    above it is returned as ``limit + 1``, as soon as it is certain: a page's cells are matched
    against some 300 label variants, nearly all far off, so most comparisons stop after a row or
    two."""
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if limit is not None and min(current) > limit:  # a row's minimum never falls further down
            return limit + 1
        previous = current
    return previous[-1] if limit is None else min(previous[-1], limit + 1)


@cache
def load_labels() -> FormLabels:
    """The labels shipped with the package (``declscan.config/labels.yaml``), parsed once."""
    text = resources.files("declscan.config").joinpath("labels.yaml").read_text(encoding="utf-8")
    return FormLabels.model_validate(yaml.safe_load(text))
