"""build_fixtures writes complete input documents once and reuses them while the inputs are unchanged."""

from __future__ import annotations

import json
import subprocess
import sys

import pypdfium2 as pdfium
from PIL import Image

from declscan.devkit.fixtures import build_fixtures
from declscan.models.record import GroundTruth


def test_fixtures_are_written_once_per_input(ground_truth: dict[str, GroundTruth], tmp_path) -> None:
    fixtures = build_fixtures(tmp_path, forms=["form-04"], levels=("clean", "digital"))
    assert [(f.form, f.level) for f in fixtures] == [("form-04", "clean"), ("form-04", "digital")]
    clean, digital = fixtures
    assert clean.truth == ground_truth["form-04"]
    n_pages = len(pdfium.PdfDocument(digital.path))
    with Image.open(clean.path) as image:
        assert getattr(image, "n_frames", 1) == n_pages == len(clean.rotation)
    assert json.loads((tmp_path / "form-04.truth.json").read_text())["document_id"] == "seed-form-04"
    stamps = {f.path: f.path.stat().st_mtime_ns for f in fixtures}
    again = build_fixtures(tmp_path, forms=["form-04"], levels=("clean", "digital"))
    assert {f.path: f.path.stat().st_mtime_ns for f in again} == stamps  # cached, not re-rendered


def test_mild_is_an_image_only_pdf(tmp_path) -> None:
    (mild,) = build_fixtures(tmp_path, forms=["form-02"], levels=("mild",))
    document = pdfium.PdfDocument(mild.path)
    assert mild.path.suffix == ".pdf" and len(document) >= 1
    assert document[0].get_textpage().get_text_range().strip() == ""


def test_cli_reports_a_bad_form_in_one_line(tmp_path) -> None:
    result = subprocess.run([sys.executable, "-P", "-m", "declscan.devkit.fixtures", str(tmp_path),
                             "--forms", "form-99"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "form-99" in result.stderr and "Traceback" not in result.stderr
