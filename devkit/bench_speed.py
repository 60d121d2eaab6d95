"""``make bench-speed``: seconds per page by stage and peak RSS, against plain ``PaddleOCR.predict()``.

In the same process, on the same pages and with the same engine (so the same models and thread
count), each scan goes ``--repeats`` times through the whole pipeline and, interleaved with those
runs, each of its pages as many times through a plain ``predict()`` (PaddleOCR's own decoder, no
glyph boxes: ``PaddleOcrEngine.plain_predict``); the ratio of the fastest of each is what the
target (≤ 1.15×) is about, and it does not depend on how fast the machine is. This machine's speed
drifts by a quarter over minutes, so each pipeline run is also paired with the ``predict()`` run
right after it, and the median of those paired ratios printed beside it. The engine's own
page call (``recognize``: glyph boxes, folded decoding) is timed too, so the ratio to it shows what
the stages around OCR cost. Born-digital PDFs are timed through the whole pipeline too (target
≤ 0.3 s per page). Targets: issue #2.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from declscan.config.options import PipelineOptions
from declscan.config.settings import get_settings
from declscan.devkit.fixtures import build_fixtures
from declscan.pipeline.load import load_pages
from declscan.pipeline.paddle_engine import PaddleOcrEngine, get_engine
from declscan.pipeline.run import Timings, process_file

STAGES = ("load", "preprocess", "ocr", "structure", "text_layer", "map_validate")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path(".fixtures"))
    parser.add_argument("--forms", nargs="*", default=["form-02", "form-04", "form-06"])
    parser.add_argument("--level", default="clean", choices=("clean", "mild", "harsh"))
    parser.add_argument("--repeats", type=_positive, default=3,
                        help="timings per file, interleaved with predict()")
    return parser.parse_args()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number of repeats")
    return value


def main() -> None:
    args = parse_args()
    settings = get_settings()
    options = settings.pipeline_options()
    fixtures = build_fixtures(args.fixtures, forms=args.forms, levels=(args.level, "digital"))
    start = time.perf_counter()
    engine = get_engine(settings.ocr)
    load_seconds = time.perf_counter() - start
    per_stage: dict[str, dict[str, list[float]]] = {"scan": defaultdict(list), "digital": defaultdict(list)}
    plain, ratios, paired, own_ratios = [], [], [], []
    for fixture in fixtures:
        kind = "digital" if fixture.level == "digital" else "scan"
        images = load_pages(fixture.path, limits=options.limits).images if kind == "scan" else []
        runs, plain_runs, own_runs = [], [], []
        for _ in range(args.repeats):  # interleaved, so a machine slowing down mid-run hits all three
            runs.append(_timed_pipeline(fixture.path, engine, options))
            if images:
                plain_runs.append(_timed_pages(images, engine.plain_predict))
                own_runs.append(_timed_pages(images, engine.recognize))
        total, timings, pages = min(runs, key=lambda run: run[0])  # the fastest run's
        for stage, seconds in timings.items():
            per_stage[kind][stage].append(seconds / pages)
        per_stage[kind]["total"].append(total / pages)
        if images:
            plain_page, own_page = min(plain_runs), min(own_runs)
            plain.append(plain_page)
            ratios.append(total / pages / plain_page)
            paired.append(statistics.median(run / pages / base for (run, _, _), base in zip(runs, plain_runs,
                                                                                             strict=True)))
            own_ratios.append(total / pages / own_page)
            print(f"{fixture.path.name:28s} pipeline {total / pages:6.2f} s/page   plain predict() "
                  f"{plain_page:6.2f} s/page   ratio {ratios[-1]:5.2f}× (paired {paired[-1]:5.2f}×)   "
                  f"engine.recognize() {own_page:6.2f} s/page   ratio {own_ratios[-1]:5.2f}×", flush=True)
    print_summary(per_stage, plain, ratios, paired, load_seconds, engine.versions())
    print(f"pipeline / engine.recognize(): median {statistics.median(own_ratios):.2f}×")


def _timed_pipeline(path: Path, engine: PaddleOcrEngine,
                    options: PipelineOptions) -> tuple[float, Timings, int]:
    """Seconds, stage timings and pages of one run; its pages are let go, so that repeats do not
    add to the peak RSS printed."""
    start = time.perf_counter()
    processed = process_file(path, engine=lambda: engine, options=options)
    return time.perf_counter() - start, processed.timings, len(processed.document.pages)


def _timed_pages(images: list[np.ndarray], predict: Callable[[np.ndarray], object]) -> float:
    """Seconds per page of ``predict`` over ``images``."""
    start = time.perf_counter()
    for image in images:
        predict(image)
    return (time.perf_counter() - start) / len(images)


def print_summary(per_stage: dict[str, dict[str, list[float]]], plain: list[float], ratios: list[float],
                  paired: list[float], load_seconds: float, versions: dict[str, str]) -> None:
    print("\nmedian seconds per page by stage")
    for kind, stages in per_stage.items():
        cells = [f"{stage} {statistics.median(stages[stage]):.3f}" for stage in (*STAGES, "total")
                 if stages.get(stage)]
        print(f"  {kind:8s} " + "  ".join(cells))
    print(f"plain PaddleOCR.predict(): median {statistics.median(plain):.2f} s/page")
    print(f"pipeline / plain predict(): median {statistics.median(ratios):.2f}×, max {max(ratios):.2f}× "
          "(target ≤ 1.15×)")
    print(f"  paired (each run against the predict() run right after it, median over the repeats): "
          f"median {statistics.median(paired):.2f}×, max {max(paired):.2f}×")
    digital = statistics.median(per_stage["digital"]["total"])
    print(f"born-digital: median {digital:.3f} s/page (target ≤ 0.3 s)")
    print(f"model load: {load_seconds:.1f} s, once per process")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB (target ≤ 1536 MiB)")
    print("engine: " + ", ".join(f"{key}={value}" for key, value in versions.items() if "sha" not in key))


if __name__ == "__main__":
    main()
