"""Streaming scorer and the `anomaly stream` command (stdin/stdout)."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame
from typer.testing import CliRunner

import anomaly
from anomaly.cli import app
from anomaly.decisions import AlertLogic
from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.messages import BadMessage, RowParser
from pipelines.stream import StreamScorer, Summary, run

FAULT = slice(400, 480)  # rows of `faulty` with an injected fault on ch2
SERIES = make_frame(1300, channels=4, seed=0)  # one machine: fit on the first 600 rows, stream the rest
RULES = ["--threshold-scale", "2", "--min-duration", "3", "--merge-gap", "5", "--cooldown", "0"]


@pytest.fixture(scope="module")
def faulty() -> pd.DataFrame:
    frame = SERIES.iloc[600:].copy()
    frame.iloc[FAULT, 2] += 3.0
    return frame


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    """PCA plus a tiny dense-ae and lstm-ae (window 8) exported to ONNX, saved once per module."""
    folder = tmp_path_factory.mktemp("models")
    normal = SERIES.iloc[:600]
    paths = {"pca": anomaly.PCADetector().fit(normal).save(folder / "pca")}
    neural = {
        "dense-ae": dict(hidden=(16,), latent=4),
        "lstm-ae": dict(units=(8,), latent=4),
    }
    for name, params in neural.items():
        det = anomaly.make_detector(name, window=8, epochs=1, validation_fraction=0.0, **params).fit(normal)
        paths[name] = det.save(folder / name)
        det.export_onnx(paths[name] / "model.onnx")
    return paths


def stream_scores(scorer: StreamScorer, frame: pd.DataFrame) -> tuple[pd.Series, list]:
    """Push every row; return the streamed scores aligned to the frame (NaN = not scored) and the alerts."""
    position = {t: i for i, t in enumerate(frame.index)}
    scores = pd.Series(np.nan, index=frame.index)
    alerts = []
    for timestamp, row in zip(frame.index, frame.to_numpy()):
        step = scorer.push(timestamp, row)
        if step is not None:
            scores.iloc[[position[t] for t in step.timestamps]] = step.scores
            alerts.extend(step.alerts)
    last = scorer.finish()
    return scores, alerts + ([last] if last else [])


# -- equality with batch scoring --------------------------------------------------------
@pytest.mark.parametrize("hop", [1, 3])
@pytest.mark.parametrize("name,engine", [("pca", "auto"), ("dense-ae", "auto"), ("lstm-ae", "auto"), ("lstm-ae", "keras")])
def test_streamed_scores_equal_batch_scores(models, faulty, name, engine, hop):
    det = anomaly.load(models[name], engine=engine)
    assert det.engine_.name == ("numpy" if name == "pca" else "onnx" if engine == "auto" else engine)
    logic = AlertLogic.from_threshold(det.thresholder_, 0.8, min_duration=3, merge_gap=5, cooldown=10)
    streamed, alerts = stream_scores(StreamScorer(det, hop=hop, logic=logic), faulty)

    batch = det.score_stream(faulty, hop=hop)
    np.testing.assert_array_equal(streamed.isna(), batch.isna())
    np.testing.assert_allclose(streamed.dropna(), batch.dropna(), rtol=1e-6, atol=1e-5)
    span = 1 if name == "pca" else 8
    assert streamed.isna().sum() == span - 1 + (len(faulty) - span + 1) % hop  # warm-up + incomplete last group

    # the documented tie to plain batch scoring: each group is the tail of `score` on its last window (the model's
    # own score: the sensor checks, like a set-point reference, carry the pass's history)
    plain = det.without_sensor_checks()
    own = stream_scores(StreamScorer(plain, hop=hop, logic=logic), faulty)[0]
    for end in (span - 2 + hop, 480 + (span - 2 + hop - 480) % hop, len(faulty) - 1 - (len(faulty) - span + 1) % hop):
        rows = faulty.iloc[end - max(span, hop) + 1 : end + 1]
        np.testing.assert_allclose(own.iloc[end - hop + 1 : end + 1], plain.score(rows).iloc[-hop:], rtol=1e-6, atol=1e-5)
    if name == "pca":
        np.testing.assert_allclose(streamed.dropna(), det.score(faulty)[streamed.notna()], rtol=1e-6, atol=1e-5)

    # alerts are what the same AlertLogic finds on the batch scores
    scored = batch.dropna()
    expected = [(scored.index[a], scored.index[b]) for a, b, _ in logic.alerts(scored)]
    opened = [a.start for a in alerts if a.kind == "alert"]
    closed = [(a.start, a.end) for a in alerts if a.kind == "end"]
    assert closed == expected and opened == [start for start, _ in expected]
    assert any(faulty.index[FAULT.start] <= start < faulty.index[FAULT.stop] for start in opened)


def pushed_in_batches(scorer: StreamScorer, frame: pd.DataFrame, sizes: list[int]) -> tuple[list, list, list, list]:
    """Push the frame's rows in consecutive batches of ``sizes`` (cycled); the scored timestamps,
    scores, alert records and drift records."""
    times, scores, alerts, drifts = [], [], [], []
    start, k = 0, 0
    while start < len(frame):
        part = frame.iloc[start : start + sizes[k % len(sizes)]]
        step = scorer.push_rows(list(part.index), part.to_numpy())
        start, k = start + len(part), k + 1
        if step is not None:
            assert len(step.timestamps) == len(step.scores) == len(step.errors) and len(step.scores) % scorer.hop == 0
            times += list(step.timestamps)
            scores += list(step.scores)
            alerts += [a.to_dict() for a in step.alerts]
            drifts += list(step.drifts)
    last = scorer.finish()
    return times, scores, alerts + ([last.to_dict()] if last else []), drifts


@pytest.mark.parametrize("hop", [1, 3])
@pytest.mark.parametrize("name", ["pca", "dense-ae"])
def test_rows_pushed_together_score_and_alert_as_rows_pushed_one_by_one(models, faulty, name, hop):
    """A stream that fell behind pushes the rows that waited together (push_rows): across the
    warm-up, a pause (a new pass: a new warm-up), incomplete groups and more rows than one engine
    call scores, every row gets the score, and the alerts the records, of one-by-one pushes."""
    from pipelines.stream.scorer import CATCH_UP_GROUPS

    frame = faulty.copy()
    frame.index = frame.index.where(np.arange(len(frame)) < 350, frame.index + pd.Timedelta(minutes=5))
    det = anomaly.load(models[name])
    one, together = (pushed_in_batches(StreamScorer(det, hop=hop, logic=AlertLogic.from_threshold(det.thresholder_, 0.8, min_duration=3, merge_gap=5,
                                                                                             cooldown=10)), frame, sizes)
                     for sizes in ([1], [5, 1, 2 * CATCH_UP_GROUPS * hop + 7, 40, 333]))
    assert together[0] == one[0] and len(one[0]) > 600
    np.testing.assert_allclose(together[1], one[1], rtol=1e-6, atol=1e-6)
    assert same_records(together[2], one[2]) and any(a["type"] == "alert" for a in one[2])
    assert same_records(together[3], one[3])


def same_records(got: list[dict], expected: list[dict]) -> bool:
    """The same records, their scores and peaks to float rounding."""
    def exact(r):
        return {k: v for k, v in r.items() if k not in ("score", "peak")}

    def approx(r):
        return [r.get(k) or 0.0 for k in ("score", "peak")]

    return [exact(r) for r in got] == [exact(r) for r in expected] and np.allclose([approx(r) for r in got], [approx(r) for r in expected], rtol=1e-6)


def test_alert_names_the_faulty_channel_and_model(models, faulty):
    det = anomaly.load(models["pca"])
    logic = AlertLogic.from_threshold(det.thresholder_, min_duration=3, merge_gap=0, cooldown=0)
    scorer = StreamScorer(det, logic=logic, top_k=2, name="arm")
    _, alerts = stream_scores(scorer, faulty)
    first = next(a for a in alerts if a.kind == "alert" and a.start >= faulty.index[FAULT.start])
    record = first.to_dict()
    assert set(record) == {"type", "model", "detector", "start", "timestamp", "threshold", "score", "top_channels"}
    assert record["model"] == "arm" and record["detector"] == "PCADetector"
    assert record["top_channels"][0] == "ch2" and len(record["top_channels"]) == 2
    assert record["score"] > record["threshold"] == pytest.approx(det.threshold_)
    end = next(a for a in alerts if a.kind == "end" and a.start == first.start).to_dict()
    assert set(end) == {"type", "model", "detector", "start", "timestamp", "threshold", "end", "peak"}
    assert pd.Timestamp(end["start"]) <= pd.Timestamp(end["end"]) <= pd.Timestamp(end["timestamp"])
    assert end["peak"] >= record["score"]


def test_one_onnx_thread_scores_the_same(models, faulty):
    det = anomaly.load(models["lstm-ae"])
    before = det.score_stream(faulty.iloc[:100])
    det.set_inference_threads(1)  # what `anomaly stream` does
    assert det.engine_.sessions["model"].get_session_options().intra_op_num_threads == 1
    np.testing.assert_allclose(det.score_stream(faulty.iloc[:100]), before, rtol=1e-6, atol=1e-6)


def test_hop_larger_than_window_is_refused(models):
    det = anomaly.load(models["dense-ae"])
    with pytest.raises(ConfigError, match="hop=9 must be <= window=8"):
        StreamScorer(det, hop=9)
    with pytest.raises(ConfigError, match="hop=0"):
        StreamScorer(det, hop=0)


def test_push_refuses_a_bad_row(models):
    scorer = StreamScorer(anomaly.load(models["pca"]))
    with pytest.raises(DataError, match="4 finite values"):
        scorer.push(0, [1.0, 2.0, np.nan, 3.0])
    with pytest.raises(DataError, match="4 finite values"):
        scorer.push(0, [1.0, 2.0])


def test_a_score_that_overflows_is_the_largest_float_and_alerts(models):
    """Readings near float32's limit overflow the score (inf or NaN): the stream goes on, with an alert."""
    import sys

    det = anomaly.load(models["pca"])
    scorer = StreamScorer(det, logic=AlertLogic.from_threshold(det.thresholder_, min_duration=1, merge_gap=0, cooldown=0))
    with np.errstate(over="ignore", invalid="ignore"):
        step = scorer.push(0.0, [3e38, -3e38, 3e38, -3e38])
    assert step.scores[0] == sys.float_info.max
    assert [a.kind for a in step.alerts] == ["alert"]
    assert np.isfinite(scorer.push(0.01, SERIES.iloc[0].to_numpy()).scores).all()


