"""CTR-GCN layers (MODEL_SPEC §2), channels-last ``(N, T, V, C)``.

Sub-layer names follow the official state-dict keys (``convs.0.conv1`` becomes
``convs_0/conv1``) so the checkpoint importer can map tensors by name.
"""

from __future__ import annotations

import numpy as np
import keras
from keras import ops

from keras_skeleton.layers.common import (PACKAGE, TemporalConv, TemporalMaxPool, add_residual, batch_norm, conv1x1,
                                          kaiming_fan_in, kaiming_fan_out, strided_output_shape)


def relation_width(in_channels, rel_reduction=8):
    """CTR-GC relation width R: 8 for 3- or 9-channel inputs, else ``in_channels // 8``."""
    return 8 if in_channels in (3, 9) else in_channels // rel_reduction


def _conv_init(name):
    return {"kaiming_fan_out": kaiming_fan_out(), "kaiming_fan_in": kaiming_fan_in()}[name]


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTRGC(keras.layers.Layer):
    """Channel-wise topology refinement graph conv for one subset.

    Inputs: ``x (N, T, V, C_in)``, ``adjacency (V, V)`` (target-row), ``alpha (1,)``.
    Output ``(N, T, V, out_channels)`` with
    ``z[n,t,u,c] = sum_v (alpha*conv4(tanh(q_u - k_v)) + A[u,v])[n,u,v,c] * conv3(x)[n,t,v,c]``.
    """

    def __init__(self, out_channels, rel_channels, conv_initializer="kaiming_fan_out", **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.rel_channels = rel_channels
        self.conv_initializer = conv_initializer
        init = _conv_init(conv_initializer)
        self.conv1 = conv1x1(rel_channels, name="conv1", kernel_initializer=init)
        self.conv2 = conv1x1(rel_channels, name="conv2", kernel_initializer=init)
        self.conv3 = conv1x1(out_channels, name="conv3", kernel_initializer=init)
        self.conv4 = conv1x1(out_channels, name="conv4", kernel_initializer=init)

    def build(self, input_shape):
        x_shape = input_shape[0] if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple)) else input_shape
        self.conv1.build(x_shape)
        self.conv2.build(x_shape)
        self.conv3.build(x_shape)
        self.conv4.build((None, None, None, self.rel_channels))

    def call(self, x, adjacency, alpha):
        q = ops.mean(self.conv1(x), axis=1)                          # (N, V, R)
        k = ops.mean(self.conv2(x), axis=1)                          # (N, V, R)
        relation = ops.tanh(q[:, :, None, :] - k[:, None, :, :])     # (N, U, V, R)
        values = self.conv3(x)                                       # (N, T, V, C)
        return refined_aggregate(relation, self.conv4, alpha, adjacency, values)

    def compute_output_shape(self, input_shape, *args, **kwargs):
        return tuple(input_shape[:3]) + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, rel_channels=self.rel_channels,
                      conv_initializer=self.conv_initializer)
        return config


def aggregate_channelwise(topology, values):
    """``out[n,t,u,c] = sum_v topology[n,u,v,c] * values[n,t,v,c]``.

    Written as a rank-4 batched matmul over ``(N, C)`` so it lowers to one
    BATCH_MATMUL in TFLite (no einsum, nothing above rank 4).
    """
    topology = ops.transpose(topology, (0, 3, 1, 2))   # (N, C, U, V)
    values = ops.transpose(values, (0, 3, 2, 1))       # (N, C, V, T)
    out = ops.matmul(topology, values)                 # (N, C, U, T)
    return ops.transpose(out, (0, 3, 2, 1))            # (N, T, U, C)


def aggregate_shared(adjacency, values):
    """``out[n,t,u,c] = sum_v adjacency[u,v] * values[n,t,v,c]`` for one ``(V, V)`` matrix."""
    out = ops.matmul(ops.transpose(values, (0, 1, 3, 2)), ops.transpose(adjacency))   # (N, T, C, U)
    return ops.transpose(out, (0, 1, 3, 2))


