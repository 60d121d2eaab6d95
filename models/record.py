"""The published record, output contract v1 (shared/contract/OUTPUT.md).

``Declaration`` is what a form says; ``GroundTruth`` is the dev-set shape (a declaration with its
id); ``PublishedRecord`` adds where it came from, who reviewed it and the evidence per field.
Every key is always present in the JSON: a blank cell is ``null``, never an omitted key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

Period = Literal["implementation_period", "annual"]
Operator = Literal[">=", "<=", ">", "<", "="]
FundingUnit = Literal["元", "万元"]
FUNDING_KEYS = ("total", "fiscal", "central", "provincial", "municipal", "self_raised", "other")
PERIODS: tuple[Period, ...] = ("implementation_period", "annual")
PERIOD_NAMES: dict[Period, str] = {"implementation_period": "实施期", "annual": "年度"}  # as the form says


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class FormInfo(_Record):
    title: str | None = None
    fiscal_year: int | None = None


class Project(_Record):
    name: str | None = None
    department_code: str | None = None
    department: str | None = None
    implementing_unit: str | None = None
    attribute: str | None = None
    period: str | None = None
    overview: str | None = None
    basis: str | None = None
    necessity: str | None = None
    safeguards: str | None = None
    plan: str | None = None


class Amount(_Record):
    """A funding cell: the text as printed and its value in yuan (null when it is not an amount)."""

    raw: str
    yuan: int | float | None


class FundingBlock(_Record):
    total: Amount | None = None
    fiscal: Amount | None = None
    central: Amount | None = None
    provincial: Amount | None = None
    municipal: Amount | None = None
    self_raised: Amount | None = None
    other: Amount | None = None


class Funding(_Record):
    unit: FundingUnit | None = None
    implementation_period: FundingBlock = Field(default_factory=FundingBlock)
    annual: FundingBlock = Field(default_factory=FundingBlock)


class Goals(_Record):
    implementation_period: str | None = None
    annual: str | None = None


class IndicatorValue(_Record):
    """指标值: ``operator``, ``number`` and ``unit`` are all null unless the whole text parses (rule 4)."""

    raw: str
    operator: Operator | None = None
    number: int | float | None = None
    unit: str | None = None


class Indicator(_Record):
    period: Period
    level1: str
    level2: str
    level3: str
    value: IndicatorValue | None = None


class Signoff(_Record):
    responsible_person: str | None = None
    handler: str | None = None
    phone: str | None = None
    filed_date: str | None = None
    filed_date_raw: str | None = None


class Declaration(_Record):
    """Everything the form itself says, in the contract's shape."""

    form: FormInfo = Field(default_factory=FormInfo)
    project: Project = Field(default_factory=Project)
    funding: Funding = Field(default_factory=Funding)
    goals: Goals = Field(default_factory=Goals)
    indicators: list[Indicator] = Field(default_factory=list)
    signoff: Signoff = Field(default_factory=Signoff)


class GroundTruth(Declaration):
    """A dev-set record: the contract shape without source, review and provenance."""

    schema_version: str = SCHEMA_VERSION
    document_id: str


class Source(_Record):
    filename: str
    sha256: str
    pages: int
    received_at: str = Field(description="ISO 8601 UTC, e.g. 2024-01-26T09:00:00Z")


class Review(_Record):
    flagged: list[str] = Field(default_factory=list)
    corrected: list[str] = Field(default_factory=list)
    reviewed_by: list[str] = Field(default_factory=list)
    published_at: str | None = None


ProvenanceSource = Literal["ocr", "text_layer", "operator"]


class Provenance(_Record):
    """Where a leaf value came from and how sure the service is of it."""

    page: int
    bbox: list[float] = Field(min_length=4, max_length=4)
    confidence: float = Field(ge=0.0, le=1.0)
    source: ProvenanceSource = "ocr"


class PublishedRecord(Declaration):
    """The JSON object published downstream (contract v1)."""

    schema_version: str = SCHEMA_VERSION
    document_id: str
    source: Source
    review: Review = Field(default_factory=Review)
    provenance: dict[str, Provenance] = Field(default_factory=dict)

    def to_json_dict(self) -> dict:
        """The contract's key order, every key present."""
        data = self.model_dump(mode="json")
        order = ["schema_version", "document_id", "source", "form", "project", "funding", "goals",
                 "indicators", "signoff", "review", "provenance"]
        return {key: data[key] for key in order}


def record_json_schema() -> dict:
    """The project's JSON Schema of the published record, generated from the model."""
    schema = PublishedRecord.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "declscan published record v" + SCHEMA_VERSION
    return schema