# -- message parsing: every kind of bad input ---------------------------------------------
GOOD = {"timestamp": "2026-01-01T00:00:01", "a": 1.0, "b": 2}


@pytest.mark.parametrize(
    "message,reason",
    [
        (b"{not json", "malformed"),
        (b"[1, 2]", "malformed"),
        (b'{"timestamp": 5, "a": 1.0, "b": 2.0}\xff', "malformed"),  # not UTF-8
        (json.dumps({**GOOD, "a": "abc"}), "non_numeric"),
        (json.dumps({**GOOD, "a": True}), "non_numeric"),
        (json.dumps({**GOOD, "a": None}), "nan_inf"),
        (json.dumps({**GOOD, "a": float("nan")}), "nan_inf"),
        ('{"timestamp": "2026-01-01T00:00:01", "a": 1e400, "b": 2}', "nan_inf"),  # json reads inf
        (json.dumps({**GOOD, "a": 1e39}), "nan_inf"),  # overflows float32
        (json.dumps({"timestamp": GOOD["timestamp"], "a": 1.0}), "missing_channels"),
        (json.dumps({**GOOD, "c": 3.0}), "extra_channels"),
        (json.dumps({"a": 1.0, "b": 2.0}), "bad_timestamp"),
        (json.dumps({**GOOD, "timestamp": "yesterday"}), "bad_timestamp"),
        (json.dumps({**GOOD, "timestamp": 12.5}), "bad_timestamp"),  # a number after datetimes
        (json.dumps({**GOOD, "timestamp": "2026-01-01T00:00:00"}), "out_of_order"),
        (json.dumps({**GOOD, "timestamp": "2026-01-01T00:00:00.500"}), "duplicate_timestamp"),
    ],
)
def test_parser_names_the_reason(message, reason):
    parser = RowParser(("a", "b"))
    parser.parse(json.dumps({**GOOD, "timestamp": "2026-01-01T00:00:00.500"}))
    with pytest.raises(BadMessage) as caught:
        parser.parse(message)
    assert caught.value.reason == reason
    assert parser.parse(json.dumps(GOOD))[0] == datetime(2026, 1, 1, 0, 0, 1)  # still parsing after it


