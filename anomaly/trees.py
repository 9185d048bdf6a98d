"""Gradient-boosted trees without pickle: a fitted scikit-learn ``HistGradientBoostingClassifier``
read into plain arrays, saved as ``.npz`` + JSON, and scored with NumPy only.

Only :meth:`TreeEnsemble.from_sklearn` needs scikit-learn (imported there); loading and
predicting import neither scikit-learn nor SciPy.

Layout of a saved ensemble::

    DIRECTORY/
      ensemble.json   format version, class, link, number of features, class labels
      arrays.npz      every tree's nodes, the trees one after another (tree ``t`` adds to
                      output ``t % n_outputs``), the tree sizes and the baseline scores

How prediction walks the trees: all rows go through one tree together, one level per step.
For that the nodes are laid out again so that the two children of a node are neighbours, the
first one being the side missing values take. A step is then ``node = first_child[node] + test``
with a test that is False for NaN: ``x <= threshold`` where missing values go right, and
``-x <= -nextup(threshold)`` (that is ``x > threshold``) where they go left, reading the
column of ``-X`` in the matrix ``[X, -X]``. A leaf is its own first child with a NaN threshold
(the test is always False), so rows that reached a leaf stay there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from anomaly.bundle import load_arrays, save_arrays
from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError
from anomaly.files import atomic_directory, read_saved

__all__ = ["TreeEnsemble"]

FORMAT_VERSION = 1
#: Rows walked together: few enough that their buffers stay in the CPU cache.
CHUNK_ROWS = 16384
META_FILE = "ensemble.json"
#: Rows up to which prediction walks every tree at once (:func:`add_leaf_values_of_few_rows`).
FEW_ROWS = 16
#: Link from raw scores to probabilities -> the scikit-learn loss that uses it.
LINKS = {"logistic": "HalfBinomialLoss", "softmax": "HalfMultinomialLoss"}
#: Saved arrays -> dtype kinds accepted ("i"/"u" integer, "f" float, "b" bool) and the dtype kept.
ARRAYS = {
    "feature": ("iu", np.int64),        # (n_nodes,) column tested by an internal node
    "threshold": ("f", np.float64),     # (n_nodes,) x <= threshold goes left
    "missing_left": ("b", np.bool_),    # (n_nodes,) NaN goes left
    "left": ("iu", np.int64),           # (n_nodes,) children: node indices within the tree
    "right": ("iu", np.int64),
    "is_leaf": ("b", np.bool_),         # (n_nodes,)
    "value": ("f", np.float64),         # (n_nodes,) raw score of a leaf
    "tree_sizes": ("iu", np.int64),     # (n_trees,) nodes per tree
    "baseline": ("f", np.float64),      # (n_outputs,) raw score before the first tree
}
NODE_ARRAYS = ("feature", "threshold", "missing_left", "left", "right", "is_leaf", "value")


class Walk(NamedTuple):
    """Nodes laid out for prediction (see the module docstring); node indices are global.

    feature (n_nodes,) column of ``[X, -X]``; threshold (n_nodes,); first_child (n_nodes,);
    value (n_nodes,); roots (n_trees,); depths (n_trees,) levels of each tree.
    """

    feature: np.ndarray
    threshold: np.ndarray
    first_child: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depths: np.ndarray


class TreeEnsemble:
    """A gradient-boosted tree classifier: trees as arrays, scored with NumPy only.

    Parameters
    ----------
    arrays : dict of str to ndarray
        The entries of :data:`ARRAYS` (nodes, tree sizes, baseline), as ``from_sklearn`` builds them.
    classes : sequence
        The class labels (n_classes,), in the order of the probability columns.
    n_features : int
        Columns of ``X``.
    link : str
        ``"logistic"`` (two classes, one raw score) or ``"softmax"`` (one raw score per class).

    Raises
    ------
    ConfigError
        If the arrays do not describe binary trees consistent with the other arguments.
    """

    def __init__(self, arrays: dict[str, np.ndarray], *, classes, n_features: int, link: str):
        self.classes_ = np.asarray(classes)
        if self.classes_.ndim != 1 or self.classes_.dtype.kind not in "biufU":
            raise ConfigError("classes must be a sequence of numbers or strings")
        self.n_features = n_features
        self.link = link
        self.arrays = check_arrays(arrays, n_outputs(link, len(self.classes_)), n_features)
        self._walk = lay_out(self.arrays, n_features)

    @classmethod
    def from_sklearn(cls, model, edges: list[np.ndarray] | None = None) -> TreeEnsemble:
        """The trees of a fitted ``HistGradientBoostingClassifier``; with ``edges``, of one fitted
        on bin codes (:func:`bin_codes`): each threshold is moved back to the raw feature's edge.

        Raises
        ------
        NotFittedError
            If ``model`` is not fitted.
        ConfigError
            If it is another estimator, or uses what this class does not reproduce exactly:
            categorical features, or a loss other than log loss.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier  # fitting side only

        if not isinstance(model, HistGradientBoostingClassifier):
            raise ConfigError(f"TreeEnsemble.from_sklearn takes a HistGradientBoostingClassifier, not {type(model).__name__}")
        if not hasattr(model, "_predictors"):
            raise NotFittedError("the HistGradientBoostingClassifier is not fitted")
        link = {loss: link for link, loss in LINKS.items()}.get(type(model._loss).__name__)
        if link is None:
            raise ConfigError(f"the loss {type(model._loss).__name__} is not supported (log loss only)")
        nodes = [predictor.nodes for iteration in model._predictors for predictor in iteration]
        categorical = getattr(model, "is_categorical_", None) is not None or getattr(model, "_preprocessor", None) is not None
        if categorical or any(tree["is_categorical"].any() for tree in nodes):
            raise ConfigError("the model has categorical features, which TreeEnsemble does not reproduce; "
                              "fit it on numeric features only (categorical_features=None)")
        arrays = sklearn_arrays(nodes, model._baseline_prediction)
        if edges is not None:
            arrays["threshold"] = raw_thresholds(arrays, edges)
        return cls(arrays, classes=model.classes_.tolist(), n_features=int(model.n_features_in_), link=link)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (n, n_classes) of ``X`` (n, n_features); NaN means missing."""
        raw = self.raw_scores(X)
        if self.link == "logistic":
            positive = np.exp(-np.logaddexp(0.0, -raw[:, 0]))  # 1 / (1 + exp(-raw)) without overflow
            return np.column_stack([1.0 - positive, positive])
        exp = np.exp(raw - raw.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """Class labels (n,) of ``X`` (n, n_features), decided on the raw scores as scikit-learn does."""
        raw = self.raw_scores(X)
        best = (raw[:, 0] > 0).astype(np.intp) if self.link == "logistic" else raw.argmax(axis=1)
        return self.classes_[best]

    def raw_scores(self, X) -> np.ndarray:
        """Raw scores (n, n_outputs) of ``X`` (n, n_features): the baseline plus each tree's leaf value."""
        X = feature_matrix(X, self.n_features)
        raw = np.empty((len(X), len(self.arrays["baseline"])), order="F")
        raw[:] = self.arrays["baseline"]
        if len(X) <= FEW_ROWS:
            add_leaf_values_of_few_rows(self._walk, np.hstack([X, -X]), raw)
            return raw
        for start in range(0, len(X), CHUNK_ROWS):
            chunk = X[start:start + CHUNK_ROWS]
            add_leaf_values(self._walk, np.hstack([chunk, -chunk]), raw[start:start + CHUNK_ROWS])
        return raw

    def save(self, directory: str | Path) -> Path:
        """Write the ensemble to ``directory`` (atomically: all of it or nothing) and return its path.

        An existing saved ensemble there is replaced; any other non-empty directory or a file is
        refused with :class:`ModelFileError`.
        """
        meta = {"format_version": FORMAT_VERSION, "class": type(self).__name__, "link": self.link,
                "n_features": self.n_features, "classes": self.classes_.tolist()}

        def write(tmp: Path) -> None:
            save_arrays(tmp, self.arrays)
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

        return atomic_directory(directory, write, marker=META_FILE)

    @classmethod
    def load(cls, directory: str | Path) -> TreeEnsemble:
        """Read an ensemble written by :meth:`save`; runs no code from the files.

        Raises
        ------
        ModelFileError
            If a file is missing, truncated, corrupted, from a newer format or inconsistent.
        """
        directory = Path(directory)
        meta = read_saved(directory, META_FILE, directory="ensemble", saved=cls.__name__, format_version=FORMAT_VERSION)
        arrays = load_arrays(directory, tuple(ARRAYS))
        try:
            return cls(arrays, classes=meta["classes"], n_features=meta["n_features"], link=meta["link"])
        except (KeyError, TypeError, ValueError) as exc:  # ConfigError is a ValueError
            raise ModelFileError(f"{directory}: malformed ensemble ({exc.__class__.__name__}: {exc})") from None