def refined_aggregate(relation, conv, alpha, adjacency, values):
    """CTR-GC aggregation with ``Â = alpha * conv(relation) + A`` (``conv`` a 1x1 conv with bias).

    Computed as ``alpha * agg(relation @ W) + alpha * b * sum_v values + A @ values``,
    which is the same sum. Forming ``Â`` directly would let the TFLite converter fold
    ``alpha * b + A`` into a (V, V, C) constant per subset and multiply the file size
    (10 MB for CTR-GCN instead of 6); this form keeps only the weights.
    """
    kernel = conv.kernel[0, 0]                                              # (R, C)
    projected = ops.matmul(relation, kernel)                                # (N, U, V, C)
    out = aggregate_channelwise(projected, values) * alpha
    if conv.use_bias:
        out = out + ops.sum(values, axis=2, keepdims=True) * (conv.bias * alpha)
    return out + aggregate_shared(adjacency, values)


def pairwise_tanh(q, k):
    """``tanh(q_u - k_v)``: ``(N, U, R), (N, V, R) -> (N, U, V, R)``."""
    return ops.tanh(q[:, :, None, :] - k[:, None, :, :])


def graph_extended_relations(relations, convs, alpha, adjacency):
    """Per subset ``s``: ``(extended (N, U, V, R+k), kernel (R+k, C))`` with ``extended @ kernel =
    alpha * relations[s] @ W_s + A_s`` (``W_s`` the kernel of ``convs[s]``, its bias left to the caller).

    ``A_s`` enters as extra relation channels with weight 1, so ``alpha * b_s + A_s`` never appears
    as a constant the TFLite converter could fold into a ``(V, V, C)`` tensor (that tripled the file
    size). Separate relations get their own graph (k = 1). One relation shared by every subset
    (CTRGCN_lightV2) is extended once with all S graphs and subset ``s`` picks graph ``s`` with a
    one-hot row block (k = S): S concatenations of one tensor would need S int8 scales equal to its
    own, and full-int8 conversion fails on that.
    """
    num_subsets = len(convs)
    channels = convs[0].filters
    relation = relations[0]
    batch, targets, sources = ops.shape(relation)[0], relation.shape[1], relation.shape[2]
    if all(r is relation for r in relations):
        graphs = ops.broadcast_to(ops.transpose(adjacency, (1, 2, 0))[None], (batch, targets, sources, num_subsets))
        extended = ops.concatenate([relation, ops.cast(graphs, relation.dtype)], axis=-1)
        picks = [ops.cast(np.repeat(np.eye(num_subsets)[:, s:s + 1], channels, axis=1), relation.dtype)
                 for s in range(num_subsets)]
        return [(extended, ops.concatenate([conv.kernel[0, 0] * alpha, pick], axis=0))
                for conv, pick in zip(convs, picks)]
    pairs = []
    for s, (relation, conv) in enumerate(zip(relations, convs)):
        graph = ops.broadcast_to(adjacency[s][None, :, :, None], (batch, targets, sources, 1))
        extended = ops.concatenate([relation, ops.cast(graph, relation.dtype)], axis=-1)
        kernel = ops.concatenate([conv.kernel[0, 0] * alpha, ops.ones((1, channels), relation.dtype)], axis=0)
        pairs.append((extended, kernel))
    return pairs


def multi_subset_aggregate(relations, convs, alpha, adjacency, values):
    """``sum_s Â_s ⋅ values_s`` with ``Â_s = alpha * conv_s(relations[s]) + A_s``, as one batched matmul.

    Args:
        relations: S tensors ``(N, U, V, R)`` (tanh relations; the same tensor S times when shared).
        convs: S pointwise convs ``R -> C`` (with or without bias): the CTR-GC ``conv4``.
        alpha: ``(1,)``; adjacency: ``(S, V, V)`` target-row.
        values: ``(N, T, V, S*C)``, subset ``s`` in channels ``[s*C, (s+1)*C)``.

    Returns ``(N, T, U, C)``. The graphs enter as relation channels (``graph_extended_relations``);
    stacking the subsets along the summed axis (``K = S*V``) replaces S matmuls and S-1 additions by
    one matmul.
    """
    num_subsets = len(convs)
    channels = convs[0].filters
    tops = []
    for s, (extended, kernel) in enumerate(graph_extended_relations(relations, convs, alpha, adjacency)):
        top = ops.matmul(extended, kernel)                                      # (N, U, V, C)
        if convs[s].use_bias:
            top = top + convs[s].bias * alpha
        tops.append(top)                                                        # (N, U, V, C)
    topology = ops.concatenate(tops, axis=-1)                                   # (N, U, V, S*C)
    targets, sources = topology.shape[1], topology.shape[2]
    topology = ops.reshape(topology, (-1, targets, sources * num_subsets, channels))   # index v*S + s
    frames = values.shape[1] if values.shape[1] is not None else ops.shape(values)[1]
    values = ops.reshape(values, (-1, frames, sources * num_subsets, channels))
    return aggregate_channelwise(topology, values)


