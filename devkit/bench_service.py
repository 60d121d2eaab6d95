"""Service benchmark: throughput with 1 and 2 worker processes, drop-to-finish latency, service overhead.

Runs the real service (``declscan watch`` + ``declscan worker`` subprocesses, Redis db 6, SQLite in a
temporary data dir) on rendered scans of the dev set (clean level, unique bytes per drop):

* pages per minute: a batch dropped at once, first drop to last document finished, with one worker
  process using every core for OCR (the default), then with 1 and 2 processes at the same OCR
  threads per process (the 2-process default's share), so that process scaling is measured apart
  from thread scaling;
* latency: one scan at a time on an idle service, drop to finished (published or awaiting review),
  p50/p95, and the service's own overhead: latency minus the time spent inside the stages;
* one-shot: ``declscan process`` on the same kind of file, for comparison (when that command exists).

``make bench-service`` (BENCH_ARGS="--batch 4 --latency-runs 5"). Prints the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from declscan.cli.service import threads_per_process
from declscan.devkit.fixtures import build_fixtures
from declscan.workers.db import DocumentRow, StageResultRow, as_utc

REDIS_URL = "redis://127.0.0.1:6379/6"
FINISHED = ("published", "awaiting_review", "failed")


def render_scans(count: int, out_dir: Path, *, seed: int) -> list[tuple[Path, int]]:
    """``count`` clean scans of dev-set forms (and variants), unique bytes per ``seed``; with page counts."""
    variants = max(0, -(-count // 7) - 1)  # the dev set has 7 forms; variants make up the rest
    fixtures = build_fixtures(out_dir / f"seed-{seed}", levels=["clean"], seed=seed, variants=variants)
    return [(fixture.path, len(fixture.rotation)) for fixture in fixtures[:count]]


class Service:
    """A watcher and one worker (``concurrency`` processes, ``threads`` OCR threads each) on a fresh
    data dir."""

    def __init__(self, data_dir: Path, concurrency: int, threads: int) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "DECLSCAN_DATA_DIR": str(data_dir), "REDIS_URL": REDIS_URL,
                    "DATABASE_URL": f"sqlite:///{data_dir / 'declscan.db'}",
                    "DECLSCAN_OCR__CPU_THREADS": str(threads),
                    "PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK": "True"}
        redis.Redis.from_url(REDIS_URL).flushdb()
        data_dir.mkdir(parents=True)
        log = (data_dir / "service.log").open("wb")
        command = [sys.executable, "-P", "-m", "declscan.cli.main"]
        self.processes = [
            subprocess.Popen([*command, "worker", "--concurrency", str(concurrency)], env=self.env,
                             stdout=log, stderr=subprocess.STDOUT),
            subprocess.Popen([*command, "watch", "--reconcile-interval", "5"], env=self.env,
                             stdout=log, stderr=subprocess.STDOUT),
        ]
        self.engine: Engine = create_engine(self.env["DATABASE_URL"])
        self._wait_ready()

    def _wait_ready(self) -> None:
        app_ping = [sys.executable, "-P", "-m", "declscan.cli.main", "status"]
        for _ in range(600):
            status = subprocess.run(app_ping, env=self.env, capture_output=True, text=True, check=False)
            if "workers alive: 1" in status.stdout:
                return
            if any(p.poll() is not None for p in self.processes):
                raise SystemExit(f"the service exited; see {self.data_dir / 'service.log'}")
            time.sleep(1)
        raise SystemExit("the worker did not come up in 10 minutes")

    def drop(self, source: Path) -> float:
        inbox = self.data_dir / "inbox"
        part = inbox / f"{source.name}.part"
        part.write_bytes(source.read_bytes())
        part.rename(inbox / source.name)
        return time.time()

    def wait_finished(self, count: int, timeout: float = 3600) -> list[DocumentRow]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with Session(self.engine) as session:
                rows = list(session.scalars(select(DocumentRow)))
            if len(rows) == count and all(r.state in FINISHED for r in rows):
                return rows
            time.sleep(0.2)
        raise SystemExit(f"timed out waiting for {count} documents")

    def stage_seconds(self, document_id: str) -> float:
        with Session(self.engine) as session:
            total = session.scalar(select(func.sum(StageResultRow.duration_ms))
                                   .where(StageResultRow.document_id == document_id))
        return (total or 0) / 1000

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.engine.dispose()


def throughput(scans: list[tuple[Path, int]], concurrency: int, threads: int, work: Path) -> float:
    service = Service(work / f"throughput-{concurrency}x{threads}", concurrency, threads)
    try:
        started = min(service.drop(path) for path, _ in scans)
        rows = service.wait_finished(len(scans))
        ended = max(as_utc(row.updated_at).timestamp() for row in rows)
    finally:
        service.stop()
    pages = sum(n for _, n in scans)
    return pages / ((ended - started) / 60)


def latency(scans: list[tuple[Path, int]], work: Path) -> tuple[list[float], list[float], list[str]]:
    service = Service(work / "latency", 1, threads_per_process(1))
    latencies, overheads, states = [], [], []
    try:
        for n, (path, _) in enumerate(scans, start=1):
            dropped = service.drop(path)
            rows = service.wait_finished(n)
            finished = time.time()
            row = max(rows, key=lambda r: r.received_at)
            latencies.append(finished - dropped)
            overheads.append(finished - dropped - service.stage_seconds(row.id))
            states.append(row.state)
    finally:
        service.stop()
    return latencies, overheads, states


def one_shot(path: Path) -> float:
    """Seconds of ``declscan process`` on ``path``: the baseline the service's overhead is measured on."""
    command = [sys.executable, "-P", "-m", "declscan.cli.main", "process", str(path)]
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4, help="scans per throughput run (default 4)")
    parser.add_argument("--latency-runs", type=int, default=5, help="sequential scans for latency")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        batch = render_scans(args.batch, work / "in", seed=1)
        share = threads_per_process(2)
        rates = {}
        for concurrency, threads in dict.fromkeys([(1, threads_per_process(1)), (1, share), (2, share)]):
            rates[concurrency, threads] = rate = throughput(batch, concurrency, threads, work)
            print(f"throughput, {concurrency} worker process(es) x {threads} OCR thread(s): "
                  f"{rate:.1f} pages/min ({sum(n for _, n in batch)} pages in {len(batch)} scans)")
        two = rates[2, share]
        print(f"2 processes against 1: {two / rates[1, share]:.2f}x at {share} OCR thread(s) per process, "
              f"{two / rates[1, threads_per_process(1)]:.2f}x against 1 process using all "
              f"{os.cpu_count()} cores")
        singles = render_scans(args.latency_runs, work / "in", seed=2)
        latencies, overheads, states = latency(singles, work)
        print(f"drop-to-finished latency, idle service, {singles[0][1]}-page scan: "
              f"p50 {percentile(latencies, 0.5):.1f} s, p95 {percentile(latencies, 0.95):.1f} s "
              f"(states: {', '.join(sorted(set(states)))})")
        print(f"service overhead (latency minus time inside stages): p50 {percentile(overheads, 0.5):.1f} s, "
              f"p95 {percentile(overheads, 0.95):.1f} s")
        one = one_shot(singles[0][0])
        print(f"one-shot `declscan process` of the same scan: {one:.1f} s wall (includes model load); "
              f"service p50 is {statistics.median(latencies) - one:+.1f} s against it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
