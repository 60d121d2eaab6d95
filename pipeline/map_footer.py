"""The signoff under the form: 负责人 / 经办人 / 联系电话 / 填报日期.

It is printed either as text lines under the table (`负责人:王静`, or all four on one line) or as the
table's last row (label cells with the value in the next cell). A value is the text after its label
on the same line, else the next text to the right in the same row that is not another label; a
label with nothing after it is null.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, replace

from declscan.models.ocr import TextLine
from declscan.models.record import Signoff
from declscan.pipeline.labels import FormLabels
from declscan.pipeline.map_sheet import Evidence, Mapped, Sheet, evidence_of
from declscan.pipeline.normalize import parse_date

_COLON = re.compile(r"[:：︰]")
# Longest head before a colon that can be a label (单位负责人 plus one slip).
MAX_LABEL_CHARS = 8


@dataclass(frozen=True)
class _Token:
    """One cell or text line of a printed row, left to right."""

    text: str
    evidence: Evidence
    source: Hashable  # the SheetCell or TextLine it was read from


@dataclass(frozen=True)
class _Found:
    value: str | None
    evidence: Evidence | None
    label_score: float
    sources: tuple[Hashable, ...]  # the label's token and the value's


def map_signoff(sheet: Sheet, outside: Sequence[TextLine], labels: FormLabels) -> Mapped[Signoff]:
    mapped: Mapped[Signoff] = Mapped(Signoff())
    found: dict[str, _Found] = {}
    for row in [*_table_rows(sheet), *_line_rows(outside)]:
        for key, item in _read_row(row, labels):
            if key not in found or (found[key].value is None and item.value is not None):
                found[key] = item
    values: dict[str, str | None] = {key: item.value for key, item in found.items()}
    raw_date = values.pop("filed_date", None)
    values["filed_date_raw"], values["filed_date"] = raw_date, parse_date(raw_date) if raw_date else None
    mapped.value = Signoff(**values)
    mapped.consume(source for item in found.values() for source in item.sources)
    for key in labels.signoff:
        item = found.get(key)
        if item is None:
            mapped.flag(f"/signoff/{key}", "label_not_found", f"未找到“{labels.signoff[key][0]}”")
            continue
        if item.evidence is None:
            continue
        evidence = replace(item.evidence, label_score=item.label_score)
        if key == "filed_date":
            mapped.note("/signoff/filed_date_raw", evidence)
            mapped.note("/signoff/filed_date", evidence, parsed=values["filed_date"] is not None)
        else:
            mapped.note(f"/signoff/{key}", evidence)
    return mapped


def _table_rows(sheet: Sheet) -> Iterator[list[_Token]]:
    """Every band of the tables (the signoff may be the last row); rows without a label yield nothing."""
    for band in range(sheet.n_bands):
        yield [_Token(c.text, evidence_of([c]), c) for c in sheet.band(band) if c.text]


def _line_rows(lines: Sequence[TextLine]) -> Iterator[list[_Token]]:
    """Lines grouped into printed rows (vertical centres within the first line's height)."""
    row: list[TextLine] = []
    for line in sorted(lines, key=lambda ln: (ln.page, ln.bbox.center[1])):
        if row and (line.page != row[0].page or not row[0].bbox.y0 <= line.bbox.center[1] <= row[0].bbox.y1):
            yield _line_tokens(row)
            row = []
        row.append(line)
    if row:
        yield _line_tokens(row)


def _line_tokens(row: list[TextLine]) -> list[_Token]:
    return [_Token(ln.text, Evidence.of_lines([ln]), ln) for ln in sorted(row, key=lambda ln: ln.bbox.x0)]


def _read_row(tokens: list[_Token], labels: FormLabels) -> Iterator[tuple[str, _Found]]:
    """Every signoff label of a row with its value (the text after it, else the next token's)."""
    pending: tuple[str, float, Hashable] | None = None  # a label still waiting for its value
    for token in tokens:
        lead, segments = _split(token.text, labels)
        if pending is not None and lead:
            yield pending[0], _Found(lead, token.evidence, pending[1], (pending[2], token.source))
            pending = None
        for key, score, value in segments:
            if pending is not None:  # another label came first: the pending one is blank
                yield pending[0], _Found(None, None, pending[1], (pending[2],))
                pending = None
            if value:
                yield key, _Found(value, token.evidence, score, (token.source,))
            else:
                pending = (key, score, token.source)
    if pending is not None:
        yield pending[0], _Found(None, None, pending[1], (pending[2],))


def _split(text: str, labels: FormLabels) -> tuple[str, list[tuple[str, float, str]]]:
    """``text`` cut at its signoff labels: (text before the first, [(key, score, value after)])."""
    marks = _label_marks(text, labels)
    if not marks:
        return text.strip(), []
    segments = []
    for i, (_, end, key, score) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        segments.append((key, score, text[end:stop].strip()))
    return text[: marks[0][0]].strip(), segments


def _label_marks(text: str, labels: FormLabels) -> list[tuple[int, int, str, float]]:
    """(start, end, key, score) of each label: a head before a colon that reads as a label, or a
    whole text that is a label without its colon."""
    marks: list[tuple[int, int, str, float]] = []
    begin = 0
    for colon in _COLON.finditer(text):
        head_start = max(begin, _last_space(text, colon.start()))
        mark = _head_label(text, head_start, colon.start(), labels)
        if mark is not None:
            marks.append((mark[0], colon.end(), mark[1], mark[2]))
        begin = colon.end()
    if not marks and (match := labels.match(text, ("signoff",))) is not None:
        marks.append((0, len(text), match.key, match.score))
    return marks


def _head_label(text: str, start: int, colon: int, labels: FormLabels) -> tuple[int, str, float] | None:
    """The label ending at ``colon``: the whole head, else an exact alias at its end (`王静经办人`)."""
    head = text[start:colon]
    if len(head.strip()) <= MAX_LABEL_CHARS and (match := labels.match(head, ("signoff",))):
        return start + len(head) - len(head.lstrip()), match.key, match.score
    stripped = head.rstrip()
    for key, aliases in labels.signoff.items():
        for alias in sorted(aliases, key=len, reverse=True):
            if stripped.endswith(alias):
                return start + len(stripped) - len(alias), key, 1.0
    return None


def _last_space(text: str, end: int) -> int:
    """The index after the last white space before ``end`` (0 if none)."""
    spaces = [m.end() for m in re.finditer(r"\s+", text[:end])]
    return spaces[-1] if spaces else 0