def multi_subset_aggregate_channels_first(relations, convs, alpha, adjacency, x, value_kernels, value_biases):
    """``multi_subset_aggregate`` with the value convs folded in, computed channels-first (training path).

    Args:
        relations: S tensors ``(N, U, V, R)`` (tanh relations; the same tensor S times when shared).
        convs: S pointwise convs ``R -> C`` (with or without bias): the CTR-GC ``conv4``.
        alpha: ``(1,)``; adjacency: ``(S, V, V)`` target-row.
        x: ``(N, T, V, C_in)``; value_kernels: S ``(C_in, C)``; value_biases: S ``(C,)``.

    Returns ``(N, T, U, C)``, the same sum as ``multi_subset_aggregate(relations, convs, alpha,
    adjacency, conv(x, value_kernels) + value_biases)``. The aggregation is a matmul batched over
    ``(n, c)``, so its operands are needed channels-first: here both come out of their own matmuls
    channels-first (``W^T ⋅ x^T`` for the values, ``W^T ⋅ relation^T`` for the topology) instead of
    transposing channels-last activations, which leaves one transpose (of the output) instead of
    three of larger tensors (a CTR-GCN training step 1.09x faster on a CPU, benchmarks/README.md). Inference keeps
    ``multi_subset_aggregate``: there the weights sit in CONV_2D / FULLY_CONNECTED ops, which
    TFLite quantises and XNNPACK runs in int8, while a weight inside a BATCH_MATMUL stays float
    (dynamic-range int8 file 2.1x larger) and int8 BATCH_MATMULs leave XNNPACK (full int8 4x slower).
    """
    frames = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
    joints, in_channels = x.shape[2], x.shape[3]
    x_t = ops.transpose(ops.reshape(x, (-1, frames * joints, in_channels)), (0, 2, 1))   # (N, C_in, T·V)
    out = None
    for s, (extended, kernel) in enumerate(graph_extended_relations(relations, convs, alpha, adjacency)):
        conv, channels = convs[s], convs[s].filters
        targets, sources = extended.shape[1], extended.shape[2]
        extended_t = ops.transpose(ops.reshape(extended, (-1, targets * sources, extended.shape[-1])), (0, 2, 1))
        topology = ops.matmul(ops.transpose(kernel)[None], extended_t)                          # (N, C, U·V)
        if conv.use_bias:
            topology = topology + (conv.bias * alpha)[None, :, None]
        topology = ops.reshape(topology, (-1, channels, targets, sources))
        values = ops.matmul(ops.transpose(value_kernels[s])[None], x_t) + value_biases[s][None, :, None]
        values = ops.reshape(values, (-1, channels, frames, sources))                          # (N, C, T, V)
        part = ops.matmul(values, ops.transpose(topology, (0, 1, 3, 2)))                       # (N, C, T, U)
        out = part if out is None else out + part
    return ops.transpose(out, (0, 2, 3, 1))                                                    # (N, T, U, C)


