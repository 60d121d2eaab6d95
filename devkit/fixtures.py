"""Rendered test documents of the dev set (and variants): scans at each level and born-digital PDFs.

For every form and level one input document is written, as the service would receive it:

* ``<form>-clean.png`` (lossless; a multi-page form becomes a multi-page ``.tiff``),
* ``<form>-mild.pdf`` (an image-only PDF, pages JPEG-encoded),
* ``<form>-harsh.jpg`` (JPEG q≈60 at 150 DPI; a multi-page form becomes a JPEG-compressed ``.tiff``),
* ``<form>-digital.pdf`` (born-digital: text layer, vector grid),

plus ``<form>.truth.json``. Output is cached: a document is re-rendered only when it is missing or
its inputs (truth, level, container, seed, renderer source) changed, recorded in
``.fixtures-manifest.json``. CLI: ``python -P -m declscan.devkit.fixtures OUT_DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from declscan.devkit.degrade import degrade, quarter_turn
from declscan.devkit.digital_pdf import render_pdf
from declscan.devkit.draw import PageLayout, paginate, render_page
from declscan.devkit.layout import FormLayout, layout_form
from declscan.devkit.variants import make_variant
from declscan.models.record import GroundTruth

log = logging.getLogger(__name__)

FixtureLevel = Literal["clean", "mild", "harsh", "digital"]
Container = Literal["png", "jpeg", "tiff", "pdf"]
LEVELS: tuple[FixtureLevel, ...] = ("clean", "mild", "harsh", "digital")
FORMATS: Mapping[str, Container] = {"clean": "png", "mild": "pdf", "harsh": "jpeg"}
JPEG_QUALITY = {"clean": 95, "mild": 80, "harsh": 60}
MANIFEST = ".fixtures-manifest.json"
REPO = Path(__file__).resolve().parent.parent
RENDERER_SOURCES = ("layout.py", "draw.py", "degrade.py", "digital_pdf.py", "fixtures.py")
# 2024-01-26T09:00Z as the PDF dates, so identical inputs give identical bytes
FIXED_DATE = time.gmtime(1706259600)


@dataclass(frozen=True)
class Fixture:
    """One rendered input document. ``rotation`` is the quarter turn applied to each page (degrees
    counter-clockwise, 0 for none), which the pipeline's orientation step must undo."""

    path: Path
    form: str
    level: FixtureLevel
    truth: GroundTruth
    rotation: tuple[int, ...]


def shared_dir() -> Path:
    """The shared material: ``$DECLSCAN_SHARED`` or ``<repo>/../shared``."""
    return Path(os.environ.get("DECLSCAN_SHARED", REPO.parent / "shared"))


def load_ground_truth(directory: Path | None = None) -> dict[str, GroundTruth]:
    """The dev set, ``{"form-01": GroundTruth, …}``, from ``<shared>/dev/ground-truth``."""
    directory = directory or shared_dir() / "dev" / "ground-truth"
    truths = {path.stem: GroundTruth.model_validate_json(path.read_text(encoding="utf-8"))
              for path in sorted(directory.glob("form-*.json"))}
    if not truths:
        raise FileNotFoundError(f"{directory}: no form-*.json ground truth found")
    return truths


