"""Adversarial examples against detectors: FGSM, PGD and the smallest successful perturbation.

Perturbations are bounded in the L-infinity norm in **scaled units** (the detector's
``scaler_``: with standard scaling, ``epsilon=1`` lets every channel move by up to one
training standard deviation). A perturbed frame is returned in original units with the
input's index; rows the attack leaves alone are bit-identical.

Goals
-----
``"evade"``
    Every score of the frame at or below ``detector.threshold_`` (a fault segment that raises
    no alarm). Loss: ``sum(relu(score - target))``.
``"alarm"``
    At least one score above ``detector.threshold_`` (a false alarm on normal data). Loss:
    ``relu(target - max(score))``.

``target`` is the threshold moved by 0.1 % towards the goal, so a success survives the
rounding differences between the gradient path and ``detector.score``. Gradients come from
:func:`anomaly.generative.differentiable.score_graph` (the detector's own score in
``keras.ops``); every reported success is re-checked through the public ``detector.score``.
The only TensorFlow-specific code is :func:`_loss_and_gradient` (a ``GradientTape``).

PGD (Madry et al., ICLR 2018) takes ``steps`` signed-gradient steps, projecting back into the
epsilon box, stops early once the goal is met and returns the iterate with the lowest loss.
Steps shrink geometrically from ``epsilon / 5`` to ``FINEST_STEP`` (0.001 scaled units) unless
``step_size`` fixes them: signed steps move every value by the full step, so a last step of a
few percent of a large epsilon leaves noise on every value that alone keeps some scores above
the threshold (measured on the Conv-AE in ``benchmarks/adversarial.py``).
:func:`smallest_epsilon` bisects epsilon (geometrically) with PGD. PGD is a heuristic: the
epsilon found is an upper bound on the smallest perturbation that succeeds, not a certificate
that nothing smaller does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError
from anomaly.generative.differentiable import score_graph
from anomaly.nn.backend import import_keras
from anomaly.thresholds import Threshold
from anomaly.validation import check_number

GOALS = ("evade", "alarm")
MARGIN = 1e-3  # relative move of the target past the threshold
FINEST_STEP = 1e-3  # last PGD step (scaled units) of the default schedule


def _loss_and_gradient(loss):
    """Compile ``loss(Z, target)`` (TensorFlow tensors) into ``f(Z, target) -> (loss, dloss/dZ)`` as NumPy."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(Z, target):
        with tf.GradientTape() as tape:
            tape.watch(Z)
            value = loss(Z, target)
        return value, tape.gradient(value, Z)

    def run(Z: np.ndarray, target: float) -> tuple[float, np.ndarray]:
        value, grad = step(tf.constant(Z, tf.float32), tf.constant(target, tf.float32))
        return float(value), tf.convert_to_tensor(grad).numpy()  # a gather's gradient arrives as IndexedSlices

    return run


