"""Score a record against ground truth: field accuracy, indicator-row F1, flagged share of errors.

A *field* is a scalar leaf of the contract (title, fiscal year, project texts, funding amounts,
goals, signoff) or one whole indicator row. Texts compare after NFKC and white-space removal
(contract rule 1); an amount compares by raw text and yuan; an indicator row by all its parts.
A field counts as *flagged* when its pointer, an ancestor or a descendant is in
``review.flagged``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from declscan.models.record import FUNDING_KEYS, PERIODS, Declaration, Indicator

SCALAR_SECTIONS = {
    "form": ("title", "fiscal_year"),
    "project": ("name", "department_code", "department", "implementing_unit", "attribute", "period",
                "overview", "basis", "necessity", "safeguards", "plan"),
    "goals": ("implementation_period", "annual"),
    "signoff": ("responsible_person", "handler", "phone", "filed_date", "filed_date_raw"),
}


def squash(value: Any) -> Any:
    """The contract's comparison form of a leaf value (recursively for objects)."""
    if isinstance(value, str):
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    if isinstance(value, dict):
        return {key: squash(item) for key, item in value.items()}
    return value


@dataclass(frozen=True)
class FieldResult:
    pointer: str
    correct: bool
    flagged: bool
    truth: Any = None
    got: Any = None


@dataclass
class Score:
    """Counts over one or more records; ``add`` merges another score in."""

    fields: list[FieldResult] = field(default_factory=list)
    rows_true: int = 0
    rows_pred: int = 0
    rows_matched: int = 0

    def add(self, other: Score) -> None:
        self.fields += other.fields
        self.rows_true += other.rows_true
        self.rows_pred += other.rows_pred
        self.rows_matched += other.rows_matched

    @property
    def accuracy(self) -> float:
        return _share(sum(f.correct for f in self.fields), len(self.fields))

    @property
    def row_f1(self) -> float:
        precision = _share(self.rows_matched, self.rows_pred)
        recall = _share(self.rows_matched, self.rows_true)
        return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)

    @property
    def wrong_flagged(self) -> float:
        wrong = [f for f in self.fields if not f.correct]
        return _share(sum(f.flagged for f in wrong), len(wrong)) if wrong else 1.0

    @property
    def silent_errors(self) -> float:
        return _share(sum(not f.correct and not f.flagged for f in self.fields), len(self.fields))

    @property
    def review_load(self) -> float:
        return _share(sum(f.flagged for f in self.fields), len(self.fields))


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _is_flagged(pointer: str, flagged: Iterable[str]) -> bool:
    return any(p == pointer or p.startswith(pointer + "/") or pointer.startswith(p + "/") for p in flagged)


def _scalar_pointers(decl: Declaration) -> dict[str, Any]:
    data = decl.model_dump(mode="json")
    leaves = {f"/{section}/{key}": data[section][key]
              for section, keys in SCALAR_SECTIONS.items() for key in keys}
    leaves["/funding/unit"] = data["funding"]["unit"]
    for period in PERIODS:
        for key in FUNDING_KEYS:
            leaves[f"/funding/{period}/{key}"] = data["funding"][period][key]
    return leaves


def _row_key(row: Indicator) -> Any:
    return squash(row.model_dump(mode="json"))


def _align_rows(truth: list[Indicator], pred: list[Indicator]) -> dict[int, int]:
    """Map truth row index → predicted row index, aligning within each period on 三级 text."""
    pairs: dict[int, int] = {}
    for period in PERIODS:
        t_idx = [i for i, row in enumerate(truth) if row.period == period]
        p_idx = [j for j, row in enumerate(pred) if row.period == period]
        matcher = difflib.SequenceMatcher(
            a=[squash(truth[i].level3) for i in t_idx], b=[squash(pred[j].level3) for j in p_idx],
            autojunk=False)
        for block in matcher.get_opcodes():
            tag, a0, a1, b0, b1 = block
            if tag in ("equal", "replace"):
                for k in range(min(a1 - a0, b1 - b0)):
                    pairs[t_idx[a0 + k]] = p_idx[b0 + k]
    return pairs


def score_record(truth: Declaration, pred: Declaration, flagged: Iterable[str]) -> Score:
    """Score one predicted declaration against its ground truth."""
    flagged = list(flagged)
    score = Score()
    want, got = _scalar_pointers(truth), _scalar_pointers(pred)
    for pointer, value in want.items():
        score.fields.append(FieldResult(pointer, squash(value) == squash(got[pointer]),
                                        _is_flagged(pointer, flagged), value, got[pointer]))
    pairs = _align_rows(truth.indicators, pred.indicators)
    for i, row in enumerate(truth.indicators):
        j = pairs.get(i)
        other = pred.indicators[j] if j is not None else None
        correct = other is not None and _row_key(row) == _row_key(other)
        pointer = f"/indicators/{j}" if j is not None else "/indicators"
        score.fields.append(FieldResult(pointer, correct, _is_flagged(pointer, flagged),
                                        _row_key(row), other and _row_key(other)))
    score.rows_matched = sum(f.correct for f in score.fields if f.pointer.startswith("/indicators"))
    score.rows_true, score.rows_pred = len(truth.indicators), len(pred.indicators)
    return score