def test_parser_reads_json_with_labels_and_reordered_keys():
    parser = RowParser(("a", "b"))
    timestamp, values = parser.parse(b'{"b": 2, "is_anomaly": 0, "a": 1.5, "t": 7}')
    assert timestamp == 7 and values.dtype == np.float32
    np.testing.assert_array_equal(values, [1.5, 2.0])


@pytest.mark.parametrize(
    "line,reason",
    [("3,1.0", "malformed"), ("3,1.0,abc", "non_numeric"), ("3,1.0,", "nan_inf"), ("3,inf,1", "nan_inf"),
     ("x,1.0,2.0", "bad_timestamp"), ("1,1.0,2.0", "out_of_order"), ("2,1.0,2.0", "duplicate_timestamp")],
)
def test_csv_rows(line, reason):
    parser = RowParser(("a", "b"), fmt="csv")
    assert parser.parse("time;b;a") is None  # header: delimiter sniffed, columns matched by name
    timestamp, values = parser.parse("2;20;10")
    assert timestamp == 2
    np.testing.assert_array_equal(values, [10.0, 20.0])
    with pytest.raises(BadMessage) as caught:
        parser.parse(line.replace(",", ";"))
    assert caught.value.reason == reason


def test_csv_rows_separated_by_spaces_as_a_ur_rtde_log_writes_them():
    parser = RowParser(("actual_q_0", "actual_current_0"), fmt="csv")
    assert parser.parse("timestamp actual_current_0 actual_q_0") is None
    timestamp, values = parser.parse("1523.456 1.25 0.5")
    assert timestamp == 1523.456
    np.testing.assert_array_equal(values, [0.5, 1.25])


