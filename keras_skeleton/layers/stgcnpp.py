"""ST-GCN++ layers (PYSKL; MODEL_SPEC §6), channels-last ``(N, T, V, C)``.

The graph is read in the source-row orientation of the reference,
``y[w] = sum_k sum_v h_k[v] A[k, v, w]``, so the trainable ``A`` holds the
reference's matrices unchanged.
"""

from __future__ import annotations

import numpy as np
import keras
from keras import ops

from keras_skeleton.layers.common import (PACKAGE, TemporalConv, TemporalMaxPool, add_residual, batch_norm, conv1x1,
                                          strided_output_shape)


def _torch_default_conv_init():
    # PyTorch's default conv init: Kaiming-uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in)).
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


@keras.saving.register_keras_serializable(package=PACKAGE)
class AdaptiveGraphConv(keras.layers.Layer):
    """ST-GCN++ ``unit_gcn`` (adaptive 'init', conv 'pre', with residual).

    ``(N, T, V, C_in) -> (N, T, V, out_channels)``: ``h = conv(x)`` with ``S·C_out``
    channels (subset-major), ``y[.., w, c] = sum_k sum_v h_k[.., v, c] A[k, v, w]``,
    ``ReLU(BN(y) + down(x))``. ``A`` (S, V, V) is trainable, initialised to ``adjacency``.
    """

    def __init__(self, out_channels, adjacency, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.num_subsets = len(self.adjacency)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        adjacency = np.asarray(self.adjacency, dtype="float32")
        self.A = self.add_weight(name="A", shape=adjacency.shape,
                                 initializer=keras.initializers.Constant(adjacency), trainable=True)
        self.conv = conv1x1(self.num_subsets * self.out_channels, name="conv",
                            kernel_initializer=_torch_default_conv_init())
        self.conv.build(input_shape)
        out_shape = tuple(input_shape[:-1]) + (self.out_channels,)
        self.bn = batch_norm(name="bn")
        self.bn.build(out_shape)
        self.has_down = in_channels != self.out_channels
        if self.has_down:
            self.down_conv = conv1x1(self.out_channels, name="down_conv", kernel_initializer=_torch_default_conv_init())
            self.down_conv.build(input_shape)
            self.down_bn = batch_norm(name="down_bn")
            self.down_bn.build(out_shape)

    def call(self, x, training=None):
        c = self.out_channels
        h = self.conv(x)                                              # (N, T, V, S·C)
        y = None
        for k in range(self.num_subsets):
            h_k = ops.transpose(h[..., k * c:(k + 1) * c], (0, 1, 3, 2))   # (N, T, C, V)
            z = ops.matmul(h_k, self.A[k])                             # (N, T, C, W)
            y = z if y is None else y + z
        y = ops.transpose(y, (0, 1, 3, 2))                            # (N, T, W, C)
        y = self.bn(y, training=training)
        residual = self.down_bn(self.down_conv(x), training=training) if self.has_down else x
        return ops.relu(y + residual)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class MultiScaleTCNPlusPlus(keras.layers.Layer):
    """ST-GCN++ ``mstcn``: branches (3,1) (3,2) (3,3) (3,4) max 1x1, then BN-ReLU-1x1-BN.

    ``(N, T, V, C) -> (N, T/stride, V, out_channels)``. Branch 0 takes the remainder
    ``C - 5 (C // 6)`` channels, the others ``C // 6`` each.
    """

    def __init__(self, out_channels, strides=1, dilations=(1, 2, 3, 4), kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.strides = strides
        self.dilations = tuple(dilations)
        self.kernel_size = kernel_size

    def build(self, input_shape):
        c = self.out_channels
        num_branches = len(self.dilations) + 2
        mid = c // num_branches
        widths = [c - mid * (num_branches - 1)] + [mid] * (num_branches - 1)
        init = _torch_default_conv_init()
        self.stems, self.stem_bns, self.tconvs = [], [], []
        for i, dilation in enumerate(self.dilations):
            width = widths[i]
            shape = tuple(input_shape[:-1]) + (width,)
            stem = conv1x1(width, name=f"branches_{i}_conv1x1", kernel_initializer=init)
            stem.build(input_shape)
            stem_bn = batch_norm(name=f"branches_{i}_bn1x1")
            stem_bn.build(shape)
            tconv = TemporalConv(width, self.kernel_size, self.strides, dilation, kernel_initializer=init,
                                 name=f"branches_{i}_tconv")
            tconv.build(shape)
            self.stems.append(stem)
            self.stem_bns.append(stem_bn)
            self.tconvs.append(tconv)
        i = len(self.dilations)
        self.pool_stem = conv1x1(mid, name=f"branches_{i}_conv1x1", kernel_initializer=init)
        self.pool_stem.build(input_shape)
        self.pool_stem_bn = batch_norm(name=f"branches_{i}_bn1x1")
        self.pool_stem_bn.build(tuple(input_shape[:-1]) + (mid,))
        self.pool = TemporalMaxPool(3, self.strides, name=f"branches_{i}_pool")
        self.point_conv = conv1x1(mid, strides=self.strides, name=f"branches_{i + 1}_conv1x1", kernel_initializer=init)
        self.point_conv.build(input_shape)
        out_shape = tuple(input_shape[:-1]) + (c,)
        self.transform_bn = batch_norm(name="transform_bn")
        self.transform_bn.build(out_shape)
        self.transform_conv = conv1x1(c, name="transform_conv", kernel_initializer=init)
        self.transform_conv.build(out_shape)
        self.bn = batch_norm(name="bn")
        self.bn.build(out_shape)

    def call(self, x, training=None):
        outputs = []
        for stem, stem_bn, tconv in zip(self.stems, self.stem_bns, self.tconvs):
            outputs.append(tconv(ops.relu(stem_bn(stem(x), training=training))))
        outputs.append(self.pool(ops.relu(self.pool_stem_bn(self.pool_stem(x), training=training))))
        outputs.append(self.point_conv(x))
        # Two concatenations of <= 4 inputs: XNNPACK delegates CONCATENATION only up to 5 inputs,
        # and one undelegated 6-way concat per block splits the TFLite graph into 11 partitions.
        y = ops.concatenate([ops.concatenate(outputs[:-2], axis=-1)] + outputs[-2:], axis=-1)
        y = self.transform_conv(ops.relu(self.transform_bn(y, training=training)))
        return self.bn(y, training=training)

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, strides=self.strides, dilations=list(self.dilations),
                      kernel_size=self.kernel_size)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class STGCNPlusPlusBlock(keras.layers.Layer):
    """``ReLU(mstcn(unit_gcn(x)) + res(x))``; ``(N, T, V, C_in) -> (N, T/s, V, out_channels)``."""

    def __init__(self, out_channels, adjacency, strides=1, residual=True, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.strides = strides
        self.residual = residual

    def build(self, input_shape):
        in_channels = input_shape[-1]
        self.gcn = AdaptiveGraphConv(self.out_channels, self.adjacency, name="gcn")
        self.gcn.build(input_shape)
        self.tcn = MultiScaleTCNPlusPlus(self.out_channels, strides=self.strides, name="tcn")
        self.tcn.build(tuple(input_shape[:-1]) + (self.out_channels,))
        self.residual_kind = ("none" if not self.residual else
                              "identity" if in_channels == self.out_channels and self.strides == 1 else "conv")
        if self.residual_kind == "conv":
            self.residual_conv = conv1x1(self.out_channels, strides=self.strides, name="residual_conv",
                                         kernel_initializer=_torch_default_conv_init())
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(self.compute_output_shape(input_shape))

    def call(self, x, training=None):
        y = self.tcn(self.gcn(x, training=training), training=training)
        y = add_residual(y, x, self.residual_kind, self, training)
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency, strides=self.strides,
                      residual=self.residual)
        return config
