"""Settings reach the stages: what the environment sets is what the pipeline runs with."""

from __future__ import annotations

import pytest

from declscan.config.settings import Settings


def test_the_line_checks_are_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECLSCAN_LINE_CHECK__ENABLED", "false")
    monkeypatch.setenv("DECLSCAN_LINE_CHECK__MIN_UNREAD_INK", "0.05")
    check = Settings().pipeline_options().line_check
    assert (check.enabled, check.min_unread_ink) == (False, 0.05)


def test_the_flag_threshold_is_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DECLSCAN_FLAG_THRESHOLD", "0.8")
    assert Settings().pipeline_options().flag_threshold == 0.8