def test_csv_rows_with_decimal_commas_when_the_delimiter_is_not_a_comma():
    parser = RowParser(("a", "b"), fmt="csv")
    parser.parse("time;a;b")
    np.testing.assert_allclose(parser.parse("1;-1,25;3,5e-1")[1], [-1.25, 0.35], rtol=1e-6)
    comma = RowParser(("a", "b"), fmt="csv")
    comma.parse("time,a,b")
    with pytest.raises(BadMessage):  # with commas between cells "1,25" is two cells
        comma.parse('1,"1,25",2')


def test_csv_header_mismatch_is_fatal():
    with pytest.raises(SchemaError, match=r"missing channels \['b'\] and unexpected channels \['c'\]"):
        RowParser(("a", "b"), fmt="csv").parse("time,a,c")
    with pytest.raises(SchemaError, match="no timestamp column"):
        RowParser(("a", "b"), fmt="csv").parse("a,b")


def test_run_counts_and_skips_bad_messages_and_keeps_going(models, faulty):
    """In-process: every bad kind is counted, warned about once, and later rows are still scored."""
    det = anomaly.load(models["pca"])
    good = [json.dumps({"timestamp": t.isoformat(), **{c: float(v) for c, v in row.items()}}) for t, row in faulty.iloc[:20].iterrows()]
    bad = [b"\xff\xfe", "{", json.dumps({**json.loads(good[0]), "timestamp": 1}), good[3], good[5]]
    lines = good[:10] + bad + good[10:]
    sink = type("Sink", (), {"send": lambda self, records: sent.extend(records)})()
    sent, warned = [], []
    summary = run(StreamScorer(det), lines, sink, RowParser(det.schema_.channels), emit_scores=True, warn=warned.append)
    alerts = sum(r["type"] == "alert" for r in sent)
    assert (summary.rows_in, summary.rows_scored, summary.alerts) == (25, 20, alerts)
    assert dict(summary.skipped) == {"malformed": 2, "bad_timestamp": 1, "out_of_order": 2}
    assert len(warned) == 5 and all("skipped (" in w for w in warned)
    assert [r["timestamp"] for r in sent if r["type"] == "score"] == [t.isoformat() for t in faulty.index[:20]]
    assert summary.line() == ("stream ended (end of input): 25 rows in, 20 scored, 5 skipped "
                              f"(malformed 2, bad_timestamp 1, out_of_order 2), {alerts} alerts")


