"""Speed of the neural detectors on a 32-channel frame with window 64.

For each model, in one process:

* training: windows/s over 2 epochs on 8,000 rows (stride-1 windows);
* batch scoring: rows/s of ``det.score(frame)`` on 200,000 rows (stride = window) through
  Keras and through ONNX Runtime, against two plain-Keras references on the same strided
  windows (no validation, scaling or fold-back): ``model.predict(windows)`` as written with
  Keras' defaults (batch size 32), the issue's reference, and ``model.predict`` tuned to
  batch size 4096 (the best Keras can do here);
* single-window latency: p50/p99 over 1,000 calls of the inference engine on one window
  (Keras ``predict_on_batch``, ONNX Runtime), against the reference ``model.predict`` on one
  window.

Ratios are speed-ups over the reference (higher = faster). Targets from the issue: ONNX
batch scoring >= 3x the reference, single-window p99 <= 2 ms.

Run: ``python benchmarks/speed_deep.py [model ...]`` -> ``benchmarks/results/speed_deep.json``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import best_seconds, sine_frame, write_result

import anomaly
from anomaly import make_detector
from anomaly.windows import sliding_windows

CHANNELS, WINDOW, TRAIN_ROWS, SCORE_ROWS, CALLS = 32, 64, 8_000, 200_000, 1000
MODELS = {
    "dense-ae": {},
    "conv-ae": {"filters": (32, 16)},
    "lstm-ae": {"units": (32,), "latent": 16},
    "lstm-vae": {"units": (32,), "latent": 16},
    "vae-gan": {"units": (32,), "latent": 16},
    "lstm-forecast": {"units": (32,)},
}
def latencies_ms(fn) -> tuple[float, float]:
    fn()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def measure(name: str, train: pd.DataFrame, test: pd.DataFrame, folder: Path) -> dict:
    det = make_detector(name, window=WINDOW, epochs=2, patience=5, validation_fraction=0.0, **MODELS[name])
    start = time.perf_counter()
    det.fit(train)
    n_windows = (TRAIN_ROWS - det._span() + 1) * len(det.history_["loss"])
    train_s = time.perf_counter() - start
    path = det.save(folder / name)
    keras_det = anomaly.load(path, engine="keras")
    keras_det.export_onnx(path / "model.onnx")
    onnx_det = anomaly.load(path, engine="onnx")

    z = keras_det.scaler_.transform(test.to_numpy(np.float32))
    stride = 1 if name == "lstm-forecast" else WINDOW
    windows = np.ascontiguousarray(sliding_windows(z, WINDOW, stride))
    if name == "lstm-forecast":
        windows = windows[: SCORE_ROWS // 8]  # one forecast per row: score a slice, report per row
    default_s = best_seconds(lambda: keras_det.model_.predict(windows, verbose=0), 3)
    reference_s = best_seconds(lambda: keras_det.model_.predict(windows, batch_size=4096, verbose=0), 3)
    reference_rows = len(windows) * (1 if name == "lstm-forecast" else WINDOW)
    scored = test.iloc[: reference_rows + WINDOW] if name == "lstm-forecast" else test
    keras_s = best_seconds(lambda: keras_det.score(scored), 3)
    onnx_s = best_seconds(lambda: onnx_det.score(scored), 3)
    one = windows[:1]
    ref_p50, ref_p99 = latencies_ms(lambda: keras_det.model_.predict(one, verbose=0))
    keras_p50, keras_p99 = latencies_ms(lambda: keras_det.engine_.run("model", one))
    onnx_p50, onnx_p99 = latencies_ms(lambda: onnx_det.engine_.run("model", one))
    reference_rps, default_rps = reference_rows / reference_s, reference_rows / default_s
    return {
        "training_windows_per_s": n_windows / train_s,
        "reference_model_predict_default_batch_rows_per_s": default_rps,
        "reference_model_predict_rows_per_s": reference_rps,
        "keras_score_rows_per_s": len(scored) / keras_s,
        "onnx_score_rows_per_s": len(scored) / onnx_s,
        "keras_score_speedup_vs_default": len(scored) / keras_s / default_rps,
        "onnx_score_speedup_vs_default": len(scored) / onnx_s / default_rps,
        "keras_score_speedup": len(scored) / keras_s / reference_rps,
        "onnx_score_speedup": len(scored) / onnx_s / reference_rps,
        "single_window_ms": {
            "reference_model_predict": {"p50": ref_p50, "p99": ref_p99},
            "keras_predict_on_batch": {"p50": keras_p50, "p99": keras_p99},
            "onnx_runtime": {"p50": onnx_p50, "p99": onnx_p99},
        },
        "onnx_p99_speedup": ref_p99 / onnx_p99,
    }


def main(names: list[str]) -> None:
    train, test = sine_frame(TRAIN_ROWS, CHANNELS, 0, "10ms"), sine_frame(SCORE_ROWS, CHANNELS, 1, "10ms")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            results[name] = r = measure(name, train, test, Path(folder))
            lat = r["single_window_ms"]
            print(
                f"{name:14s} train {r['training_windows_per_s']:8,.0f} win/s | score keras {r['keras_score_rows_per_s']:10,.0f} rows/s "
                f"({r['keras_score_speedup']:.2f}x) onnx {r['onnx_score_rows_per_s']:10,.0f} rows/s ({r['onnx_score_speedup']:.2f}x; "
                f"{r['onnx_score_speedup_vs_default']:.1f}x default-batch predict) | "
                f"1 window p50/p99 ms: ref {lat['reference_model_predict']['p50']:.2f}/{lat['reference_model_predict']['p99']:.2f} "
                f"keras {lat['keras_predict_on_batch']['p50']:.2f}/{lat['keras_predict_on_batch']['p99']:.2f} "
                f"onnx {lat['onnx_runtime']['p50']:.2f}/{lat['onnx_runtime']['p99']:.2f}"
            )
    settings = {"channels": CHANNELS, "window": WINDOW, "train_rows": TRAIN_ROWS, "score_rows": SCORE_ROWS, "latency_calls": CALLS,
                "load_average_at_end": os.getloadavg()}
    path = write_result("speed_deep", {"protocol": __doc__.split("Run:")[0].strip(), "settings": settings, "models": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
