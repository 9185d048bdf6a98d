"""Sample quality of generative models of normal robot-arm windows, and VAE latent arithmetic.

Data: one 360 s normal log of the simulated arm (seed 0, ambient 28 degC). Models train on
the first 240 s; the last 120 s give 374 non-overlapping 32-step windows, split alternately
into two held-out real sets A and B (187 each). (Held-out data from another seed is not the
same distribution: each run's joint temperatures settle at their own level, and a classifier
tells two normal runs apart perfectly by that alone.)

Generators (window 32, 28 channels, all in the scaled units of each model's own standard
scaler fitted on the 240 s): ``WindowGAN`` (conv and dense), ``LSTMVAE`` prior samples
(N(0, I) decoded), and a plain ``DenseAutoencoder`` decoding codes drawn from a Gaussian fitted
to its training codes and from N(0, I). References: held-out set B (the floor), training
windows (a perfect memoriser) and N(0, I) noise (a generator that knows only each channel's
mean and spread). Each sample of 187 windows is compared with set A, in the units of the
GAN's scaler (standard scaling of the 240 s), by

* MMD^2 (unbiased, Gaussian kernel, bandwidth = median pairwise distance of A u B, fixed for
  every comparison) on flattened windows (896 values) and on window features (per channel:
  mean, standard deviation, mean absolute step; 84 values), with permutation p-values (200);
* a classifier two-sample test: held-out accuracy of gradient boosting telling the windows
  from set A (half the windows train it); 0.5 = indistinguishable.

Latent arithmetic (the same VAE): fault windows (32 rows, all inside one labelled fault) and
normal windows of six 600 s logs with every fault type (seeds 1-6); per fault type the
direction d = mean z(fault) - mean z(normal) (posterior means). Applied to the normal windows
of a seventh log (seed 7): decode(z + d), beside decode(z) (the plain reconstructions).
Measured per fault type: how often the detector flags the decoded windows (any row above the
VAE's threshold) beside its rate on real fault windows; what a window-level
``ErrorClassifier`` (top-3-channel features, trained on real windows of seeds 1-6, normal as
one class) calls them, beside what it calls real held-out windows of that fault and the plain
reconstructions; how much the windows change (mean absolute change, scaled units); and how
far per-channel statistics (scaled mean and standard deviation of each channel, 56 values)
move along the real normal-to-fault difference: progress = <s(decode(z + d)) - s(decode(z)),
g> / |g|^2 with g = mean s(fault) - mean s(normal) (1 = all the way, 0 = not at all).

Run: ``python benchmarks/generative_quality.py`` -> ``benchmarks/results/generative_quality.json``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from _common import write_result

from anomaly import LSTMVAE, DenseAutoencoder
from anomaly.classify import ErrorClassifier, segment_features
from anomaly.generative.data import frame_windows, to_scaled
from anomaly.generative.gan import WindowGAN
from anomaly.generative.latent import codec, direction, sample_gaussian, sample_prior, shift
from anomaly.generative.quality import classifier_test, median_bandwidth, mmd_test
from datasets.robot_arm import FAULT_TYPES, simulate

AMBIENT = 28.0
WINDOW = 32
SEED = 0
VAE = {"window": WINDOW, "units": (32,), "latent": 8, "epochs": 10, "random_state": SEED}
AE = {"window": WINDOW, "hidden": (64, 32), "latent": 8, "epochs": 10, "random_state": SEED}
GANS = {"gan (conv)": {"window": WINDOW, "architecture": "conv", "epochs": 60, "random_state": SEED},
        "gan (dense)": {"window": WINDOW, "architecture": "dense", "epochs": 60, "random_state": SEED}}


def features(scaled: np.ndarray) -> np.ndarray:
    """Per-channel mean, standard deviation and mean absolute step of windows (n, w, c): (n, 3c)."""
    return np.concatenate([scaled.mean(1), scaled.std(1), np.abs(np.diff(scaled, axis=1)).mean(1)], axis=1)


def quality(real: np.ndarray, fake: np.ndarray, bandwidths: tuple[float, float]) -> dict:
    raw = mmd_test(real, fake, bandwidth=bandwidths[0], seed=SEED)
    feat = mmd_test(features(real), features(fake), bandwidth=bandwidths[1], seed=SEED)
    c2st = classifier_test(real, fake, seed=SEED)
    return {"mmd2_windows": raw.mmd2, "p_windows": raw.p_value, "mmd2_features": feat.mmd2, "p_features": feat.p_value,
            "classifier_accuracy": c2st.accuracy, "classifier_p": c2st.p_value}


def sample_quality(train: pd.DataFrame, held: pd.DataFrame, vae, ae) -> dict:
    windows = frame_windows(held, WINDOW, stride=WINDOW)
    real_a, real_b = windows[0::2][:187], windows[1::2][:187]
    n = len(real_a)
    samples, fit_s = {}, {}
    for name, params in GANS.items():
        start = time.perf_counter()
        gan = WindowGAN(**params).fit(train)
        fit_s[name] = round(time.perf_counter() - start, 1)
        samples[name] = gan.sample(n, seed=1)
    scaler = gan.scaler_  # every comparison in one set of units: standard scaling of the training part
    train_windows = frame_windows(train, WINDOW, stride=WINDOW)
    samples["vae (prior samples)"] = sample_prior(codec(vae), n, seed=1)
    samples["autoencoder (Gaussian fit to its codes)"] = sample_gaussian(codec(ae), train_windows, n, seed=1)
    samples["autoencoder (N(0, I) codes)"] = sample_prior(codec(ae), n, seed=1)
    rng = np.random.default_rng(1)
    references = {
        "reference: held-out real set B": real_b,
        "reference: training windows": train_windows[rng.choice(len(train_windows), n, replace=False)],
    }
    A = to_scaled(scaler, real_a)
    pooled = np.concatenate([A, to_scaled(scaler, real_b)])
    bandwidths = (median_bandwidth(pooled[:n], pooled[n:]), median_bandwidth(features(pooled[:n]), features(pooled[n:])))
    rows = {name: quality(A, to_scaled(scaler, w), bandwidths) for name, w in {**samples, **references}.items()}
    rows["reference: N(0, I) noise"] = quality(A, rng.standard_normal(A.shape).astype(np.float32), bandwidths)
    for name, row in rows.items():
        print(f"{name:42s} MMD2 windows {row['mmd2_windows']:8.4f} (p {row['p_windows']:.3f})  features "
              f"{row['mmd2_features']:8.4f} (p {row['p_features']:.3f})  C2ST {row['classifier_accuracy']:.3f}", file=sys.stderr)
    return {"n_per_sample": n, "bandwidth_windows": bandwidths[0], "bandwidth_features": bandwidths[1],
            "gan_fit_s": fit_s, "results": rows}


def labelled_windows(seeds) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows (n, WINDOW, c) lying entirely in one fault or in normal rows, and
    their kind ("normal" or the fault type)."""
    out, kinds = [], []
    for seed in seeds:
        run = simulate(600, faults="all", seed=seed, ambient_c=AMBIENT)
        labels = run.labels["fault_type"].fillna("").astype(str).to_numpy()
        windows = frame_windows(run.frame, WINDOW, stride=WINDOW)
        for i, w in enumerate(windows):
            kind = set(labels[i * WINDOW : (i + 1) * WINDOW])
            if len(kind) == 1:
                out.append(w)
                kinds.append(kind.pop() or "normal")
    return np.stack(out), np.array(kinds)