class _Problem:
    """One detector, one frame, one goal: scaled rows, the loss gradient and the perturbed frame."""

    def __init__(self, detector, frame: pd.DataFrame, goal: str, source: str):

        if goal not in GOALS:
            raise ConfigError(f"goal={goal!r} is not one of {list(GOALS)}")
        detector.check_fitted()
        if type(detector.thresholder_).apply is not Threshold.apply:
            raise ConfigError(f"{type(detector.thresholder_).__name__} does not flag 'score > threshold_'; attacks support "
                              "Percentile, KSigma, SkabUCL and POT thresholds")
        detector = detector.without_sensor_checks()  # what the gradient sees is what decides
        self.detector, self.goal, self.source = detector, goal, source
        frame, self.values = detector.prepare(frame, source)
        self.index, self.columns = frame.index, list(detector.schema_.channels)
        self.Z = detector.scaler_.transform(self.values)
        threshold = detector.threshold_
        self.target = threshold - MARGIN * abs(threshold) if goal == "evade" else threshold + MARGIN * abs(threshold)
        ops = import_keras().ops
        scores = score_graph(detector, len(self.Z))
        if goal == "evade":
            self.gradient = _loss_and_gradient(lambda Z, target: ops.sum(ops.relu(scores(Z) - target)))
        else:
            self.gradient = _loss_and_gradient(lambda Z, target: ops.relu(target - ops.max(scores(Z))))

    def frame(self, delta: np.ndarray) -> pd.DataFrame:
        """The input frame moved by ``delta`` (n, c) scaled units, in original units."""
        moved = self.values + delta.astype(np.float32) * self.detector.scaler_.scale_
        return pd.DataFrame(moved, index=self.index, columns=self.columns)

    def max_score(self, frame: pd.DataFrame) -> float:
        return float(self.detector.score(frame, source=self.source).max())

    def reached(self, max_score: float) -> bool:
        """Goal met according to the public ``detector.score``."""
        threshold = self.detector.threshold_
        return max_score <= threshold if self.goal == "evade" else max_score > threshold

    def pgd(self, epsilon: float, steps: int, step_size: float | None, seed: int | None) -> np.ndarray:
        """The perturbation (n, c) with the lowest loss among the PGD iterates."""
        delta = np.zeros_like(self.Z)
        if epsilon == 0.0:
            return delta
        if seed is not None:
            delta = np.random.default_rng(seed).uniform(-epsilon, epsilon, self.Z.shape).astype(np.float32)
        if step_size is None:
            alphas = np.geomspace(epsilon / 5, min(epsilon / 5, FINEST_STEP), steps)
        else:
            alphas = np.full(steps, step_size)
        best, best_loss = delta, np.inf
        for alpha in alphas:
            loss, grad = self.gradient(self.Z + delta, self.target)
            if loss < best_loss:
                best, best_loss = delta, loss
            if loss <= 0.0:
                break
            delta = np.clip(delta - alpha * np.sign(grad), -epsilon, epsilon).astype(np.float32)
        else:
            loss, _ = self.gradient(self.Z + delta, self.target)
            if loss < best_loss:
                best = delta
        return best


def _check_epsilon(epsilon) -> float:
    return float(check_number("epsilon", epsilon, low=0))


def fgsm(detector, frame: pd.DataFrame, epsilon: float, *, goal: str = "evade", source: str = "input") -> pd.DataFrame:
    """Fast gradient sign method: one step of ``epsilon`` against the sign of the loss gradient.

    Parameters
    ----------
    detector : fitted detector (see :func:`~anomaly.generative.differentiable.score_graph`)
    frame : pandas.DataFrame of shape (n_steps, n_channels)
    epsilon : float
        L-infinity bound in scaled units (>= 0).
    goal : {"evade", "alarm"}

    Returns
    -------
    pandas.DataFrame of shape (n_steps, n_channels)
        ``frame`` plus ``-epsilon * sign(gradient)`` (scaled units), in original units. Rows
        whose gradient is 0 (e.g. every row already meets an "evade" goal) are unchanged.
    """
    epsilon = _check_epsilon(epsilon)
    problem = _Problem(detector, frame, goal, source)
    _, grad = problem.gradient(problem.Z, problem.target)
    return problem.frame(-epsilon * np.sign(grad))


def pgd(detector, frame: pd.DataFrame, epsilon: float, *, goal: str = "evade", steps: int = 100,
        step_size: float | None = None, seed: int | None = None, source: str = "input") -> pd.DataFrame:
    """Projected gradient descent inside the L-infinity ball of radius ``epsilon`` (scaled units).

    Parameters
    ----------
    steps : int, default=100
        Signed-gradient steps (fewer when the goal is met earlier).
    step_size : float or None
        Constant step; None: shrinking geometrically from ``epsilon / 5`` to 0.001.
    seed : int or None
        None starts from the unperturbed frame; an int starts from a uniform random point of
        the ball drawn with that seed.

    Returns
    -------
    pandas.DataFrame of shape (n_steps, n_channels), original units
        The perturbed frame (whether or not the goal was met: check ``detector.score``).
    """
    epsilon = _check_epsilon(epsilon)
    check_number("steps", steps, low=1, integer=True)
    if step_size is not None:
        check_number("step_size", step_size, low=0, low_open=True)
    problem = _Problem(detector, frame, goal, source)
    return problem.frame(problem.pgd(epsilon, steps, step_size, seed))


