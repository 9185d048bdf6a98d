"""Parameter counts of the CNN builders in ``anomaly.nn`` against published figures.

Each architecture is built at its published configuration (2D, default input shape, 1000
classes; LeNet-5: 32x32x1, 10 classes) with random weights. ``total`` is Keras's
``count_params()`` (it includes batch-norm moving statistics); ``trainable`` leaves those out,
which is how the Xception paper counts. Where ``keras.applications`` has the architecture, it is
built too (``weights=None``) as a cross-check. Published figures and their sources are listed
per row; ``exact`` says whether the figure is an exact count that ours must equal.

Run: ``python benchmarks/param_counts.py`` -> ``benchmarks/results/param_counts.json``.
"""

from __future__ import annotations

import time

from _common import write_result

from anomaly.nn.backend import import_keras

ROWS = [
    # label, builder, options, published figure, exact?, source, why ours differs (if it does)
    ("LeNet-5", "lenet5", {}, 60_000, False,
     "LeCun et al. 1998, sec. II.B: 60,000 trainable parameters (60,840 summed over its layers)",
     "modern form: full C3 (2,416 weights, not the paper's sparse 1,516), parameter-free pooling "
     "(the paper's S2/S4 have 44 trainable coefficients), dense 10-way output (850, not the RBF's 840)"),
    ("AlexNet", "alexnet", {}, 60_000_000, False,
     "Krizhevsky et al. 2012: 60 million parameters",
     "one tower: the paper's two-GPU grouped convolutions (conv2, conv4, conv5) hold fewer weights; "
     "LRN is parameter-free and left out; input 227x227 (the paper's 224 does not give its 55x55 maps)"),
    ("AlexNet, groups=2", "alexnet", {"groups": 2}, 60_000_000, False,
     "Krizhevsky et al. 2012: 60 million parameters",
     "the paper's two-GPU layout; 'about 60 million' is a rounded figure"),
    ("VGG-16", "vgg", {"depth": 16}, 138_357_544, True,
     "Simonyan & Zisserman 2015, Table 2 (138M); exact figure: keras.applications.VGG16, torchvision vgg16", ""),
    ("GoogLeNet", "googlenet", {}, 6_800_000, False,
     "Szegedy et al. 2015, Table 1: the params column sums to ~6.8M (weights only, rounded per layer)",
     "ours has biases (6,990,272 weights only, +2.8%); Table 1 does not follow from its own filter counts "
     "(4c: 509K from the listed filters, 463K printed; conv1: 9.4K, 2.7K printed); auxiliary classifiers and "
     "LRN left out as in the table"),
    ("ResNet-50", "resnet", {"depth": 50}, 25_636_712, True,
     "keras.applications.ResNet50 (He et al. 2016 report ~25.6M; torchvision's 25,557,032 has no conv biases "
     "and no BN moving statistics)", ""),
    ("Inception v3", "inception_v3", {}, 23_851_784, True,
     "keras.applications.InceptionV3 (23,817,352 trainable; Chollet 2017, Table 3 prints 23,626,728)", ""),
    ("Xception", "xception", {}, 22_910_480, True,
     "keras.applications.Xception (Chollet 2017, Table 3: 22,855,952 trainable, equal to ours)", ""),
    ("SE-ResNet-50", "se_resnet", {"depth": 50}, 28_100_000, False,
     "Hu et al. 2018: ~2.5M more than ResNet-50's ~25M, i.e. ~28.1M (also timm seresnet50: 28.1M)",
     "Keras-style count: convolution biases and BN moving statistics included, as in our ResNet-50"),
]
APPLICATIONS = {"VGG-16": "VGG16", "ResNet-50": "ResNet50", "Inception v3": "InceptionV3", "Xception": "Xception"}


def trainable(model) -> int:
    return sum(int(v.numpy().size) for v in model.trainable_weights)


def conv_biases(model, keras) -> int:
    return sum(int(layer.bias.shape[0]) for layer in model.layers
               if isinstance(layer, keras.layers.Conv2D) and layer.use_bias)


def main() -> None:
    keras = import_keras()
    from anomaly.nn.architectures import build

    rows = []
    for label, name, options, published, exact, source, note in ROWS:
        start = time.perf_counter()
        model = build(name, **options, **({"classes": 10} if name == "lenet5" else {}))
        seconds = time.perf_counter() - start
        row = {
            "architecture": label, "builder": f"build({name!r}, **{options})", "input_shape": list(model.input_shape[1:]),
            "ours_total": model.count_params(), "ours_trainable": trainable(model),
            "ours_without_conv_biases": trainable(model) - conv_biases(model, keras),
            "published": published, "published_is_exact": exact, "source": source,
            "difference": model.count_params() - published,
            "relative_difference": (model.count_params() - published) / published,
            "build_seconds": round(seconds, 2), "note": note,
        }
        del model
        if label in APPLICATIONS:
            reference = getattr(keras.applications, APPLICATIONS[label])(weights=None)
            row["keras_applications_total"] = reference.count_params()
            row["keras_applications_trainable"] = trainable(reference)
            del reference
        rows.append(row)
        status = "exact" if row["difference"] == 0 else f"{row['relative_difference']:+.1%}"
        print(f"{label:18s} ours {row['ours_total']:>12,}  published {published:>12,}  {status}")
    exact_ok = all(r["difference"] == 0 for r in rows if r["published_is_exact"])
    result = {"protocol": __doc__.split("Run:")[0].strip(), "exact_figures_matched": exact_ok, "rows": rows}
    print(f"-> {write_result('param_counts', result)}")


if __name__ == "__main__":
    main()
