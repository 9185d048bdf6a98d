"""``anomaly fit --labels``, scoring and streaming a supervised head, and ``anomaly feedback``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from anomaly import load
from anomaly.supervised import SupervisedDetector
from tests.cli_helpers import invoke, one_error_line

CHANNELS = ["a", "b", "c"]
ROWS = 2400
START = pd.Timestamp("2026-03-01")


def make_log(seed: int, faults=(), *, noise_burst=None) -> pd.DataFrame:
    """A 10 Hz log; each fault (start, end, kind) changes b ("amplitude") or c ("offset");
    ``noise_burst`` (start, end) adds a normal-but-unseen wobble on a (for false alarms)."""
    rng = np.random.default_rng(seed)
    phase = np.arange(ROWS)[:, None] / 15 + np.arange(3)
    values = np.sin(phase) + 0.1 * rng.standard_normal((ROWS, 3))
    kinds = np.full(ROWS, "", dtype=object)
    for lo, hi, kind in faults:
        if kind == "amplitude":
            values[lo:hi, 1] *= 2.5
        else:
            values[lo:hi, 2] += 1.5
        kinds[lo:hi] = kind
    if noise_burst is not None:
        lo, hi = noise_burst
        values[lo:hi, 0] += 0.6 * np.sin(np.arange(hi - lo) / 2.0)
    index = pd.date_range(START + pd.Timedelta(days=seed), periods=ROWS, freq="100ms", name="timestamp")
    frame = pd.DataFrame(values, index=index, columns=CHANNELS)
    frame["stop"] = (kinds != "").astype(int)
    frame["kind"] = kinds
    return frame


def write(frame: pd.DataFrame, path, *columns) -> None:
    frame[CHANNELS + list(columns)].to_csv(path)


@pytest.fixture(scope="module")
def training(tmp_path_factory):
    root = tmp_path_factory.mktemp("labelled")
    events = []
    for seed in range(4):
        frame = make_log(seed, [(500, 800, "amplitude"), (1500, 1800, "offset")])
        write(frame, root / f"log{seed}.csv", "stop")
        write(frame, root / f"plain{seed}.csv")
        for lo, hi, kind in [(500, 800, "amplitude"), (1500, 1800, "offset")]:
            events.append({"start": frame.index[lo].isoformat(), "end": frame.index[hi - 1].isoformat(), "label": kind})
    pd.DataFrame(events).to_csv(root / "events.csv", index=False)
    return root


@pytest.fixture(scope="module")
def column_head(training):
    result = invoke("fit", training / "log*.csv", "--labels", "stop", "-o", training / "head")
    assert result.exit_code == 0, result.output
    return training / "head"


@pytest.fixture(scope="module")
def typed_head(training):
    result = invoke("fit", training / "plain*.csv", "--labels", training / "events.csv", "--unlabelled", "normal",
                    "-o", training / "typed")
    assert result.exit_code == 0, result.output
    assert "fault types: amplitude, offset" in result.output
    return training / "typed"


def test_a_label_column_fits_a_head_that_scores_an_unseen_log(column_head, tmp_path):
    head = load(column_head)
    assert isinstance(head, SupervisedDetector) and head.label_column == "stop"
    report = json.loads((column_head / "training_report.json").read_text())
    assert report["labels"] == {"normal": 4 * (ROWS - 600), "fault": 4 * 600}
    test = make_log(9, [(1000, 1300, "offset")])
    write(test, tmp_path / "test.csv", "stop")  # the label column may stay in the scored file
    result = invoke("score", tmp_path / "test.csv", "--model", column_head, "-o", tmp_path / "s.csv",
                    "--alarms", tmp_path / "a.csv")
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(tmp_path / "s.csv")
    assert len(scored) == ROWS and (scored["score"] >= 0).all()  # probability, or the detector score over its novelty scale
    assert scored["flag"].iloc[1030:1300].mean() > 0.8
    assert scored["flag"].iloc[:900].sum() + scored["flag"].iloc[1400:].sum() < 30  # stray rows ...
    alarms = pd.read_csv(tmp_path / "a.csv", parse_dates=["start", "end"])
    fault = (test.index[1000], test.index[1299])
    assert len(alarms) and ((alarms["end"] >= fault[0]) & (alarms["start"] <= fault[1])).all()  # ... never an alarm
    assert "fault_type" not in scored.columns  # one kind of fault: no type column


def test_no_novelty_fits_the_classifier_alone(training, column_head):
    assert "or pca score >" in invoke("fit", training / "log0.csv", "--labels", "stop", "-o", training / "check").output
    assert json.loads((column_head / "supervised.json").read_text())["novelty_scale"] > 0
    result = invoke("fit", training / "log*.csv", "--labels", "stop", "--no-novelty", "-o", training / "plain")
    assert result.exit_code == 0, result.output
    assert "or pca score" not in result.output
    assert json.loads((training / "plain" / "supervised.json").read_text())["novelty_scale"] is None
    assert load(training / "plain").novelty is False


def test_an_events_file_with_types_writes_the_fault_type_of_flagged_rows(typed_head, tmp_path):
    test = make_log(10, [(400, 700, "amplitude"), (1600, 1900, "offset")])
    write(test, tmp_path / "test.csv")
    out = tmp_path / "scores"
    result = invoke("score", tmp_path / "test.csv", "--model", typed_head, "--out", out)
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(out / "test.scores.parquet")
    kinds = scored["fault_type"].fillna("")
    assert (kinds.iloc[430:700] == "amplitude").mean() > 0.8
    assert (kinds.iloc[1630:1900] == "offset").mean() > 0.8
    assert (kinds[~scored["flag"]] == "").all()


def test_the_stream_scores_a_head_like_the_batch(column_head):
    test = make_log(11, [(1000, 1300, "amplitude")])
    lines = "\n".join(json.dumps({"timestamp": t.isoformat(), **row}) for t, row in zip(test.index, test[CHANNELS].to_dict("records")))
    result = invoke("stream", "--model", column_head, "--scores", input=lines + "\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    alerts = [r for r in records if r["type"] == "alert"]
    # one alert, at the fault (a stray normal row just before it that the novelty path flags may merge into it)
    assert len(alerts) == 1 and test.index[1000] - pd.Timedelta("2s") <= pd.Timestamp(alerts[0]["start"]) <= test.index[1030]
    scores = np.array([r["score"] for r in records if r["type"] == "score"])
    batch = load(column_head).evaluate_frame(test[CHANNELS])[1].to_numpy()
    np.testing.assert_allclose(scores, batch[len(batch) - len(scores):], rtol=1e-5, atol=1e-7)


def reviewed_alarms(data, model, tmp_path, label: str) -> pd.DataFrame:
    """``anomaly score --alarms`` of ``data``, every alarm labelled ``label``."""
    result = invoke("score", data, "-m", model, "-o", tmp_path / "scored.csv", "--alarms", tmp_path / "alarms.csv")
    assert result.exit_code == 0, result.output
    alarms = pd.read_csv(tmp_path / "alarms.csv", keep_default_na=False)
    assert list(alarms.columns) == ["start", "end", "label", "peak_score", "top_channels"] and (alarms["label"] == "").all()
    return alarms.assign(label=label)


def test_feedback_silences_reviewed_false_alarms_and_keeps_the_previous_model(tmp_path):
    write(make_log(0), tmp_path / "normal.csv")
    assert invoke("fit", tmp_path / "normal.csv", "-o", tmp_path / "m").exit_code == 0
    busy = make_log(1, noise_burst=(600, 900))
    write(busy, tmp_path / "busy.csv")
    alarms = reviewed_alarms(tmp_path / "busy.csv", tmp_path / "m", tmp_path, "false_alarm")
    assert len(alarms)
    alarms.to_csv(tmp_path / "reviewed.csv", index=False)
    before = load(tmp_path / "m").threshold_
    result = invoke("feedback", tmp_path / "m", tmp_path / "busy.csv", "--events", tmp_path / "reviewed.csv", "--by", "ana")
    assert result.exit_code == 0, result.output
    assert "feedback round 1 by ana" in result.output
    after = load(tmp_path / "m").threshold_
    assert after > before and load(tmp_path / "m" / "history" / "round-1").threshold_ == before
    assert f"threshold {before:.4g} -> {after:.4g}" in " ".join(result.output.split())
    rounds = json.loads((tmp_path / "m" / "feedback.json").read_text())
    assert [r["round"] for r in rounds] == [1] and rounds[0]["false_alarms"] == len(alarms) and rounds[0]["by"] == "ana"
    # 5 rows at 10 Hz (below 20 Hz the rules keep their 20 Hz row counts), at most 4 x that
    assert rounds[0]["min_duration_before"] == 5 <= rounds[0]["min_duration_after"] <= 20
    assert ("alert on-delay 0.5 s -> " in result.output) == (rounds[0]["min_duration_after"] > 5)
    assert reviewed_alarms(tmp_path / "busy.csv", tmp_path / "m", tmp_path, "x").empty  # the reviewed alarms are silent now
    fault = make_log(2, [(1000, 1300, "offset")])
    write(fault, tmp_path / "fault.csv")
    assert invoke("score", tmp_path / "fault.csv", "-m", tmp_path / "m", "-o", tmp_path / "f.csv").exit_code == 0
    assert pd.read_csv(tmp_path / "f.csv")["flag"].iloc[1000:1300].mean() > 0.8  # the fault still alarms
    # a "false alarm" where the model flagged nothing is a review of something else
    quiet = pd.DataFrame([{"start": busy.index[1500].isoformat(), "end": busy.index[1600].isoformat(), "label": "false_alarm"}])
    quiet.to_csv(tmp_path / "quiet.csv", index=False)
    line = one_error_line(invoke("feedback", tmp_path / "m", tmp_path / "busy.csv", "--events", tmp_path / "quiet.csv"))
    assert "was not flagged by this model" in line
    assert json.loads((tmp_path / "m" / "feedback.json").read_text()) == rounds


def test_a_round_that_raises_the_threshold_far_says_the_mode_is_new(tmp_path):
    """False alarms over a regime the model never saw (channel c shifted for two minutes) need a
    threshold many times higher: the round says so and names the refit."""
    write(make_log(0), tmp_path / "normal.csv")
    assert invoke("fit", tmp_path / "normal.csv", "-o", tmp_path / "m").exit_code == 0
    write(make_log(1, [(600, 1800, "offset")]), tmp_path / "new_mode.csv")
    reviewed_alarms(tmp_path / "new_mode.csv", tmp_path / "m", tmp_path, "false_alarm").to_csv(tmp_path / "reviewed.csv", index=False)
    result = invoke("feedback", tmp_path / "m", tmp_path / "new_mode.csv", "--events", tmp_path / "reviewed.csv")
    assert result.exit_code == 0, result.output
    rounds = json.loads((tmp_path / "m" / "feedback.json").read_text())
    factor = rounds[0]["threshold_after"] / rounds[0]["threshold_before"]
    assert factor > 2 and f"warning: this round raised the threshold {factor:.3g}x" in result.output
    assert f"anomaly fit TRAINING... {tmp_path / 'new_mode.csv'} -o MODEL" in result.output


def test_feedback_refits_a_supervised_head(column_head, tmp_path):
    import shutil

    head = tmp_path / "head"
    shutil.copytree(column_head, head)
    busy = make_log(12, noise_burst=(600, 900))
    write(busy, tmp_path / "busy.csv")
    alarms = reviewed_alarms(tmp_path / "busy.csv", head, tmp_path, "false_alarm")
    if alarms.empty:
        pytest.skip("the head raised no false alarm on the wobble")
    alarms.to_csv(tmp_path / "reviewed.csv", index=False)
    rows = len(load(head).training_["labels"])
    result = invoke("feedback", head, tmp_path / "busy.csv", "--events", tmp_path / "reviewed.csv")
    assert result.exit_code == 0, result.output
    refitted = load(head)
    assert len(refitted.training_["labels"]) > rows
    assert refitted.predict(busy[CHANNELS]).iloc[600:900].sum() < 25


@pytest.mark.parametrize("labels, message", [
    ("missing_column", "label column 'missing_column' not found"),
    ("{root}/nope.csv", "events file not found"),
    ("{root}/bad_time.csv", "not a time like the logs"),
    ("{root}/backwards.csv", "ends"),
    ("{root}/elsewhere.csv", "cover no row"),
    ("{root}/normal_only.csv", "one class only"),
])
def test_bad_labels_are_one_line_and_write_nothing(training, tmp_path, labels, message):
    log = training / "log0.csv"
    first = pd.read_csv(log)["timestamp"]
    files = {
        "bad_time.csv": [{"start": "yesterday", "end": first.iloc[10], "label": "x"}],
        "backwards.csv": [{"start": first.iloc[100], "end": first.iloc[10], "label": "x"}],
        "elsewhere.csv": [{"start": "2030-01-01T00:00:00", "end": "2030-01-02T00:00:00", "label": "x"}],
        "normal_only.csv": [{"start": first.iloc[0], "end": first.iloc[100], "label": "normal"}],
    }
    for name, rows in files.items():
        pd.DataFrame(rows).to_csv(tmp_path / name, index=False)
    model = tmp_path / "m"
    line = one_error_line(invoke("fit", log, "--labels", labels.format(root=tmp_path), "-o", model))
    assert message in line
    assert not model.exists()


def test_a_bad_feedback_file_leaves_the_model_untouched(column_head, training, tmp_path):
    import shutil

    head = tmp_path / "head"
    shutil.copytree(column_head, head)
    listing = sorted(p.relative_to(head) for p in head.rglob("*"))
    pd.DataFrame([{"start": "2030-01-01T00:00:00", "end": "2030-01-01T00:01:00", "label": "false_alarm"}]).to_csv(tmp_path / "r.csv", index=False)
    line = one_error_line(invoke("feedback", head, training / "log0.csv", "--events", tmp_path / "r.csv"))
    assert "covers no row" in line
    (tmp_path / "r.csv").write_text("begin,stop\n1,2\n")
    assert "needs columns start,end,label" in one_error_line(invoke("feedback", head, training / "log0.csv", "--events", tmp_path / "r.csv"))
    assert sorted(p.relative_to(head) for p in head.rglob("*")) == listing
