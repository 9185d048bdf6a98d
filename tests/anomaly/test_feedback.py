"""Feedback rounds: the silencing level, the review of a detector, saved rounds and history."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from anomaly import PCADetector, load
from anomaly.decisions import DEFAULT_RULES, model_rules, rules_at
from anomaly.errors import DataError
from anomaly.feedback import (
    alarms,
    alarms_within,
    keeping_level,
    large_raise_note,
    new_round,
    on_delay,
    review,
    rounds,
    save_round,
    silencing_level,
)
from pipelines.stream.scorer import StreamScorer


def test_the_silencing_level_is_the_lowest_that_leaves_no_alarm_on_the_reviewed_rows():
    scores = np.zeros(2000)
    scores[100:160] = 2.0               # a false alarm
    scores[130] = 5.0                   # with one spike: alone it is no alarm (shorter than 25 rows)
    scores[1000:1100] = 3.0             # a fault, not reviewed
    reviewed = np.zeros(2000, bool)
    reviewed[90:170] = True
    level = silencing_level(scores, reviewed)
    assert level == 2.5                 # above it the run no longer holds (2.0 <= 0.8 x level): the spike alone is 1 row
    assert not any(reviewed[a:b + 1].any() for a, b in alarms(scores, level))
    assert any(a <= 1000 <= b for a, b in alarms(scores, level))   # the fault still alarms
    assert silencing_level(scores, np.zeros(2000, bool)) == 0.0


def test_flagged_runs_merged_across_the_gap_are_silenced_together():
    scores = np.zeros(3000)
    for start in range(200, 600, 40):   # ten 10-row bursts 30 rows apart: one merged alarm
        scores[start:start + 10] = 1.0 + start / 1000
    reviewed = scores > 0
    level = silencing_level(scores, reviewed)
    assert not alarms(scores, level) and alarms(scores, np.nextafter(level, 0))


def _frame(seed: int, burst=False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((3000, 4))
    if burst:
        values[1000:1200] *= 1.8
    return pd.DataFrame(values, columns=list("abcd"), index=pd.date_range("2026-02-01", periods=3000, freq="10ms"))


def test_review_silences_the_false_alarms_and_saves_a_round(tmp_path):
    det = PCADetector().fit(_frame(0))
    det.save(tmp_path / "m")
    model = load(tmp_path / "m")
    busy = _frame(1, burst=True)
    scores = model.evaluate_frame(busy)[1].to_numpy()
    raised = alarms(scores, model.threshold_)
    labels = np.full(len(busy), None, dtype=object)
    for a, b in raised:
        labels[a:b + 1] = "normal"
    before = model.threshold_
    model, counts = review(model, [busy], [labels])
    assert counts["threshold_before"] == before and counts["min_duration_before"] == 25
    assert (counts["threshold_after"], counts["min_duration_after"]) != (before, 25)  # the on-delay, the threshold or both
    after = alarms(model.evaluate_frame(busy)[1].to_numpy(), model.threshold_, model_rules(model))
    assert not any((labels[a:b + 1] == "normal").any() for a, b in after)  # (an alarm its cooldown hid may now show)
    record = new_round(tmp_path / "m", by="ana", events_file="r.csv", logs=["busy"], false_alarms=len(raised), faults={}, counts=counts)
    save_round(tmp_path / "m", model, record)
    saved = load(tmp_path / "m")
    assert saved.threshold_ == counts["threshold_after"] and model_rules(saved).min_duration == counts["min_duration_after"]
    assert load(tmp_path / "m" / "history" / "round-1").threshold_ == before
    assert model_rules(load(tmp_path / "m" / "history" / "round-1")).min_duration == 25
    assert StreamScorer(saved).logic.min_duration == counts["min_duration_after"]  # the stream alerts with it
    assert [r["round"] for r in rounds(tmp_path / "m")] == [1]
    second = new_round(tmp_path / "m", by=None, events_file="r.csv", logs=["busy"], false_alarms=0, faults={}, counts=counts)
    save_round(tmp_path / "m", model, second)
    assert sorted(p.name for p in (tmp_path / "m" / "history").iterdir()) == ["round-1", "round-2"]
    assert not (tmp_path / "m" / "history" / "round-2" / "history").exists()
    assert json.loads((tmp_path / "m" / "feedback.json").read_text())[1]["round"] == 2


def _brief_false_alarms(fault_rows: int):
    """Scores (n,) at 100 Hz: two brief false alarms (40 and 60 held rows at 2 x a threshold of 1)
    and a fault of ``fault_rows`` rows at 3 x; reviewed labels (n,) of all three."""
    scores = np.full(6000, 0.5)
    scores[1000:1040] = 2.0
    scores[2000:2060] = 2.0
    scores[4000:4000 + fault_rows] = 3.0
    labels = np.full(len(scores), None, dtype=object)
    labels[990:1050] = labels[1990:2070] = "normal"
    labels[3990:4010 + fault_rows] = "bearing"
    return scores, labels


def test_brief_false_alarms_lengthen_the_on_delay_not_the_threshold():
    scores, labels = _brief_false_alarms(300)
    faults = [(scores, labels == "bearing")]
    delay = on_delay([scores], [labels == "normal"], faults, 1.0, DEFAULT_RULES, 100)
    assert delay == 61  # the shortest that silences both (60 held rows): a longer one would only add delay
    longer = replace(DEFAULT_RULES, min_duration=delay)
    assert not alarms_within(scores, 1.0, labels == "normal", longer) and alarms_within(scores, 1.0, labels == "bearing", longer)
    assert on_delay([scores], [labels == "normal"], faults, 1.0, DEFAULT_RULES, 50) == 41  # the cap: one of the two silenced
    assert on_delay([scores], [labels == "normal"], faults, 1.0, DEFAULT_RULES, 40) == 25  # none silenced: unchanged


def test_a_brief_reviewed_fault_caps_the_on_delay():
    scores, labels = _brief_false_alarms(50)  # the fault holds 50 rows: an on-delay over 50 would silence it
    delay = on_delay([scores], [labels == "normal"], [(scores, labels == "bearing")], 1.0, DEFAULT_RULES, 100)
    assert delay == 41


def test_a_long_false_alarm_raises_the_threshold_and_keeps_the_on_delay():
    det = PCADetector().fit(_frame(0))
    log = _frame(3) * 0.5
    log.iloc[500:900] *= 4.0  # 4 s: no on-delay within 1 s silences it
    scores = det.evaluate_frame(log)[1].to_numpy()
    labels = np.full(len(log), None, dtype=object)
    labels[480:920] = "normal"
    model, counts = review(det, [log], [labels])
    assert counts["min_duration_after"] == counts["min_duration_before"] == 25
    assert counts["threshold_after"] > counts["threshold_before"] and counts["false_alarms_left"] == 0
    assert not alarms_within(scores, model.threshold_, labels == "normal", model_rules(model))


def test_a_review_of_rows_the_model_never_flagged_is_refused():
    det = PCADetector().fit(_frame(0))
    labels = np.full(3000, None, dtype=object)
    with pytest.raises(DataError, match="cover no row"):
        review(det, [_frame(2)], [labels])
    labels[10:50] = "normal"
    calm = _frame(2)
    calm.iloc[:] *= 0.01
    with pytest.raises(DataError, match="not flagged by this model"):
        review(det, [calm], [labels])


def test_a_reviewed_fault_caps_the_raise():
    det = PCADetector().fit(_frame(0))
    log = _frame(3) * 0.5        # quiet, so that only these two alarm:
    log.iloc[500:700] *= 6.0     # reviewed as a false alarm: louder ...
    log.iloc[1500:1700] *= 4.0   # ... than the reviewed fault
    scores = det.evaluate_frame(log)[1].to_numpy()
    labels = np.full(len(log), None, dtype=object)
    labels[480:720] = "normal"
    labels[1480:1720] = "bearing"
    fault_rows = labels == "bearing"
    cap = keeping_level(scores, fault_rows, det.threshold_)
    assert det.threshold_ < cap < silencing_level(scores, labels == "normal", det.threshold_)
    model, counts = review(det, [log], [labels])
    assert counts["threshold_after"] == cap and counts["faults_still_alarmed"] == 1 and counts["false_alarms_left"] == 1
    assert alarms_within(scores, cap, fault_rows) and not alarms_within(scores, np.nextafter(cap * 1.25, np.inf), fault_rows)
    assert keeping_level(scores * 0, fault_rows, det.threshold_) == np.inf  # a missed fault caps nothing


def test_review_of_a_20_hz_model_uses_the_rules_at_its_rate():
    """An 8-row burst at 20 Hz (0.4 s) is an alarm at 20 Hz's 5-row minimum, not at 100 Hz's 25:
    reviewing it as a false alarm lengthens the on-delay to 9 rows (0.45 s, within 4 x 5 rows),
    which silences it alone: the threshold stays (it rises only for what the on-delay leaves)."""
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-02-01", periods=3000, freq="50ms")
    det = PCADetector(conditions=None).fit(pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcd"), index=index))
    busy = pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcd"), index=index)
    busy.iloc[1000:1008] += [3.0, -3.0, 3.0, -3.0]
    scores = det.evaluate_frame(busy)[1].to_numpy()
    assert scores[1000:1008].min() > det.threshold_ and scores.max() < 10 * det.threshold_  # held, not severe
    labels = np.full(len(busy), None, dtype=object)
    labels[1000:1008] = "normal"
    model, counts = review(det, [busy], [labels])
    assert (counts["min_duration_before"], counts["min_duration_after"]) == (5, 9)
    assert counts["threshold_after"] == counts["threshold_before"] < scores[1000:1008].min()
    assert not alarms_within(scores, counts["threshold_before"], labels == "normal", model_rules(model))  # the on-delay alone
    assert alarms_within(scores, counts["threshold_after"], labels == "normal", rules_at(20.0))  # under the old on-delay
    assert alarms(scores, counts["threshold_before"], rules_at(20.0)) != []
    assert alarms(scores, counts["threshold_before"]) == []  # 100 Hz's counts: review would find nothing flagged
    assert not alarms_within(scores, model.threshold_, labels == "normal", model_rules(model))


def test_the_feedback_line_says_the_threshold_was_kept_when_the_on_delay_silences_the_alarm(tmp_path):
    from typer.testing import CliRunner

    from anomaly.cli import app

    rng = np.random.default_rng(3)
    index = pd.date_range("2026-02-01", periods=3000, freq="50ms", name="timestamp")
    pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcd"), index=index).to_csv(tmp_path / "normal.csv")
    busy = pd.DataFrame(rng.standard_normal((3000, 4)), columns=list("abcd"), index=index)
    busy.iloc[1000:1008] += [3.0, -3.0, 3.0, -3.0]  # 0.4 s: one alarm at 20 Hz's rules, silenced by a 0.45 s on-delay
    busy.to_csv(tmp_path / "busy.csv")
    runner = CliRunner()
    assert runner.invoke(app, ["fit", str(tmp_path / "normal.csv"), "--condition", "none", "-o", str(tmp_path / "m")]).exit_code == 0
    scored = runner.invoke(app, ["score", str(tmp_path / "busy.csv"), "-m", str(tmp_path / "m"), "-o", str(tmp_path / "s.csv"),
                                 "--alarms", str(tmp_path / "alarms.csv")])
    assert scored.exit_code == 0, scored.output
    alarms = pd.read_csv(tmp_path / "alarms.csv", keep_default_na=False).assign(label="false_alarm")
    assert len(alarms) == 1
    alarms.to_csv(tmp_path / "reviewed.csv", index=False)
    before = load(tmp_path / "m").threshold_
    result = runner.invoke(app, ["feedback", str(tmp_path / "m"), str(tmp_path / "busy.csv"), "--events", str(tmp_path / "reviewed.csv")])
    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split())
    assert f"threshold {before:.4g} kept; alert on-delay 0.25 s -> 0.45 s" in line and load(tmp_path / "m").threshold_ == before


def test_a_large_raise_is_reported_with_the_guard_line_and_the_refit():
    assert large_raise_note(1.0, 2.0, "model outside its operating envelope: j3_pos 17% of rows outside", ["b.csv"]) == ""
    note = large_raise_note(1.3, 5.2, "model outside its operating envelope: j3_pos 17% of rows outside", ["b.csv", "c.csv"])
    assert note.startswith("warning: this round raised the threshold 4x: the reviewed alarms look like an operating mode the model "
                           "never saw (model outside its operating envelope: j3_pos 17% of rows outside)")
    assert note.endswith("anomaly fit TRAINING... b.csv c.csv -o MODEL")
    assert "never saw, and" in large_raise_note(1.0, 3.0, "", ["b.csv"])
