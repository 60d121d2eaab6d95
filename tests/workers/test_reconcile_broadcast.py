"""The reconciler's broadcast to live workers, against a real Redis, and the pool it precedes."""

from __future__ import annotations

import os
import subprocess
import sys

# `declscan worker` reconciles, so broadcasts to live workers, before it forks its pool. The
# parent here does the same, then forks two processes as Celery's prefork pool does (billiard)
# and reports how they ended. A reply consumer's pending BRPOP left on a pooled connection is
# inherited by each: the first reads the reply in its after-fork cleanup, the second waits for it
# for ever (celery/kombu#1785). The worker ran with a pool process that never took work, and it
# outlived the worker.
PARENT = """
import billiard
from declscan.config.settings import get_settings
from declscan.workers.celery_app import configure
from declscan.workers.reconcile import held_document_ids
configure(get_settings())
print("held", sorted(held_document_ids(timeout=0.3)), flush=True)
for _ in range(2):
    child = billiard.get_context("fork").Process(target=int)
    child.start()
    child.join(10)
    print("child", "hung" if child.is_alive() else f"exit {child.exitcode}", flush=True)
    if child.is_alive():
        child.terminate()
"""


def test_a_process_forked_after_the_broadcast_starts(redis_url: str, redis_client: object) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    result = subprocess.run([sys.executable, "-P", "-c", PARENT], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert "held []" in result.stdout, result.stderr  # no worker answers here
    assert result.stdout.count("child exit 0") == 2, result.stdout + result.stderr
