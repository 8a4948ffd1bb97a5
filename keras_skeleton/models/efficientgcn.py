"""EfficientGCN-B0 … B4 with SG temporal layers (Song et al., TPAMI 2022; MODEL_SPEC §5)."""

from __future__ import annotations

import keras

from keras_skeleton import graphs
from keras_skeleton.layers.common import PersonPool, batch_norm
from keras_skeleton.layers.efficientgcn import (ChannelSlice, EfficientGCNInputs, SpatialGraphLayer, STJointAttention,
                                                TemporalBasicLayer, TemporalSGLayer)
from keras_skeleton.models.registry import register_model

_BASE_BLOCKS = [[48, 1, 0.5], [24, 1, 0.5], [64, 2, 1], [128, 2, 1]]
_STEM_CHANNELS = 64


def scaled_blocks(phi: int):
    """Compound scaling: ``channels * 1.2^phi`` to a multiple of 16, ``depth * 1.35^phi`` rounded half to even."""
    return [[max(16, 16 * round(c * 1.2 ** phi / 16)), s, round(d * 1.35 ** phi)] for c, s, d in _BASE_BLOCKS]


def _block(x, channels, stride, depth, adjacency, prefix):
    x = SpatialGraphLayer(channels, adjacency, name=f"{prefix}_scn")(x)
    for d in range(depth):
        x = TemporalSGLayer(5, stride if d == 0 else 1, name=f"{prefix}_tcn_{d}")(x)
    return STJointAttention(2, name=f"{prefix}_att")(x)


def build_efficientgcn(phi, num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3,
                       dropout=0.25, name=None):
    layout = graphs.get_layout(layout)
    if num_channels != 3:
        raise ValueError("EfficientGCN computes its branches from 3-D joints (num_channels=3)")
    # Distance partition within 2 hops, normalised over the 10-hop neighbourhood (the reference's quirk).
    adjacency = graphs.k_hop_adjacency(layout, num_hops=3, max_hop=10)
    parents = layout.alt_parents.get("efficientgcn", layout.parents)
    blocks = scaled_blocks(phi)
    inputs = keras.Input((num_persons, num_frames, layout.num_joints, 3), name="joints")
    features = EfficientGCNInputs(num_persons, parents, name="branch_inputs")(inputs)      # (N*M, T, V, 18)
    branches = []
    for j in range(3):                       # joint, velocity, bone
        x = ChannelSlice(6 * j, 6 * j + 6, name=f"input_branches_{j}_select")(features)
        x = batch_norm(name=f"input_branches_{j}_init_bn")(x)
        x = SpatialGraphLayer(_STEM_CHANNELS, adjacency, name=f"input_branches_{j}_stem_scn")(x)
        x = TemporalBasicLayer(5, name=f"input_branches_{j}_stem_tcn")(x)
        for i, (channels, stride, depth) in enumerate(blocks[:2]):
            x = _block(x, channels, stride, depth, adjacency, f"input_branches_{j}_block_{i}")
        branches.append(x)
    x = keras.layers.Concatenate(axis=-1, name="fusion")(branches)
    for i, (channels, stride, depth) in enumerate(blocks[2:]):
        x = _block(x, channels, stride, depth, adjacency, f"main_stream_block_{i}")
    x = PersonPool(num_persons, name="pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.RandomNormal(0.0, 0.001),
                                 name="fc")(x)
    return keras.Model(inputs, outputs, name=name or f"efficientgcn_b{phi}")


def _register(phi):
    @register_model(f"efficientgcn_b{phi}", f"EfficientGCN-B{phi} (SG layers), J/V/B branches computed in the model")
    def builder(num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3, dropout=0.25,
                name=f"efficientgcn_b{phi}"):
        return build_efficientgcn(phi, num_classes, layout, num_persons, num_frames, num_channels, dropout, name)
    builder.__doc__ = f"EfficientGCN-B{phi}: raw joints ``(N, M, T, V, 3)`` -> logits (T a multiple of 4)."
    return builder


for _phi in range(5):
    _register(_phi)