def use_channels_first_inference(model, enabled=True):
    """Makes the CTR-GC units of ``model`` compute inference channels-first too (or not); returns how many.

    For float32 / float16 TFLite: 0.85x the latency under XNNPACK (CTR-GCN, 1 thread). Quantised
    exports keep the default channels-last form (see ``multi_subset_aggregate_channels_first``).
    """
    units = [layer for layer in model._flatten_layers() if hasattr(layer, "channels_first_inference")]
    for layer in units:
        layer.channels_first_inference = bool(enabled)
    return len(units)


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnitGCN(keras.layers.Layer):
    """CTR-GCN's GCN unit: ``ReLU(BN(sum_i CTRGC_i(x, PA_i, alpha)) + down(x))``.

    ``(N, T, V, C_in) -> (N, T, V, out_channels)``. ``PA`` (3, V, V) is trainable and
    starts at ``adjacency``; ``alpha`` (1,) starts at 0.

    Args:
        out_channels: output width.
        adjacency: ``(S, V, V)`` nested list, target-row orientation.
        rel_reduction: relation width divisor (8).
        bn_gamma_init: initial gamma of the output BN (official: 1e-6; Paddle: 1).
        down_bias: whether the ``down`` 1x1 conv has a bias (light models: no).
        conv_initializer: ``"kaiming_fan_out"`` (official) or ``"kaiming_fan_in"`` (Paddle).
    """

    def __init__(self, out_channels, adjacency, rel_reduction=8, bn_gamma_init=1e-6, down_bias=True,
                 conv_initializer="kaiming_fan_out", **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.rel_reduction = rel_reduction
        self.bn_gamma_init = bn_gamma_init
        self.down_bias = down_bias
        self.conv_initializer = conv_initializer
        self.num_subsets = len(self.adjacency)
        # Export-time switch (not part of the config: same weights, same sum), see
        # ``use_channels_first_inference``.
        self.channels_first_inference = False

    def build(self, input_shape):
        in_channels = input_shape[-1]
        self.in_channels = in_channels
        adjacency = np.asarray(self.adjacency, dtype="float32")
        self.PA = self.add_weight(name="PA", shape=adjacency.shape,
                                  initializer=keras.initializers.Constant(adjacency), trainable=True)
        self.alpha = self.add_weight(name="alpha", shape=(1,), initializer="zeros", trainable=True)
        rel = relation_width(in_channels, self.rel_reduction)
        self.convs = [CTRGC(self.out_channels, rel, conv_initializer=self.conv_initializer, name=f"convs_{i}")
                      for i in range(self.num_subsets)]
        for conv in self.convs:
            conv.build(input_shape)
        self.bn = batch_norm(name="bn", gamma_initializer=keras.initializers.Constant(self.bn_gamma_init))
        self.bn.build(tuple(input_shape[:-1]) + (self.out_channels,))
        self.has_down = in_channels != self.out_channels
        if self.has_down:
            self.down_conv = conv1x1(self.out_channels, use_bias=self.down_bias, name="down_conv",
                                     kernel_initializer=_conv_init(self.conv_initializer))
            self.down_conv.build(input_shape)
            self.down_bn = batch_norm(name="down_bn")
            self.down_bn.build(tuple(input_shape[:-1]) + (self.out_channels,))

    def call(self, x, training=None):
        # The S CTR-GCs computed together (same sum as calling each ``CTRGC``): their q/k convs
        # run on the frame mean (a pointwise conv commutes with the mean, T times fewer
        # multiplies), their value convs are one conv, their aggregations one matmul (training:
        # the channels-first form of the same sum, see multi_subset_aggregate_channels_first).
        # No activation is sliced at run time: int8 conversion requires a strided slice to keep
        # its input's scale, which the q/k differences downstream contradict.
        mean = ops.mean(x, axis=1)                                                          # (N, V, C_in)
        relations = [pairwise_tanh(ops.matmul(mean, c.conv1.kernel[0, 0]) + c.conv1.bias,
                                   ops.matmul(mean, c.conv2.kernel[0, 0]) + c.conv2.bias) for c in self.convs]
        conv4s = [c.conv4 for c in self.convs]
        if training or self.channels_first_inference:
            y = multi_subset_aggregate_channels_first(relations, conv4s, self.alpha, self.PA, x,
                                                      [c.conv3.kernel[0, 0] for c in self.convs],
                                                      [c.conv3.bias for c in self.convs])
        else:
            value_kernel = ops.concatenate([c.conv3.kernel for c in self.convs], axis=-1)  # (1, 1, C_in, S·C)
            values = ops.conv(x, value_kernel) + ops.concatenate([c.conv3.bias for c in self.convs], axis=-1)
            y = multi_subset_aggregate(relations, conv4s, self.alpha, self.PA, values)
        y = self.bn(y, training=training)
        residual = self.down_bn(self.down_conv(x), training=training) if self.has_down else x
        return ops.relu(y + residual)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency,
                      rel_reduction=self.rel_reduction, bn_gamma_init=self.bn_gamma_init,
                      down_bias=self.down_bias, conv_initializer=self.conv_initializer)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class MultiScaleTemporalConv(keras.layers.Layer):
    """CTR-GCN's multi-scale temporal module (MODEL_SPEC §2.5), 4 branches.

    ``(N, T, V, C_in) -> (N, T/stride, V, out_channels)``; branch order: dilation
    1, dilation 2, max-pool, strided 1x1 — the checkpoint's channel order.

    Args:
        out_channels: output width (divisible by the branch count).
        kernel_size: temporal kernel of the conv branches (5).
        strides: temporal stride.
        dilations: dilations of the conv branches ((1, 2)).
        residual: internal residual, ``"none"`` (CTR-GCN), ``"identity"`` or ``"conv"``
            (light TCN-only blocks).
        use_bias: whether the module's convs have biases (light models: no).
        bn_gamma_std: std of the random BN gamma init around 1 (official 0.02; Paddle 0).
        conv_initializer: conv kernel init name.
    """

    def __init__(self, out_channels, kernel_size=5, strides=1, dilations=(1, 2), residual="none",
                 use_bias=True, bn_gamma_std=0.02, conv_initializer="kaiming_fan_out", **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.strides = strides
        self.dilations = tuple(dilations)
        self.residual = residual
        self.use_bias = use_bias
        self.bn_gamma_std = bn_gamma_std
        self.conv_initializer = conv_initializer
        num_branches = len(self.dilations) + 2
        if out_channels % num_branches:
            raise ValueError(f"out_channels={out_channels} must be divisible by {num_branches} branches")
        self.branch_channels = out_channels // num_branches

    def _bn(self, name):
        gamma = (keras.initializers.RandomNormal(1.0, self.bn_gamma_std) if self.bn_gamma_std
                 else "ones")
        return batch_norm(name=name, gamma_initializer=gamma)

    def build(self, input_shape):
        bc = self.branch_channels
        init = _conv_init(self.conv_initializer)
        reduced_shape = tuple(input_shape[:-1]) + (bc,)
        # Flat lists of layers (Keras tracks lists of layers, not lists of tuples).
        self.branch_stems, self.branch_stem_bns, self.branch_tconvs, self.branch_tconv_bns = [], [], [], []
        for i, dilation in enumerate(self.dilations):
            stem = conv1x1(bc, use_bias=self.use_bias, name=f"branches_{i}_conv1x1", kernel_initializer=init)
            stem_bn = self._bn(f"branches_{i}_bn1x1")
            tconv = TemporalConv(bc, self.kernel_size, self.strides, dilation, use_bias=self.use_bias,
                                 kernel_initializer=self.conv_initializer, name=f"branches_{i}_tconv")
            tconv_bn = self._bn(f"branches_{i}_bn")
            stem.build(input_shape)
            stem_bn.build(reduced_shape)
            tconv.build(reduced_shape)
            tconv_bn.build(reduced_shape)
            self.branch_stems.append(stem)
            self.branch_stem_bns.append(stem_bn)
            self.branch_tconvs.append(tconv)
            self.branch_tconv_bns.append(tconv_bn)
        i = len(self.dilations)
        self.pool_stem = conv1x1(bc, use_bias=self.use_bias, name=f"branches_{i}_conv1x1",
                                 kernel_initializer=init)
        self.pool_stem_bn = self._bn(f"branches_{i}_bn1x1")
        self.pool = TemporalMaxPool(3, self.strides, name=f"branches_{i}_pool")
        self.pool_bn = self._bn(f"branches_{i}_bn")
        self.pool_stem.build(input_shape)
        self.pool_stem_bn.build(reduced_shape)
        self.pool_bn.build(reduced_shape)
        self.point_conv = conv1x1(bc, use_bias=self.use_bias, strides=self.strides,
                                  name=f"branches_{i + 1}_conv1x1", kernel_initializer=init)
        self.point_bn = self._bn(f"branches_{i + 1}_bn")
        self.point_conv.build(input_shape)
        self.point_bn.build(reduced_shape)
        if self.residual == "conv":
            self.residual_conv = conv1x1(self.out_channels, use_bias=self.use_bias, strides=self.strides,
                                         name="residual_conv", kernel_initializer=init)
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(tuple(input_shape[:-1]) + (self.out_channels,))
        elif self.residual not in ("none", "identity"):
            raise ValueError(f"residual must be 'none', 'identity' or 'conv', got '{self.residual}'")

    def call(self, x, training=None):
        outputs = []
        for stem, stem_bn, tconv, tconv_bn in zip(self.branch_stems, self.branch_stem_bns,
                                                  self.branch_tconvs, self.branch_tconv_bns):
            y = ops.relu(stem_bn(stem(x), training=training))
            outputs.append(tconv_bn(tconv(y), training=training))
        y = ops.relu(self.pool_stem_bn(self.pool_stem(x), training=training))
        outputs.append(self.pool_bn(self.pool(y), training=training))
        outputs.append(self.point_bn(self.point_conv(x), training=training))
        out = ops.concatenate(outputs, axis=-1)
        out = add_residual(out, x, self.residual, self, training)
        return out

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, kernel_size=self.kernel_size, strides=self.strides,
                      dilations=list(self.dilations), residual=self.residual, use_bias=self.use_bias,
                      bn_gamma_std=self.bn_gamma_std, conv_initializer=self.conv_initializer)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class CTRGCNBlock(keras.layers.Layer):
    """``ReLU(MSTCN(GCN(x)) + res(x))`` (MODEL_SPEC §2.6); ``(N, T, V, C_in) -> (N, T/s, V, C_out)``.

    Args:
        out_channels: output width.
        adjacency: ``(3, V, V)`` nested list (target-row).
        strides: temporal stride of the MS-TCN and the residual.
        residual: ``False`` for the first block (no residual at all).
        use_bias: biases on the MS-TCN, ``down`` and residual convs (official: yes; light: no).
        gcn_bn_gamma_init, bn_gamma_std, conv_initializer: init details of the reference.
    """

    def __init__(self, out_channels, adjacency, strides=1, residual=True, use_bias=True,
                 gcn_bn_gamma_init=1e-6, bn_gamma_std=0.02, conv_initializer="kaiming_fan_out", **kwargs):
        super().__init__(**kwargs)
        self.out_channels = out_channels
        self.adjacency = np.asarray(adjacency, dtype="float32").tolist()
        self.strides = strides
        self.residual = residual
        self.use_bias = use_bias
        self.gcn_bn_gamma_init = gcn_bn_gamma_init
        self.bn_gamma_std = bn_gamma_std
        self.conv_initializer = conv_initializer

    def build(self, input_shape):
        in_channels = input_shape[-1]
        self.gcn1 = UnitGCN(self.out_channels, self.adjacency, bn_gamma_init=self.gcn_bn_gamma_init,
                            down_bias=self.use_bias, conv_initializer=self.conv_initializer, name="gcn1")
        self.gcn1.build(input_shape)
        gcn_shape = tuple(input_shape[:-1]) + (self.out_channels,)
        self.tcn1 = MultiScaleTemporalConv(self.out_channels, strides=self.strides, use_bias=self.use_bias,
                                           bn_gamma_std=self.bn_gamma_std,
                                           conv_initializer=self.conv_initializer, name="tcn1")
        self.tcn1.build(gcn_shape)
        self.residual_kind = ("none" if not self.residual else
                              "identity" if in_channels == self.out_channels and self.strides == 1 else "conv")
        if self.residual_kind == "conv":
            self.residual_conv = conv1x1(self.out_channels, use_bias=self.use_bias, strides=self.strides,
                                         name="residual_conv",
                                         kernel_initializer=_conv_init(self.conv_initializer))
            self.residual_conv.build(input_shape)
            self.residual_bn = batch_norm(name="residual_bn")
            self.residual_bn.build(self.tcn1.compute_output_shape(gcn_shape))

    def call(self, x, training=None):
        y = self.tcn1(self.gcn1(x, training=training), training=training)
        y = add_residual(y, x, self.residual_kind, self, training)
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return strided_output_shape(input_shape, self.strides, self.out_channels)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, adjacency=self.adjacency, strides=self.strides,
                      residual=self.residual, use_bias=self.use_bias,
                      gcn_bn_gamma_init=self.gcn_bn_gamma_init, bn_gamma_std=self.bn_gamma_std,
                      conv_initializer=self.conv_initializer)
        return config