def fit_balanced(X, y, **params) -> TreeEnsemble:
    """A ``HistGradientBoostingClassifier(class_weight="balanced", **params)`` fitted on ``X``
    (n, f) and labels ``y`` (n,), as a :class:`TreeEnsemble`.

    The features are binned here, at the quantiles of the class-balanced weights
    (:func:`quantile_edges`), and the classifier is fitted on their bin codes: scikit-learn 1.9
    bins sample-weighted features with one weighted percentile call per bin, which made 93 % of
    the fit (a classifier of 20,000 rows x 143 features: 29.6 s, unweighted 2.0 s). Its own
    binning of the codes (at most ``max_bins`` values) is then a copy, the balanced weights
    still weigh the loss, and the trees' thresholds are moved back to the edges.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier  # fitting side only
    from sklearn.utils.class_weight import compute_sample_weight

    X = np.asarray(X, dtype=np.float64)
    model = HistGradientBoostingClassifier(class_weight="balanced", **params)
    edges = quantile_edges(X, compute_sample_weight("balanced", y), model.max_bins)
    return TreeEnsemble.from_sklearn(model.fit(bin_codes(X, edges), y), edges)


def quantile_edges(X: np.ndarray, weights: np.ndarray, max_bins: int) -> list[np.ndarray]:
    """Per feature of ``X`` (n, f; NaN missing), the edges (at most ``max_bins - 1``, increasing)
    of its bins: with at most ``max_bins`` distinct values the midpoints between them, else the
    weighted quantiles at ``k / max_bins`` (``weights`` (n,) > 0; a quantile that falls exactly
    between two values is their mean), as scikit-learn bins a weighted feature."""
    edges = []
    levels = np.linspace(0, 100, max_bins + 1)[1:-1] / 100  # percentiles, as scikit-learn rounds them (ties fall alike)
    for column in X.T:
        known = ~np.isnan(column)
        order = np.argsort(column[known], kind="stable")
        values, cdf = column[known][order], np.cumsum(weights[known][order])
        distinct = values[np.concatenate([[True], values[1:] != values[:-1]])]  # values are sorted: no second sort
        if len(distinct) <= max_bins:
            edges.append((distinct[:-1] + distinct[1:]) / 2)
            continue
        target = levels * cdf[-1]
        at = np.minimum(np.searchsorted(cdf, target), len(values) - 1)
        on_edge = cdf[at] - target <= np.finfo(np.float64).eps
        quantiles = np.where(on_edge, (values[at] + values[np.minimum(at + 1, len(values) - 1)]) / 2, values[at])
        edges.append(np.unique(quantiles))
    return edges


def bin_codes(X: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """The bin code (n, f) of each value of ``X`` (n, f): how many of its feature's ``edges`` lie
    below it, so ``code <= k`` exactly when ``x <= edges[k]``; NaN stays NaN (missing)."""
    codes = np.empty(X.shape, dtype=np.float64)
    for j, (column, edge) in enumerate(zip(X.T, edges)):
        codes[:, j] = np.where(np.isnan(column), np.nan, np.searchsorted(edge, column, side="left"))
    return codes


def raw_thresholds(arrays: dict[str, np.ndarray], edges: list[np.ndarray]) -> np.ndarray:
    """The thresholds (n_nodes,) of trees grown on bin codes (:func:`bin_codes`) in raw units:
    ``code <= t`` is ``code <= floor(t)``, that is ``x <= edges[floor(t)]`` (+inf past the last
    edge); leaves keep theirs, and so do splits of missing values from all others (an infinite threshold)."""
    threshold = arrays["threshold"].astype(np.float64).copy()
    for node in np.flatnonzero(~arrays["is_leaf"].astype(bool) & np.isfinite(threshold)):
        edge, k = edges[int(arrays["feature"][node])], int(np.floor(threshold[node]))
        threshold[node] = edge[k] if k < len(edge) else np.inf  # k >= 0: scikit-learn's thresholds lie between codes
    return threshold


def n_outputs(link: str, n_classes: int) -> int:
    """Raw scores per row: 1 for the logistic link (two classes), ``n_classes`` for softmax."""
    if link not in LINKS:
        raise ConfigError(f"link {link!r} is unknown: allowed are {sorted(LINKS)}")
    if n_classes < 2 or (link == "logistic" and n_classes != 2):
        raise ConfigError(f"{n_classes} classes do not fit the {link} link")
    return 1 if link == "logistic" else n_classes


def sklearn_arrays(nodes: list[np.ndarray], baseline: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`ARRAYS` of scikit-learn trees: ``nodes`` (n_trees,) structured node arrays in
    iteration-major order, ``baseline`` (1, n_outputs)."""
    every = np.concatenate(nodes)
    arrays = {name: every[field] for name, field in [("feature", "feature_idx"), ("threshold", "num_threshold"),
                                                     ("missing_left", "missing_go_to_left"), ("left", "left"),
                                                     ("right", "right"), ("is_leaf", "is_leaf"), ("value", "value")]}
    arrays["missing_left"] = arrays["missing_left"].astype(bool)
    arrays["is_leaf"] = arrays["is_leaf"].astype(bool)
    return {**arrays, "tree_sizes": np.array([len(n) for n in nodes]), "baseline": np.ravel(baseline)}


