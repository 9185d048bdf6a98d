"""The detector contract: one tiny setting per registered detector, fitted once per test session,
and the checks every detector must pass (the scikit-learn ``check_estimator`` idea).

``tests/anomaly/test_detector_checks.py`` runs every check in :data:`CHECKS` on every detector of
:data:`anomaly.registry.DETECTORS`; other test modules take their fitted detectors from
:func:`fitted_detector` instead of training their own. A check is ``check(name, directory)``: the
registry name and an empty folder it may write to. Checks use the public API only and never
modify the shared fitted detectors (they ``clone`` or ``anomaly.load`` a copy first).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_frame
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import anomaly
from anomaly.errors import ConfigError, NotFittedError, SchemaError
from pipelines.batch import iter_scores
from pipelines.sinks import write_table
from pipelines.sources import read_table

#: One small, seeded setting per registered detector: small windows and networks, two epochs.
TINY_PARAMS: dict[str, dict] = {
    "pca": {},
    "dense-ae": {"window": 8, "hidden": (32,), "latent": 4, "epochs": 2, "random_state": 0},
    "lstm-ae": {"window": 8, "units": (16,), "latent": 4, "epochs": 2, "random_state": 0},
    "conv-ae": {"window": 8, "filters": (16, 8), "kernel_size": 3, "epochs": 2, "random_state": 0},
    "lstm-vae": {"window": 8, "units": (16,), "latent": 4, "warmup_epochs": 2, "epochs": 2, "random_state": 0},
    "vae-gan": {"window": 8, "units": (16,), "latent": 4, "warmup_epochs": 2, "epochs": 2, "random_state": 0},
    "lstm-forecast": {"window": 8, "units": (16,), "epochs": 2, "random_state": 0},
    "transformer-ae": {"window": 8, "d_model": 16, "num_heads": 2, "ff_dim": 32, "latent": 4, "epochs": 2,
                       "random_state": 0},
}

#: The one normal frame every cached detector is fitted on: (2000, 5) float32 at 100 Hz. Do not modify.
NORMAL = make_frame(seed=0)
NORMAL.iloc[5, 1] = NORMAL.iloc[4, 1]  # a held sample: GAPPY, with a NaN here, forward-fills to NORMAL exactly
GAPPY = NORMAL.copy()
GAPPY.iloc[5, 1] = np.nan
FAULT_ROWS = slice(1200, 1300)  # rows of `faulty_frame()` with a +3 step on ch2


def faulty_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """Another run (seed 1) with a +3 step on ch2 in rows 1200..1299; returns (frame, labels)."""
    frame = make_frame(seed=1, start="2026-01-02")
    frame.iloc[FAULT_ROWS, 2] += 3.0
    labels = np.zeros(len(frame), dtype=bool)
    labels[FAULT_ROWS] = True
    return frame, labels


def _once(fit):
    """Cache ``fit`` per arguments, failures included: a broken fit fails every later caller at once."""
    cached = functools.cache(lambda *args: _outcome(fit, *args))

    @functools.wraps(fit)
    def wrapper(*args):
        result, error = cached(*args)
        if error is not None:
            raise RuntimeError(f"{fit.__name__}{args} failed earlier in this test session") from error
        return result

    return wrapper


def _outcome(fit, *args):
    try:
        return fit(*args), None
    except Exception as exc:  # re-raised by every caller
        return None, exc


@_once
def _fit_once(name: str, params: tuple) -> tuple:
    """(detector, what its ``fit`` returned) for the full parameters ``params`` (sorted items)."""
    detector = anomaly.make_detector(name, **dict(params))
    return detector, detector.fit(NORMAL)


def fitted_detector(name: str, **params):
    """The detector ``name`` with :data:`TINY_PARAMS` (``params`` changed), fitted on :data:`NORMAL`.

    Fitted once per test session (per parameters: a test may change :data:`TINY_PARAMS`) and
    shared: read it, save it, or ``clone`` it, never modify it.
    """
    return _fit_once(name, tuple(sorted({**TINY_PARAMS[name], **params}.items())))[0]


def refitted_detector(name: str):
    """A second fit of :func:`fitted_detector` ``(name)``, with ``nan_policy="ffill"`` on :data:`GAPPY`.

    Forward filling makes GAPPY equal to NORMAL, so with a seed this fit equals the first one:
    the one extra fit per detector serves the repeatability and the NaN-policy checks.
    """
    return _refit_once(name, tuple(sorted(TINY_PARAMS[name].items())))


@_once
def _refit_once(name: str, params: tuple):
    return clone(fitted_detector(name)).set_params(nan_policy="ffill").fit(GAPPY)


def is_neural(detector) -> bool:
    return hasattr(detector, "export_onnx")


# -- helpers shared with tests/pipelines/test_batch.py ------------------------------------
def score_whole_file(detector, path: Path):
    """What the whole-file path gives: (errors, scores, flags), or the exception it raises."""
    try:
        return detector.evaluate_frame(read_table(path).frame, source=str(path))
    except anomaly.AnomalyError as exc:
        return exc


def score_in_chunks(detector, path: Path, chunk_rows: int):
    """(errors, scores, flags) of ``pipelines.batch.iter_scores`` concatenated, or the exception it raises."""
    try:
        parts = list(iter_scores(detector, path, chunk_rows=chunk_rows))
    except anomaly.AnomalyError as exc:
        return exc
    return tuple(pd.concat([part[i] for part in parts]) for i in range(3))


def assert_same_scores(got, expected) -> None:
    """Same index and flags; errors and scores equal to 1e-6 of their largest value (float32 BLAS rounding)."""
    for a, b in zip(got, expected):
        assert a.index.equals(b.index)
    np.testing.assert_array_equal(got[2].to_numpy(), expected[2].to_numpy())
    pd.testing.assert_index_equal(got[0].columns, expected[0].columns)
    for a, b in zip(got[:2], expected[:2]):
        assert a.to_numpy().dtype == b.to_numpy().dtype
        b = b.to_numpy()
        np.testing.assert_allclose(a.to_numpy(), b, rtol=1e-6, atol=1e-6 * np.abs(b).max())


# -- the checks ----------------------------------------------------------------------------
def check_fit_returns_self_and_sets_trailing_underscore_attributes(name: str, directory: Path) -> None:
    detector, returned = _fit_once(name, tuple(sorted(TINY_PARAMS[name].items())))
    assert returned is detector
    for attribute in ("schema_", "scaler_", "thresholder_", "threshold_", "decision_scores_", "fingerprint_"):
        assert hasattr(detector, attribute), attribute
    learnt = set(vars(detector)) - set(detector.get_params()) - {a for a in vars(detector) if a.startswith("_")}
    assert all(attribute.endswith("_") for attribute in learnt), sorted(learnt)
    assert detector.schema_.channels == tuple(NORMAL.columns)
    assert detector.schema_.sampling_rate == pytest.approx(100.0)
    assert detector.decision_scores_.shape == (len(NORMAL),)


def check_constructor_only_stores_params_and_clone_is_unfitted(name: str, directory: Path) -> None:
    fresh = anomaly.make_detector(name, **TINY_PARAMS[name])
    assert vars(fresh) == fresh.get_params(deep=False)
    fitted = fitted_detector(name)
    params = fitted.get_params()
    copy = clone(fitted)
    assert copy.get_params() == params
    assert not hasattr(copy, "schema_")
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.score(pd.DataFrame({"a": [1.0]}))


def check_not_fitted_error_before_fit(name: str, directory: Path) -> None:
    fresh = anomaly.make_detector(name, **TINY_PARAMS[name])
    frame = NORMAL.iloc[:50]
    calls = {
        "errors": lambda: fresh.errors(frame),
        "score": lambda: fresh.score(frame),
        "predict": lambda: fresh.predict(frame),
        "evaluate_frame": lambda: fresh.evaluate_frame(frame),
        "score_stream": lambda: fresh.score_stream(frame),
        "score_newest": lambda: fresh.score_newest(frame.to_numpy()),
        "set_inference_threads": lambda: fresh.set_inference_threads(1),
    }
    for call in calls.values():
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    with pytest.raises(NotFittedError):
        fresh.save(directory / "model")
    if is_neural(fresh):
        with pytest.raises(NotFittedError):
            fresh.export_onnx(directory / "model.onnx")
    assert not (directory / "model").exists() and not (directory / "model.onnx").exists()


def check_outputs_are_aligned_to_input(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    frame, _ = faulty_frame()
    errors = fitted.errors(frame)
    scores = fitted.score(frame)
    flags = fitted.predict(frame)
    assert errors.shape == frame.shape
    assert list(errors.columns) == list(frame.columns)
    assert errors.index.equals(frame.index) and scores.index.equals(frame.index) and flags.index.equals(frame.index)
    assert errors.dtypes.eq(np.float32).all()
    assert flags.dtype == bool
    assert np.isfinite(errors.to_numpy()).all() and (errors.to_numpy() >= 0).all()
    # evaluate_frame is the same three outputs in one pass
    together = fitted.evaluate_frame(frame)
    pd.testing.assert_frame_equal(together[0], errors)
    np.testing.assert_array_equal(together[1].to_numpy(), scores.to_numpy())
    np.testing.assert_array_equal(together[2].to_numpy(), flags.to_numpy())


def check_first_window_rows_are_scored_not_dropped(name: str, directory: Path) -> None:
    short = NORMAL.iloc[:10]
    errors = fitted_detector(name).errors(short)
    assert len(errors) == 10 and np.isfinite(errors.to_numpy()).all()


def check_injected_fault_scores_higher_and_is_attributed(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    frame, labels = faulty_frame()
    scores = fitted.score(frame).to_numpy()
    assert roc_auc_score(labels, scores) > 0.9
    assert fitted.predict(frame).to_numpy()[labels].mean() > 0.5
    errors = fitted.errors(frame)
    assert errors[labels].sum().idxmax() == "ch2"


def check_fit_is_repeatable_with_a_seed(name: str, directory: Path) -> None:
    fitted, again = fitted_detector(name), refitted_detector(name)  # the same rows (see refitted_detector)
    assert again.fingerprint_ == fitted.fingerprint_
    frame = make_frame(seed=2)
    np.testing.assert_allclose(again.score(frame).to_numpy(), fitted.score(frame).to_numpy(), rtol=1e-5, atol=1e-7)


def check_nan_policy(name: str, directory: Path) -> None:
    with pytest.raises(anomaly.DataError, match=r"column 'ch1' has 1 NaN/inf values \(first NaN at row 5"):
        anomaly.make_detector(name, **TINY_PARAMS[name]).fit(GAPPY)
    with pytest.raises(anomaly.DataError, match=r"column 'ch1' has 1 NaN/inf values \(first NaN at row 5"):
        fitted_detector(name).score(GAPPY)
    filled = refitted_detector(name)  # fitted on GAPPY with nan_policy="ffill"
    assert filled.fingerprint_ == fitted_detector(name).fingerprint_  # it trained on the forward-filled rows
    assert np.isfinite(filled.score(GAPPY).to_numpy()).all()


def check_channels_are_matched_by_name(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    frame, _ = faulty_frame()
    assert_allclose(fitted.score(frame[frame.columns[::-1]]), fitted.score(frame), rtol=1e-6)


def check_schema_mismatch_raises_schema_error(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    frame, _ = faulty_frame()
    with pytest.raises(SchemaError, match=r"missing channels \['ch4'\]"):
        fitted.score(frame.drop(columns="ch4"))
    with pytest.raises(SchemaError, match=r"unexpected channels \['extra'\]"):
        fitted.score(frame.assign(extra=1.0))
    with pytest.raises(SchemaError, match=r"missing channels \['ch4'\]"):
        fitted.score_stream(frame.drop(columns="ch4"))


def check_save_load_round_trip_gives_identical_outputs(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    frame, _ = faulty_frame()
    fitted.save(directory / "model")
    loaded = anomaly.load(directory / "model")
    assert type(loaded) is type(fitted)
    assert loaded.get_params().keys() == fitted.get_params().keys()
    np.testing.assert_array_equal(loaded.errors(frame).to_numpy(), fitted.errors(frame).to_numpy())
    np.testing.assert_array_equal(loaded.score(frame).to_numpy(), fitted.score(frame).to_numpy())
    np.testing.assert_array_equal(loaded.predict(frame).to_numpy(), fitted.predict(frame).to_numpy())
    assert loaded.threshold_ == fitted.threshold_
    assert loaded.fingerprint_ == fitted.fingerprint_


def check_stream_equals_batch(name: str, directory: Path) -> None:
    """With hop 1 a streamed score is the newest row's ``score`` on the ``stream_rows(1)`` rows it
    reads, and ``score_stream`` is ``score_newest`` row by row (PCA: ``score`` itself); with a
    larger hop, single steps agree with the batch ``score_stream``."""
    fitted = fitted_detector(name)
    test = make_frame(40, seed=3)
    values, span = test.to_numpy(), fitted.stream_rows(1)
    for end in (span - 1, len(test) - 1):
        _, newest = fitted.score_newest(values[: end + 1], 1)
        np.testing.assert_allclose(newest, fitted.score(test.iloc[end - span + 1 : end + 1]).iloc[-1:], rtol=1e-5, atol=1e-5)

    streamed = fitted.score_stream(test, hop=1)
    assert streamed.index.equals(test.index)
    assert streamed.iloc[: span - 1].isna().all() and streamed.iloc[span - 1 :].notna().all()
    row_by_row = [fitted.score_newest(values[: end + 1], 1)[1][0] for end in range(span - 1, len(test))]
    np.testing.assert_allclose(streamed.iloc[span - 1 :], row_by_row, rtol=1e-5, atol=1e-5)
    if name == "pca":  # a pass's rows before its first span score 0 in batch, NaN (not yet scored) in the stream
        np.testing.assert_allclose(streamed.iloc[span - 1 :], fitted.score(test).iloc[span - 1 :], rtol=1e-6, atol=1e-5)

    batch = fitted.score_stream(test, hop=4)
    end = span - 2 + 4 * 5  # the last row of the sixth group
    _, group = fitted.score_newest(values[: end + 1], 4)
    np.testing.assert_allclose(group, batch.iloc[end - 3 : end + 1], rtol=1e-5, atol=1e-5)

    # a stream that fell behind scores its waiting groups in one call, each as its own call would
    for hop, groups in ((1, 7), (4, 3)):
        errors, scores = fitted.score_newest(values[: end + 1], hop, groups=groups)
        assert errors.shape == (hop * groups, test.shape[1]) and scores.shape == (hop * groups,)
        one_by_one = [fitted.score_newest(values[: end + 1 - hop * back], hop) for back in range(groups - 1, -1, -1)]
        np.testing.assert_allclose(scores, np.concatenate([s for _, s in one_by_one]), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(errors, np.concatenate([e for e, _ in one_by_one]), rtol=1e-5, atol=1e-5)


def check_chunked_equals_whole_file(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    frame = make_frame(n=301, seed=1)  # not a multiple of the window: the last window is the flush-with-end one
    frame.iloc[150:170, 2] += 3.0  # a fault, so that some rows are flagged
    path = directory / "run.parquet"
    write_table(frame, path)
    expected = score_whole_file(fitted, path)
    assert expected[2].any() and not expected[2].all()
    # 5 < window, 11 off the window grid, 16 on it, 1000 > the file
    for chunk_rows in (5, 11, 16, 1000):
        assert_same_scores(score_in_chunks(fitted, path, chunk_rows), expected)


def check_onnx_engine_matches_keras(name: str, directory: Path) -> None:
    fitted = fitted_detector(name)
    path = fitted.save(directory / name)
    if not is_neural(fitted):
        with pytest.raises(ConfigError, match="has no ONNX engine"):
            anomaly.load(path, engine="onnx")
        return
    pytest.importorskip("onnxruntime")
    test = make_frame(n=600, seed=1)
    keras_det = anomaly.load(path, engine="keras")
    diff = keras_det.export_onnx(path / "model.onnx")
    assert diff <= 1e-4
    onnx_det = anomaly.load(path)  # auto picks model.onnx
    assert onnx_det.engine_.name == "onnx" and keras_det.engine_.name == "keras"
    np.testing.assert_allclose(onnx_det.errors(test).to_numpy(), keras_det.errors(test).to_numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(onnx_det.score(test).to_numpy(), keras_det.score(test).to_numpy(), atol=1e-4, rtol=1e-4)


CHECKS = (
    check_fit_returns_self_and_sets_trailing_underscore_attributes,
    check_constructor_only_stores_params_and_clone_is_unfitted,
    check_not_fitted_error_before_fit,
    check_outputs_are_aligned_to_input,
    check_first_window_rows_are_scored_not_dropped,
    check_injected_fault_scores_higher_and_is_attributed,
    check_fit_is_repeatable_with_a_seed,
    check_nan_policy,
    check_channels_are_matched_by_name,
    check_schema_mismatch_raises_schema_error,
    check_save_load_round_trip_gives_identical_outputs,
    check_stream_equals_batch,
    check_chunked_equals_whole_file,
    check_onnx_engine_matches_keras,
)


def check_detector(name: str, directory: Path) -> None:
    """Run every check of :data:`CHECKS` on the registered detector ``name``, each in a subfolder of ``directory``."""
    for check in CHECKS:
        folder = Path(directory) / check.__name__
        folder.mkdir(parents=True)
        check(name, folder)
