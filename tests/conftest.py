"""Shared fixtures: where the dev set lives, and the ground truth loaded as typed records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from declscan.models.record import GroundTruth

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DECLSCAN_SHARED", ROOT.parent / "shared"))
GROUND_TRUTH_DIR = SHARED / "dev" / "ground-truth"


@pytest.fixture(scope="session")
def ground_truth_dir() -> Path:
    """The shared dev set: contract-shaped truth of the seed forms and its checker."""
    return GROUND_TRUTH_DIR


@pytest.fixture(scope="session")
def ground_truth_json() -> dict[str, dict]:
    """The dev-set files as parsed JSON, by form name (form-01 …)."""
    files = sorted(GROUND_TRUTH_DIR.glob("form-*.json"))
    assert files, f"no dev set under {GROUND_TRUTH_DIR}"
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in files}


@pytest.fixture(scope="session")
def ground_truth(ground_truth_json: dict[str, dict]) -> dict[str, GroundTruth]:
    """The dev set as typed records, by form name."""
    return {name: GroundTruth.model_validate(data) for name, data in ground_truth_json.items()}
