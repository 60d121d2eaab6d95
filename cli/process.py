"""``declscan process FILE...`` and ``declscan schema``: the pipeline with no broker and no database."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from declscan.config.settings import get_settings
from declscan.models.record import record_json_schema
from declscan.pipeline.errors import InputError
from declscan.pipeline.paddle_engine import get_engine
from declscan.pipeline.publish import build_record
from declscan.pipeline.run import process_file

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    process = subparsers.add_parser("process", help="digitize declaration scans into contract JSON")
    process.add_argument("files", nargs="+", type=Path, metavar="FILE")
    process.add_argument("-o", "--output", type=Path, metavar="DIR",
                         help="write DIR/<file stem>.json (default: JSON Lines on stdout)")
    process.set_defaults(func=run_process)
    schema = subparsers.add_parser("schema", help="print the JSON Schema of the published record")
    schema.set_defaults(func=run_schema)


def run_schema(args: argparse.Namespace) -> int:
    json.dump(record_json_schema(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def run_process(args: argparse.Namespace) -> int:
    settings = get_settings()
    options = settings.pipeline_options()
    failures = 0
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
    files = tqdm(args.files, unit="file", disable=len(args.files) < 2 or not sys.stderr.isatty())
    for path in files:
        try:
            processed = process_file(path, engine=lambda: get_engine(settings.ocr), options=options)
        except InputError as error:
            failures += 1
            print(f"declscan: {error}", file=sys.stderr)
            continue
        except Exception as error:  # one bad file must not stop the batch
            failures += 1
            log.debug("processing %s failed", path, exc_info=True)
            print(f"declscan: {path.name}: internal error: {type(error).__name__}: {error}", file=sys.stderr)
            continue
        emit(build_record(processed.document).to_json_dict(), path, args.output)
    return 1 if failures else 0


def emit(record: dict, path: Path, output: Path | None) -> None:
    """Write ``output/<stem>.json`` atomically, or one JSON line on stdout."""
    if output is None:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    target = output / f"{path.stem}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(target)
