"""Option values turned into toolkit objects, for several commands: threshold rules, detector
parameters, comma-separated integers."""

from __future__ import annotations

import json

from anomaly import ConfigError
from anomaly.registry import detector_class
from anomaly.thresholds import THRESHOLDS


def parse_value(text: str):
    """A ``--param`` value: JSON when it parses (numbers, lists, true/false), else a string."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def threshold_rule(threshold: str, q: float):
    """An unfitted threshold by CLI name; ``q`` is the percentile of percentile/skab-ucl/quiet-logs."""
    if threshold not in THRESHOLDS:
        raise ConfigError(f"unknown threshold {threshold!r}; choose one of {sorted(THRESHOLDS)}")
    rule = THRESHOLDS[threshold]
    return rule(q=q) if threshold in ("percentile", "skab-ucl", "quiet-logs") else rule()


def assignment(item: str, where: str, hint: str = "") -> tuple[str, object]:
    """``"name=value"`` -> ``(name, value)``: the name with ``-`` as ``_``, the value as
    :func:`parse_value`; anything else is a ConfigError starting with ``where``."""
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{where} {item!r} must look like name=value{hint}")
    return key.strip().replace("-", "_"), parse_value(value.strip())


def check_accepted(detector: str, params: dict, where: str) -> None:
    """ConfigError starting with ``where`` unless ``detector``'s constructor takes every key of ``params``."""
    accepted = detector_class(detector)().get_params()
    unknown = sorted(k for k in params if k not in accepted)
    if unknown:
        raise ConfigError(f"{where} has no parameter(s) {unknown}; it accepts {sorted(accepted)}")


def detector_variant(spec: str) -> tuple[str, dict]:
    """``compare``'s detector spec: ``"pca"`` -> ``("pca", {})``, ``"pca:changes=4:n_components=0.9"``
    -> ``("pca", {"changes": 4, "n_components": 0.9})`` (values as :func:`parse_value`). An unknown
    detector or parameter, or an item that is not ``name=value``, is a :class:`ConfigError`."""
    name, *items = [part.strip() for part in spec.split(":")]
    params = dict(assignment(item, f"detector {spec!r}:", " (e.g. pca:changes=4)") for item in items)
    check_accepted(name, params, f"detector {spec!r}: {name!r}")
    return name, params


def detector_params(detector: str, options: dict, extra: list[str], threshold: str, q: float) -> dict:
    """Constructor parameters from the CLI options that were given; refuse ones the detector lacks."""
    params = {k: v for k, v in options.items() if v is not None}
    params["threshold"] = threshold_rule(threshold, q)
    params.update(assignment(item, "--param") for item in extra)
    if isinstance(params.get("n_components"), float) and params["n_components"] >= 1:
        params["n_components"] = int(params["n_components"])
    check_accepted(detector, params, f"detector {detector!r}")
    return params


def int_tuple(text: str | None) -> tuple[int, ...] | None:
    """``"64,32"`` -> ``(64, 32)``; None stays None."""
    if text is None:
        return None
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"expected comma-separated integers, got {text!r}") from None


def condition_channels(text: str):
    """``--condition``: ``"auto"``, or a list of channel names from ``"a,b"`` (empty from ``"none"``)."""
    if text == "auto":
        return text
    if text == "none":
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError(f"--condition {text!r} names no channel; give names separated by commas, auto or none")
    return names
