"""Generative models and adversarial examples on sensor windows (Python API only).

* :mod:`~anomaly.generative.gan` -- :class:`WindowGAN`, a GAN that samples normal windows.
* :mod:`~anomaly.generative.latent` -- encode/decode windows through a fitted VAE or dense
  autoencoder: prior samples, interpolation, latent arithmetic.
* :mod:`~anomaly.generative.quality` -- two-sample tests of generated windows: MMD with a
  permutation p-value, classifier two-sample test.
* :mod:`~anomaly.generative.differentiable` -- a detector's score as ``keras.ops`` (for gradients).
* :mod:`~anomaly.generative.adversarial` -- FGSM, PGD and the smallest evading perturbation.
* :mod:`~anomaly.generative.robustness` -- median evasion epsilon of a detector on labelled faults.

Modules that build or run Keras models import Keras when they are imported: import them lazily.
"""
