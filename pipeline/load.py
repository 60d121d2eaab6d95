"""Input loading: one file (PDF, PNG, JPEG, TIFF) → page images (BGR uint8) with their DPI.

Every check that can refuse a file runs before any pixel is decoded: the type is sniffed from the
magic bytes, the byte size, page count and pixel count are read from headers, so a 500-page PDF or a
decompression bomb is refused in milliseconds. Anything refused raises :class:`InputError`.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageOps, ImageSequence

from declscan.config.options import InputLimits
from declscan.models.document import DocumentKind, FormDocument, PageInfo
from declscan.models.record import Source
from declscan.pipeline.errors import InputError

log = logging.getLogger(__name__)

FileType = Literal["pdf", "png", "jpeg", "tiff"]

DEFAULT_DPI = 200.0
# Scanner software writes 72 or 96 when it does not know the resolution; a real form scan under
# 100 DPI is unreadable anyway, so such values are treated as absent.
MIN_PLAUSIBLE_DPI = 100.0
MAX_PLAUSIBLE_DPI = 1200.0
# A born-digital form has hundreds of CJK characters; a few stray ones (a scanner's stamp) do not count.
MIN_CJK_CHARS = 20
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_MAGIC: tuple[tuple[bytes, FileType], ...] = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


@dataclass(frozen=True)
class LoadedInput:
    """The pages of one input file, upright as stored (orientation is fixed by preprocessing)."""

    images: list[np.ndarray]
    dpi: list[float]
    kind: DocumentKind
    page_count: int


def sniff_kind(path: Path) -> FileType | None:
    """The file's type from its first bytes, or None when it is not a supported type (or unreadable).

    Cheap enough for a directory watcher: reads 8 bytes. A PDF may have junk before ``%PDF-``
    (the spec allows up to 1024 bytes), so the PDF marker is looked for in the first KiB.
    """
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError:
        return None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return "pdf" if b"%PDF-" in head else None


def load_pages(path: Path, *, limits: InputLimits) -> LoadedInput:
    """Read every page of ``path`` as a BGR uint8 image, refusing bad input with :class:`InputError`.

    PDFs are rasterized in-process at ``limits.raster_dpi``; a PDF whose text layer holds CJK text
    is ``kind="digital"`` (its pages are still rasterized, for the review UI). Images keep their
    own resolution; their DPI comes from the metadata, or :data:`DEFAULT_DPI` when absent.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    if size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    if size > limits.max_file_bytes:
        raise InputError(path, f"file is {size} bytes, over the limit of {limits.max_file_bytes} bytes")
    file_type = sniff_kind(path)
    if file_type is None:
        raise InputError(path, "unsupported file type (expected PDF, PNG, JPEG or TIFF)")
    if file_type == "pdf":
        return _load_pdf(path, limits)
    return _load_image(path, file_type, limits)


def _load_pdf(path: Path, limits: InputLimits) -> LoadedInput:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise InputError(path, "PDF is password-protected") from None
        raise InputError(path, f"corrupt or truncated PDF ({exc})") from None
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise InputError(path, "PDF has no pages")
        if n_pages > limits.max_pages:
            raise InputError(path, f"{n_pages} pages, over the limit of {limits.max_pages}")
        scale = limits.raster_dpi / 72.0
        images, cjk = [], 0
        for index in range(n_pages):
            page = pdf[index]
            width, height = page.get_size()
            _check_pixels(path, (round(width * scale), round(height * scale)), limits)
            cjk += count_cjk(page.get_textpage().get_text_bounded())
            bitmap = page.render(scale=scale, force_bitmap_format=pdfium_c.FPDFBitmap_BGR)
            images.append(np.array(bitmap.to_numpy(), dtype=np.uint8, copy=True))
    except pdfium.PdfiumError as exc:
        raise InputError(path, f"corrupt PDF ({exc})") from None
    finally:
        pdf.close()
    kind: DocumentKind = "digital" if cjk >= MIN_CJK_CHARS else "scan"
    log.debug("%s: %d PDF page(s), %d CJK chars in text layer → %s", path.name, n_pages, cjk, kind)
    return LoadedInput(images=images, dpi=[float(limits.raster_dpi)] * n_pages, kind=kind, page_count=n_pages)


def _load_image(path: Path, file_type: FileType, limits: InputLimits) -> LoadedInput:
    # PIL's own guard (an error past twice the limit, at open) is a backstop; its warning is
    # silenced because the explicit header check below refuses, with a clearer message, before decoding.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    bomb = f"image over the pixel limit of {limits.max_pixels} (decompression bomb?)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                n_frames = getattr(im, "n_frames", 1)
                if n_frames > limits.max_pages:
                    raise InputError(path, f"{n_frames} pages, over the limit of {limits.max_pages}")
                images, dpis = [], []
                for frame in ImageSequence.Iterator(im):
                    _check_pixels(path, frame.size, limits)
                    dpis.append(image_dpi(frame.info))
                    # a phone or camera capture says in EXIF how it was held
                    images.append(to_bgr(ImageOps.exif_transpose(frame)))
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise InputError(path, bomb) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(path, f"corrupt or truncated {file_type.upper()} ({exc})") from None
    log.debug("%s: %d %s page(s), dpi %s", path.name, len(images), file_type, dpis)
    return LoadedInput(images=images, dpi=dpis, kind="scan", page_count=len(images))


def _check_pixels(path: Path, size: tuple[int, int], limits: InputLimits) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise InputError(path, f"image has no pixels ({width}x{height})")
    if width * height > limits.max_pixels:
        limit = limits.max_pixels
        raise InputError(path, f"image is {width}x{height}, over the pixel limit of {limit}")


def image_dpi(info: dict[str, object]) -> float:
    """Horizontal DPI from PIL's image info, or :data:`DEFAULT_DPI` when absent or implausible."""
    dpi = info.get("dpi")
    if isinstance(dpi, tuple) and dpi:
        try:
            value = float(dpi[0])
        except (TypeError, ValueError):
            return DEFAULT_DPI
        if MIN_PLAUSIBLE_DPI <= value <= MAX_PLAUSIBLE_DPI:
            return round(value, 1)
    return DEFAULT_DPI


def to_bgr(frame: Image.Image) -> np.ndarray:
    """Any PIL mode (1, L, P, RGBA, CMYK, I;16 …) → contiguous BGR uint8; transparency becomes white."""
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    elif frame.mode.startswith("I;16") or frame.mode == "I":
        wide = np.asarray(frame, dtype=np.float64)
        top = wide.max() or 1.0
        grey = (wide * (255.0 / top)).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    else:
        rgb = frame.convert("RGB")
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)  # a quarter of numpy's reversed copy's time


def new_document(
    path: Path, loaded: LoadedInput, *, sha256: str, received_at: datetime | str
) -> FormDocument:
    """The initial FormDocument of a loaded file: its Source, one PageInfo per page, id = sha256."""
    if isinstance(received_at, datetime):
        stamp = received_at.astimezone(UTC).replace(microsecond=0)
        received_at = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = tuple(
        PageInfo(number=i, width=int(img.shape[1]), height=int(img.shape[0]), dpi=dpi)
        for i, (img, dpi) in enumerate(zip(loaded.images, loaded.dpi, strict=True), start=1)
    )
    source = Source(filename=Path(path).name, sha256=sha256, pages=loaded.page_count, received_at=received_at)
    return FormDocument(document_id=sha256, source=source, kind=loaded.kind, pages=pages)


def count_cjk(text: str) -> int:
    return len(_CJK.findall(text))
