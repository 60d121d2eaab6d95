"""Page images and field crops, read only from the document's own stored pages (``page_path``)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image

from declscan.models.record import Provenance
from declscan.workers.store import DocumentStore, InvalidKey

# Room around a field's box so the operator sees the printed label and cell borders too.
CROP_PAD_PX = 12
CROP_PAD_FRACTION = 0.25
CROP_MAX_WIDTH = 900
_CACHE_SIZE = 4


class PageMissing(LookupError):
    """The document has no stored image for that page."""


class PageCache:
    """The last few decoded pages: crops of one document's flags all cut the same page."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._images: OrderedDict[tuple[Path, float], Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, document_id: str, page: int) -> Path:
        """The stored PNG of that page; PageMissing when the id, the number or the file is bad."""
        try:
            path = self.store.page_path(document_id, page)
        except InvalidKey as exc:
            raise PageMissing(str(exc)) from None
        if not path.is_file():
            raise PageMissing(f"page {page} of {document_id} is not stored")
        return path

    def image(self, document_id: str, page: int) -> Image.Image:
        path = self.path(document_id, page)
        key = (path, path.stat().st_mtime)
        with self._lock:
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
        with Image.open(path) as opened:
            image = opened.convert("RGB") if opened.mode not in ("RGB", "L") else opened.copy()
        with self._lock:
            self._images[key] = image
            while len(self._images) > _CACHE_SIZE:
                self._images.popitem(last=False)
        return image

    def crop_png(self, document_id: str, evidence: Provenance) -> bytes:
        """The field's region of its page, padded, as PNG bytes (at most CROP_MAX_WIDTH wide)."""
        image = self.image(document_id, evidence.page)
        x0, y0, x1, y1 = evidence.bbox
        pad = CROP_PAD_PX + CROP_PAD_FRACTION * max(y1 - y0, 0)
        box = (
            max(int(x0 - pad), 0), max(int(y0 - pad), 0),
            min(int(x1 + pad), image.width), min(int(y1 + pad), image.height),
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            raise PageMissing("the field's region lies outside its page")
        crop = image.crop(box)
        if crop.width > CROP_MAX_WIDTH:
            crop = crop.resize((CROP_MAX_WIDTH, max(1, crop.height * CROP_MAX_WIDTH // crop.width)))
        out = io.BytesIO()
        crop.save(out, format="PNG", optimize=False)
        return out.getvalue()
