"""PCA scoring speed on a 1,000,000 x 38 frame, as a ratio to bare scikit-learn in the same run.

Reference: ``sklearn.decomposition.PCA`` with the same number of components, reconstruction
``inverse_transform(transform(X))`` and the per-row mean squared error, on the same float32
array. Toolkit: ``PCADetector.score(frame)``, which also validates the frame (numeric, finite,
sorted index), matches the schema, scales the channels and returns a pandas Series.
Best of 3 runs each.

Run: ``python benchmarks/pca_speed.py`` -> ``benchmarks/results/pca_speed.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import best_seconds, write_result
from sklearn.decomposition import PCA

from anomaly import PCADetector

ROWS, CHANNELS, REPEATS = 1_000_000, 38, 3

def main() -> None:
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((ROWS, 6)).astype(np.float32)
    values = latent @ rng.standard_normal((6, CHANNELS)).astype(np.float32) + 0.1 * rng.standard_normal((ROWS, CHANNELS)).astype(np.float32)
    index = pd.date_range("2026-01-01", periods=ROWS, freq="10ms", name="timestamp")
    frame = pd.DataFrame(values, index=index, columns=[f"c{i}" for i in range(CHANNELS)])
    ref = PCA(n_components=PCADetector().fit(frame.iloc[:100_000]).n_components_).fit(values[:100_000])

    def bare():
        return ((values - ref.inverse_transform(ref.transform(values))) ** 2).mean(axis=1)

    bare_s = best_seconds(bare, REPEATS)
    result = {"rows": ROWS, "channels": CHANNELS, "n_components": ref.n_components_, "sklearn_rows_per_s": ROWS / bare_s, "toolkit": {}}
    # combined (T2+Q and channel limits, the default) adds one projection for T2; the frame's channels are
    # white noise around a level, so conditions="auto" (the default) makes all 38 set-point channels: the worst case
    paths = {"spe": {"statistic": "spe"}, "combined": {}, "combined, conditions=None": {"conditions": None}}
    for name, params in paths.items():
        det = PCADetector(**params).fit(frame.iloc[:100_000])
        toolkit_s = best_seconds(lambda det=det: det.score(frame), REPEATS)
        result["toolkit"][name] = {"rows_per_s": ROWS / toolkit_s, "time_ratio_to_sklearn": toolkit_s / bare_s,
                                   "setpoint_channels": len(det.conditions_.setpoints)}
        print(f"toolkit {name}: {ROWS / toolkit_s:,.0f} rows/s = "
              f"{toolkit_s / bare_s:.2f}x the time of bare sklearn ({ROWS / bare_s:,.0f} rows/s)")
    result["target"] = "toolkit within 2x of bare scikit-learn"
    print(f"-> {write_result('pca_speed', {'protocol': __doc__.split('Run:')[0].strip(), **result})}")


if __name__ == "__main__":
    main()
