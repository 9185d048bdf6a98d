"""TreeEnsemble: scikit-learn's HistGradientBoostingClassifier saved without pickle, scored with NumPy only."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import anomaly.trees
from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError
from anomaly.trees import TreeEnsemble

ROOT = Path(__file__).resolve().parents[2]
N_FEATURES = 6


def features(n: int, seed: int) -> np.ndarray:
    """(n, N_FEATURES) normal features, about 10 % of them NaN."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES))
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def fit(labels, n: int = 3000, **params) -> HistGradientBoostingClassifier:
    """A model fitted on ``features`` labelled by ``labels(X)`` (NaN-free scores: NaN counts as 0)."""
    X = features(n, seed=0)
    y = labels(np.nan_to_num(X) + 0.3 * np.random.default_rng(1).standard_normal(X.shape))
    return HistGradientBoostingClassifier(early_stopping=False, random_state=0, **params).fit(X, y)


@pytest.fixture(scope="module")
def binary() -> HistGradientBoostingClassifier:
    return fit(lambda X: np.where(X[:, 0] + X[:, 1] ** 2 > 1, 7, 3), max_iter=100)


@pytest.fixture(scope="module")
def three_class() -> HistGradientBoostingClassifier:
    return fit(lambda X: np.array(["idle", "slip", "stall"])[np.digitize(X[:, 0] + X[:, 2] * X[:, 3], [-0.5, 0.5])], max_iter=30)


@pytest.fixture(params=["binary", "three_class"])
def model(request) -> HistGradientBoostingClassifier:
    return request.getfixturevalue(request.param)


def scoring_rows(model) -> np.ndarray:
    """Fresh rows with NaN, +-inf, and values on, just below and just above the model's thresholds."""
    X = features(4000, seed=2)
    thresholds = np.concatenate([p.nodes["num_threshold"][~p.nodes["is_leaf"].astype(bool)] for it in model._predictors for p in it])
    thresholds = thresholds[np.isfinite(thresholds)]
    edges = np.concatenate([thresholds, np.nextafter(thresholds, -np.inf), np.nextafter(thresholds, np.inf)])
    rows = np.random.default_rng(3).integers(0, len(X), len(edges))
    X[rows, np.arange(len(edges)) % N_FEATURES] = edges
    X[:10, 0], X[10:20, 1] = np.inf, -np.inf
    return X




def test_predict_proba_equals_sklearn(model):
    X = scoring_rows(model)
    ensemble = TreeEnsemble.from_sklearn(model)
    proba = ensemble.predict_proba(X)
    assert proba.shape == (len(X), len(model.classes_))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ensemble.raw_scores(X), model._raw_predict(X))  # the same sums, in the same order
    np.testing.assert_array_equal(ensemble.predict(X), model.predict(X))


@pytest.mark.parametrize("rows", [1, 3, anomaly.trees.FEW_ROWS])
def test_a_few_rows_walk_every_tree_at_once_to_the_same_sums(model, rows):
    """A stream step's few rows take the all-trees walk: the same leaves, summed in the same order."""
    X = scoring_rows(model)[:40 * rows]
    ensemble = TreeEnsemble.from_sklearn(model)
    few = np.vstack([ensemble.raw_scores(X[i:i + rows]) for i in range(0, len(X), rows)])
    np.testing.assert_array_equal(few, model._raw_predict(X))


def walk_one_row(arrays: dict, x: np.ndarray) -> float:
    """The raw score of one row ``x``, read from the saved arrays node by node: the reference."""
    score, start = float(arrays["baseline"][0]), 0
    for size in arrays["tree_sizes"]:
        node = start
        while not arrays["is_leaf"][node]:
            value = x[arrays["feature"][node]]
            left = arrays["missing_left"][node] if np.isnan(value) else value <= arrays["threshold"][node]
            node = start + (arrays["left"] if left else arrays["right"])[node]
        score, start = score + arrays["value"][node], start + size
    return score


