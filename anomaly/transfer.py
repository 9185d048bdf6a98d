"""Transfer learning: start a window detector on a new machine from one fitted on another.

A new robot (or server) has little normal data; a sibling machine of the same type has a lot.
:func:`fine_tune` fits a detector of the pretrained one's class and parameters on the new
machine's data, but its network starts from the pretrained weights instead of a random
initialisation (optionally with the encoder frozen). Everything else is fitted on the new data
as usual, so the result keeps the detector contract: its own schema, scaler (the new machine's
operating point), threshold (on the new machine's held-out normal scores) and fingerprint; it
saves and loads like any detector.

Examples
--------
>>> base = LSTMAutoencoder(window=16, epochs=5).fit(machine_a)          # doctest: +SKIP
>>> det = fine_tune(base, machine_b.iloc[:2000], epochs=20)             # doctest: +SKIP
>>> det.score(machine_b_test)                                          # doctest: +SKIP
"""

from __future__ import annotations

import logging

import pandas as pd
from sklearn.base import clone

from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.validation import check_number

log = logging.getLogger(__name__)

def fine_tune(pretrained, frame: pd.DataFrame, *, epochs: int | None = None, learning_rate: float | None = None,
              random_state: int | None = None, freeze_encoder: bool = False, source: str = "input"):
    """Fit a copy of ``pretrained`` on ``frame``, starting from its network's weights.

    Parameters
    ----------
    pretrained : fitted KerasWindowDetector
        A window detector (dense-, LSTM-, Conv-, Transformer-AE, LSTM-VAE, VAE-GAN, forecaster)
        fitted on another machine with the same number of channels.
    frame : pandas.DataFrame of shape (n_steps, n_channels)
        The new machine's normal data. Columns with the pretrained schema's names are put in
        its order; other names are matched by position (same count required).
    epochs : int >= 0 or None, default=None
        Training epochs on ``frame`` (None: the pretrained detector's ``epochs``). 0 trains
        nothing: the pretrained network with the new machine's scaler and threshold.
    learning_rate : float > 0 or None, default=None
        None: the pretrained detector's ``learning_rate``.
    random_state : int >= 0 or None, default=None
        Seed of the fine-tuning (shuffling, dropout); None: the pretrained detector's.
    freeze_encoder : bool, default=False
        Train only the layers after the code layer (see :func:`anomaly.detectors.keras_window.encoder_layers`).
    source : str
        Name used in error messages.

    Returns
    -------
    KerasWindowDetector
        A new fitted detector; ``pretrained`` is not modified. The VAE-GAN's discriminator is
        not transferred (it starts fresh).

    Raises
    ------
    ConfigError
        ``pretrained`` is not a window detector, the architectures differ, or the model has
        no encoder to freeze.
    NotFittedError
        ``pretrained`` is not fitted.
    DataError, SchemaError
        ``frame`` is unusable or has a different number of channels.
    """
    if not isinstance(pretrained, KerasWindowDetector):
        raise ConfigError(f"fine_tune needs a fitted neural window detector, got {type(pretrained).__name__}")
    if not hasattr(pretrained, "model_") or not hasattr(pretrained, "schema_"):
        raise NotFittedError(f"the pretrained {type(pretrained).__name__} is not fitted; fit it on the source machine first")
    if not isinstance(freeze_encoder, bool):
        raise ConfigError(f"freeze_encoder={freeze_encoder!r} must be True or False")
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    channels = list(pretrained.schema_.channels)
    if frame.shape[1] != len(channels):
        raise DataError(f"{source}: {frame.shape[1]} channels, the pretrained model has {len(channels)}")
    if set(map(str, frame.columns)) == set(channels):
        frame = pretrained.schema_.align(frame, source=source)
    else:
        log.info("%s: channel names differ from the pretrained model's; matching channels by position", source)
    overrides = {
        "epochs": epochs if epochs is None else check_number("epochs", epochs, low=0, integer=True),
        "learning_rate": learning_rate if learning_rate is None else check_number(
            "learning_rate", learning_rate, low=0.0, low_open=True),
        "random_state": random_state if random_state is None else check_number(
            "random_state", random_state, low=0, integer=True),
    }
    detector = clone(pretrained).set_params(**{k: v for k, v in overrides.items() if v is not None})
    return detector.fit(frame, source=source, initial_weights=pretrained.model_.get_weights(), freeze_encoder=freeze_encoder)
