"""Layers of the CTRGCN_light family (MODEL_SPEC §4), channels-last ``(N, T, V, C)``.

CTRGCN_light reuses the CTR-GCN layers (``layers/ctrgcn.py``) without biases; V1 and V2
fuse the 1x1 convs: one pointwise conv feeds the three MS-TCN stems, and one conv
computes the queries, keys and values of all three CTR-GC subsets.
"""

from __future__ import annotations

import numpy as np
import keras
from keras import ops

from keras_skeleton.layers.common import (PACKAGE, TemporalConv, TemporalMaxPool, add_residual, batch_norm, conv1x1,
                                          kaiming_fan_in, strided_output_shape)
from keras_skeleton.layers.ctrgcn import (MultiScaleTemporalConv, UnitGCN, multi_subset_aggregate,
                                          multi_subset_aggregate_channels_first, pairwise_tanh,
                                          relation_width)


@keras.saving.register_keras_serializable(package=PACKAGE)
class FusedMultiScaleTemporalConv(keras.layers.Layer):
    """MS-TCN whose three stems are one conv (``conv_pw``), MODEL_SPEC §4.3 / §4.4.

    ``(N, T, V, C_in) -> (N, T/stride, V, out_channels)``. Branch widths: ``bc =
    out_channels // 4`` for the two dilated convs and the max-pool; the strided 1x1
    branch takes the remainder ``out_channels - 3 bc`` (V2 allows a remainder).

    Args:
        out_channels, kernel_size, strides, dilations: as ``MultiScaleTemporalConv``.
        residual: internal residual ``"none"``, ``"identity"`` or ``"conv"`` (no-bias k=1 conv + BN).
    """

    def __init__(self, out_channels, kernel_size=5, strides=1, dilations=(1, 2), residual="none", **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.strides = strides
        self.dilations = tuple(dilations)
        self.residual = residual
        self.branch_channels = out_channels // (len(self.dilations) + 2)
        self.point_channels = out_channels - (len(self.dilations) + 1) * self.branch_channels

    def build(self, input_shape):
        bc, stems = self.branch_channels, len(self.dilations) + 1
        init = kaiming_fan_in()
        stem_shape = tuple(input_shape[:-1]) + (stems * bc,)
        branch_shape = tuple(input_shape[:-1]) + (bc,)
        self.conv_pw = conv1x1(stems * bc, use_bias=False, name="conv_pw", kernel_initializer=init)
        self.conv_pw.build(input_shape)
        self.conv_pw_bn = batch_norm(name="conv_pw_bn")
        self.conv_pw_bn.build(stem_shape)
        self.tconvs, self.tconv_bns = [], []
        for i, dilation in enumerate(self.dilations):
            tconv = TemporalConv(bc, self.kernel_size, self.strides, dilation, use_bias=False,
                                 kernel_initializer="kaiming_fan_in", name=f"branches_{i}_tconv")
            tconv.build(branch_shape)
            tconv_bn = batch_norm(name=f"branches_{i}_bn")
            tconv_bn.build(branch_shape)
            self.tconvs.append(tconv)
            self.tconv_bns.append(tconv_bn)
        i = len(self.dilations)
        self.pool = TemporalMaxPool(3, self.strides, name=f"branches_{i}_pool")
        self.pool_bn = batch_norm(name=f"branches_{i}_bn")
        self.pool_bn.build(branch_shape)
        self.point_conv = conv1x1(self.point_channels, use_bias=False, strides=self.strides,
                                  name=f"branches_{i + 1}_conv1x1", kernel_initializer=init)
        self.point_conv.build(input_shape)
        self.point_bn = batch_norm(name=f"branches_{i + 1}_bn")
        self.point_bn.build(tuple(input_shape[:-1]) + (self.point_channels,))
        if self.residual == "conv":
            self.residual_conv = conv1x1(self.out_channels, use_bias=False, strides=self.strides,
                                         name="residual_conv", kernel_initializer=init)
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(tuple(input_shape[:-1]) + (self.out_channels,))
        elif self.residual not in ("none", "identity"):
            raise ValueError(f"residual must be 'none', 'identity' or 'conv', got '{self.residual}'")

    def call(self, x, training=None):
        bc = self.branch_channels
        stems = ops.relu(self.conv_pw_bn(self.conv_pw(x), training=training))
        outputs = []
        for i, (tconv, tconv_bn) in enumerate(zip(self.tconvs, self.tconv_bns)):
            outputs.append(tconv_bn(tconv(stems[..., i * bc:(i + 1) * bc]), training=training))
        i = len(self.dilations)
        outputs.append(self.pool_bn(self.pool(stems[..., i * bc:(i + 1) * bc]), training=training))
        outputs.append(self.point_bn(self.point_conv(x), training=training))
        out = ops.concatenate(outputs, axis=-1)
        out = add_residual(out, x, self.residual, self, training)
        return out

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, kernel_size=self.kernel_size, strides=self.strides,
                      dilations=list(self.dilations), residual=self.residual)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class FusedUnitGCN(keras.layers.Layer):
    """GCN unit whose three CTR-GCs share one input conv (V1: §4.3; V2 with ``shared_relation``: §4.4).

    ``(N, T, V, C_in) -> (N, T, V, out_channels)``: ``conv1`` gives ``[q (S·R'), k (S·R'),
    values (S·C_out)]`` with ``R' = R`` per subset (V1) or one shared ``R`` (V2);
    ``Â_i = conv2_i(tanh(q_u - k_v)) · alpha + PA_i``; ``y = sum_i Â_i ⋅ values_i``;
    then ``ReLU(BN(y) + down(x))``.
    """

    def __init__(self, out_channels, adjacency, shared_relation=False, rel_reduction=8, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.shared_relation = shared_relation
        self.rel_reduction = rel_reduction
        self.num_subsets = len(self.adjacency)
        self.channels_first_inference = False   # export-time switch, see ctrgcn.use_channels_first_inference

    def build(self, input_shape):
        in_channels = input_shape[-1]
        s, c = self.num_subsets, self.out_channels
        self.rel_channels = relation_width(in_channels, self.rel_reduction)
        self.num_relations = 1 if self.shared_relation else s
        adjacency = np.asarray(self.adjacency, dtype="float32")
        self.PA = self.add_weight(name="PA", shape=adjacency.shape,
                                  initializer=keras.initializers.Constant(adjacency), trainable=True)
        self.alpha = self.add_weight(name="alpha", shape=(1,), initializer="zeros", trainable=True)
        init = kaiming_fan_in()
        self.conv1 = conv1x1(2 * self.num_relations * self.rel_channels + s * c, name="conv1",
                             kernel_initializer=init)
        self.conv1.build(input_shape)
        self.conv2 = [conv1x1(c, name=f"conv2_{i}", kernel_initializer=init) for i in range(s)]
        for conv in self.conv2:
            conv.build((None, None, None, self.rel_channels))
        out_shape = tuple(input_shape[:-1]) + (c,)
        self.bn = batch_norm(name="bn")
        self.bn.build(out_shape)
        self.has_down = in_channels != c
        if self.has_down:
            self.down_conv = conv1x1(c, use_bias=False, name="down_conv", kernel_initializer=init)
            self.down_conv.build(input_shape)
            self.down_bn = batch_norm(name="down_bn")
            self.down_bn.build(out_shape)

    def call(self, x, training=None):
        s, r, nr = self.num_subsets, self.rel_channels, self.num_relations
        # conv1 = [q | k | values]; the q/k part runs on the frame mean (a pointwise conv
        # commutes with the mean: T times fewer multiplies), the values part on every frame.
        # Only weights are sliced (no activation: see UnitGCN.call).
        kernel, bias = self.conv1.kernel, self.conv1.bias
        width = 2 * nr * r
        mean = ops.mean(x, axis=1)                                            # (N, V, C_in)
        relations = []
        for i in range(nr):
            q = ops.matmul(mean, kernel[0, 0, :, i * r:(i + 1) * r]) + bias[i * r:(i + 1) * r]
            k = ops.matmul(mean, kernel[0, 0, :, (nr + i) * r:(nr + i + 1) * r]) + bias[(nr + i) * r:(nr + i + 1) * r]
            relations.append(pairwise_tanh(q, k))                             # (N, U, V, R)
        if self.shared_relation:
            relations = relations * s
        c = self.out_channels
        if training or self.channels_first_inference:   # the same sum, channels-first (see the function)
            y = multi_subset_aggregate_channels_first(
                relations, self.conv2, self.alpha, self.PA, x,
                [kernel[0, 0, :, width + i * c:width + (i + 1) * c] for i in range(s)],
                [bias[width + i * c:width + (i + 1) * c] for i in range(s)])
        else:
            values = ops.conv(x, kernel[..., width:]) + bias[width:]          # (N, T, V, S·C)
            y = multi_subset_aggregate(relations, self.conv2, self.alpha, self.PA, values)
        y = self.bn(y, training=training)
        residual = self.down_bn(self.down_conv(x), training=training) if self.has_down else x
        return ops.relu(y + residual)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency,
                      shared_relation=self.shared_relation, rel_reduction=self.rel_reduction)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class LightBlock(keras.layers.Layer):
    """One block of the light family: ``ReLU(TCN(GCN(x)) + res(x))``; with ``use_gcn=False``
    ``ReLU(TCN(x) + res(x))``.

    ``(N, T, V, C_in) -> (N, T/stride, V, out_channels)``.

    Args:
        out_channels: block output width.
        adjacency: ``(3, V, V)`` nested list (target-row).
        strides: temporal stride (of the TCN and the residual).
        residual: ``False`` = no residual (first block).
        use_gcn: spatial module present.
        fused: V1/V2 fused convs (else CTRGCN_light's separate ones).
        shared_relation: V2's single relation map.
        gcn_channels: GCN output width (V2's stride-2 blocks keep ``C_in``); default ``out_channels``.
        residual_in_tcn: TCN-only blocks of V1 carry the residual inside the MS-TCN (key layout only).
    """

    def __init__(self, out_channels, adjacency, strides=1, residual=True, use_gcn=True, fused=False,
                 shared_relation=False, gcn_channels=None, residual_in_tcn=False, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.strides = strides
        self.residual = residual
        self.use_gcn = use_gcn
        self.fused = fused
        self.shared_relation = shared_relation
        self.gcn_channels = gcn_channels
        self.residual_in_tcn = residual_in_tcn

    def build(self, input_shape):
        in_channels = input_shape[-1]
        tcn_input = input_shape
        if self.use_gcn:
            width = self.gcn_channels or self.out_channels
            if self.fused:
                self.gcn1 = FusedUnitGCN(width, self.adjacency, self.shared_relation, name="gcn1")
            else:
                self.gcn1 = UnitGCN(width, self.adjacency, bn_gamma_init=1.0, down_bias=False,
                                    conv_initializer="kaiming_fan_in", name="gcn1")
            self.gcn1.build(input_shape)
            tcn_input = tuple(input_shape[:-1]) + (width,)
        self.residual_kind = ("none" if not self.residual else
                              "identity" if in_channels == self.out_channels and self.strides == 1 else "conv")
        inner_residual = self.residual_kind if self.residual_in_tcn else "none"
        if self.fused:
            self.tcn1 = FusedMultiScaleTemporalConv(self.out_channels, strides=self.strides,
                                                    residual=inner_residual, name="tcn1")
        else:
            self.tcn1 = MultiScaleTemporalConv(self.out_channels, strides=self.strides, residual=inner_residual,
                                               use_bias=False, bn_gamma_std=0.0, conv_initializer="kaiming_fan_in",
                                               name="tcn1")
        self.tcn1.build(tcn_input)
        if self.residual_kind == "conv" and not self.residual_in_tcn:
            self.residual_conv = conv1x1(self.out_channels, use_bias=False, strides=self.strides,
                                         name="residual_conv", kernel_initializer=kaiming_fan_in())
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(self.tcn1.compute_output_shape(tcn_input))

    def call(self, x, training=None):
        y = self.gcn1(x, training=training) if self.use_gcn else x
        y = self.tcn1(y, training=training)
        if not self.residual_in_tcn:
            y = add_residual(y, x, self.residual_kind, self, training)
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency, strides=self.strides,
                      residual=self.residual, use_gcn=self.use_gcn, fused=self.fused,
                      shared_relation=self.shared_relation, gcn_channels=self.gcn_channels,
                      residual_in_tcn=self.residual_in_tcn)
        return config