def build_fixtures(out_dir: Path, *, forms: Sequence[str] | None = None,
                   levels: Iterable[FixtureLevel] = LEVELS, formats: Mapping[str, Container] = FORMATS,
                   seed: int = 0, variants: int = 0) -> list[Fixture]:
    """Renders (or reuses) the fixtures of ``forms`` (default: all of the dev set) at ``levels``.

    ``formats`` picks the container per scan level; ``variants`` adds that many
    ``make_variant`` forms per seed form (``form-01-v1`` …).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    truths = load_ground_truth()
    names = list(forms) if forms else list(truths)
    unknown = [name for name in names if name not in truths]
    if unknown:
        raise ValueError(f"unknown forms {unknown}; the dev set has {sorted(truths)}")
    cases = {name: truths[name] for name in names}
    for name in names:
        for n in range(1, variants + 1):
            cases[f"{name}-v{n}"] = make_variant(truths[name], seed=n)
    manifest_path = out_dir / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    fixtures = []
    for form, truth in cases.items():
        _write_if_changed(out_dir / f"{form}.truth.json", truth.model_dump_json(indent=1).encode())
        layout_seed = zlib.crc32(f"{form}:{seed}".encode())
        layout = layout_form(truth, seed=layout_seed)
        for level in levels:
            fixtures.append(_fixture(out_dir, form, level, truth, layout, layout_seed, formats, manifest))
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return fixtures


def _fixture(out_dir: Path, form: str, level: FixtureLevel, truth: GroundTruth, layout: FormLayout,
             layout_seed: int, formats: Mapping[str, Container], manifest: dict[str, str]) -> Fixture:
    container: Container = "pdf" if level == "digital" else formats[level]
    key = _input_hash(truth, level, container, layout_seed)
    pages = paginate(layout)
    seeds = [_page_seed(form, level, layout_seed, page.page) for page in pages]
    path = out_dir / f"{form}-{level}.{_extension(container, len(pages))}"
    if not (path.exists() and manifest.get(path.name) == key):
        log.info("rendering %s", path.name)
        data = render_pdf(layout) if level == "digital" else _scan(pages, level, seeds, container)
        path.write_bytes(data)
        manifest[path.name] = key
    rotation = tuple(0 if level == "digital" else quarter_turn(level, s) for s in seeds)
    return Fixture(path=path, form=form, level=level, truth=truth, rotation=rotation)


def _extension(container: Container, n_pages: int) -> str:
    if container in ("png", "jpeg") and n_pages > 1:
        return "tiff"  # PNG and JPEG hold one page
    return {"png": "png", "jpeg": "jpg", "tiff": "tiff", "pdf": "pdf"}[container]


def _page_seed(form: str, level: str, layout_seed: int, page: int) -> int:
    return zlib.crc32(f"{form}:{level}:{layout_seed}:{page}".encode())


def _scan(pages: list[PageLayout], level: FixtureLevel, seeds: list[int], container: Container) -> bytes:
    images = []
    for page, seed in zip(pages, seeds, strict=True):
        values = [cell.bbox for cell in page.cells if cell.cell.pointer and cell.lines]
        anchor = next((t.bbox for t in page.free_text if t.text.startswith("负责人")), None)
        images.append(degrade(render_page(page), level=level, seed=seed, value_boxes=values,
                              signature_anchor=anchor))
    dpi = images[0].info.get("dpi", (200, 200))
    return _encode(images, container, dpi, JPEG_QUALITY[level])


def _encode(images: list[Image.Image], container: Container, dpi: tuple[float, float],
            quality: int) -> bytes:
    buffer = io.BytesIO()
    first, rest = images[0], images[1:]
    if container == "pdf":
        first.save(buffer, "PDF", save_all=True, append_images=rest, resolution=float(dpi[0]),
                   quality=quality, creationDate=FIXED_DATE, modDate=FIXED_DATE)
    elif rest or container == "tiff":
        lossy = {"compression": "jpeg", "quality": quality} if container == "jpeg" else {}
        first.save(buffer, "TIFF", save_all=True, append_images=rest, dpi=dpi,
                   **(lossy or {"compression": "tiff_lzw"}))
    elif container == "png":
        first.save(buffer, "PNG", dpi=dpi)
    else:
        first.save(buffer, "JPEG", dpi=dpi, quality=quality)
    return buffer.getvalue()


def _input_hash(truth: GroundTruth, level: str, container: str, layout_seed: int) -> str:
    digest = hashlib.sha256(truth.model_dump_json().encode())
    digest.update(f"{level}:{container}:{layout_seed}".encode())
    for name in RENDERER_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the dev-set fixtures (cached).")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--forms", nargs="*", default=None, help="e.g. form-01 form-05 (default: all)")
    parser.add_argument("--levels", nargs="+", default=list(LEVELS), choices=LEVELS)
    parser.add_argument("--variants", type=int, default=0, help="variants per form (default 0)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        fixtures = build_fixtures(args.out_dir, forms=args.forms, levels=args.levels, variants=args.variants)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    for fixture in fixtures:
        print(f"{fixture.path}  rotation={list(fixture.rotation)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