class WaitingLines(list):
    """A source whose lines are all there at once, as a broker's queue after a stall (``waiting()``)."""

    def __iter__(self):
        self._left = len(self)
        for line in super().__iter__():
            self._left -= 1
            yield line

    def waiting(self) -> bool:
        return self._left > 0


def test_run_pushes_the_lines_that_waited_together_with_the_same_records(models, faulty, monkeypatch):
    from pipelines.stream.loop import CATCH_UP_ROWS

    det = anomaly.load(models["pca"])
    lines = [json.dumps({"timestamp": t.isoformat(), **{c: float(v) for c, v in row.items()}}) for t, row in faulty.iterrows()]
    lines.insert(30, "{")  # a bad message among them is skipped as before
    batches = []
    monkeypatch.setattr(StreamScorer, "push_rows", lambda self, t, *rest, push=StreamScorer.push_rows: batches.append(len(t)) or push(self, t, *rest))

    def streamed(source) -> tuple[Summary, list]:
        sent = []
        sink = type("Sink", (), {"send": lambda self, records: sent.extend(records)})()
        logic = AlertLogic.from_threshold(det.thresholder_, 0.8, min_duration=3, merge_gap=5, cooldown=10)
        summary = run(StreamScorer(det, logic=logic), source, sink, RowParser(det.schema_.channels), emit_scores=True, warn=lambda line: None)
        return summary, sent

    summary, sent = streamed(lines)
    assert max(batches) == 1
    batches.clear()
    caught_up, sent_together = streamed(WaitingLines(lines))
    assert max(batches) == CATCH_UP_ROWS and sum(batches) == len(faulty)
    assert (caught_up.rows_in, caught_up.rows_scored, caught_up.alerts) == (summary.rows_in, summary.rows_scored, summary.alerts)
    for kinds in ({"score"}, {"alert", "end", "drift"}):  # in order; an alert follows the scores of its batch
        assert same_records([r for r in sent_together if r["type"] in kinds], [r for r in sent if r["type"] in kinds])
    assert summary.alerts >= 1