def test_infinite_thresholds_either_way_for_missing_values():
    """Trees scikit-learn does not grow: children in any order, infinite thresholds that send NaN left, a lone leaf."""
    inf = np.inf
    arrays = {"feature": np.array([0, 1, 1, 0, 0, 0, 0, 0]), "threshold": np.array([0.0, -inf, inf, 0, 0, 0, 0, 0]),
              "missing_left": np.array([True, True, True, False, False, False, False, False]),
              "left": np.array([2, 3, 5, 0, 0, 0, 0, 0]), "right": np.array([1, 4, 6, 0, 0, 0, 0, 0]),
              "is_leaf": np.array([False, False, False, True, True, True, True, True]),
              "value": np.array([0, 0, 0, 1.0, 2.0, 3.0, 4.0, 10.0]), "tree_sizes": np.array([7, 1]), "baseline": np.array([0.5])}
    X = np.array([[a, b] for a in (np.nan, -inf, -1.0, 0.0, 1.0, inf) for b in (np.nan, -inf, 0.0, inf)])
    ensemble = TreeEnsemble(arrays, classes=[0, 1], n_features=2, link="logistic")
    np.testing.assert_array_equal(ensemble.raw_scores(X)[:, 0], [walk_one_row(arrays, x) for x in X])
    np.testing.assert_array_equal([ensemble.raw_scores(x[None])[0, 0] for x in X], [walk_one_row(arrays, x) for x in X])


def test_save_load_round_trip(model, tmp_path):
    X = scoring_rows(model)
    ensemble = TreeEnsemble.from_sklearn(model)
    path = ensemble.save(tmp_path / "trees")
    assert sorted(p.name for p in path.iterdir()) == ["arrays.npz", "ensemble.json"]
    loaded = TreeEnsemble.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), ensemble.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.classes_.tolist() == model.classes_.tolist() and loaded.n_features == N_FEATURES


def test_a_model_with_categorical_features_is_refused():
    X = features(500, seed=0)
    X[:, 0] = np.random.default_rng(0).integers(0, 4, len(X))
    model = HistGradientBoostingClassifier(max_iter=5, categorical_features=[0]).fit(X, X[:, 0] % 2)
    with pytest.raises(ConfigError, match="categorical features"):
        TreeEnsemble.from_sklearn(model)


def test_an_unfitted_model_is_refused():
    with pytest.raises(NotFittedError, match="not fitted"):
        TreeEnsemble.from_sklearn(HistGradientBoostingClassifier())


def test_input_of_another_width_is_refused(binary):
    with pytest.raises(DataError, match=r"shape \(n, 6\)"):
        TreeEnsemble.from_sklearn(binary).predict_proba(np.zeros((3, 5)))


