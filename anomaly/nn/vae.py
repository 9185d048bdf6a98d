"""Variational building blocks: the reparameterisation sampler and a weighted KL penalty.

Both are plain Keras layers written with ``keras.ops`` and ``keras.random``, so they run
under any Keras backend.
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="anomaly")
class Sampling(layers.Layer):
    """Draw ``z = mean + exp(log_var / 2) * eps`` with ``eps ~ N(0, 1)``.

    Inputs ``[mean, log_var]``, each (batch, latent); output (batch, latent). Seeded through a
    ``keras.random.SeedGenerator`` so runs repeat.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="anomaly")
class KLDivergence(layers.Layer):
    """Add ``weight * KL(N(mean, exp(log_var)) || N(0, 1))`` (batch mean) to the model's losses.

    Inputs ``[mean, log_var]``; returns ``mean`` unchanged. ``weight`` is a non-trainable
    variable so a callback can warm it up during training.
    """

    def build(self, input_shape):
        self.weight = self.add_weight(shape=(), initializer="zeros", trainable=False, name="kl_weight")

    def call(self, inputs):
        mean, log_var = inputs
        kl = -0.5 * ops.mean(ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1))
        self.add_loss(self.weight * kl)
        return mean


class KLWarmup(keras.callbacks.Callback):
    """Raise a :class:`KLDivergence` layer's weight linearly from 0 to ``beta`` over ``epochs``."""

    def __init__(self, layer: KLDivergence, beta: float, epochs: int):
        super().__init__()
        self.layer, self.beta, self.epochs = layer, beta, epochs

    def on_epoch_begin(self, epoch, logs=None):
        ramp = 1.0 if self.epochs <= 0 else min(1.0, (epoch + 1) / self.epochs)
        self.layer.weight.assign(self.beta * ramp)
