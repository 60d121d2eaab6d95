"""The card's folders are subpackages of ``declscan``; a bare ``import models`` must never work."""

import importlib.util

import pytest


@pytest.mark.parametrize("name", ["models", "pipeline", "workers", "config", "review", "cli", "devkit"])
def test_bare_top_level_names_are_not_importable(name: str) -> None:
    assert importlib.util.find_spec(name) is None


@pytest.mark.parametrize("name", ["models", "pipeline", "workers", "config", "review", "cli", "devkit"])
def test_declscan_subpackages_import(name: str) -> None:
    assert importlib.util.find_spec(f"declscan.{name}") is not None