def test_stdin_lines_say_when_a_whole_line_waits_and_tick_while_idle():
    import os

    from pipelines.stream.sinks import IDLE_S, StdinLines

    read, write = os.pipe()
    lines = StdinLines(read)
    assert not lines.waiting()  # nothing written: no wait
    os.write(write, b'{"a": 1}\n{"a": 2')
    assert lines.waiting()
    items = iter(lines)
    assert next(items) == b'{"a": 1}\n'
    assert not lines.waiting()  # half a line is not a line
    started = time.monotonic()
    assert next(items) is None and time.monotonic() - started >= 0.9 * IDLE_S  # an idle tick while nothing comes
    os.write(write, b'}\n{"a": 3}')
    assert lines.waiting() and next(items) == b'{"a": 2}\n'
    os.close(write)
    assert list(items) == [b'{"a": 3}']  # the last line without its newline
    os.close(read)


# -- the command, through a real pipe ---------------------------------------------------------
def command(model, *args) -> list[str]:
    return [sys.executable, "-m", "anomaly.cli", "stream", "--model", str(model), *args]


def json_lines(frame: pd.DataFrame) -> list[str]:
    return [json.dumps({"timestamp": t.isoformat(), **{c: float(v) for c, v in row.items()}}) for t, row in frame.iterrows()]


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_stdin_stream_scores_like_batch_and_alerts_inside_the_fault(models, faulty, fmt):
    text = "\n".join(json_lines(faulty)) + "\n" if fmt == "jsonl" else faulty.to_csv()
    done = subprocess.run(command(models["pca"], "--format", fmt, "--scores", *RULES),
                          input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = records(done.stdout)
    scores = [r["score"] for r in out if r["type"] == "score"]
    np.testing.assert_allclose(scores, anomaly.load(models["pca"]).score(faulty), rtol=1e-6, atol=1e-5)
    alerts = [r for r in out if r["type"] == "alert"]
    inside = [a for a in alerts if faulty.index[FAULT.start] <= pd.Timestamp(a["start"]) < faulty.index[FAULT.stop]]
    assert len(inside) == 1 and inside[0]["model"] == "pca" and inside[0]["top_channels"][0] == "ch2"
    assert sum(r["type"] == "end" for r in out) == len(alerts)
    assert done.stderr.splitlines()[-1] == f"stream ended (end of input): 700 rows in, 700 scored, 0 skipped, {len(alerts)} alerts"


def test_stdin_stream_survives_every_bad_input(models, faulty):
    lines = json_lines(faulty.iloc[:50])
    row = json.loads(lines[10])
    bad = [
        "{oops", "42", '"text"',
        json.dumps({**row, "ch0": "abc"}), json.dumps({**row, "ch0": None}), json.dumps({**row, "ch0": float("inf")}),
        json.dumps({k: v for k, v in row.items() if k != "ch3"}), json.dumps({**row, "ch9": 1.0}),
        json.dumps({k: v for k, v in row.items() if k != "timestamp"}), json.dumps({**row, "timestamp": "soon"}),
        lines[5], lines[19],
    ]
    text = "\n".join(lines[:20] + bad + lines[20:]) + "\n"
    payload = text.encode() + b'{"timestamp": "2026-01-02T01:00:00", "ch0": 1}\xff\n'  # trailing invalid UTF-8
    done = subprocess.run(command(models["pca"]), input=payload, capture_output=True, timeout=60)
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 13
    assert stderr.splitlines()[-1] == (
        "stream ended (end of input): 63 rows in, 50 scored, 13 skipped (malformed 4, non_numeric 1, missing_channels 1, "
        "extra_channels 1, nan_inf 2, bad_timestamp 2, out_of_order 1, duplicate_timestamp 1), 0 alerts"
    )


class Lines:
    """Lines of a pipe, read by a thread, so a test can wait for one with a timeout."""

    def __init__(self, pipe):
        self.queue: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=lambda: [self.queue.put(line) for line in pipe], daemon=True)
        self._reader.start()

    def wait_for(self, predicate, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"no matching line within {timeout} s; got {self.seen[-5:]}")

    def rest(self) -> list[str]:
        """Every line seen, once the pipe is closed."""
        self._reader.join(timeout=10)
        while not self.queue.empty():
            self.seen.append(self.queue.get())
        return self.seen


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_ends_the_stream_cleanly_with_a_summary(models, faulty, signum):
    proc = subprocess.Popen(command(models["pca"], *RULES), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    out, err = Lines(proc.stdout), Lines(proc.stderr)
    try:
        err.wait_for(lambda line: line.startswith("streaming stdin"))
        for line in json_lines(faulty.iloc[:440]) + ["sentinel"]:  # ends inside the fault: an event is open
            proc.stdin.write(line + "\n")
        proc.stdin.flush()
        fault_second = faulty.index[FAULT.start].isoformat()[:19]  # the fault starts on a whole second
        out.wait_for(lambda line: '"type": "alert"' in line and f'"start": "{fault_second}' in line)
        err.wait_for(lambda line: line.startswith("warning: message 441 skipped (malformed)"))  # all rows are in
        time.sleep(0.2)  # the stream is now blocked waiting for input
        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    sent = [json.loads(line) for line in out.rest()]
    alerts = [r for r in sent if r["type"] == "alert"]
    assert sent[-1]["type"] == "end" and sent[-1]["start"] == alerts[-1]["start"]  # the open event is closed
    assert pd.Timestamp(sent[-1]["end"]) <= faulty.index[439]
    assert err.rest()[-1].strip() == (f"stream ended ({signal.Signals(signum).name}): 441 rows in, 440 scored, "
                                      f"1 skipped (malformed 1), {len(alerts)} alerts")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--source", "tcp://x"], "source 'tcp://x' must be stdin or mqtt://"),
        (["--sink", "mqtt://127.0.0.1:1/a/#"], "cannot publish to a topic with wildcards"),
        (["--sink", "mqtt://127.0.0.1:1"], "host and topic are required"),
        (["--threshold-scale", "0"], "threshold_scale"),
        (["--exit-ratio", "1.5"], "exit_ratio"),
        (["--min-duration", "0"], "min_duration"),
        (["--format", "xml"], "format 'xml' is not one of"),
    ],
)
def test_bad_options_exit_2_with_one_line(models, args, message):
    result = CliRunner().invoke(app, ["stream", "--model", str(models["pca"]), *args], input="")
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("error:") == 1


