"""``declscan process`` end to end: rendered dev-set forms through the real stages and PaddleOCR."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from declscan.devkit.fixtures import Fixture, build_fixtures
from declscan.devkit.score import Score, score_record
from declscan.models.record import PublishedRecord

DECLSCAN = [sys.executable, "-P", "-m", "declscan.cli.main"]


def run_declscan(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DECLSCAN, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fixture]:
    out = tmp_path_factory.mktemp("fixtures")
    built = build_fixtures(out, forms=["form-01", "form-02", "form-04"], levels=("clean", "harsh", "digital"))
    return {f"{f.form}-{f.level}": f for f in built}


def load_record(path: Path) -> PublishedRecord:
    return PublishedRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))


Processed = Callable[[str], tuple[PublishedRecord, Score]]


@pytest.fixture(scope="session")
def processed(fixtures: dict[str, Fixture], tmp_path_factory: pytest.TempPathFactory) -> Processed:
    """``declscan process`` of a fixture: the record and its score against the truth. Each fixture
    is processed once, however many tests look at it."""
    out = tmp_path_factory.mktemp("processed")

    @functools.cache
    def process(name: str) -> tuple[PublishedRecord, Score]:
        fixture = fixtures[name]
        result = run_declscan("process", fixture.path, "-o", out)
        assert result.returncode == 0, result.stderr
        record = load_record(out / f"{fixture.path.stem}.json")
        return record, score_record(fixture.truth, record, record.review.flagged)

    return process


def test_schema_lists_every_contract_key() -> None:
    result = run_declscan("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert {"form", "project", "funding", "goals", "indicators", "signoff", "review", "provenance"} <= set(
        schema["required"])


def test_bad_files_get_one_line_each_and_the_batch_goes_on(fixtures: dict[str, Fixture],
                                                           tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(fixtures["form-04-digital"].path.read_bytes()[:700])
    text = tmp_path / "notes.txt"
    text.write_text("not a scan", encoding="utf-8")
    good = fixtures["form-04-digital"]
    result = run_declscan("process", empty, truncated, text, good.path, "-o", tmp_path / "out")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("declscan: ")]
    assert [line.split(":")[1].strip() for line in lines] == ["empty.pdf", "truncated.pdf", "notes.txt"]
    assert "Traceback" not in result.stderr
    record = load_record(tmp_path / "out" / f"{good.path.stem}.json")
    score = score_record(good.truth, record, record.review.flagged)
    assert score.accuracy == 1.0
    # Form 4 prints 社会效益指标 as 一级, outside the official taxonomy: flagged, not "fixed".
    assert record.review.flagged == [f"/indicators/{i}/level1" for i in (4, 5, 11, 12)]


# Floors a little under what bench-accuracy measures for these two scans (fields 96% and 86%,
# indicator rows 0.96 and 0.79), so an OCR or structure regression fails here; the benchmark
# reports the real figures per level.
@pytest.mark.ocr
@pytest.mark.parametrize(("name", "floor"), [("form-02-clean", 0.9), ("form-04-harsh", 0.75)])
def test_scans_map_onto_the_contract(fixtures: dict[str, Fixture], processed: Processed, name: str,
                                     floor: float) -> None:
    fixture = fixtures[name]
    record, score = processed(name)
    wrong = [f.pointer for f in score.fields if not f.correct]
    assert score.accuracy >= floor, wrong
    assert score.row_f1 >= floor, wrong
    for pointer in ("/form/fiscal_year", "/funding/unit", "/funding/annual/total", "/signoff/filed_date"):
        assert pointer not in wrong
    assert record.source.pages == len(fixture.rotation)
    assert all(p.source == "ocr" and 0.0 < p.confidence <= 1.0 for p in record.provenance.values())
    assert record.provenance["/project/name"].page == 1


@pytest.mark.ocr
def test_a_mark_the_detector_left_out_is_not_published_unflagged(processed: Processed) -> None:
    # Form 2's 实施期目标 ends in a 。 that wraps alone onto the next row of its cell; on the harsh
    # scan PP-OCRv5's detector leaves it out and the rest reads at full confidence.
    _, score = processed("form-02-harsh")
    (goal,) = [f for f in score.fields if f.pointer == "/goals/implementation_period"]
    assert goal.correct or goal.flagged, goal


@pytest.mark.ocr
def test_a_document_numbers_year_brackets_are_read_by_their_shape(processed: Processed) -> None:
    # Form 4 cites 晋开管发〔2023〕50号 in three fields; on the harsh scan PP-OCRv5 reads some of
    # those 〔〕 as （）at 0.9, which only the brackets' shape on the page can tell apart.
    _, score = processed("form-04-harsh")
    cited = {f.pointer: f for f in score.fields if "〔2023〕50号" in str(f.truth)}
    assert set(cited) == {"/project/basis", "/project/safeguards", "/project/plan"}
    assert all(f.correct for f in cited.values()), cited


@pytest.mark.ocr
def test_a_semicolon_read_as_a_colon_is_written_as_printed(processed: Processed) -> None:
    # Form 2 cites 〔2023〕36号；《产业…》; on the harsh scan PP-OCRv5 reads that ； as ：, which only
    # the ink under the dot tells apart.
    _, score = processed("form-02-harsh")
    listed = [f for f in score.fields if "36号;《" in unicodedata.normalize("NFKC", str(f.truth))]
    assert listed
    assert all(f.correct for f in listed), listed


@pytest.mark.ocr
def test_a_character_wrapped_alone_onto_the_row_below_is_read(processed: Processed) -> None:
    # Form 1's merged 一级 cell prints 产出指 / 标 on two rows; on the harsh scan PP-OCRv5's detector
    # leaves the lone 标 out. Read on its own, the cell needs neither the taxonomy's snap nor a person.
    record, score = processed("form-01-harsh")
    rows = [f.pointer for f in score.fields
            if isinstance(f.truth, dict) and f.truth.get("level1") == "产出指标"]
    assert rows
    assert [f"{row}/level1" for row in rows if f"{row}/level1" in record.review.flagged] == []
    assert all(record.indicators[int(row.rsplit("/", 1)[1])].level1 == "产出指标" for row in rows)
