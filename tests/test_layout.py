"""The card's folders are subpackages of ``declscan``; a bare ``import models`` must never work."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CARD_FOLDERS = ["models", "pipeline", "workers", "config", "review", "cli", "devkit"]


@pytest.mark.parametrize("name", CARD_FOLDERS)
def test_bare_top_level_names_are_not_importable_from_the_repo(name: str) -> None:
    # A fresh interpreter in the repo root, as a user would run one: pytest's own sys.path
    # (tests/ holds folders of the same names) would make the answer meaningless here.
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is not None)"
    result = subprocess.run([sys.executable, "-P", "-c", probe], cwd=ROOT, check=False)
    assert result.returncode == 0, f"'import {name}' resolves to something: use declscan.{name}"


@pytest.mark.parametrize("name", CARD_FOLDERS)
def test_declscan_subpackages_import(name: str) -> None:
    import importlib.util

    assert importlib.util.find_spec(f"declscan.{name}") is not None
