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


def load_ground_truth() -> dict[str, GroundTruth]:
    return {
        path.stem: GroundTruth.model_validate(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(GROUND_TRUTH_DIR.glob("form-*.json"))
    }


@pytest.fixture(scope="session")
def ground_truth() -> dict[str, GroundTruth]:
    truth = load_ground_truth()
    assert truth, f"no dev set under {GROUND_TRUTH_DIR}"
    return truth
