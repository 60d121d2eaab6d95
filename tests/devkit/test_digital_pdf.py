"""The born-digital PDF: a real text layer and a vector grid that camelot's lattice mode reads."""

from __future__ import annotations

import pypdfium2 as pdfium

from declscan.devkit.digital_pdf import render_pdf
from declscan.devkit.draw import paginate
from declscan.devkit.layout import layout_form
from declscan.models.record import GroundTruth
from declscan.pipeline.normalize import squash


def page_texts(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def test_pdf_has_the_text_layer_of_every_page(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-04"]
    layout = layout_form(truth, seed=0)
    data = render_pdf(layout)
    texts = page_texts(data)
    assert len(texts) == len(paginate(layout))
    everything = squash("".join(texts))
    assert squash(truth.project.name or "") in squash(texts[0])
    assert squash(truth.project.department or "") in everything
    for indicator in truth.indicators:
        assert squash(indicator.level3) in everything
    assert squash(truth.signoff.filed_date_raw or "") in everything
    assert data == render_pdf(layout)  # reproducible bytes


def test_camelot_lattice_reads_the_vector_grid(ground_truth: dict[str, GroundTruth], tmp_path) -> None:
    import camelot

    truth = ground_truth["form-02"]
    path = tmp_path / "form.pdf"
    path.write_bytes(render_pdf(layout_form(truth, seed=0)))
    tables = camelot.read_pdf(str(path), flavor="lattice", pages="1")
    assert tables.n >= 1
    frame = tables[0].df
    assert frame.iloc[0, 0] == "项目名称"
    assert squash(frame.iloc[0, 1]) == squash(truth.project.name or "")
    cells = {squash(value) for value in frame.to_numpy().ravel()}
    assert "15000万元" in cells