def window_features(det, windows: np.ndarray) -> pd.DataFrame:
    """segment_features (top-3 channels) of each window scored on its own (back to back, so the
    detector's non-overlapping windows are exactly these)."""
    frame = pd.DataFrame(windows.reshape(-1, windows.shape[2]), columns=list(det.schema_.channels))
    scaled = pd.DataFrame(to_scaled(det.scaler_, windows).reshape(-1, windows.shape[2]), columns=frame.columns)
    return segment_features(det.errors(frame), scaled, [(i * WINDOW, (i + 1) * WINDOW) for i in range(len(windows))],
                            ranked=3)


def flagged(det, windows: np.ndarray) -> float:
    """Share of windows with at least one flagged row, each window scored on its own."""
    frame = pd.DataFrame(windows.reshape(-1, windows.shape[2]), columns=list(det.schema_.channels))
    return float(det.predict(frame).to_numpy().reshape(len(windows), WINDOW).any(axis=1).mean())


def stats(det, windows: np.ndarray) -> np.ndarray:
    scaled = to_scaled(det.scaler_, windows)
    return np.concatenate([scaled.mean(1), scaled.std(1)], axis=1)


def latent_arithmetic(vae) -> dict:
    coder = codec(vae)
    train_w, train_k = labelled_windows(range(1, 7))
    test_w, test_k = labelled_windows([7])
    clf = ErrorClassifier().fit(window_features(vae, train_w), train_k)
    held_pred = clf.predict(window_features(vae, test_w))
    base = test_w[test_k == "normal"]
    recon = shift(coder, base, base, base)  # zero direction: the reconstructions
    recon_pred = clf.predict(window_features(vae, recon))
    normal_train = train_w[train_k == "normal"]
    out = {"classifier_accuracy_on_real_held_out_windows": float(np.mean(held_pred == test_k)),
           "classifier_recall_real_held_out_normal": float(np.mean(held_pred[test_k == "normal"] == "normal")),
           "windows_per_kind_seeds_1_6": {k: int(v) for k, v in zip(*np.unique(train_k, return_counts=True))},
           "base_normal_windows": len(base),
           "normal_code_spread": float(np.linalg.norm(coder.encode(normal_train).std(axis=0))),  # to read |d| against
           "reconstructions": {"flagged": flagged(vae, recon), "classified_normal": float(np.mean(recon_pred == "normal")),
                               "most_common_label": pd.Series(recon_pred).value_counts().index[0]},
           "per_fault_type": {}}
    for kind in FAULT_TYPES:
        fault = train_w[train_k == kind]
        if len(fault) < 2:
            out["per_fault_type"][kind] = {"fault_windows": len(fault), "note": "fewer than 2 windows: no direction"}
            continue
        moved = shift(coder, base, normal_train, fault)
        pred = clf.predict(window_features(vae, moved))
        g = stats(vae, fault).mean(0) - stats(vae, normal_train).mean(0)
        progress = (stats(vae, moved) - stats(vae, recon)) @ g / float(g @ g)
        real_test = test_w[test_k == kind]
        out["per_fault_type"][kind] = {
            "fault_windows": len(fault),
            "direction_norm": float(np.linalg.norm(direction(coder, normal_train, fault))),
            "mean_abs_change_scaled": float(np.abs(to_scaled(vae.scaler_, moved) - to_scaled(vae.scaler_, recon)).mean()),
            "flagged_decoded": flagged(vae, moved),
            "flagged_real_fault_windows": flagged(vae, fault),
            "classified_as_this_fault": float(np.mean(pred == kind)),
            "reconstructions_classified_as_this_fault": float(np.mean(recon_pred == kind)),
            "real_held_out_windows_classified_correctly": float(np.mean(held_pred[test_k == kind] == kind)) if len(real_test) else None,
            "classified_normal": float(np.mean(pred == "normal")),
            "most_common_label": pd.Series(pred).value_counts().index[0],
            "statistic_progress_median": float(np.median(progress)),
        }
        row = out["per_fault_type"][kind]
        print(f"{kind:15s} |d| {row['direction_norm']:.2f} change {row['mean_abs_change_scaled']:.3f} flagged "
              f"{row['flagged_decoded']:.2f} (real {row['flagged_real_fault_windows']:.2f})  as {kind} "
              f"{row['classified_as_this_fault']:.2f} (recon {row['reconstructions_classified_as_this_fault']:.2f}, real "
              f"{row['real_held_out_windows_classified_correctly']})  progress {row['statistic_progress_median']:.2f}", file=sys.stderr)
    return out


def main() -> None:
    run = simulate(360, seed=SEED, ambient_c=AMBIENT).frame
    train, held = run.iloc[:24000], run.iloc[24000:]
    start = time.perf_counter()
    vae = LSTMVAE(**VAE).fit(train)
    ae = DenseAutoencoder(**AE).fit(train)
    fit_s = round(time.perf_counter() - start, 1)
    result = {"protocol": __doc__.split("Run:")[0].strip(),
              "settings": {"vae": VAE, "autoencoder": AE, "gans": GANS, "window": WINDOW},
              "vae_and_autoencoder_fit_s": fit_s,
              "sample_quality": sample_quality(train, held, vae, ae),
              "latent_arithmetic": latent_arithmetic(vae)}
    print(f"-> {write_result('generative_quality', result)}")


if __name__ == "__main__":
    main()
