"""The typed models are the contract of shared/contract/OUTPUT.md: same keys, never omitted."""

from __future__ import annotations

from declscan.models.record import GroundTruth, PublishedRecord, Source, record_json_schema


def test_dev_set_round_trips_through_the_models_unchanged(ground_truth_json: dict[str, dict]) -> None:
    assert len(ground_truth_json) == 7
    for name, data in ground_truth_json.items():
        assert GroundTruth.model_validate(data).model_dump(mode="json") == data, name


def test_every_key_is_required_in_the_schema() -> None:
    schema = record_json_schema()
    assert set(schema["required"]) == set(PublishedRecord.model_fields)
    for name, definition in schema["$defs"].items():
        assert set(definition.get("required", [])) == set(definition["properties"]), name


def test_a_blank_record_still_has_every_key() -> None:
    record = PublishedRecord(document_id="d", source=Source(filename="f.png", sha256="d", pages=1,
                                                            received_at="2024-01-26T09:00:00Z"))
    data = record.to_json_dict()
    assert list(data) == ["schema_version", "document_id", "source", "form", "project", "funding",
                          "goals", "indicators", "signoff", "review", "provenance"]
    assert data["funding"]["annual"] == dict.fromkeys(
        ("total", "fiscal", "central", "provincial", "municipal", "self_raised", "other"))
    assert data["review"] == {"flagged": [], "corrected": [], "reviewed_by": [], "published_at": None}