def check_arrays(arrays: dict[str, np.ndarray], n_outputs: int, n_features: int) -> dict[str, np.ndarray]:
    """The :data:`ARRAYS` in their kept dtypes, checked to describe ``n_features``-column binary trees
    of ``n_outputs`` outputs, each node but the roots the child of exactly one node with a smaller index.

    Raises
    ------
    ConfigError
        If an array is missing, of another kind or shape, or the trees are not such trees.
    """
    checked = {}
    for name, (kinds, dtype) in ARRAYS.items():
        value = np.asarray(arrays[name]) if name in arrays else None
        if value is None or value.dtype.kind not in kinds or value.ndim != 1:
            raise ConfigError(f"{name} must be a 1-d array of kind {kinds!r}")
        checked[name] = value.astype(dtype)
    sizes, n_nodes = checked["tree_sizes"], len(checked["value"])
    if not isinstance(n_features, int) or isinstance(n_features, bool) or n_features < 1:
        raise ConfigError(f"n_features must be a positive int, not {n_features!r}")
    if len(checked["baseline"]) != n_outputs or not np.isfinite(checked["baseline"]).all():
        raise ConfigError(f"baseline must hold {n_outputs} finite scores")
    if any(len(checked[name]) != n_nodes for name in NODE_ARRAYS):
        raise ConfigError("the node arrays differ in length")
    if len(sizes) % n_outputs or (sizes < 1).any() or sizes.sum() != n_nodes:
        raise ConfigError(f"tree_sizes must be positive, sum to the {n_nodes} nodes and count a multiple of {n_outputs} trees")
    check_nodes(checked, n_features)
    return checked


