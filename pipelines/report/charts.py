"""Matplotlib charts of a comparison, rendered to PNG bytes (embedded in the HTML and saved for papers).

Long series are reduced to a min/max envelope per bucket, so a one-sample spike still shows.
"""

from __future__ import annotations

import io

import numpy as np

from anomaly.decisions import event_ranges


def pyplot():
    """Matplotlib's pyplot on the Agg backend, imported on first use (it takes ~1 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt

BUCKETS = 1500


def envelope(values: np.ndarray, buckets: int = BUCKETS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions, minima and maxima of ``values`` (n,) over at most ``buckets`` equal buckets."""
    n = len(values)
    if n <= buckets:
        x = np.arange(n)
        return x, values, values
    edges = np.linspace(0, n, buckets + 1).astype(int)
    return edges[:-1], np.minimum.reduceat(values, edges[:-1]), np.maximum.reduceat(values, edges[:-1])


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buffer.getvalue()


def _shade(ax, flags: np.ndarray, color: str, label: str) -> None:
    for i, (start, end) in enumerate(event_ranges(flags)):
        ax.axvspan(start, end + 1, color=color, alpha=0.25, lw=0, label=label if i == 0 else None)


def timeline(signals, scores: np.ndarray, threshold: float, labels: np.ndarray, flags: np.ndarray, title: str) -> bytes:
    """Signals (top channels, scaled), score with threshold, true and detected events."""
    fig, (top, bottom) = pyplot().subplots(2, 1, figsize=(11, 4.2), sharex=True, gridspec_kw={"height_ratios": [1.2, 1]})
    for name in signals.columns:
        x, lo, hi = envelope(signals[name].to_numpy(np.float64))
        top.fill_between(x, lo, hi, lw=0.6, alpha=0.8, label=str(name))
    _shade(top, flags, "tab:blue", "detected")
    top.legend(loc="upper right", fontsize=7, ncol=4)
    top.set_ylabel("signal (z)")
    x, lo, hi = envelope(scores.astype(np.float64))
    bottom.fill_between(x, lo, hi, color="black", lw=0.6, label="score")
    bottom.axhline(threshold, color="crimson", lw=1, ls="--", label="threshold")
    _shade(bottom, labels, "tab:orange", "true anomaly")
    bottom.set_yscale("symlog", linthresh=max(threshold, 1e-6))
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper right", fontsize=7, ncol=3)
    bottom.set_xlabel("test row")
    top.set_title(title, fontsize=10)
    return _png(fig)


def pr_curves(labels: np.ndarray, scores: dict[str, np.ndarray]) -> bytes:
    """Precision-recall curves of every detector, with the anomaly rate as the no-skill line."""
    from sklearn.metrics import precision_recall_curve  # scikit-learn only when a report is drawn

    fig, ax = pyplot().subplots(figsize=(5.5, 4.2))
    for name, s in scores.items():
        precision, recall, _ = precision_recall_curve(labels, s)
        ax.plot(recall, precision, lw=1.2, label=name)
    ax.axhline(labels.mean(), color="grey", ls=":", label="random")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    ax.set_title("Precision-recall (pooled test rows)", fontsize=10)
    return _png(fig)


def heatmap(errors, labels: np.ndarray, title: str) -> bytes:
    """Per-channel error over time (bucket maxima, log colour scale), true anomalies marked."""
    values = errors.to_numpy(np.float64)
    n = len(values)
    edges = np.linspace(0, n, min(n, 600) + 1).astype(int)
    grid = np.maximum.reduceat(values, edges[:-1], axis=0).T
    fig, ax = pyplot().subplots(figsize=(11, 0.18 * len(errors.columns) + 1.2))
    ax.imshow(np.log10(grid + 1e-6), aspect="auto", interpolation="nearest", cmap="magma",
              extent=(0, n, len(errors.columns) - 0.5, -0.5))
    ax.set_yticks(range(len(errors.columns)), [str(c) for c in errors.columns], fontsize=6)
    for start, end in event_ranges(labels):
        ax.axvline(start, color="cyan", lw=0.6)
        ax.axvline(end + 1, color="cyan", lw=0.6, ls=":")
    ax.set_xlabel("test row")
    ax.set_title(title, fontsize=10)
    return _png(fig)
