"""The accuracy scoring the benchmarks print: a perfect record scores 1, every error is counted."""

from __future__ import annotations

from declscan.devkit.score import score_record
from declscan.models.record import Amount, GroundTruth


def test_perfect_record_scores_full_marks(ground_truth: dict[str, GroundTruth]) -> None:
    for truth in ground_truth.values():
        score = score_record(truth, truth, [])
        assert score.accuracy == 1.0
        assert score.row_f1 == 1.0
        assert score.silent_errors == 0.0
        assert score.review_load == 0.0


def test_white_space_and_width_do_not_count(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-02"]
    pred = truth.model_copy(deep=True)
    pred.project.name = " 产业扶持 资金 "
    pred.project.basis = pred.project.basis.replace(";", "；")
    assert score_record(truth, pred, []).accuracy == 1.0


def test_wrong_fields_are_silent_unless_flagged(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-04"]
    pred = truth.model_copy(deep=True)
    pred.project.name = "产业扶持资金"
    pred.funding.annual.total = Amount(raw="9000000", yuan=9000000)
    pred.indicators[0].value.raw = "6户"
    silent = score_record(truth, pred, [])
    assert [f.pointer for f in silent.fields if not f.correct] == [
        "/project/name", "/funding/annual/total", "/indicators/0"]
    assert silent.silent_errors == 3 / len(silent.fields)
    assert silent.row_f1 < 1.0
    flagged = score_record(truth, pred, ["/project/name", "/funding/annual/total", "/indicators/0/value"])
    assert flagged.silent_errors == 0.0
    assert flagged.wrong_flagged == 1.0
    assert flagged.review_load == 3 / len(flagged.fields)


def test_missing_indicator_row_is_an_error(ground_truth: dict[str, GroundTruth]) -> None:
    truth = ground_truth["form-01"]
    pred = truth.model_copy(deep=True)
    del pred.indicators[3]
    score = score_record(truth, pred, [])
    assert sum(not f.correct for f in score.fields) == 1
    assert score.rows_matched == len(truth.indicators) - 1
