"""``declscan serve | worker | watch | web | status | reprocess``: running and operating the service."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from declscan.config.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from declscan.workers.celery_app import Runtime
    from declscan.workers.db import DocumentRow

# The service modules (Celery, SQLAlchemy, Redis) are imported inside the commands, so that
# `declscan process` and `--help` do not pay for them.

log = logging.getLogger(__name__)

DEMO_DATA_DIR = Path("var")


def default_concurrency() -> int:
    # One OCR process per core, each on one thread (share_cores): on 2 cores, two one-thread
    # processes finished 23% more pages per minute than one two-thread process.
    return os.cpu_count() or 1


def threads_per_process(concurrency: int) -> int:
    """Each of ``concurrency`` pool processes' share of this machine's cores, at least one."""
    return max(1, (os.cpu_count() or 1) // max(concurrency, 1))


def share_cores(settings: Settings, concurrency: int) -> None:
    """Give each of ``concurrency`` pool processes its share of the cores for OCR, unless
    ``DECLSCAN_OCR__CPU_THREADS`` (or the settings) chose a thread count. Through the environment,
    because the pool processes read their settings from it."""
    if "cpu_threads" in settings.ocr.model_fields_set:
        return
    os.environ["DECLSCAN_OCR__CPU_THREADS"] = str(threads_per_process(concurrency))
    get_settings.cache_clear()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this group's subcommands."""
    serve = subparsers.add_parser("serve", help="run the whole service on this machine")
    serve.add_argument("--demo", action="store_true",
                       help="embedded defaults: SQLite and every folder under ./var (inbox: var/inbox)")
    serve.add_argument("--concurrency", type=int, default=default_concurrency(),
                       help="worker processes (default: one per core)")
    serve.add_argument("--no-web", action="store_true", help="do not run the review web app")
    serve.add_argument("--reconcile-interval", type=float, default=30.0, metavar="SECONDS")
    serve.set_defaults(func=cmd_serve)

    worker = subparsers.add_parser("worker", help="run a Celery worker (after the OCR self-check)")
    worker.add_argument("--concurrency", type=int, default=default_concurrency(),
                        help="pool processes (default: one per core); each runs OCR on its share of "
                        "the cores unless DECLSCAN_OCR__CPU_THREADS says otherwise")
    worker.add_argument("--skip-self-check", action="store_true",
                        help="take work without the OCR self-check (born-digital-only test setups)")
    worker.set_defaults(func=cmd_worker)

    watch = subparsers.add_parser("watch", help="watch the inbox, enqueue new documents, reconcile")
    watch.add_argument("--reconcile-interval", type=float, default=30.0, metavar="SECONDS")
    watch.set_defaults(func=cmd_watch)

    web = subparsers.add_parser("web", help="run the review web app")
    web.set_defaults(func=cmd_web)

    status = subparsers.add_parser("status", help="documents per state, queue depth, live workers")
    status.set_defaults(func=cmd_status)

    reprocess = subparsers.add_parser("reprocess", help="run documents through the pipeline again")
    target = reprocess.add_mutually_exclusive_group(required=True)
    target.add_argument("document_id", nargs="?", help="a document id (or a unique prefix of 8+ characters)")
    target.add_argument("--failed", action="store_true", help="every failed document")
    reprocess.set_defaults(func=cmd_reprocess)


def _log_level(args: argparse.Namespace) -> int:
    return logging.DEBUG if getattr(args, "verbose", False) else logging.INFO


def _fail(message: str, code: int) -> int:
    print(f"declscan: {message}", file=sys.stderr)
    return code


def _start(args: argparse.Namespace, *, need_redis: bool = True) -> tuple[Settings, Runtime]:
    """Logging, folders, Redis check, database: what every long-running command needs first."""
    from declscan.workers.logs import configure_logging
    from declscan.workers.serve import EXIT_UNAVAILABLE, ensure_dirs, prepare_database, redis_problem

    configure_logging(_log_level(args))
    settings = get_settings()
    ensure_dirs(settings)
    problem = redis_problem(settings.redis_url)
    if problem and need_redis:
        raise SystemExit(_fail(problem, EXIT_UNAVAILABLE))
    if problem:
        log.warning("%s Files are still taken in; they are queued once Redis is back.", problem)
    try:
        rt = prepare_database(settings)
    except Exception as exc:
        problem = f"database {settings.db_url} is not usable: {' '.join(str(exc).split())}"
        raise SystemExit(_fail(problem, EXIT_UNAVAILABLE)) from None
    return settings, rt


def cmd_serve(args: argparse.Namespace) -> int:
    from declscan.workers.serve import Child, Supervisor, stop_on_signals, watch_inbox

    if args.demo:
        # Children read the same environment, so they see the same folders and database.
        os.environ["DECLSCAN_DATA_DIR"] = str(DEMO_DATA_DIR)
        os.environ["DATABASE_URL"] = ""
        get_settings.cache_clear()
    settings, rt = _start(args)
    children = [Child("worker", ["worker", "--concurrency", str(args.concurrency)])]
    if not args.no_web:
        children.append(Child("web", ["web"]))
        log.info("review app on http://%s:%d/", settings.web_host, settings.web_port)
    print(f"declscan: drop declarations (PDF, PNG, JPEG, TIFF) into {settings.inbox.resolve()}; "
          f"published JSON appears in {settings.outbox.resolve()}", file=sys.stderr)
    stop = threading.Event()
    stop_on_signals(stop)
    supervisor = Supervisor(children, stop)
    watcher = threading.Thread(target=watch_inbox, args=(rt, stop),
                               kwargs={"reconcile_interval": args.reconcile_interval}, name="watcher")
    watcher.start()
    try:
        return supervisor.run()
    finally:
        stop.set()
        watcher.join(timeout=30)


