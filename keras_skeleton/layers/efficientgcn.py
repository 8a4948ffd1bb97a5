"""EfficientGCN layers (SG variant; MODEL_SPEC §5), channels-last ``(N, T, V, C)``."""

from __future__ import annotations

import numpy as np
import keras
from keras import ops

from keras_skeleton.layers.common import (PACKAGE, batch_norm, conv1x1, every_nth_frame, kaiming_fan_out,
                                         strided_output_shape)


def swish(x):
    return x * ops.sigmoid(x)


def hard_swish(x):
    return x * ops.relu6(x + 3.0) / 6.0


@keras.saving.register_keras_serializable(package=PACKAGE)
class EfficientGCNInputs(keras.layers.Layer):
    """Raw joints ``(N, M, T, V, 3)`` -> the three input branches ``(N*M, T, V, 18)`` = [joint | velocity | bone].

    Joint: ``X`` and ``X - X[joint 2]``. Velocity: ``X[t+1] - X[t]`` and ``X[t+2] - X[t]``,
    the last two frames zero. Bone: ``B = X[v] - X[parent(v)]`` and the angles
    ``arccos(B_c / (|B| + 1e-4))`` (pi/2 for a zero bone). Computing them inside the
    model lets a deployed model take raw joints.
    """

    def __init__(self, num_persons, parents, center_joint=1, **kwargs):
        super().__init__(**kwargs)
        self.num_persons = num_persons
        self.parents = [int(p) for p in parents]
        self.center_joint = center_joint

    def call(self, inputs):
        shape = ops.shape(inputs)
        frames, joints = shape[2], len(self.parents)
        x = ops.reshape(inputs, (-1, frames, joints, 3))                   # (N*M, T, V, 3), index n*M+m
        relative = x - x[:, :, self.center_joint:self.center_joint + 1, :]
        step1 = x[:, 1:] - x[:, :-1]                                       # (N*M, T-1, V, 3)
        step2 = x[:, 2:] - x[:, :-2]                                       # (N*M, T-2, V, 3)
        velocity = ops.concatenate([step1[:, :-1], step2], axis=-1)        # (N*M, T-2, V, 6)
        velocity = ops.pad(velocity, [[0, 0], [0, 2], [0, 0], [0, 0]])     # last two frames zero
        bone = x - ops.take(x, self.parents, axis=2)
        length = ops.sqrt(ops.sum(bone * bone, axis=-1, keepdims=True)) + 1e-4
        cosine = bone / length
        # arccos(c) = atan2(sqrt(1 - c^2), c): ATAN2 is a TFLite builtin, ACOS is not.
        angle = ops.arctan2(ops.sqrt(ops.maximum(1.0 - cosine * cosine, 0.0)), cosine)
        return ops.concatenate([x, relative, velocity, bone, angle], axis=-1)

    def compute_output_shape(self, input_shape):
        batch = None if input_shape[0] is None else input_shape[0] * self.num_persons
        return (batch, input_shape[2], input_shape[3], 18)

    def get_config(self):
        config = super().get_config()
        config.update(num_persons=self.num_persons, parents=self.parents, center_joint=self.center_joint)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpatialGraphLayer(keras.layers.Layer):
    """``act(BN(SGC(x)) + res(x))`` with ``SGC: y[w] = sum_k sum_v h_k[v] (A ∘ E)[k, v, w]``.

    ``(N, T, V, C_in) -> (N, T, V, out_channels)``; ``A`` fixed (non-trainable),
    edge importance ``E`` trainable (ones at init); source-row orientation kept.
    """

    def __init__(self, out_channels, adjacency, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.num_subsets = len(self.adjacency)

    def build(self, input_shape):
        adjacency = np.asarray(self.adjacency, dtype="float32")
        self.A = self.add_weight(name="A", shape=adjacency.shape, initializer=keras.initializers.Constant(adjacency),
                                 trainable=False)
        self.edge = self.add_weight(name="edge", shape=adjacency.shape, initializer="ones", trainable=True)
        self.gcn = conv1x1(self.num_subsets * self.out_channels, name="gcn", kernel_initializer=kaiming_fan_out())
        self.gcn.build(input_shape)
        out_shape = tuple(input_shape[:-1]) + (self.out_channels,)
        self.bn = batch_norm(name="bn")
        self.bn.build(out_shape)
        self.has_residual_conv = input_shape[-1] != self.out_channels
        if self.has_residual_conv:
            self.residual_conv = conv1x1(self.out_channels, name="residual_conv", kernel_initializer=kaiming_fan_out())
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(out_shape)

    def call(self, x, training=None):
        c = self.out_channels
        h = self.gcn(x)                                                   # (N, T, V, K·C)
        graph = self.A * self.edge
        y = None
        for k in range(self.num_subsets):
            z = ops.matmul(ops.transpose(h[..., k * c:(k + 1) * c], (0, 1, 3, 2)), graph[k])   # (N, T, C, W)
            y = z if y is None else y + z
        y = self.bn(ops.transpose(y, (0, 1, 3, 2)), training=training)
        residual = self.residual_bn(self.residual_conv(x), training=training) if self.has_residual_conv else x
        return swish(y + residual)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalDepthwiseConv(keras.layers.Layer):
    """Depthwise conv over frames, kernel ``(k, 1)``, symmetric padding ``k // 2``, stride ``s``.

    The stride is taken by keeping every ``s``-th output frame of a unit-stride conv: TensorFlow's
    plain CPU kernel (the one used where oneDNN is off by default, e.g. CPUs without AVX-512)
    rejects a depthwise conv with unequal strides ``(s, 1)``. Same outputs, same weights.
    """

    def __init__(self, kernel_size=5, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.strides = strides
        self.conv = keras.layers.DepthwiseConv2D((kernel_size, 1), strides=(1, 1), padding="valid",
                                                 depthwise_initializer=kaiming_fan_out(), name="conv")

    def build(self, input_shape):
        padded = list(input_shape)
        if padded[1] is not None:
            padded[1] += 2 * (self.kernel_size // 2)
        self.conv.build(tuple(padded))

    def call(self, x):
        pad = self.kernel_size // 2
        return every_nth_frame(self.conv(ops.pad(x, [[0, 0], [pad, pad], [0, 0], [0, 0]])), self.strides)

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.kernel_size, strides=self.strides)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalBasicLayer(keras.layers.Layer):
    """Stem temporal layer: ``act(BN(conv 5x1)(x) + x)`` (stride 1); ``(N, T, V, C) -> (N, T, V, C)``."""

    def __init__(self, kernel_size=5, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size

    def build(self, input_shape):
        from keras_skeleton.layers.common import TemporalConv
        self.conv = TemporalConv(input_shape[-1], self.kernel_size, name="conv")
        self.conv.build(input_shape)
        self.bn = batch_norm(name="bn")
        self.bn.build(input_shape)

    def call(self, x, training=None):
        return swish(self.bn(self.conv(x), training=training) + x)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.kernel_size)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class TemporalSGLayer(keras.layers.Layer):
    """Sandglass temporal layer: depthwise → 1x1 reduce → 1x1 expand → strided depthwise, ``+ res`` (no act after).

    ``(N, T, V, C) -> (N, T/stride, V, C)``.
    """

    def __init__(self, kernel_size=5, strides=1, reduct_ratio=2, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.strides = strides
        self.reduct_ratio = reduct_ratio

    def build(self, input_shape):
        c = input_shape[-1]
        inner = c // self.reduct_ratio
        inner_shape = tuple(input_shape[:-1]) + (inner,)
        self.depth_conv1 = TemporalDepthwiseConv(self.kernel_size, 1, name="depth_conv1")
        self.depth_conv1.build(input_shape)
        self.depth_bn1 = batch_norm(name="depth_bn1")
        self.depth_bn1.build(input_shape)
        self.point_conv1 = conv1x1(inner, name="point_conv1", kernel_initializer=kaiming_fan_out())
        self.point_conv1.build(input_shape)
        self.point_bn1 = batch_norm(name="point_bn1")
        self.point_bn1.build(inner_shape)
        self.point_conv2 = conv1x1(c, name="point_conv2", kernel_initializer=kaiming_fan_out())
        self.point_conv2.build(inner_shape)
        self.point_bn2 = batch_norm(name="point_bn2")
        self.point_bn2.build(input_shape)
        self.depth_conv2 = TemporalDepthwiseConv(self.kernel_size, self.strides, name="depth_conv2")
        self.depth_conv2.build(input_shape)
        self.depth_bn2 = batch_norm(name="depth_bn2")
        self.depth_bn2.build(input_shape)
        if self.strides != 1:
            self.residual_conv = conv1x1(c, strides=self.strides, name="residual_conv",
                                         kernel_initializer=kaiming_fan_out())
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(input_shape)

    def call(self, x, training=None):
        h = swish(self.depth_bn1(self.depth_conv1(x), training=training))
        h = self.point_bn1(self.point_conv1(h), training=training)
        h = swish(self.point_bn2(self.point_conv2(h), training=training))
        h = self.depth_bn2(self.depth_conv2(h), training=training)
        residual = self.residual_bn(self.residual_conv(x), training=training) if self.strides != 1 else x
        return h + residual

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.kernel_size, strides=self.strides, reduct_ratio=self.reduct_ratio)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class STJointAttention(keras.layers.Layer):
    """ST-Joint attention: ``act(BN(x · a_t ⊗ a_v) + x)``; ``(N, T, V, C) -> (N, T, V, C)``.

    Frame and joint descriptors share one squeeze conv + BN (statistics over all T+V
    positions), then each gets its own excitation conv and sigmoid.
    """

    def __init__(self, reduct_ratio=2, **kwargs):
        super().__init__(**kwargs)
        self.reduct_ratio = reduct_ratio

    def build(self, input_shape):
        c = input_shape[-1]
        inner = c // self.reduct_ratio
        init = kaiming_fan_out()
        self.fcn_conv = conv1x1(inner, name="fcn_conv", kernel_initializer=init)
        self.fcn_conv.build((None, None, 1, c))
        self.fcn_bn = batch_norm(name="fcn_bn")
        self.fcn_bn.build((None, None, 1, inner))
        self.conv_t = conv1x1(c, name="conv_t", kernel_initializer=init)
        self.conv_t.build((None, None, 1, inner))
        self.conv_v = conv1x1(c, name="conv_v", kernel_initializer=init)
        self.conv_v.build((None, None, 1, inner))
        self.bn = batch_norm(name="bn")
        self.bn.build(input_shape)

    def call(self, x, training=None):
        frames = ops.shape(x)[1]
        pooled_t = ops.mean(x, axis=2, keepdims=True)                       # (N, T, 1, C)
        pooled_v = ops.transpose(ops.mean(x, axis=1, keepdims=True), (0, 2, 1, 3))   # (N, V, 1, C)
        f = ops.concatenate([pooled_t, pooled_v], axis=1)                    # (N, T+V, 1, C)
        f = hard_swish(self.fcn_bn(self.fcn_conv(f), training=training))
        attention_t = ops.sigmoid(self.conv_t(f[:, :frames]))               # (N, T, 1, C)
        attention_v = ops.sigmoid(self.conv_v(f[:, frames:]))               # (N, V, 1, C)
        attention = attention_t * ops.transpose(attention_v, (0, 2, 1, 3))  # (N, T, V, C)
        return swish(self.bn(x * attention, training=training) + x)

    def get_config(self):
        config = super().get_config()
        config.update(reduct_ratio=self.reduct_ratio)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class ChannelSlice(keras.layers.Layer):
    """``x[..., start:stop]`` as a serialisable layer."""

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start = start
        self.stop = stop

    def call(self, x):
        return x[..., self.start:self.stop]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.stop - self.start,)

    def get_config(self):
        config = super().get_config()
        config.update(start=self.start, stop=self.stop)
        return config
