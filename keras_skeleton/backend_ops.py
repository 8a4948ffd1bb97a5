"""Backend-specific kernels behind backend-neutral signatures, the way Keras dispatches its own ops.

Layers and models stay ``keras.ops``-only; where a backend has a fused kernel that ``keras.ops`` does
not reach, the layer asks this module for it and falls back to ``keras.ops`` when it answers ``None``.
"""

from __future__ import annotations

import keras


def fused_batch_norm_training(x, gamma, beta, epsilon):
    """Training-mode batch norm over every axis but the last, as one fused kernel.

    ``x``: float32 ``(..., C)``; ``gamma``, ``beta``: ``(C,)``. Returns ``(y, batch_mean,
    unbiased_batch_variance)`` with ``y`` shaped like ``x`` and normalised with the biased variance (as
    PyTorch), or ``None`` when this backend has no such kernel. TensorFlow's ``FusedBatchNormV3`` does the
    forward pass in two sweeps and the backward in three (Keras' composite ``moments`` +
    ``batch_normalization`` take about five times longer on a CPU).
    """
    if keras.backend.backend() != "tensorflow" or x.dtype != "float32" or len(x.shape) < 2:
        return None
    import tensorflow as tf  # only reached on the TensorFlow backend

    flat = x if len(x.shape) == 4 else tf.reshape(x, (-1, 1, 1, x.shape[-1]))
    y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        flat, gamma, beta, epsilon=epsilon, data_format="NHWC", is_training=True)
    if len(x.shape) != 4:
        y = tf.reshape(y, tf.shape(x))
    return y, mean, variance
