"""preprocess on rendered dev-set pages turned, skewed, stamped and yellowed by hand (known truth)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from declscan.devkit.bench_grid import cell_accuracy, stamp_seals
from declscan.devkit.draw import render_clean_pages
from declscan.devkit.layout import layout_form, layout_to_grid
from declscan.models.document import FormDocument, PageInfo
from declscan.models.record import GroundTruth, Source
from declscan.models.tables import TableGrid
from declscan.pipeline.grid import detect_grid
from declscan.pipeline.preprocess import flatten_background, preprocess, remove_red_seals, upright_page

_CCW = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


@pytest.fixture(scope="module")
def pages(ground_truth: dict[str, GroundTruth]) -> dict[str, tuple[np.ndarray, TableGrid]]:
    """form-03 page 1 (title, header block, indicator block) and form-07 page 2 (a continuation)."""
    out = {}
    for form, number in (("form-03", 1), ("form-07", 2)):
        layout = layout_form(ground_truth[form], seed=0)
        page = render_clean_pages(layout)[number - 1]
        out[f"{form}-p{number}"] = (np.ascontiguousarray(np.asarray(page)[:, :, ::-1]),
                                    layout_to_grid(layout, page=number)[0])
    return out


def scanned(image: np.ndarray, *, skew: float, turn: int) -> np.ndarray:
    """The page skewed ``skew``° and then turned ``turn``° counter-clockwise, as a careless scan."""
    centre = (image.shape[1] / 2, image.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, skew, 1.0)
    out = cv2.warpAffine(image, matrix, image.shape[1::-1], borderValue=(255, 255, 255))
    return cv2.rotate(out, _CCW[turn]) if turn else out


@pytest.mark.parametrize("name", ["form-03-p1", "form-07-p2"])
@pytest.mark.parametrize(("turn", "skew"),
                         [(0, 0.0), (0, -4.0), (90, 2.5), (180, -1.5), (270, 4.5), (180, 0.0)])
def test_upright_and_level(pages: dict, name: str, turn: int, skew: float) -> None:
    image, expected = pages[name]
    out, rotation, found_skew = upright_page(scanned(image, skew=skew, turn=turn))
    assert rotation == turn
    assert found_skew == pytest.approx(skew, abs=0.15)
    assert out.shape == image.shape
    assert cell_accuracy(detect_grid(out, page=1), expected) == 1.0


@pytest.mark.parametrize(("turn", "found"), [(0, 0), (90, 90), (270, 270), (180, 0)])
def test_footer_only_page_turned_by_its_text(ground_truth: dict[str, GroundTruth], turn: int,
                                             found: int) -> None:
    """form-02's page 2 holds only the footer lines: on its side it is turned by them; upside down
    is left to the OCR stage's 180° fallback. It is never deskewed (no table to measure)."""
    page = render_clean_pages(layout_form(ground_truth["form-02"], seed=0))[1]
    image = scanned(np.ascontiguousarray(np.asarray(page)[:, :, ::-1]), skew=0.0, turn=turn)
    _out, rotation, skew = upright_page(image)
    assert (rotation, skew) == (found, 0.0)


def test_blank_page_left_alone() -> None:
    page = np.full((2339, 1654, 3), 255, np.uint8)
    out, rotation, skew = upright_page(page)
    assert (rotation, skew) == (0, 0.0) and out is page


def test_yellowed_unevenly_lit_paper_becomes_white(pages: dict) -> None:
    image, _ = pages["form-03-p1"]
    yy, xx = np.mgrid[0:image.shape[0], 0:image.shape[1]].astype(np.float32)
    light = 1.0 - 0.25 * np.hypot(xx, yy) / np.hypot(*image.shape[:2])  # a darker corner
    paper = np.array([212, 236, 244], np.float32) / 255  # yellowish BGR
    dull = (image.astype(np.float32) * paper * light[..., None]).astype(np.uint8)
    flat = flatten_background(dull)
    paper_px, ink_px = image.min(axis=2) > 250, image.max(axis=2) < 60
    assert np.median(dull[paper_px]) < 215
    assert np.percentile(flat[paper_px], 5) >= 240  # paper is white everywhere, corner included
    assert np.median(flat[ink_px]) < 60  # text keeps its contrast


def test_red_seal_removed_text_under_it_kept(pages: dict) -> None:
    image, _ = pages["form-03-p1"]
    centre = (400, 1000)
    stamped = stamp_seals(image, [centre], radius=150)
    cleaned = remove_red_seals(stamped)
    under_seal = np.zeros(image.shape[:2], bool)
    cv2.circle(under_seal.view(np.uint8), centre, 150, 1, -1)
    seal_only = under_seal & (image.min(axis=2) > 250) & (stamped[..., 1] < 200)
    text_under = under_seal & (image.max(axis=2) < 60)
    assert seal_only.sum() > 1000 and text_under.sum() > 200
    assert (cleaned[seal_only] >= 250).all()
    assert np.median(cleaned[text_under]) < 60


def _doc(kind: str, images: list[np.ndarray]) -> FormDocument:
    source = Source(filename="x.png", sha256="0" * 64, pages=len(images), received_at="2024-01-26T09:00:00Z")
    infos = tuple(PageInfo(number=i, width=im.shape[1], height=im.shape[0], dpi=200)
                  for i, im in enumerate(images, start=1))
    return FormDocument(document_id="0" * 64, source=source, kind=kind, pages=infos)


def test_preprocess_records_rotation_skew_and_size(pages: dict) -> None:
    image, _ = pages["form-03-p1"]
    turned = scanned(image, skew=-2.0, turn=90)
    doc, out = preprocess(_doc("scan", [turned, image]), [turned, image])
    assert [(p.rotation, round(p.skew)) for p in doc.pages] == [(90, -2), (0, 0)]
    assert (doc.pages[0].width, doc.pages[0].height) == (image.shape[1], image.shape[0])
    assert all(im.dtype == np.uint8 and im.ndim == 3 for im in out)


def test_born_digital_pages_untouched(pages: dict) -> None:
    image, _ = pages["form-07-p2"]
    doc = _doc("digital", [image])
    out_doc, out = preprocess(doc, [image])
    assert out_doc == doc and out[0] is image
