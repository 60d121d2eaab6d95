"""What the review page shows: every editable field in form order, with Chinese labels and evidence.

A field is one editable pointer (an amount, an indicator value, a text). Flags may point below a
field (``…/total/raw``); :func:`declscan.pipeline.corrections.field_pointer` maps them onto it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from declscan.models.document import FormDocument
from declscan.models.record import FUNDING_KEYS, PERIODS, Provenance
from declscan.pipeline.corrections import field_kind, field_pointer

PERIOD_LABELS = {"implementation_period": "实施期", "annual": "年度"}
FUNDING_LABELS = {"total": "资金总额", "fiscal": "财政拨款", "central": "中央资金", "provincial": "省级资金",
                  "municipal": "市级资金", "self_raised": "自筹资金", "other": "其他资金"}
LABELS: dict[str, str] = {
    "/form/title": "表头标题",
    "/form/fiscal_year": "年度",
    "/project/name": "项目名称",
    "/project/department_code": "主管部门代码",
    "/project/department": "主管部门",
    "/project/implementing_unit": "实施单位",
    "/project/attribute": "项目属性",
    "/project/period": "项目期",
    "/project/overview": "项目概况",
    "/project/basis": "立项依据",
    "/project/necessity": "项目设立必要性",
    "/project/safeguards": "保证项目实施的制度、措施",
    "/project/plan": "项目实施计划",
    "/funding/unit": "资金单位",
    "/goals/implementation_period": "实施期目标",
    "/goals/annual": "年度目标",
    "/signoff/responsible_person": "项目负责人",
    "/signoff/handler": "经办人",
    "/signoff/phone": "联系电话",
    "/signoff/filed_date_raw": "填报日期",
    **{f"/funding/{p}/{k}": f"{PERIOD_LABELS[p]}·{FUNDING_LABELS[k]}" for p in PERIODS for k in FUNDING_KEYS},
}
INDICATOR_LEAVES = {"period": "期间", "level1": "一级指标", "level2": "二级指标", "level3": "三级指标",
                    "value": "指标值"}
LONG_TEXT = {"/project/overview", "/project/basis", "/project/necessity", "/project/safeguards",
             "/project/plan", "/goals/implementation_period", "/goals/annual", "/form/title"}
SECTIONS = (("form", "表头"), ("project", "项目信息"), ("funding", "项目资金"), ("goals", "绩效目标"),
            ("signoff", "签署"))


@dataclass
class FieldView:
    """One editable field as the page shows it."""

    pointer: str
    label: str
    value: str
    kind: str
    derived: str = ""  # what the service computed from the text (yuan, parsed indicator, ISO date)
    provenance: Provenance | None = None
    issues: list[str] = field(default_factory=list)  # validation messages on this field
    flag_pointers: list[str] = field(default_factory=list)  # flagged pointers that land on this field
    status: str = ""  # "open", "confirmed", "corrected" or "" when never flagged

    @property
    def long(self) -> bool:
        return self.pointer in LONG_TEXT


def label_of(pointer: str) -> str:
    """A Chinese label for any pointer (``/indicators/3/value`` → ``指标 4 · 指标值``)."""
    target = field_pointer(pointer)
    if target in LABELS:
        return LABELS[target]
    parts = target.strip("/").split("/")
    if parts[0] == "indicators" and len(parts) >= 2 and parts[1].isdigit():
        leaf = INDICATOR_LEAVES.get(parts[2], parts[2]) if len(parts) > 2 else "整行"
        return f"指标 {int(parts[1]) + 1} · {leaf}"
    return pointer


def read_pointer(data: Any, pointer: str) -> Any:
    """The value at ``pointer`` in plain JSON data, or None where the path does not exist."""
    node = data
    for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def display_value(kind: str, value: Any) -> tuple[str, str]:
    """(editable text, derived summary) of a field's JSON value."""
    if value is None:
        return "", ""
    if kind == "amount":
        yuan = value.get("yuan")
        return value.get("raw", ""), "不是金额" if yuan is None else f"{yuan:,} 元"
    if kind == "value":
        if value.get("number") is None:
            return value.get("raw", ""), "未解析"
        parsed = f"{value['operator']} {value['number']} {value.get('unit') or ''}"
        return value.get("raw", ""), parsed.strip()
    return str(value), ""


def field_views(doc: FormDocument, *, flagged: list[str], confirmed: list[str],
                corrected: list[str]) -> list[FieldView]:
    """Every editable field of the declaration, in the form's order."""
    data = doc.declaration.model_dump(mode="json") if doc.declaration else {}
    pointers = [p for p in LABELS if p.startswith("/") and field_kind(p)]
    for index in range(len(data.get("indicators", []))):
        pointers += [f"/indicators/{index}/{leaf}" for leaf in INDICATOR_LEAVES]
    issues_by_field: dict[str, list[str]] = {}
    for issue in doc.issues:
        issues_by_field.setdefault(field_pointer(issue.pointer), []).append(issue.message)
    views = []
    for pointer in pointers:
        kind = field_kind(pointer) or "text"
        value, derived = display_value(kind, read_pointer(data, pointer))
        if pointer == "/signoff/filed_date_raw":
            derived = data.get("signoff", {}).get("filed_date") or ("无法解析" if value else "")
        flags = [p for p in flagged if field_pointer(p) == pointer]
        views.append(FieldView(
            pointer=pointer, label=label_of(pointer), value=value, kind=kind, derived=derived,
            provenance=evidence_of(doc.provenance, pointer), issues=issues_by_field.get(pointer, []),
            flag_pointers=flags, status=_status(flags, confirmed, corrected, pointer, issues_by_field),
        ))
    return views


def _status(flags: list[str], confirmed: list[str], corrected: list[str], pointer: str,
            issues: dict[str, list[str]]) -> str:
    if not flags and pointer not in issues:
        return ""
    if pointer in corrected or (flags and all(p in corrected for p in flags)):
        return "corrected"
    if flags and all(p in confirmed or p in corrected for p in flags):
        return "confirmed"
    return "open"


def evidence_of(provenance: dict[str, Provenance], pointer: str) -> Provenance | None:
    """The field's own provenance, else that of a leaf below it that came from the page."""
    pointer = field_pointer(pointer)
    own = provenance.get(pointer)
    if own is not None:
        return own
    below = [entry for key, entry in provenance.items() if key.startswith(pointer + "/")]
    return below[0] if below else None