@dataclass
class AttackResult:
    """Outcome of :func:`smallest_epsilon`.

    Attributes
    ----------
    goal : str
    epsilon : float or None
        Smallest L-infinity perturbation (scaled units) found to meet the goal; 0.0 when the
        frame meets it unperturbed; None when PGD failed at ``max_epsilon``.
    frame : pandas.DataFrame or None
        The perturbed frame at ``epsilon`` (original units), None when not reached.
    max_score_before, max_score_after : float
        Highest ``detector.score`` of the frame before and after (after: at ``epsilon``, or
        at ``max_epsilon`` when not reached).
    threshold : float
    pgd_runs : int
    """

    goal: str
    epsilon: float | None
    frame: pd.DataFrame | None
    max_score_before: float
    max_score_after: float
    threshold: float
    pgd_runs: int

    @property
    def success(self) -> bool:
        return self.epsilon is not None

    def to_dict(self) -> dict:
        """JSON-serialisable summary (without the frame)."""
        return {"goal": self.goal, "epsilon": self.epsilon, "max_score_before": self.max_score_before,
                "max_score_after": self.max_score_after, "threshold": self.threshold, "pgd_runs": self.pgd_runs}


def smallest_epsilon(detector, frame: pd.DataFrame, *, goal: str = "evade", max_epsilon: float = 32.0,
                     min_epsilon: float = 1e-3, rtol: float = 0.05, steps: int = 100, source: str = "input") -> AttackResult:
    """Smallest L-infinity perturbation that meets ``goal``, by geometric bisection with PGD.

    PGD runs at ``max_epsilon`` first; if that fails the result has ``epsilon=None``.
    Otherwise epsilon is bisected between ``min_epsilon`` and ``max_epsilon`` (as
    ``sqrt(lo * hi)``) until ``hi / lo <= 1 + rtol``; each success is verified with
    ``detector.score`` on the perturbed frame.

    Parameters
    ----------
    detector : fitted detector
    frame : pandas.DataFrame of shape (n_steps, n_channels)
        E.g. a fault segment (goal "evade") or a normal segment (goal "alarm").
    goal : {"evade", "alarm"}
    max_epsilon, min_epsilon : float, default=32.0 and 0.001
        Search range in scaled units (0 < min_epsilon < max_epsilon). Faults of the simulated
        arm measure up to ~50 training standard deviations (a heated joint), so hiding them
        can take more than a few units.
    rtol : float, default=0.05
        Relative resolution of the returned epsilon.
    steps : int, default=100
        PGD steps per trial epsilon.

    Returns
    -------
    AttackResult
    """
    check_number("max_epsilon", max_epsilon, low=0, low_open=True)
    check_number("min_epsilon", min_epsilon, low=0, low_open=True)
    check_number("rtol", rtol, low=0, low_open=True)
    check_number("steps", steps, low=1, integer=True)
    if min_epsilon >= max_epsilon:
        raise ConfigError(f"min_epsilon={min_epsilon!r} must be smaller than max_epsilon={max_epsilon!r}")
    problem = _Problem(detector, frame, goal, source)
    original = problem.frame(np.zeros_like(problem.Z))
    before = problem.max_score(original)
    if problem.reached(before):
        return AttackResult(goal, 0.0, original, before, before, detector.threshold_, 0)

    def attempt(epsilon: float) -> tuple[pd.DataFrame, float]:
        moved = problem.frame(problem.pgd(epsilon, steps, None, None))
        return moved, problem.max_score(moved)

    best, after = attempt(max_epsilon)
    runs = 1
    if not problem.reached(after):
        return AttackResult(goal, None, None, before, after, detector.threshold_, runs)
    lo, hi = float(min_epsilon), float(max_epsilon)
    while hi / lo > 1.0 + rtol:
        mid = float(np.sqrt(lo * hi))
        moved, score = attempt(mid)
        runs += 1
        if problem.reached(score):
            hi, best, after = mid, moved, score
        else:
            lo = mid
    return AttackResult(goal, hi, best, before, after, detector.threshold_, runs)