def truncate_arrays(path: Path) -> None:
    data = (path / "arrays.npz").read_bytes()
    (path / "arrays.npz").write_bytes(data[: len(data) // 2])


def garble_metadata(path: Path) -> None:
    (path / "ensemble.json").write_text('{"format_version": 1, "cla')


def make_a_cycle(path: Path) -> None:
    with np.load(path / "arrays.npz", allow_pickle=False) as data:
        arrays = dict(data)
    arrays["left"][np.flatnonzero(~arrays["is_leaf"])[1]] = 0  # a child pointing back at the root
    np.savez(path / "arrays.npz", **arrays)


def drop_classes(path: Path) -> None:
    meta = json.loads((path / "ensemble.json").read_text())
    del meta["classes"]
    (path / "ensemble.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("corrupt, message", [
    (truncate_arrays, "arrays.npz: unreadable or truncated"),
    (garble_metadata, "ensemble.json: corrupted or truncated"),
    (lambda path: (path / "arrays.npz").unlink(), "arrays.npz is missing"),
    (make_a_cycle, "malformed ensemble .*not after its parent"),
    (drop_classes, "malformed ensemble .*KeyError"),
])
def test_a_corrupted_file_raises_model_file_error(binary, tmp_path, corrupt, message):
    path = TreeEnsemble.from_sklearn(binary).save(tmp_path / "trees")
    corrupt(path)
    with pytest.raises(ModelFileError, match=message) as caught:
        TreeEnsemble.load(path)
    assert "\n" not in str(caught.value)


def test_a_failed_save_leaves_nothing(binary, tmp_path, monkeypatch):
    def fail(directory, arrays):
        raise OSError("disk full")

    monkeypatch.setattr(anomaly.trees, "save_arrays", fail)
    with pytest.raises(OSError, match="disk full"):
        TreeEnsemble.from_sklearn(binary).save(tmp_path / "trees")
    assert list(tmp_path.iterdir()) == []


def test_loading_and_predicting_import_neither_sklearn_nor_scipy(binary, tmp_path):
    path = TreeEnsemble.from_sklearn(binary).save(tmp_path / "trees")
    code = ("import sys, numpy as np; from anomaly.trees import TreeEnsemble; "
            f"p = TreeEnsemble.load({str(path)!r}).predict_proba(np.full((4, {N_FEATURES}), np.nan)); "
            "print(p.shape, 'sklearn' in sys.modules, 'scipy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["(4,", "2)", "False", "False"]


def test_rows_are_walked_together(binary):
    """100,000 rows through 100 trees in about half a second on one core; a loop over rows would take minutes."""
    ensemble, X = TreeEnsemble.from_sklearn(binary), features(100_000, seed=4)
    start = time.perf_counter()
    ensemble.predict_proba(X)
    assert time.perf_counter() - start < 5.0


def test_trees_grown_on_bin_codes_score_the_raw_features_as_on_their_codes():
    """fit_balanced bins the features itself: the ensemble, its thresholds moved back to the raw
    edges, scores raw rows (NaN, +-inf, values on and beside every edge) as scikit-learn scores their codes."""
    X = features(3000, seed=0)
    y = np.where(np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 1]) ** 2 > 1.5, "fault", "normal")
    weights = np.where(y == "fault", 3.0, 1.0)
    edges = anomaly.trees.quantile_edges(X, weights, 32)
    model = HistGradientBoostingClassifier(max_iter=30, max_bins=32, random_state=0).fit(anomaly.trees.bin_codes(X, edges), y)
    ensemble = TreeEnsemble.from_sklearn(model, edges)
    rows = features(2000, seed=5)
    every = np.concatenate(edges)
    rows[np.arange(len(every)) % len(rows), np.repeat(np.arange(N_FEATURES), [len(e) for e in edges])] = every  # on the edges
    rows[:10, 0], rows[10:20, 1], rows[20:30, 2] = np.inf, -np.inf, np.nan
    np.testing.assert_array_equal(ensemble.raw_scores(rows), model._raw_predict(anomaly.trees.bin_codes(rows, edges)))


def test_bins_hold_equal_weight_or_one_distinct_value_each():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.standard_normal(4000), rng.integers(0, 5, 4000).astype(float)])
    faulty = X[:, 0] > 1.0  # the upper tail weighs 4 x
    weights = np.where(faulty, 4.0, 1.0)
    quantiles, steps = anomaly.trees.quantile_edges(X, weights, 16)
    np.testing.assert_array_equal(steps, [0.5, 1.5, 2.5, 3.5])  # five values: the midpoints
    held = np.bincount(np.searchsorted(quantiles, X[:, 0]), weights=weights)
    assert len(quantiles) == 15 and np.allclose(held, weights.sum() / 16, rtol=0.02)


def test_fit_balanced_learns_as_scikit_learns_own_balanced_classifier():
    from sklearn.metrics import average_precision_score

    X, Xt = features(4000, seed=0), features(4000, seed=6)
    y, yt = (np.nan_to_num(F[:, 0]) + 0.5 * np.nan_to_num(F[:, 1]) ** 2 > 2.0 for F in (X, Xt))  # about 5 % faults
    ours = anomaly.trees.fit_balanced(X, y, max_iter=50, random_state=0).predict_proba(Xt)[:, 1]
    theirs = HistGradientBoostingClassifier(max_iter=50, random_state=0, class_weight="balanced").fit(X, y).predict_proba(Xt)[:, 1]
    assert average_precision_score(yt, ours) > average_precision_score(yt, theirs) - 0.02
    assert np.corrcoef(ours, theirs)[0, 1] > 0.95


@pytest.mark.parametrize("values", [np.arange(510.0), np.arange(2550) // 2 / 10.0])
def test_edges_with_equal_weights_are_the_percentiles_scikit_learn_takes_unweighted(values):
    """Equal weights put many levels exactly on a value's boundary: those take the mean of the two
    values, where NumPy's "averaged_inverted_cdf" percentiles at scikit-learn's levels put them."""
    levels = np.linspace(0, 100, 256)[1:-1]
    expected = np.unique(np.percentile(values, levels, method="averaged_inverted_cdf"))
    np.testing.assert_array_equal(anomaly.trees.quantile_edges(values[:, None], np.ones(len(values)), 255)[0], expected)