def check_nodes(arrays: dict[str, np.ndarray], n_features: int) -> None:
    """Raise :class:`ConfigError` unless internal nodes test a column in range against a non-NaN
    threshold, leaves have finite values, and every non-root node has exactly one parent, within
    its tree and at a smaller index (so a walk ends in a leaf)."""
    internal, sizes = ~arrays["is_leaf"], arrays["tree_sizes"]
    starts = np.repeat(roots(sizes), sizes)
    local = np.arange(len(internal)) - starts  # (n_nodes,) index within the tree
    feature, threshold = arrays["feature"][internal], arrays["threshold"][internal]
    if ((feature < 0) | (feature >= n_features)).any() or np.isnan(threshold).any():
        raise ConfigError(f"an internal node tests a column outside 0..{n_features - 1} or has a NaN threshold")
    if not np.isfinite(arrays["value"][arrays["is_leaf"]]).all():
        raise ConfigError("a leaf value is not finite")
    children = np.concatenate([arrays[side][internal] for side in ("left", "right")])
    parents, size = np.tile(local[internal], 2), np.tile(np.repeat(sizes, sizes)[internal], 2)
    if ((children <= parents) | (children >= size)).any():
        raise ConfigError("a child index is outside its tree or not after its parent")
    parent_count = np.bincount(np.tile(starts[internal], 2) + children, minlength=len(internal))
    if (parent_count != (local > 0)).any():
        raise ConfigError("a node is not the child of exactly one node")


