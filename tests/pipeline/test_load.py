"""load_pages on real files of every supported kind, and every way an input is refused."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from declscan.config.options import InputLimits
from declscan.pipeline.errors import InputError
from declscan.pipeline.load import DEFAULT_DPI, load_pages, new_document, sniff_kind

LIMITS = InputLimits(raster_dpi=100)


def _page_image(width: int = 400, height: int = 560) -> Image.Image:
    """A white page with a red box and a black bar, to check channel order."""
    arr = np.full((height, width, 3), 255, np.uint8)
    arr[20:60, 20:120] = (255, 0, 0)  # RGB red
    arr[100:110, 20:300] = 0
    return Image.fromarray(arr)


def _pdf(path: Path, *, pages: int = 1, text: str | None = None, image: bool = True,
         encrypt: str | None = None) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    if text:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    for _ in range(pages):
        if image:
            c.drawImage(ImageReader(_page_image()), 0, 0, width=A4[0], height=A4[1])
        if text:
            c.setFont("STSong-Light", 12)
            c.drawString(72, 700, text)
        c.showPage()
    c.save()
    return path


def test_png_with_dpi_is_bgr(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    _page_image().save(path, dpi=(300, 300))
    loaded = load_pages(path, limits=LIMITS)
    assert loaded.kind == "scan" and loaded.page_count == 1
    assert loaded.dpi == [300.0]
    img = loaded.images[0]
    assert img.dtype == np.uint8 and img.shape == (560, 400, 3)
    assert tuple(img[40, 50]) == (0, 0, 255)  # BGR red


def test_jpeg_without_dpi_defaults(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    _page_image().save(path, quality=90)
    loaded = load_pages(path, limits=LIMITS)
    assert loaded.dpi == [DEFAULT_DPI]
    b, g, r = loaded.images[0][40, 50]
    assert r > 200 and g < 60 and b < 60


def test_jpeg_with_placeholder_72dpi_defaults(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    _page_image().save(path, dpi=(72, 72))
    assert load_pages(path, limits=LIMITS).dpi == [DEFAULT_DPI]


def test_jpeg_exif_orientation_applied(tmp_path: Path) -> None:
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: display rotated 90° clockwise
    _page_image(400, 560).save(path, exif=exif)
    assert load_pages(path, limits=LIMITS).images[0].shape == (400, 560, 3)


def test_multipage_tiff(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    first = _page_image().convert("L")
    first.save(path, save_all=True, append_images=[_page_image().convert("1"), _page_image()], dpi=(150, 150))
    loaded = load_pages(path, limits=LIMITS)
    assert loaded.page_count == 3 and len(loaded.images) == 3
    assert loaded.dpi == [150.0, 150.0, 150.0]
    assert all(img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 for img in loaded.images)


def test_image_only_pdf_is_scan(tmp_path: Path) -> None:
    loaded = load_pages(_pdf(tmp_path / "scan.pdf", pages=2), limits=LIMITS)
    assert loaded.kind == "scan" and loaded.page_count == 2 and loaded.dpi == [100.0, 100.0]
    img = loaded.images[0]
    assert abs(img.shape[0] - 842 * 100 / 72) <= 1 and abs(img.shape[1] - 595 * 100 / 72) <= 1
    # the red box of the page image, near its top-left corner, in BGR order
    b, g, r = img[round(40 * img.shape[0] / 560), round(70 * img.shape[1] / 400)]
    assert r > 200 and g < 60 and b < 60


def test_born_digital_pdf_is_digital(tmp_path: Path) -> None:
    text = "项目支出绩效目标申报表 项目名称 主管部门及代码 实施单位 项目属性"
    loaded = load_pages(_pdf(tmp_path / "digital.pdf", text=text, image=False), limits=LIMITS)
    assert loaded.kind == "digital" and loaded.page_count == 1
    assert loaded.images[0].min() < 128  # the text was rasterized


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "empty"),
        ("notes.pdf", b"just some text, not a pdf\n" * 10, "unsupported file type"),
        ("scan.png", b"GIF89a" + b"\x00" * 64, "unsupported file type"),
        ("broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 50, "corrupt"),
    ],
)
def test_bad_bytes_refused(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_pages(path, limits=LIMITS)
    message = str(info.value)
    assert message.startswith(f"{name}: ") and reason in message and "\n" not in message


def test_truncated_jpeg_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8)).save(buf, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_pages(path, limits=LIMITS)


def test_password_pdf_refused(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "locked.pdf", encrypt="secret")
    with pytest.raises(InputError, match="password-protected"):
        load_pages(path, limits=LIMITS)


def test_500_page_pdf_refused_without_rasterizing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2 as pdfium

    path = _pdf(tmp_path / "huge.pdf", pages=500, image=False)
    monkeypatch.setattr(pdfium.PdfPage, "render", _must_not_run("a page was rasterized"))
    with pytest.raises(InputError, match="500 pages"):
        load_pages(path, limits=LIMITS)


def test_too_many_tiff_pages_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.tif"
    small = Image.new("L", (10, 10), 255)
    small.save(path, save_all=True, append_images=[small] * 4)
    with pytest.raises(InputError, match="5 pages"):
        load_pages(path, limits=InputLimits(max_pages=3))


def _must_not_run(what: str) -> Callable[..., None]:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError(what)

    return refuse


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("side", [8_000, 100_000])  # past the limit; past PIL's own guard (twice it)
def test_decompression_bomb_refused_from_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                side: int) -> None:
    """A huge PNG header on a few bytes: refused before decoding a single row."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1000)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body)
                     + _png_chunk(b"IEND", b""))
    monkeypatch.setattr(Image.Image, "load", _must_not_run("pixels were decoded"))
    with pytest.raises(InputError, match="pixel limit"):
        load_pages(path, limits=LIMITS)


def test_image_just_over_pixel_limit_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.new("L", (1000, 1001), 255).save(path)
    with pytest.raises(InputError, match="1000x1001, over the pixel limit of 1000000"):
        load_pages(path, limits=InputLimits(max_pixels=1_000_000))


def test_file_over_byte_limit_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    _page_image().save(path)
    with pytest.raises(InputError, match="over the limit of 100 bytes"):
        load_pages(path, limits=InputLimits(max_file_bytes=100))


def test_sniff_kind_ignores_extension(tmp_path: Path) -> None:
    png = tmp_path / "really_png.pdf"
    _page_image().save(png, format="PNG")
    tif = tmp_path / "t.bin"
    _page_image().save(tif, format="TIFF")
    txt = tmp_path / "x.png"
    txt.write_text("hello")
    assert sniff_kind(png) == "png"
    assert sniff_kind(tif) == "tiff"
    assert sniff_kind(txt) is None
    assert sniff_kind(tmp_path / "missing.pdf") is None
    assert sniff_kind(_pdf(tmp_path / "a.pdf", image=False)) == "pdf"


def test_new_document(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    _page_image().save(path, dpi=(300, 300))
    loaded = load_pages(path, limits=LIMITS)
    doc = new_document(path, loaded, sha256="ab" * 32, received_at=datetime(2024, 1, 26, 9, 0, tzinfo=UTC))
    assert doc.document_id == "ab" * 32
    assert doc.source.filename == "scan.png" and doc.source.pages == 1
    assert doc.source.received_at == "2024-01-26T09:00:00Z"
    assert doc.kind == "scan"
    assert [(p.number, p.width, p.height, p.dpi) for p in doc.pages] == [(1, 400, 560, 300.0)]