def test_summary_line_lists_reasons_in_a_fixed_order():
    summary = Summary(rows_in=3, rows_scored=1, alerts=0, ended_by="SIGTERM")
    summary.skipped.update({"nan_inf": 1, "malformed": 1})
    assert summary.line() == "stream ended (SIGTERM): 3 rows in, 1 scored, 2 skipped (malformed 1, nan_inf 1), 0 alerts"


def test_default_alert_rules_are_timed_at_the_models_rate():
    """A 20 Hz model alerts after 0.25 s (5 rows), not after the 25 rows that are 0.25 s at 100 Hz."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2000, 3)), columns=list("abc"),
                         index=pd.date_range("2026-01-01", periods=2000, freq="50ms"))
    scorer = StreamScorer(anomaly.PCADetector(conditions=None).fit(frame))
    assert (scorer.logic.min_duration, scorer.logic.merge_gap, scorer.logic.cooldown) == (5, 20, 100)
    start = pd.Timestamp("2026-01-02")
    records = []
    for i in range(200):
        row = 0.1 + 0.01 * rng.normal(size=3) + (np.array([4.0, -4.0, 4.0]) if 100 <= i < 108 else 0.0)  # 8 rows (0.4 s) out
        # (noise: rows that repeat one value for 1 s are a stuck sensor's)
        step = scorer.push(start + pd.Timedelta(milliseconds=50 * i), row)
        records += [] if step is None else step.alerts
    assert [r.kind for r in records] == ["alert", "end"]
    assert records[1].peak < 10 * scorer.enter  # not a severe run, which the minimum duration would not hold back
