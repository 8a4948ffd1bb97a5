"""Building blocks shared by every model (channels-last, ``keras.ops`` only).

Feature maps inside a backbone are ``(N*M, T, V, C)``: persons folded into the
batch with index ``n*M + m`` exactly as the references do.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_skeleton.backend_ops import fused_batch_norm_training

PACKAGE = "keras_skeleton"

# PyTorch / Paddle BatchNorm semantics (MODEL_SPEC §0.3): eps 1e-5, new-batch factor 0.1.
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package=PACKAGE)
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' BatchNormalization with a fused training step and PyTorch's running variance.

    ``(..., C) -> (..., C)``. Inference (and masks, renorm, other axes) is Keras' own code, so exported
    graphs do not change. A training step over the last axis uses the backend's fused kernel where there
    is one (``backend_ops``; TensorFlow on a CPU: forward + backward about 5x faster than Keras'
    composite ops, which were about a third of a CTR-GCN training step) and updates the moving variance
    with the unbiased batch variance, as PyTorch's BatchNorm does. Same name as Keras' class, so
    automatic layer names, weight paths of saved models and importers see no difference.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (not (training and self.trainable) or mask is not None or self.renorm or self.synchronized
                or self.axis not in (-1, rank - 1) or not (self.scale and self.center)):
            return super().call(inputs, training=training, mask=mask)
        x = ops.cast(inputs, "float32")
        gamma, beta = ops.cast(self.gamma, "float32"), ops.cast(self.beta, "float32")
        fused = fused_batch_norm_training(x, gamma, beta, self.epsilon)
        if fused is not None:
            outputs, mean, unbiased_variance = fused
        else:
            mean, variance = ops.moments(x, axes=self._reduction_axes)
            outputs = ops.batch_normalization(x, mean, variance, axis=-1, offset=beta, scale=gamma,
                                              epsilon=self.epsilon)
            count = ops.cast(ops.size(x) // ops.shape(x)[-1], "float32")
            unbiased_variance = variance * count / ops.maximum(count - 1.0, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(ops.cast(self.moving_mean, "float32") * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(
            ops.cast(self.moving_variance, "float32") * momentum + unbiased_variance * (1.0 - momentum))
        return ops.cast(outputs, self.compute_dtype)


def batch_norm(name=None, gamma_initializer="ones", axis=-1):
    """A BatchNormalization with the references' epsilon and momentum."""
    return BatchNormalization(
        axis=axis, epsilon=BN_EPSILON, momentum=BN_MOMENTUM, gamma_initializer=gamma_initializer, name=name)


def kaiming_fan_out():
    """PyTorch ``kaiming_normal_(mode='fan_out')``: std = sqrt(2 / (out * kT * kV))."""
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal")


def kaiming_fan_in():
    """Paddle's default conv init: Normal(0, sqrt(2 / (in * kT * kV)))."""
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="untruncated_normal")


def conv1x1(filters, use_bias=True, strides=1, name=None, kernel_initializer=None):
    """A pointwise conv over ``(N, T, V, C)``; ``strides`` applies to T only."""
    return keras.layers.Conv2D(
        filters, (1, 1), strides=(strides, 1), use_bias=use_bias, name=name,
        kernel_initializer=kernel_initializer or kaiming_fan_out(), bias_initializer="zeros")


def strided_output_shape(input_shape, strides, channels=None):
    """``(N, T, V, C) -> (N, T', V, channels or C)`` for a temporal op of stride ``strides`` that pads to
    keep every start frame (``T' = ceil(T / strides)``; an unknown T stays unknown)."""
    frames = input_shape[1]
    if frames is not None:
        frames = (frames - 1) // strides + 1
    return (input_shape[0], frames) + tuple(input_shape[2:-1]) + (channels or input_shape[-1],)


