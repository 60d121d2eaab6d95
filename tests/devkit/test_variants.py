"""Variants of the seed forms still satisfy the contract's rules, checked by the reference parsers."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from declscan.devkit.fixtures import shared_dir
from declscan.devkit.variants import make_variant
from declscan.models.record import GroundTruth

CHECK_PY = shared_dir() / "dev" / "ground-truth" / "check.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    """The dev set's reference checker (rules 2-6), loaded from the shared folder."""
    spec = importlib.util.spec_from_file_location("reference_check", CHECK_PY)
    assert spec and spec.loader, f"no reference checker at {CHECK_PY}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variants_pass_the_reference_checker(ground_truth: dict[str, GroundTruth], check: ModuleType) -> None:
    for form, truth in ground_truth.items():
        for seed in range(25):
            variant = make_variant(truth, seed=seed)
            name = variant.document_id.removeprefix("seed-") + ".json"
            checker = check.Checker(name, variant.model_dump(mode="json"), None)
            checker.run()
            assert checker.errors == [], (form, seed)


def test_variants_change_values_but_keep_the_structure(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-02"]
    variant = make_variant(truth, seed=3)
    assert variant == make_variant(truth, seed=3)
    assert variant != make_variant(truth, seed=4)
    assert variant.document_id == "seed-form-02-v3"
    assert [(i.period, i.level1, i.level2, i.level3) for i in variant.indicators] == \
        [(i.period, i.level1, i.level2, i.level3) for i in truth.indicators]
    for period in ("implementation_period", "annual"):
        for key, amount in getattr(truth.funding, period):
            assert (amount is None) == (getattr(getattr(variant.funding, period), key) is None)


def test_variants_cover_the_rule_formats(ground_truth: dict[str, GroundTruth]) -> None:
    variants = [make_variant(truth, seed=seed) for truth in ground_truth.values() for seed in range(25)]
    dates = {v.signoff.filed_date_raw for v in variants if v.signoff.filed_date_raw}
    assert any(d.isdigit() and len(d) == 14 for d in dates) and any("年" in d for d in dates)
    assert any(". " in d for d in dates) and any("-" in d for d in dates)
    values = {i.value.raw for v in variants for i in v.indicators if i.value}
    operators = {i.value.operator for v in variants for i in v.indicators if i.value}
    assert operators >= {">=", "<=", ">", "<", "=", None}
    assert any(raw.endswith("百分比") for raw in values) and any("以上" in raw for raw in values)
    raws = [a.raw for v in variants for p in ("implementation_period", "annual")
            for _, a in getattr(v.funding, p) if a is not None]
    assert any(r.endswith("万元") for r in raws) and any(r.isdigit() and r != "0" for r in raws)
    assert {v.funding.unit for v in variants} == {"元", "万元"}
