"""Inference engines: how a detector's forward computation runs.

Every fitted or loaded detector holds one engine as ``engine_``. A detector's forward
computation (:meth:`anomaly.base.Detector.forward`) is written once against the small
interface below (``ops``: an array namespace with NumPy's names; ``run(network, batch)``:
one call of a named network), so the same code runs

* on NumPy arrays with no network (:class:`NumpyEngine`, the PCA baseline),
* with Keras networks (:class:`KerasEngine`, after ``fit`` or ``anomaly.load(engine="keras")``),
* with ONNX Runtime sessions (:class:`OnnxEngine`, every network of the detector, the
  VAE-GAN's discriminator included), and
* as a differentiable Keras graph (:class:`GraphEngine`, used by
  :func:`anomaly.generative.differentiable.score_graph`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anomaly.errors import ConfigError, ModelFileError
from anomaly.nn.backend import import_keras, predict_padded

#: Engines ``anomaly.load`` accepts (``auto``: ONNX when every network has been exported).
ENGINE_CHOICES = ("auto", "keras", "onnx")
KERAS_BATCH = 4096  # windows per Keras call: large batches amortise its per-call overhead
ONNX_BATCH = 128  # ONNX Runtime is fastest on cache-sized batches (benchmarks/speed_deep.py)


class Engine:
    """Base engine: NumPy array operations, no networks.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"keras"``, ``"onnx"`` or ``"graph"``.
    ops : module
        Array namespace the forward computation uses (``numpy`` or ``keras.ops``).
    batch_size : int or None
        Windows per forward call in batch scoring (None: all at once).
    """

    name = "numpy"
    batch_size: int | None = None

    @property
    def ops(self):
        return np

    def run(self, network: str, batch):
        """Output of network ``network`` on ``batch`` (an array of windows)."""
        raise ConfigError(f"the {self.name} engine has no network {network!r}")

    def set_threads(self, threads: int) -> None:
        """Intra-op threads of the engine (only ONNX Runtime's can be set; no effect here)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NumpyEngine(Engine):
    """Array-only detectors (PCA): the forward computation is plain NumPy."""


class KerasEngine(Engine):
    """Keras networks, called in zero-padded power-of-two batches (bounded retracing).

    Parameters
    ----------
    networks : dict of str to keras.Model
    """

    name = "keras"
    batch_size = KERAS_BATCH

    def __init__(self, networks: dict):
        self.networks = dict(networks)

    def run(self, network: str, batch):
        return predict_padded(self.networks[network], batch)


class OnnxEngine(Engine):
    """ONNX Runtime sessions, one per exported network (``<network>.onnx`` in the model directory).

    Parameters
    ----------
    paths : dict of str to Path
        ONNX file of each network.
    threads : int, default=0
        Intra-op threads (0: ONNX Runtime's default, one per core).

    Raises
    ------
    ConfigError
        If onnxruntime is not installed.
    ModelFileError
        If a file cannot be loaded.
    """

    name = "onnx"
    batch_size = ONNX_BATCH

    def __init__(self, paths: dict[str, Path], threads: int = 0):
        self.paths = dict(paths)
        self.set_threads(threads)

    def set_threads(self, threads: int) -> None:
        """Run ONNX Runtime on ``threads`` intra-op threads (0: its default, one per core).

        One thread suits single windows (streaming) on a busy machine: an op split over two
        threads waits for the slower one, which a loaded machine may not schedule for
        milliseconds.
        """
        onnxruntime = import_onnxruntime()
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.sessions = {}
        for network, path in self.paths.items():
            try:
                self.sessions[network] = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:  # a truncated or foreign file
                raise ModelFileError(f"{path}: cannot load ONNX model ({exc.__class__.__name__})") from None

    def run(self, network: str, batch):
        session = self.sessions[network]
        return session.run(None, {session.get_inputs()[0].name: batch})[0]

    def __repr__(self) -> str:
        return f"OnnxEngine({sorted(self.paths)})"


class GraphEngine(Engine):
    """Differentiable: ``keras.ops`` and direct network calls (``training=False``) on tensors."""

    name = "graph"

    def __init__(self, networks: dict):
        self.networks = dict(networks)

    @property
    def ops(self):
        return import_keras().ops

    def run(self, network: str, batch):
        return self.networks[network](batch, training=False)


def import_onnxruntime():
    """Import ONNX Runtime or say which extra installs it."""
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError("the ONNX engine needs onnxruntime (a dependency of robot-anomaly): pip install onnxruntime") from None
    return onnxruntime


def onnx_path(directory: Path, network: str) -> Path:
    """File of network ``network``'s ONNX export in a model directory (``model.onnx``, ``discriminator.onnx``)."""
    return Path(directory) / f"{network}.onnx"