def cmd_worker(args: argparse.Namespace) -> int:
    from declscan.workers.celery_app import QUEUE, configure
    from declscan.workers.reconcile import reconcile_once
    from declscan.workers.serve import EXIT_SELF_CHECK, self_check_problem

    share_cores(get_settings(), args.concurrency)
    settings, rt = _start(args)
    if args.skip_self_check:
        log.warning("OCR self-check skipped (--skip-self-check)")
    elif problem := self_check_problem(settings.ocr):
        return _fail(f"worker refuses to take work: {problem}", EXIT_SELF_CHECK)
    app = configure(settings)
    try:
        reconcile_once(rt)  # whatever a Redis loss or a dead worker dropped resumes now
    except Exception as exc:
        log.warning("start-up reconcile skipped: %s", exc)
    rt.engine.dispose()  # the pool processes open their own connections
    argv = ["worker", "--pool", "prefork", "--concurrency", str(args.concurrency), "--queues", QUEUE,
            "--hostname", f"declscan.{os.getpid()}@%h", "--loglevel", "DEBUG" if args.verbose else "INFO",
            "--without-gossip", "--without-mingle"]
    return int(app.worker_main(argv) or 0)


def cmd_watch(args: argparse.Namespace) -> int:
    from declscan.workers.serve import stop_on_signals, watch_inbox

    _, rt = _start(args, need_redis=False)
    stop = threading.Event()
    stop_on_signals(stop)
    watch_inbox(rt, stop, reconcile_interval=args.reconcile_interval)
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import datetime as dt

    import uvicorn

    from declscan.review.app import create_app
    from declscan.workers.metrics import metrics_app

    settings, rt = _start(args, need_redis=False)
    app = create_app(settings, sessions=rt.sessions, redis_client=rt.redis,
                     metrics_app=metrics_app(rt.sessions, rt.redis),
                     claim_ttl=dt.timedelta(minutes=settings.review_claim_minutes))
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_config=None)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from declscan.workers.celery_app import QUEUE, configure
    from declscan.workers.db import DocumentRow
    from declscan.workers.logs import configure_logging
    from declscan.workers.serve import EXIT_UNAVAILABLE, prepare_database, redis_problem

    configure_logging(logging.WARNING)
    settings = get_settings()
    rt = prepare_database(settings)
    with rt.sessions() as session:
        per_state = select(DocumentRow.state, func.count()).group_by(DocumentRow.state)
        counts: dict[str, int] = dict(session.execute(per_state).all())
    print(f"documents: {sum(counts.values())}")
    for state, count in sorted(counts.items()):
        print(f"  {state:<16}{count}")
    if problem := redis_problem(settings.redis_url):
        print(f"queue: unknown ({problem})")
        return EXIT_UNAVAILABLE
    print(f"queue depth: {rt.redis.llen(QUEUE)}")
    replies = configure(settings).control.inspect(timeout=1.0).ping() or {}
    print(f"workers alive: {len(replies)}" + "".join(f"\n  {name}" for name in sorted(replies)))
    return 0


def cmd_reprocess(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from declscan.workers.celery_app import configure, enqueue
    from declscan.workers.db import DocumentRow
    from declscan.workers.serve import prepare_database
    from declscan.workers.tasks import reset_document

    settings = get_settings()
    rt = prepare_database(settings)
    configure(settings)
    with rt.sessions.begin() as session:
        if args.failed:
            rows = list(session.scalars(select(DocumentRow).where(DocumentRow.state == "failed")))
        else:
            rows = _find(session, args.document_id, settings)
            if isinstance(rows, str):
                return _fail(rows, 1)
        for row in rows:
            reset_document(session, row)
        ids = [row.id for row in rows]
    queued = 0
    for document_id in ids:
        try:
            enqueue(rt.sessions, document_id, "preprocess")
            queued += 1
        except Exception as exc:
            log.warning("%s: not queued now (%s); the reconciler will queue it", document_id, exc)
    print(f"reprocessing {len(ids)} document(s) ({queued} queued now)")
    return 0


def _find(session: Session, prefix: str, settings: Settings) -> list[DocumentRow] | str:
    """The one document whose id starts with ``prefix``, or a one-line reason there is none."""
    from sqlalchemy import select

    from declscan.workers.db import DocumentRow

    if len(prefix) < 8:
        return f"{prefix}: give at least 8 characters of the document id"
    query = select(DocumentRow).where(DocumentRow.id.startswith(prefix.lower(), autoescape=True)).limit(2)
    rows = list(session.scalars(query))
    if not rows:
        return f"{prefix}: no such document in {settings.db_url}"
    if len(rows) > 1:
        return f"{prefix}: more than one document starts so; give more characters"
    return rows
