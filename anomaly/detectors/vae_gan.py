"""LSTM-VAE-GAN after Niu, Yu & Wu, "LSTM-Based VAE-GAN for Time-Series Anomaly Detection",
Sensors 20(13), 2020.

An LSTM encoder and an LSTM generator (the VAE decoder) are trained jointly with an LSTM
discriminator that tells real windows from reconstructions and from samples of the prior.
The two sides are two compiled Keras models trained alternately with ``train_on_batch``
(no backend-specific code): the discriminator, and the VAE whose loss adds the
discriminator's verdict on its reconstructions (the discriminator frozen during the VAE's
step, so each step updates only its own side).
"""

from __future__ import annotations

import numpy as np

from anomaly.base import store_params
from anomaly.detectors.keras_window import MODEL_FILE, KerasWindowDetector
from anomaly.detectors.lstm_ae import recurrent_encoder
from anomaly.detectors.lstm_vae import build_vae
from anomaly.engine import KERAS_BATCH, Engine
from anomaly.nn.backend import import_keras

DISCRIMINATOR_FILE = "discriminator.keras"


class LSTMVAEGAN(KerasWindowDetector):
    """LSTM-VAE-GAN: reconstruction error plus the discriminator's doubt as the anomaly score.

    ``errors()`` is the squared reconstruction error (posterior mean decoded), per channel.
    ``score()`` is ``(1 - disc_weight) * mean_channel_error + disc_weight * (1 - D(window))``,
    where ``D(window)`` is the discriminator's probability that the window is real, spread over
    the rows of the window and averaged like the errors.

    Parameters
    ----------
    window : int, default=32
    units : tuple of int, default=(64,)
        Encoder/generator layer sizes; the discriminator uses ``units[0]``.
    latent : int, default=8
    cell : {"lstm", "gru"}, default="lstm"
    beta : float, default=0.01
        KL weight (warmed up over ``warmup_epochs``).
    warmup_epochs : int, default=5
    adversarial_weight : float, default=0.01
        Weight of the generator's adversarial loss relative to the reconstruction MSE.
    disc_weight : float, default=0.1
        Weight of the discriminator term in the score.
    dropout, stride, epochs, batch_size, learning_rate, validation_fraction, patience, random_state,
    verbose, scaling, nan_policy, threshold
        As for :class:`~anomaly.detectors.lstm_ae.LSTMAutoencoder`. Early stopping watches the
        validation reconstruction MSE and restores the best weights.

    Attributes
    ----------
    model_ : keras.Model, (batch, window, c) -> (batch, window, c)
        Encoder mean -> generator (what ONNX export covers).
    discriminator_ : keras.Model, (batch, window, c) -> (batch, 1)
        Probability that a window is real (run by the detector's engine, ONNX Runtime included).
    history_ : dict with per-epoch ``loss``, ``d_loss`` and ``val_loss``
    """

    NETWORK_FILES = {"model": MODEL_FILE, "discriminator": DISCRIMINATOR_FILE}

    def __init__(self, window=32, *, units=(64,), latent=8, cell="lstm", beta=0.01, warmup_epochs=5,
                 adversarial_weight=0.01, disc_weight=0.1, dropout=0.0, stride=None, epochs=30, batch_size=128,
                 learning_rate=1e-3, validation_fraction=0.1, patience=5, random_state=0, verbose=0,
                 scaling="standard", nan_policy="raise", threshold=None,
                 aggregate="mean", conditions="auto", adapt=None, smooth=None):
        store_params(self, locals())

    def _build_model(self, n_channels: int):
        keras = import_keras()
        encoder, decoder, sample, self.kl_weight_ = build_vae(
            self.window, n_channels, cell=self.cell, units=self.units, latent=self.latent, dropout=self.dropout, seed=self.random_state
        )
        windows = keras.Input((self.window, n_channels))
        verdict = keras.layers.Dense(1, activation="sigmoid")(recurrent_encoder(windows, self.cell, self.units[:1], self.dropout))
        self.discriminator_ = keras.Model(windows, verdict, name="discriminator")
        self.discriminator_.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss="binary_crossentropy")
        self.decoder_ = decoder

        inputs = keras.Input((self.window, n_channels))
        stats = encoder(inputs)
        recon = decoder(sample(stats))
        vae = keras.Model(inputs, [recon, self.discriminator_(recon)], name="lstm_vae_gan")
        vae.compile(
            optimizer=keras.optimizers.Adam(self.learning_rate),
            loss=["mse", "binary_crossentropy"],
            loss_weights=[1.0, self.adversarial_weight],
        )
        inference = keras.Model(inputs, decoder(stats[0]), name="lstm_vae_gan_mean")
        return vae, inference

    def _train(self, model, train: np.ndarray, val: np.ndarray | None) -> dict:
        """Alternate discriminator and VAE updates per batch; early stopping on reconstruction MSE."""
        from anomaly.nn.vae import KLWarmup

        rng = np.random.default_rng(self.random_state)
        warmup = KLWarmup(self.kl_weight_, self.beta, self.warmup_epochs)
        monitor = val if val is not None else train
        history = {"loss": [], "d_loss": [], "val_loss": []}
        best, best_weights, waited = np.inf, None, 0
        observers = self._progress_callbacks()
        for epoch in range(self.epochs):
            warmup.on_epoch_begin(epoch)
            losses, d_losses = [], []
            order = rng.permutation(len(train))
            for lo in range(0, len(train), self.batch_size):
                x = train[order[lo : lo + self.batch_size]]
                d_losses.append(self._discriminator_step(x, rng))
                losses.append(self._vae_step(model, x))
            val_loss = float(np.mean(np.square(self.model_.predict(monitor, batch_size=KERAS_BATCH, verbose=0) - monitor)))
            history["loss"].append(float(np.mean(losses)))
            history["d_loss"].append(float(np.mean(d_losses)))
            history["val_loss"].append(val_loss)
            for callback in observers:
                callback.on_epoch_end(epoch, {"loss": history["loss"][-1], "val_loss": val_loss})
            if val_loss < best:
                best, waited = val_loss, 0
                best_weights = (model.get_weights(), self.discriminator_.get_weights())
            else:
                waited += 1
                if waited >= self.patience:
                    break
        model.set_weights(best_weights[0])
        self.discriminator_.set_weights(best_weights[1])
        self.discriminator_.trainable = True
        return history

    # Keras fixes a model's trainable variables when its train step is traced (again for a new
    # batch size): each step sets the discriminator's flag first, so it updates only its own side.
    def _discriminator_step(self, x: np.ndarray, rng: np.random.Generator) -> float:
        """One discriminator update on real windows ``x`` (batch, window, c) against their
        reconstructions and as many decoded prior samples; returns its loss. Only the
        discriminator's weights change."""
        fake = np.asarray(self.model_.predict_on_batch(x))
        prior = np.asarray(self.decoder_.predict_on_batch(rng.standard_normal((len(x), self.latent)).astype(np.float32)))
        batch = np.concatenate([x, fake, prior])
        labels = np.concatenate([np.ones(len(x)), np.zeros(2 * len(x))]).astype(np.float32)[:, None]
        self.discriminator_.trainable = True
        return float(np.asarray(self.discriminator_.train_on_batch(batch, labels)).ravel()[0])

    def _vae_step(self, vae, x: np.ndarray) -> float:
        """One update of the VAE (``_build_model``'s training model) on windows ``x`` (batch,
        window, c): reconstruction MSE plus the adversarial loss of its reconstructions; returns
        the total loss. Only the encoder's and decoder's weights change (the discriminator is frozen)."""
        self.discriminator_.trainable = False
        out = vae.train_on_batch(x, [x, np.ones((len(x), 1), np.float32)])
        return float(np.asarray(out).ravel()[0])

    def forward(self, spans, engine: Engine):
        """Reconstruction errors (k, window, c) and the discriminator's doubt ``1 - D(window)``
        spread over the window's rows (k, window)."""
        errors, _ = super().forward(spans, engine)
        doubt = 1.0 - engine.run("discriminator", spans)  # (k, 1)
        return errors, engine.ops.repeat(doubt, self.window, axis=1)

    def row_scores(self, errors, extra, ops=np):
        return (1.0 - self.disc_weight) * self.head_.reduce(errors, ops) + self.disc_weight * extra