def every_nth_frame(x, n, padding=0):
    """``(N, T, V, C) -> (N, ceil((T + 2 * padding) / n), V, C)``: frames ``0, n, 2n, ...`` of ``x``
    zero-padded by ``padding`` frames at each end.

    One pad (the end also up to a multiple of ``n``) and a phase-0 slice of a rank-4 reshape, so the
    graph keeps unit-stride ops only.
    """
    if n == 1 and not padding:
        return x
    frames, joints, channels = ops.shape(x)[1] + 2 * padding, ops.shape(x)[2], ops.shape(x)[3]
    extra = (n - frames % n) % n
    x = ops.pad(x, [[0, 0], [padding, padding + extra], [0, 0], [0, 0]])
    groups = (frames + extra) // n
    x = ops.reshape(x, (-1, groups, n, joints * channels))[:, :, :1, :]
    return ops.reshape(x, (-1, groups, joints, channels))


def add_residual(out, x, kind, block, training=None):
    """``out`` plus a block's residual of ``x``: ``"identity"`` adds ``x``, ``"conv"`` adds
    ``block.residual_bn(block.residual_conv(x))``, ``"none"`` adds nothing."""
    if kind == "identity":
        return out + x
    if kind == "conv":
        return out + block.residual_bn(block.residual_conv(x), training=training)
    return out


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalConv(keras.layers.Layer):
    """Conv over frames with the references' explicit symmetric padding.

    ``(N, T, V, C_in) -> (N, T', V, filters)`` with kernel ``(kernel_size, 1)``.
    PyTorch pads ``(k + (k-1)(d-1) - 1) // 2`` frames on both ends; Keras "same"
    pads asymmetrically for stride 2, so we pad explicitly and convolve "valid".
    Keras also rejects stride > 1 together with dilation > 1. When the dilation is a
    multiple of the stride (CTR-GCN: both 2), output frame ``t`` reads only padded
    frames ``s t + d k``, i.e. every ``s``-th frame: we keep those frames first (a
    reshape, not a strided slice, so XNNPACK takes it) and convolve them with
    dilation ``d / s`` at stride 1 — the same arithmetic at ``1/s`` of the cost.
    Other combinations run at stride 1 and subsample the output.
    """

    def __init__(self, filters, kernel_size=5, strides=1, dilation_rate=1, use_bias=True,
                 kernel_initializer="kaiming_fan_out", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.dilation_rate = dilation_rate
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.padding = (kernel_size + (kernel_size - 1) * (dilation_rate - 1) - 1) // 2
        both = strides > 1 and dilation_rate > 1
        self._select_frames = both and dilation_rate % strides == 0
        self._subsample = both and not self._select_frames
        conv_stride = 1 if both else strides
        conv_dilation = dilation_rate // strides if self._select_frames else dilation_rate
        initializer = {"kaiming_fan_out": kaiming_fan_out(), "kaiming_fan_in": kaiming_fan_in()}.get(
            kernel_initializer, kernel_initializer)
        self.conv = keras.layers.Conv2D(
            filters, (kernel_size, 1), strides=(conv_stride, 1), dilation_rate=(conv_dilation, 1),
            padding="valid", use_bias=use_bias, kernel_initializer=initializer, bias_initializer="zeros",
            name="conv")

    def build(self, input_shape):
        padded = list(input_shape)
        if padded[1] is not None:
            padded[1] += 2 * self.padding
            if self._select_frames:
                padded[1] = -(-padded[1] // self.strides)
        self.conv.build(tuple(padded))

    def call(self, inputs):
        x = inputs
        if self._select_frames:
            # Dilation d = m * s: the strided conv reads only frames of phase 0, so keep those first
            # and run a unit-stride conv of dilation m on them.
            return self.conv(every_nth_frame(x, self.strides, self.padding))
        if self.padding:
            x = ops.pad(x, [[0, 0], [self.padding, self.padding], [0, 0], [0, 0]])
        x = self.conv(x)
        if self._subsample:
            x = x[:, :: self.strides]
        return x

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        if frames is not None:
            span = self.dilation_rate * (self.kernel_size - 1) + 1
            frames = (frames + 2 * self.padding - span) // self.strides + 1
        return (input_shape[0], frames, input_shape[2], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      dilation_rate=self.dilation_rate, use_bias=self.use_bias,
                      kernel_initializer=self.kernel_initializer)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalMaxPool(keras.layers.Layer):
    """Max-pool over frames, window ``pool_size``, symmetric padding ``pool_size // 2``.

    PyTorch pads max-pool with -inf. Inputs here always come straight from a ReLU
    (>= 0), so zero padding selects the same maxima and keeps TFLite to a plain PAD.
    Set ``pad_value`` to a large negative number for inputs that can be negative.
    """

    def __init__(self, pool_size=3, strides=1, pad_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.strides = strides
        self.pad_value = pad_value

    def call(self, inputs):
        pad = self.pool_size // 2
        x = ops.pad(inputs, [[0, 0], [pad, pad], [0, 0], [0, 0]], constant_values=self.pad_value)
        return keras.ops.max_pool(x, (self.pool_size, 1), strides=(self.strides, 1), padding="valid")

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        if frames is not None:
            frames = (frames + 2 * (self.pool_size // 2) - self.pool_size) // self.strides + 1
        return (input_shape[0], frames) + tuple(input_shape[2:])

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, strides=self.strides, pad_value=self.pad_value)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class PersonDataNorm(keras.layers.Layer):
    """Input BatchNorm over ``M*V*C`` channels, then persons folded into the batch.

    ``(N, M, T, V, C) -> (N*M, T, V, C)``. The references' ``data_bn`` is a
    BatchNorm1d whose channel ``m*V*C + v*C + c`` has statistics over (N, T); the
    gamma/beta/mean/variance vectors here use that same order, so checkpoint
    vectors copy as they are. With ``per_person=False`` the norm has ``V*C``
    channels shared by all persons (ST-GCN++ "VC" mode).
    """

    def __init__(self, num_persons, num_joints, num_channels, per_person=True, **kwargs):
        super().__init__(**kwargs)
        self.num_persons = num_persons
        self.num_joints = num_joints
        self.num_channels = num_channels
        self.per_person = per_person
        self.bn = batch_norm(name="bn")

    def build(self, input_shape):
        width = self.num_joints * self.num_channels * (self.num_persons if self.per_person else 1)
        self.bn.build((None, None, width))

    def call(self, inputs, training=None):
        m, v, c = self.num_persons, self.num_joints, self.num_channels
        frames = ops.shape(inputs)[2]
        # Rank 4 from the first op on: (N, M, T, V*C).
        x = ops.reshape(inputs, (-1, m, frames, v * c))
        if self.per_person:
            x = ops.transpose(x, (0, 2, 1, 3))                      # (N, T, M, V*C)
            x = ops.reshape(x, (-1, frames, m * v * c))
            x = self.bn(x, training=training)
            x = ops.reshape(x, (-1, frames, m, v * c))
            x = ops.transpose(x, (0, 2, 1, 3))                      # (N, M, T, V*C)
            return ops.reshape(x, (-1, frames, v, c))
        x = ops.reshape(x, (-1, frames, v * c))                      # (N*M, T, V*C)
        x = self.bn(x, training=training)
        return ops.reshape(x, (-1, frames, v, c))

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * self.num_persons
        return (batch, input_shape[2], self.num_joints, self.num_channels)

    def get_config(self):
        config = super().get_config()
        config.update(num_persons=self.num_persons, num_joints=self.num_joints,
                      num_channels=self.num_channels, per_person=self.per_person)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class PersonPool(keras.layers.Layer):
    """Global average over frames and joints, then over persons.

    ``(N*M, T, V, C) -> (N, C)``, the references' head pooling.
    """

    def __init__(self, num_persons, **kwargs):
        super().__init__(**kwargs)
        self.num_persons = num_persons

    def call(self, inputs):
        x = ops.mean(inputs, axis=(1, 2))                              # (N*M, C)
        x = ops.reshape(x, (-1, self.num_persons, ops.shape(x)[-1]))   # (N, M, C)
        return ops.mean(x, axis=1)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] // self.num_persons
        return (batch, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(num_persons=self.num_persons)
        return config
