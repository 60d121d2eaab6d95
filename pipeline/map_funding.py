"""The 项目资金 block: unit from its header, one amount per row label and column group.

Both layouts map by label: A (资金总额 / 其中:财政拨款 / 其他资金) fills total, fiscal and other; B
(实施期资金总额 / 中央 / 省级 / 市县(区) / 单位自筹 / 其他资金) fills total, central, provincial,
municipal, self_raised and other. Which group (实施期 or 年度) a label belongs to is decided by its
x position: the label columns of the block are the two clusters of label positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from declscan.models.record import Amount, Funding, FundingBlock, Period
from declscan.pipeline.labels import FormLabels
from declscan.pipeline.map_sheet import Evidence, Mapped, Sheet, evidence_of, lines_of
from declscan.pipeline.normalize import clean_cell_text, parse_amount

# Two label columns closer than this (fraction of the table width) are one column.
MIN_COLUMN_GAP = 0.1
# With a single label column (one group printed), left of this is the 实施期 group.
MIDDLE = 0.5


def map_funding(sheet: Sheet, labels: FormLabels) -> Mapped[Funding]:
    mapped: Mapped[Funding] = Mapped(Funding())
    header = next(iter(sheet.labelled("funding_header")), None)
    unit = labels.funding_unit(header.text) if header else None
    header_evidence = evidence_of([header], header.label.score) if header and header.label else None
    if header_evidence is not None and unit is not None:
        mapped.note("/funding/unit", header_evidence)
    else:
        mapped.flag("/funding/unit", "funding_unit_not_found", "“项目资金”表头中未找到单位（元/万元）")
    row_labels = sheet.labelled("funding")
    if not row_labels:
        mapped.flag("/funding", "label_not_found", "未找到项目资金各行的标签")
    divider = _divider([c.x0 for c in row_labels])
    blocks: dict[Period, dict[str, object]] = {"implementation_period": {}, "annual": {}}
    for label in row_labels:
        assert label.label is not None
        period: Period = "implementation_period" if label.x0 < divider else "annual"
        key = label.label.key
        pointer = f"/funding/{period}/{key}"
        if key in blocks[period]:
            mapped.flag(pointer, "duplicate_label", f"“{label.text}”在同一栏出现两次，仅取第一次")
            continue
        cells = sheet.values_right_of(label)
        mapped.consume(cells)
        raw = clean_cell_text(lines_of(cells))
        amount = parse_amount(raw, unit) if raw is not None else None
        blocks[period][key] = amount
        if amount is None:
            mapped.flag_unread_ink(pointer, cells, f"“{label.text}”的金额")
        else:
            evidence = evidence_of(cells, label.label.score)
            if header_evidence is not None and _takes_header_unit(amount):
                evidence = _weakest(evidence, header_evidence)
            mapped.note(pointer, evidence, parsed=amount.yuan is not None)
    mapped.value = Funding(
        unit=unit,
        implementation_period=FundingBlock.model_validate(blocks["implementation_period"]),
        annual=FundingBlock.model_validate(blocks["annual"]),
    )
    return mapped


def _takes_header_unit(amount: Amount) -> bool:
    """A bare number: its value in yuan depends on the header's unit (rule 3)."""
    return amount.yuan is not None and parse_amount(amount.raw, None).yuan is None


def _weakest(value: Evidence, header: Evidence) -> Evidence:
    """A bare amount is only as sure as the unit it was scaled by."""
    scores = [s for s in (value.ocr, header.ocr) if s is not None]
    return replace(value, ocr=min(scores) if scores else None,
                   label_score=min(value.label_score, header.label_score))


def _divider(xs: Sequence[float]) -> float:
    """The x between the 实施期 and 年度 label columns: the middle of the widest gap between labels."""
    ordered = sorted(xs)
    gaps = [(b - a, (a + b) / 2) for a, b in pairwise(ordered)]
    widest = max(gaps, default=(0.0, MIDDLE))
    return widest[1] if widest[0] >= MIN_COLUMN_GAP else MIDDLE