def roots(sizes: np.ndarray) -> np.ndarray:
    """Index (n_trees,) of each tree's first node, its root, from the tree sizes (n_trees,)."""
    return np.cumsum(sizes) - sizes


def lay_out(arrays: dict[str, np.ndarray], n_features: int) -> Walk:
    """The checked :data:`ARRAYS` laid out for :func:`leaves` (see the module docstring).

    Within a tree, the root stays first and the children of its ``k``-th internal node move to
    ``1 + 2 k`` (the side missing values take) and ``2 + 2 k``.
    """
    internal, sizes, missing_left = ~arrays["is_leaf"], arrays["tree_sizes"], arrays["missing_left"]
    starts = np.repeat(roots(sizes), sizes)  # (n_nodes,) the root of each node's tree
    before = np.cumsum(internal) - internal  # (n_nodes,) internal nodes before this one
    first_child = starts + 1 + 2 * (before - before[starts])
    missing_side = np.where(missing_left, arrays["left"], arrays["right"])[internal] + starts[internal]
    other_side = np.where(missing_left, arrays["right"], arrays["left"])[internal] + starts[internal]
    position = np.arange(len(internal))  # old index -> new index; roots keep theirs
    position[missing_side] = first_child[internal]
    position[other_side] = first_child[internal] + 1
    threshold = arrays["threshold"]
    with np.errstate(invalid="ignore"):  # NaN thresholds of leaves
        greater = np.where(threshold == np.inf, np.nan, -np.nextafter(threshold, np.inf))  # x > t as -x <= greater
    layout = {
        "feature": np.where(internal, arrays["feature"] + n_features * missing_left, 0),
        "threshold": np.where(internal, np.where(missing_left, greater, threshold), np.nan),
        "first_child": np.where(internal, first_child, position),
        "value": np.where(internal, 0.0, arrays["value"]),
    }
    order = np.empty_like(position)
    order[position] = np.arange(len(position))  # new index -> old index
    return Walk(**{name: column[order] for name, column in layout.items()}, roots=roots(sizes), depths=tree_depths(arrays))


