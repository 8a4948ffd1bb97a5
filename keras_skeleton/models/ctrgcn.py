"""CTR-GCN (Chen et al., ICCV 2021), official PyTorch model and its PaddleVideo port (MODEL_SPEC §2-3)."""

from __future__ import annotations

import keras

from keras_skeleton import graphs
from keras_skeleton.layers.common import PersonDataNorm, PersonPool
from keras_skeleton.layers.ctrgcn import CTRGCNBlock
from keras_skeleton.models.registry import register_model


def _fc_initializer(num_classes):
    # Official: weight ~ Normal(0, sqrt(2 / num_class)).
    return keras.initializers.RandomNormal(0.0, (2.0 / num_classes) ** 0.5)


def build_ctrgcn_backbone(inputs, layout, num_persons, base_channels=64, use_bias=True,
                          gcn_bn_gamma_init=1e-6, bn_gamma_std=0.02, conv_initializer="kaiming_fan_out"):
    """The ten CTR-GCN blocks: ``(N, M, T, V, C) -> (N*M, T/4, V, 4*base_channels)``."""
    layout = graphs.get_layout(layout)
    adjacency = graphs.spatial_adjacency(layout)
    c1, c2, c3 = base_channels, 2 * base_channels, 4 * base_channels
    x = PersonDataNorm(num_persons, layout.num_joints, inputs.shape[-1], name="data_bn")(inputs)
    plan = [(c1, 1, False), (c1, 1, True), (c1, 1, True), (c1, 1, True), (c2, 2, True), (c2, 1, True),
            (c2, 1, True), (c3, 2, True), (c3, 1, True), (c3, 1, True)]
    for index, (channels, stride, residual) in enumerate(plan, start=1):
        x = CTRGCNBlock(channels, adjacency, strides=stride, residual=residual, use_bias=use_bias,
                        gcn_bn_gamma_init=gcn_bn_gamma_init, bn_gamma_std=bn_gamma_std,
                        conv_initializer=conv_initializer, name=f"l{index}")(x)
    return x


@register_model("ctrgcn", "CTR-GCN, official PyTorch / PaddleVideo (base 64), 1.45 M parameters")
def ctrgcn(num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3, base_channels=64,
           dropout=0.0, name="ctrgcn"):
    """CTR-GCN: raw joints ``(N, M, T, V, C)`` -> logits ``(N, num_classes)``.

    T must be a multiple of 4 for the two stride-2 stages to match the reference
    exactly (any T runs).
    """
    layout = graphs.get_layout(layout)
    inputs = keras.Input((num_persons, num_frames, layout.num_joints, num_channels), name="joints")
    x = build_ctrgcn_backbone(inputs, layout, num_persons, base_channels)
    x = PersonPool(num_persons, name="pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=_fc_initializer(num_classes), name="fc")(x)
    return keras.Model(inputs, outputs, name=name)
