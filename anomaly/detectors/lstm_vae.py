"""LSTM variational autoencoder over sliding windows."""

from __future__ import annotations

from anomaly.base import store_params
from anomaly.detectors.keras_window import KerasWindowDetector
from anomaly.detectors.lstm_ae import recurrent_decoder, recurrent_encoder
from anomaly.nn.backend import import_keras


def build_vae(window: int, n_channels: int, *, cell: str, units, latent: int, dropout: float, seed: int):
    """Encoder, decoder and the KL layer of a recurrent VAE.

    Returns
    -------
    encoder : keras.Model, (batch, window, c) -> [mean, log_var], each (batch, latent)
    decoder : keras.Model, (batch, latent) -> (batch, window, c)
    sample : callable mapping [mean, log_var] to a KL-penalised sample (batch, latent)
    kl : KLDivergence layer (its weight is warmed up during training)
    """
    keras = import_keras()
    from anomaly.nn.vae import KLDivergence, Sampling

    inputs = keras.Input((window, n_channels))
    h = recurrent_encoder(inputs, cell, units, dropout)
    mean = keras.layers.Dense(latent, name="z_mean")(h)
    log_var = keras.layers.Dense(latent, name="z_log_var")(h)
    encoder = keras.Model(inputs, [mean, log_var], name="encoder")
    code = keras.Input((latent,))
    decoder = keras.Model(code, recurrent_decoder(code, window, n_channels, cell, units, dropout), name="decoder")
    kl = KLDivergence(name="kl")
    sampling = Sampling(seed=seed, name="sampling")
    return encoder, decoder, lambda stats: sampling([kl(stats), stats[1]]), kl


class LSTMVAE(KerasWindowDetector):
    """LSTM-VAE: windows -> (mean, log-variance) -> sampled code -> LSTM decoder.

    Trained on reconstruction MSE plus ``beta`` x KL divergence, with the KL weight warmed up
    linearly over ``warmup_epochs``. Scoring decodes the posterior mean (no sampling), so
    scores are deterministic and identical after save/load; the per-channel error is the
    squared reconstruction error.

    Parameters
    ----------
    window : int, default=32
    units : tuple of int, default=(64,)
    latent : int, default=8
    cell : {"lstm", "gru"}, default="lstm"
    beta : float, default=0.01
        Weight of the KL term relative to the per-value MSE.
    warmup_epochs : int, default=5
    dropout, stride, epochs, batch_size, learning_rate, validation_fraction, patience, random_state,
    verbose, scaling, nan_policy, threshold
        As for :class:`~anomaly.detectors.lstm_ae.LSTMAutoencoder`.

    Attributes
    ----------
    model_ : keras.Model
        Deterministic path (batch, window, c) -> encoder mean -> decoder -> (batch, window, c).
    history_ : dict of per-epoch losses
    """

    def __init__(self, window=32, *, units=(64,), latent=8, cell="lstm", beta=0.01, warmup_epochs=5, dropout=0.0,
                 stride=None, epochs=30, batch_size=128, learning_rate=1e-3, validation_fraction=0.1, patience=5,
                 random_state=0, verbose=0, scaling="standard", nan_policy="raise", threshold=None,
                 aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _build_model(self, n_channels: int):
        keras = import_keras()
        encoder, decoder, sample, self.kl_weight_ = build_vae(
            self.window, n_channels, cell=self.cell, units=self.units, latent=self.latent, dropout=self.dropout, seed=self.random_state
        )
        inputs = keras.Input((self.window, n_channels))
        stats = encoder(inputs)
        training = keras.Model(inputs, decoder(sample(stats)), name="lstm_vae")
        inference = keras.Model(inputs, decoder(stats[0]), name="lstm_vae_mean")
        return training, inference

    def _callbacks(self) -> list:
        from anomaly.nn.vae import KLWarmup

        return [KLWarmup(self.kl_weight_, self.beta, self.warmup_epochs)]
