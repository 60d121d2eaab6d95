"""OCR and text-layer benchmark: PaddleOCR per dense page, the OCR stage's overhead, camelot per page.

Pages are the dev-set forms as the devkit renders them (clean, page 1: the densest). Printed per
form: seconds of one plain ``predict()`` (best of ``--repeat``), the OCR stage (``run_ocr``) over
the same page as a ratio of it, and accuracy against the printed lines (share of lines read exactly
and character recall, after NFKC and white-space squash). Then model load seconds, the peak RSS
after loading and reading one page, and seconds per page of the born-digital path.

    python -m declscan.devkit.bench_ocr [--forms form-01 form-04] [--dpi 200] [--side 960]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from declscan.config.options import InputLimits, OcrOptions
from declscan.devkit.digital_pdf import RENDER_DPI, render_pdf
from declscan.devkit.draw import render_clean_pages
from declscan.devkit.fixtures import load_ground_truth
from declscan.devkit.layout import FormLayout, layout_form, layout_to_grid
from declscan.models.document import FormDocument, PageInfo
from declscan.models.record import Source
from declscan.pipeline.digital import read_text_layer
from declscan.pipeline.load import load_pages, new_document
from declscan.pipeline.normalize import squash
from declscan.pipeline.ocr import parse_paddle_result, run_ocr
from declscan.pipeline.paddle_engine import PaddleOcrEngine, get_engine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", nargs="+", default=["form-02", "form-04"])
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--side", type=int, help="OcrOptions.det_limit_side_len")
    parser.add_argument("--limit-type", choices=["max", "min"], help="OcrOptions.det_limit_type")
    parser.add_argument("--batch", type=int, help="OcrOptions.rec_batch_size")
    parser.add_argument("--no-digital", action="store_true", help="skip the born-digital timing")
    return parser.parse_args()


def ocr_options(args: argparse.Namespace) -> OcrOptions:
    overrides = {"det_limit_side_len": args.side, "det_limit_type": args.limit_type,
                 "rec_batch_size": args.batch}
    return OcrOptions(**{key: value for key, value in overrides.items() if value is not None})


def page_image(layout: FormLayout, dpi: int) -> np.ndarray:
    rgb = np.asarray(render_clean_pages(layout, dpi=dpi)[0].convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def one_page_document(image: np.ndarray, dpi: int) -> FormDocument:
    source = Source(filename="bench.png", sha256="0" * 64, pages=1, received_at="2024-01-26T09:00:00Z")
    page = PageInfo(number=1, width=image.shape[1], height=image.shape[0], dpi=dpi)
    return FormDocument(document_id="0" * 64, source=source, pages=(page,))


def accuracy(read: list[str], printed: list[str]) -> tuple[float, float]:
    """(share of printed lines read exactly, character recall), order-free."""
    read_lines = Counter(squash(text) for text in read)
    exact = sum(min(n, read_lines[line]) for line, n in Counter(squash(t) for t in printed).items())
    want, got = Counter("".join(squash(t) for t in printed)), Counter("".join(squash(t) for t in read))
    return exact / max(len(printed), 1), sum((want & got).values()) / max(sum(want.values()), 1)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Wall seconds of the fastest of ``repeat`` runs (the machine is shared: the best is the cost)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def cpu_seconds(run: Callable[[], object]) -> float:
    """CPU seconds of all the process's threads over one run: steadier than wall time under load."""
    start = time.process_time()
    run()
    return time.process_time() - start


def bench_ocr(engine: PaddleOcrEngine, layouts: dict[str, FormLayout], args: argparse.Namespace) -> None:
    engine.recognize(page_image(next(iter(layouts.values())), args.dpi)[:400])  # warm-up (oneDNN)
    rss_after_one_page = None
    for form, layout in layouts.items():
        image = page_image(layout, args.dpi)
        plain = best_of(args.repeat, lambda image=image: engine.recognize(image))
        cpu = cpu_seconds(lambda image=image: engine.recognize(image))
        rss_after_one_page = rss_after_one_page or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        doc = one_page_document(image, args.dpi)
        stage = best_of(args.repeat, lambda image=image, doc=doc: run_ocr(doc, [image.copy()], engine=engine))
        lines = parse_paddle_result(engine.recognize(image), page=1)
        _, printed = layout_to_grid(layout, page=1, width=image.shape[1], dpi=args.dpi)
        exact, recall = accuracy([line.text for line in lines], [line.text for line in printed])
        median = statistics.median(line.confidence for line in lines)
        print(f"{form} {image.shape[1]}x{image.shape[0]}: predict {plain:.2f} s ({cpu:.1f} CPU s), "
              f"run_ocr {stage:.2f} s ({stage / plain:.2f}x), {len(lines)} lines (printed {len(printed)}), "
              f"exact lines {exact:.1%}, char recall {recall:.2%}, median confidence {median:.3f}")
    print(f"model load {engine.load_seconds:.1f} s; peak RSS after loading and one page "
          f"{(rss_after_one_page or 0) / 1024:.0f} MB")


def bench_digital(layouts: dict[str, FormLayout]) -> None:
    per_page = []
    with tempfile.TemporaryDirectory() as tmp:
        for form, layout in layouts.items():
            path = Path(tmp) / f"{form}.pdf"
            path.write_bytes(render_pdf(layout))
            doc = new_document(path, load_pages(path, limits=InputLimits(raster_dpi=RENDER_DPI)),
                               sha256="0" * 64, received_at="2024-01-26T09:00:00Z")
            read_text_layer(doc, path)  # warm-up: imports camelot
            seconds = best_of(3, lambda doc=doc, path=path: read_text_layer(doc, path))
            per_page.append(seconds / len(doc.pages))
    print(f"born-digital read_text_layer: median {statistics.median(per_page):.3f} s/page, "
          f"max {max(per_page):.3f} s/page over {len(per_page)} forms")


def main() -> int:
    args = parse_args()
    truth = load_ground_truth()
    layouts = {form: layout_form(truth[form], seed=0) for form in args.forms}
    engine = get_engine(ocr_options(args))
    bench_ocr(engine, layouts, args)
    if not args.no_digital:
        bench_digital({form: layout_form(t, seed=0) for form, t in truth.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
