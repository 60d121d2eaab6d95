"""``make bench-accuracy``: the pipeline over the rendered dev set, scored per degradation level.

Prints, per level: field accuracy, indicator-row F1, share of wrong fields that were flagged,
silent error rate (wrong and not flagged / all fields) and review load (flagged / all fields).
Targets (issue #2): accuracy ≥ 98% mild, ≥ 95% harsh, 100% born-digital; silent ≤ 0.5%;
review load ≤ 15%. Per-field errors go to ``<fixtures>/accuracy-report.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from declscan.config.settings import get_settings
from declscan.devkit.fixtures import build_fixtures
from declscan.devkit.score import Score, score_record
from declscan.pipeline.paddle_engine import get_engine
from declscan.pipeline.run import process_file

LEVELS = ("clean", "mild", "harsh", "digital")
TARGETS = {"mild": 0.98, "harsh": 0.95, "digital": 1.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path(".fixtures"))
    parser.add_argument("--levels", nargs="+", default=list(LEVELS), choices=LEVELS)
    parser.add_argument("--forms", nargs="*", default=None, help="e.g. form-01 form-05 (default: all)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    settings = get_settings()
    options = settings.pipeline_options()
    fixtures = [f for f in build_fixtures(args.fixtures, forms=args.forms) if f.level in args.levels]
    scores: dict[str, Score] = defaultdict(Score)
    seconds: dict[str, list[float]] = defaultdict(list)
    errors = []
    for fixture in fixtures:
        start = time.perf_counter()
        processed = process_file(fixture.path, engine=lambda: get_engine(settings.ocr), options=options)
        elapsed = time.perf_counter() - start
        doc = processed.document
        seconds[fixture.level].append(elapsed / max(len(doc.pages), 1))
        score = score_record(fixture.truth, doc.declaration, doc.flagged)
        scores[fixture.level].add(score)
        errors += [{"file": fixture.path.name, "pointer": f.pointer, "flagged": f.flagged,
                    "truth": f.truth, "got": f.got} for f in score.fields if not f.correct]
        print(f"{fixture.path.name:32s} accuracy {score.accuracy:6.1%}  silent {score.silent_errors:5.1%}  "
              f"load {score.review_load:5.1%}  {elapsed:5.1f}s", flush=True)
    print_table(scores, seconds)
    report = args.fixtures / "accuracy-report.json"
    report.write_text(json.dumps(errors, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"per-field errors: {report}")


def print_table(scores: dict[str, Score], seconds: dict[str, list[float]]) -> None:
    header = (f"{'level':8s} {'fields':>6s} {'accuracy':>9s} {'target':>7s} {'row F1':>7s} "
              f"{'wrong flagged':>13s} {'silent':>7s} {'review load':>11s} {'s/page':>7s}")
    print("\n" + header + "\n" + "-" * len(header))
    total = Score()
    for level in LEVELS:
        if level not in scores:
            continue
        s = scores[level]
        total.add(s)
        target = f"{TARGETS[level]:.0%}" if level in TARGETS else "-"
        per_page = sum(seconds[level]) / len(seconds[level])
        print(f"{level:8s} {len(s.fields):6d} {s.accuracy:9.2%} {target:>7s} {s.row_f1:7.3f} "
              f"{s.wrong_flagged:13.1%} {s.silent_errors:7.2%} {s.review_load:11.1%} {per_page:7.2f}")
    print(f"{'all':8s} {len(total.fields):6d} {total.accuracy:9.2%} {'':>7s} {total.row_f1:7.3f} "
          f"{total.wrong_flagged:13.1%} {total.silent_errors:7.2%} {total.review_load:11.1%}")


if __name__ == "__main__":
    main()
