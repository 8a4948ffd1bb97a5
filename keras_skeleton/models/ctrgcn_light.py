"""CTRGCN_light (base 60), CTRGCN_lightV1 (base 72) and CTRGCN_lightV2 (base 62), PaddleVideo (MODEL_SPEC §4)."""

from __future__ import annotations

import keras

from keras_skeleton import graphs
from keras_skeleton.layers.common import PersonDataNorm, PersonPool
from keras_skeleton.layers.ctrgcn_light import LightBlock
from keras_skeleton.models.registry import register_model

# Blocks that keep the spatial module in CTRGCN_light and V1 (first/last of stage 1, second/last of stages 2, 3).
_GCN_BLOCKS = (1, 4, 6, 7, 9, 10)


def _build(variant, base, num_classes, layout, num_persons, num_frames, num_channels, name):
    layout = graphs.get_layout(layout)
    adjacency = graphs.spatial_adjacency(layout)
    inputs = keras.Input((num_persons, num_frames, layout.num_joints, num_channels), name="joints")
    x = PersonDataNorm(num_persons, layout.num_joints, num_channels, name="data_bn")(inputs)
    widths = [base] * 4 + [2 * base] * 3 + [4 * base] * 3
    in_width = num_channels
    for index, width in enumerate(widths, start=1):
        stride = 2 if index in (5, 8) else 1
        use_gcn = variant == "v2" or index in _GCN_BLOCKS
        x = LightBlock(width, adjacency, strides=stride, residual=index != 1, use_gcn=use_gcn,
                       fused=variant != "light", shared_relation=variant == "v2",
                       gcn_channels=in_width if (variant == "v2" and stride == 2) else None,
                       residual_in_tcn=variant == "v1" and not use_gcn, name=f"l{index}")(x)
        in_width = width
    x = PersonPool(num_persons, name="pool")(x)
    # Paddle's Linear default: Xavier-uniform weights, zero bias.
    outputs = keras.layers.Dense(num_classes, kernel_initializer="glorot_uniform", name="fc")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model("ctrgcn_light", "CTRGCN_light (base 60, GCN in 6 of 10 blocks), 1.02 M parameters")
def ctrgcn_light(num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3, base_channels=60,
                 name="ctrgcn_light"):
    """CTRGCN_light: raw joints ``(N, M, T, V, C)`` -> logits."""
    return _build("light", base_channels, num_classes, layout, num_persons, num_frames, num_channels, name)


@register_model("ctrgcn_light_v1", "CTRGCN_lightV1 (base 72, fused 1x1 convs), 1.46 M parameters")
def ctrgcn_light_v1(num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3,
                    base_channels=72, name="ctrgcn_light_v1"):
    """CTRGCN_lightV1: raw joints ``(N, M, T, V, C)`` -> logits."""
    return _build("v1", base_channels, num_classes, layout, num_persons, num_frames, num_channels, name)


@register_model("ctrgcn_light_v2", "CTRGCN_lightV2 (base 62, fused + slimmed, GCN in all blocks), 1.12 M parameters")
def ctrgcn_light_v2(num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3,
                    base_channels=62, name="ctrgcn_light_v2"):
    """CTRGCN_lightV2: raw joints ``(N, M, T, V, C)`` -> logits."""
    return _build("v2", base_channels, num_classes, layout, num_persons, num_frames, num_channels, name)
