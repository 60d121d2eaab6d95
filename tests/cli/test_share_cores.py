"""How ``declscan worker`` divides the cores among its pool processes."""

from __future__ import annotations

import os

import pytest

from declscan.cli.service import share_cores
from declscan.config.settings import get_settings

ENV = "DECLSCAN_OCR__CPU_THREADS"


@pytest.fixture(autouse=True)
def four_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv(ENV, "")  # recorded, so what share_cores sets is undone after the test
    monkeypatch.delenv(ENV)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(("processes", "threads"), [(1, 4), (2, 2), (4, 1), (8, 1)])
def test_each_process_gets_its_share_of_the_cores(processes: int, threads: int) -> None:
    share_cores(get_settings(), processes)
    assert os.environ[ENV] == str(threads)
    assert get_settings().ocr.cpu_threads == threads


def test_a_thread_count_the_operator_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "3")
    get_settings.cache_clear()
    share_cores(get_settings(), 4)
    assert os.environ[ENV] == "3"
    assert get_settings().ocr.cpu_threads == 3
