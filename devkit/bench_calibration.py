"""``make bench-calibration``: review load and silent errors at each flag threshold, on forms held out.

``PipelineOptions.flag_threshold`` trades review load against silent errors: a field whose
confidence is below it is flagged. This benchmark renders ``--variants`` new forms per dev-set form
(``declscan.devkit.variants``: other amounts, values, dates, names and layouts; not the forms
``bench-accuracy`` reports on) at each scan level, runs each through the pipeline once, and scores
it at every threshold of ``--thresholds`` (the rule flags raised by validation stay as they are).
The silent errors at the configured threshold are listed at the end.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from declscan.config.settings import get_settings
from declscan.devkit.fixtures import build_fixtures
from declscan.devkit.score import Score, score_record
from declscan.models.document import FormDocument
from declscan.pipeline.confidence import LOW_CONFIDENCE
from declscan.pipeline.paddle_engine import get_engine
from declscan.pipeline.run import process_file

SCAN_LEVELS = ("clean", "mild", "harsh")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path(".fixtures"))  # beside bench-accuracy's
    parser.add_argument("--variants", type=int, default=2, help="held-out forms per dev-set form")
    parser.add_argument("--levels", nargs="+", default=list(SCAN_LEVELS), choices=SCAN_LEVELS)
    parser.add_argument("--thresholds", nargs="+", type=float,
                        default=[0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
    return parser.parse_args()


def flagged_at(doc: FormDocument, threshold: float) -> list[str]:
    """The pointers ``doc`` would flag with ``flag_threshold`` at ``threshold``."""
    rules = [issue.pointer for issue in doc.issues if issue.code != LOW_CONFIDENCE]
    return rules + [pointer for pointer, p in doc.provenance.items() if p.confidence < threshold]


def main() -> None:
    args = parse_args()
    settings = get_settings()
    options = settings.pipeline_options()
    fixtures = [f for f in build_fixtures(args.fixtures, levels=args.levels, variants=args.variants)
                if "-v" in f.form]
    thresholds = sorted({*args.thresholds, options.flag_threshold})
    scores: dict[tuple[str, float], Score] = defaultdict(Score)
    silent = []
    for fixture in fixtures:
        doc = process_file(fixture.path, engine=lambda: get_engine(settings.ocr), options=options).document
        by_threshold = {threshold: score_record(fixture.truth, doc.declaration, flagged_at(doc, threshold))
                        for threshold in thresholds}
        for threshold, score in by_threshold.items():
            scores[fixture.level, threshold].add(score)
        at_setting = by_threshold[options.flag_threshold]
        silent += [(fixture.path.name, f) for f in at_setting.fields if not f.correct and not f.flagged]
        print(f"{fixture.path.name:32s} accuracy {at_setting.accuracy:6.1%}  "
              f"silent {at_setting.silent_errors:5.1%}  load {at_setting.review_load:5.1%}", flush=True)
    header = (f"{'level':8s} {'threshold':>9s} {'fields':>6s} {'accuracy':>9s} {'silent':>7s} "
              f"{'review load':>11s} {'wrong flagged':>13s}")
    print("\n" + header + "\n" + "-" * len(header))
    for level in args.levels:
        for threshold in thresholds:
            s = scores[level, threshold]
            mark = "  <- setting" if threshold == options.flag_threshold else ""
            print(f"{level:8s} {threshold:9.2f} {len(s.fields):6d} {s.accuracy:9.2%} {s.silent_errors:7.2%} "
                  f"{s.review_load:11.1%} {s.wrong_flagged:13.1%}{mark}")
    print(f"\nsilent errors at the setting ({options.flag_threshold:.2f}):")
    for name, field in silent:
        print(f"  {name} {field.pointer}: {field.truth!r} read as {field.got!r}")


if __name__ == "__main__":
    main()
