"""Score identity across refactors: every registered detector's outputs on one fixed log.

``python benchmarks/score_identity.py capture DIR`` fits every registered detector (tiny
settings, fixed seeds) on a fixed simulated normal log, then writes to ``DIR``: the saved
models, and ``outputs.npz`` with, per detector, the errors, scores and flags of a fixed faulty
log, the stream scores (hop 1 and hop 4), the chunked batch scores and the scores of the
saved-and-reloaded model (Keras and, for neural detectors, ONNX).

``python benchmarks/score_identity.py check DIR`` recomputes all of it with the code as it is
now (refitting from scratch and reloading the models saved by ``capture``) and compares:
bit-identical for the neural detectors, 1e-6 relative for PCA. Exit status 1 on any
difference; ``benchmarks/results/score_identity.json`` records the largest differences.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

import anomaly
from anomaly.registry import DETECTORS
from datasets.robot_arm import simulate
from pipelines.batch import iter_scores

TINY = {
    "pca": {},
    "dense-ae": {"epochs": 3, "window": 8, "hidden": (32,), "latent": 4},
    "lstm-ae": {"epochs": 2, "window": 8, "units": (16,), "latent": 4},
    "conv-ae": {"epochs": 3, "window": 8, "filters": (16, 8), "kernel_size": 3},
    "lstm-vae": {"epochs": 2, "window": 8, "units": (16,), "latent": 4, "warmup_epochs": 1},
    "lstm-forecast": {"epochs": 2, "window": 8, "units": (16,)},
    "vae-gan": {"epochs": 2, "window": 8, "units": (16,), "latent": 4, "warmup_epochs": 1},
    "transformer-ae": {"epochs": 3, "window": 8, "d_model": 16, "num_heads": 2, "ff_dim": 32, "latent": 4},
}
RESULT = Path(__file__).parent / "results" / "score_identity.json"
#: Intended changes: the VAE-GAN's discriminator runs through ONNX Runtime with the ONNX engine
#: (it ran through Keras before), so its ONNX scores may move by float32 rounding.
TOLERATED = {"vae-gan/onnx/": 1e-6}


def logs():
    """The fixed normal training log (30 s) and faulty test log (40 s) of the simulated arm."""
    normal = simulate(30, seed=0, ambient_c=28.0).frame
    faulty = simulate(40, seed=1, ambient_c=28.0, faults=("collision", "noise_burst")).frame
    return normal, faulty


def outputs(detector, faulty, tmp: Path, prefix: str) -> dict[str, np.ndarray]:
    """Every output this script compares, keyed ``prefix/what``."""
    errors, scores, flags = detector.evaluate_frame(faulty)
    out = {"errors": errors.to_numpy(), "scores": scores.to_numpy(), "flags": flags.to_numpy()}
    out["stream_hop1"] = detector.score_stream(faulty, hop=1).to_numpy()
    out["stream_hop4"] = detector.score_stream(faulty, hop=4).to_numpy()
    path = tmp / (prefix.replace("/", "-") + ".parquet")
    faulty.to_parquet(path)
    chunks = list(iter_scores(detector, path, chunk_rows=700))
    out["chunked_errors"] = np.concatenate([e.to_numpy() for e, _, _ in chunks])
    out["chunked_scores"] = np.concatenate([s.to_numpy() for _, s, _ in chunks])
    return {f"{prefix}/{k}": np.asarray(v) for k, v in out.items()}


def run(models: Path, *, fit: bool) -> dict[str, np.ndarray]:
    normal, faulty = logs()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in sorted(DETECTORS):
            if fit:
                detector = anomaly.make_detector(name, **TINY[name]).fit(normal)
                result.update(outputs(detector, faulty, tmp, f"{name}/fit"))
                detector.save(models / name)
                if name != "pca":
                    detector.export_onnx(models / name / "model.onnx")
            else:
                detector = anomaly.make_detector(name, **TINY[name]).fit(normal)
                result.update(outputs(detector, faulty, tmp, f"{name}/fit"))
            loaded = anomaly.load(models / name, engine="keras" if name != "pca" else "auto")
            result.update(outputs(loaded, faulty, tmp, f"{name}/loaded"))
            if name != "pca":
                if not fit:  # export again from the reloaded Keras model: the exporter may have changed
                    loaded.export_onnx(models / name / "model.onnx")
                onnx = anomaly.load(models / name, engine="onnx")
                result.update(outputs(onnx, faulty, tmp, f"{name}/onnx"))
            print(f"{name}: done", file=sys.stderr)
    return result


def compare(before: dict, after: dict) -> dict:
    report = {}
    for key, old in before.items():
        new = after.get(key)
        if new is None or new.shape != old.shape:
            report[key] = "missing or reshaped"
            continue
        both_nan = np.isnan(old) & np.isnan(new) if old.dtype.kind == "f" else np.zeros(old.shape, bool)
        diff = np.where(both_nan, 0.0, np.abs(old.astype(np.float64) - new.astype(np.float64)))
        scale = np.where(both_nan, 1.0, np.maximum(np.abs(old.astype(np.float64)), 1e-12))
        report[key] = {"max_abs": float(np.nanmax(diff)) if diff.size else 0.0,
                       "max_rel": float(np.nanmax(diff / scale)) if diff.size else 0.0}
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("capture", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, directory = argv[0], Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    if mode == "capture":
        np.savez(directory / "outputs.npz", **run(directory, fit=True))
        return 0
    with np.load(directory / "outputs.npz") as data:
        before = {k: data[k] for k in data.files}
    report = compare(before, run(directory, fit=False))
    def allowed(key: str) -> float:
        return next((tol for prefix, tol in TOLERATED.items() if key.startswith(prefix)), 0.0)

    failed = {k: v for k, v in report.items()
              if isinstance(v, str) or (v["max_rel"] > 1e-6 if k.startswith("pca/") else v["max_abs"] > allowed(k))}
    RESULT.parent.mkdir(exist_ok=True)
    RESULT.write_text(json.dumps({"compared": len(report), "differing": failed, "tolerated": TOLERATED,
                                  "within_tolerance": {k: v for k, v in report.items()
                                                       if k not in failed and isinstance(v, dict) and v["max_abs"] > 0},
                                  "largest_abs": max((v["max_abs"] for v in report.values() if isinstance(v, dict)), default=0.0)},
                                 indent=2))
    print(f"{len(report)} arrays compared, {len(failed)} differ", file=sys.stderr)
    for key, value in failed.items():
        print(f"  {key}: {value}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
