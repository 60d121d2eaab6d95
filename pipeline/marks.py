"""Paired marks that do not pair up: a 〔 closed by ）, a ” never opened, a 【 never closed.

PP-OCRv5 reads 〔 as （ and ； as ： at full confidence, so a field's score cannot show these
misreads; crossed or lone marks can, and so can a mark in a context where the other one of its
confused pair belongs (a list's separator). Which marks pair, which
never stand alone (unlike the ``)`` of a ``1)`` enumeration) and the contexts are data:
``config/form_rules.yaml`` ``marks``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from declscan.config.formdata import MarkRules
from declscan.models.record import Declaration


def unpaired_mark(text: str, rules: MarkRules) -> str | None:
    """The first mark of ``text`` (after NFKC, so （ and ( are one mark) that breaks a pair, or None.

    A closing mark breaks a pair when another pair's opening mark is the innermost one open, or
    when nothing is open and the mark is ``strict``; a ``strict`` opening mark breaks one when it is
    still open at the end.
    """
    closers = {close: open_ for open_, close in rules.pairs.items()}
    stack: list[str] = []
    for char in unicodedata.normalize("NFKC", text):
        if char in rules.pairs:
            stack.append(char)
        elif char in closers:
            if stack and stack[-1] == closers[char]:
                stack.pop()
            elif stack or char in rules.strict:
                return char
    return next((char for char in stack if char in rules.strict), None)


def confusable_marks(text: str, rules: MarkRules) -> Iterator[str]:
    """The operator's message for each ``rules.confusable`` pattern found in ``text`` (NFKC)."""
    normal = unicodedata.normalize("NFKC", text)
    for rule in rules.confusable:
        if found := re.search(rule.pattern, normal):
            yield rule.message.format(text=found.group())


def text_fields(d: Declaration) -> Iterator[tuple[str, str]]:
    """``(pointer, text)`` of every free-text field of ``d`` where a pair of marks may appear."""
    if d.form.title:
        yield "/form/title", d.form.title
    for name, section in (("project", d.project), ("goals", d.goals)):
        for key, value in section.model_dump().items():
            if isinstance(value, str) and value:
                yield f"/{name}/{key}", value
    for i, row in enumerate(d.indicators):
        if row.level3:
            yield f"/indicators/{i}/level3", row.level3
        if row.value is not None and row.value.raw:
            yield f"/indicators/{i}/value", row.value.raw
