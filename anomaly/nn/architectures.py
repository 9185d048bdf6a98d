"""The CNN architectures by name: ``build("resnet", depth=50)``.

Each builder returns a ``keras.Model`` from ``(batch, *input_shape)`` to class probabilities
``(batch, classes)`` and takes the keyword options ``dims`` (1: sensor windows ``(steps,
channels)``, 2: images), ``input_shape``, ``classes``, ``width``, ``depth`` and ``weights``
(None or a local ``.weights.h5`` file; nothing is downloaded), plus its own (see each builder).
"""

from __future__ import annotations

import inspect

from anomaly.errors import ConfigError
from anomaly.nn.classic import alexnet, lenet5, vgg
from anomaly.nn.inception import googlenet, inception_v3
from anomaly.nn.resnet import resnet, se_resnet
from anomaly.nn.xception import xception

ARCHITECTURES = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg": vgg,
    "googlenet": googlenet,
    "inception_v3": inception_v3,
    "resnet": resnet,
    "xception": xception,
    "se_resnet": se_resnet,
}


def build(name: str, **options):
    """Build the architecture ``name`` (a key of :data:`ARCHITECTURES`) with ``options``.

    Raises
    ------
    ConfigError
        Unknown name, unknown option or bad option value.
    """
    try:
        builder = ARCHITECTURES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown architecture {name!r}; choose from {', '.join(ARCHITECTURES)}") from None
    allowed = inspect.signature(builder).parameters
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"{name}: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return builder(**options)