def tree_depths(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Levels below the root (n_trees,) of each checked tree: the most steps a row takes."""
    sizes, internal = arrays["tree_sizes"], ~arrays["is_leaf"]
    starts = roots(sizes)
    depths = np.zeros(len(sizes), dtype=np.int64)
    nodes, trees = starts, np.arange(len(sizes))  # one level of every tree, and the tree of each node
    for depth in range(1, sizes.max()):
        nodes, trees = nodes[internal[nodes]], trees[internal[nodes]]
        if not len(nodes):
            break
        depths[trees] = depth
        nodes = np.concatenate([arrays["left"][nodes], arrays["right"][nodes]]) + np.tile(starts[trees], 2)
        trees = np.tile(trees, 2)
    return depths


def feature_matrix(X, n_features: int) -> np.ndarray:
    """``X`` as a float64 array (n, n_features).

    Raises
    ------
    DataError
        If ``X`` is not numeric or not of that shape.
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be numeric ({exc})") from None
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataError(f"X must have shape (n, {n_features}), not {X.shape}")
    return X


def add_leaf_values(walk: Walk, signed: np.ndarray, raw: np.ndarray) -> None:
    """Add to ``raw`` (n, n_outputs) the leaf value each row of ``signed`` (n, 2 n_features) reaches
    in each tree, tree after tree (the order scikit-learn sums them in, so the sums are the same)."""
    flat, row_starts = signed.ravel(), np.arange(0, signed.size, signed.shape[1])
    buffers = Buffers.empty(len(signed))
    for tree, (root, depth) in enumerate(zip(walk.roots, walk.depths)):
        raw[:, tree % raw.shape[1]] += walk.value[leaves(walk, flat, row_starts, root, depth, buffers)]


def add_leaf_values_of_few_rows(walk: Walk, signed: np.ndarray, raw: np.ndarray) -> None:
    """:func:`add_leaf_values` for a few rows (a stream step's): the rows go through every tree
    at once, one level of all trees per step (as many steps as the deepest tree), so the NumPy
    calls do not grow with the number of trees; the leaf values are summed in the same order."""
    n, outputs = len(signed), raw.shape[1]
    node = np.broadcast_to(walk.roots, (n, len(walk.roots))).copy()  # (n, n_trees)
    row_starts = np.arange(0, signed.size, signed.shape[1])[:, None]
    flat = signed.ravel()
    for _ in range(int(walk.depths.max(initial=0))):
        node = walk.first_child[node] + (flat[walk.feature[node] + row_starts] <= walk.threshold[node])
    values = walk.value[node].reshape(n, -1, outputs)  # (n, iterations, outputs): tree t adds to output t % outputs
    raw[:] = np.cumsum(np.concatenate([raw[:, None, :], values], axis=1), axis=1)[:, -1]  # a running sum: tree after tree


class Buffers(NamedTuple):
    """Arrays (n,) one walk through a tree writes into, allocated once per chunk of rows."""

    node: np.ndarray
    index: np.ndarray
    x: np.ndarray
    threshold: np.ndarray
    test: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Buffers:
        """Uninitialised buffers for ``n`` rows."""
        return cls(node=np.empty(n, np.intp), index=np.empty(n, np.intp), x=np.empty(n), threshold=np.empty(n), test=np.empty(n, bool))


def leaves(walk: Walk, flat: np.ndarray, row_starts: np.ndarray, root: int, depth: int, buffers: Buffers) -> np.ndarray:
    """The leaf (n,) each row reaches in the tree at ``root``, ``depth`` levels deep: all rows
    move one level per step. ``flat`` is ``[X, -X]`` (n, 2 n_features) raveled, ``row_starts``
    (n,) the index of each row's first value in it; the result is ``buffers.node``.

    The indices taken are valid by construction: ``mode="clip"`` only skips NumPy's buffered check.
    """
    node, index, x, threshold, test = buffers
    node.fill(root)
    for _ in range(depth):
        np.take(walk.feature, node, out=index, mode="clip")
        np.add(index, row_starts, out=index)
        np.take(flat, index, out=x, mode="clip")
        np.take(walk.threshold, node, out=threshold, mode="clip")
        np.less_equal(x, threshold, out=test)
        np.take(walk.first_child, node, out=index, mode="clip")
        np.add(index, test, out=node)
    return node
