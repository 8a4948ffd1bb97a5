"""ST-GCN++ (Duan et al., PYSKL 2022), NTU-25 (hand variant B) and COCO-17 layouts (MODEL_SPEC §6)."""

from __future__ import annotations

import keras

from keras_skeleton import graphs
from keras_skeleton.layers.common import PersonDataNorm, PersonPool
from keras_skeleton.layers.stgcnpp import STGCNPlusPlusBlock
from keras_skeleton.models.registry import register_model

# PYSKL's layouts: NTU uses the variant-B hand edges; COCO its own tree.
_GRAPH_VARIANT = {"ntu25": "pyskl"}


@register_model("stgcnpp", "ST-GCN++ (PYSKL), NTU-25 or COCO-17 (x, y, score), 1.40 M parameters")
def stgcnpp(num_classes=60, layout="ntu25", num_persons=2, num_frames=None, num_channels=3, base_channels=64,
            name="stgcnpp"):
    """ST-GCN++: raw joints ``(N, M, T, V, C)`` -> logits ``(N, num_classes)``."""
    layout = graphs.get_layout(layout)
    # PYSKL's matrices as built (the helper's default orientation); AdaptiveGraphConv reads them
    # source-row, out[w] = sum_v h[v] A[v, w], so checkpoint A copies unchanged (MODEL_SPEC §6.2).
    adjacency = graphs.spatial_adjacency(layout, _GRAPH_VARIANT.get(layout.name))
    inputs = keras.Input((num_persons, num_frames, layout.num_joints, num_channels), name="joints")
    # data_bn "VC": one BN over V*C channels shared by all persons.
    x = PersonDataNorm(num_persons, layout.num_joints, num_channels, per_person=False, name="data_bn")(inputs)
    c1, c2, c3 = base_channels, 2 * base_channels, 4 * base_channels
    plan = [(c1, 1)] * 4 + [(c2, 2), (c2, 1), (c2, 1), (c3, 2), (c3, 1), (c3, 1)]
    for index, (channels, stride) in enumerate(plan):
        x = STGCNPlusPlusBlock(channels, adjacency, strides=stride, residual=index != 0, name=f"gcn_{index}")(x)
    x = PersonPool(num_persons, name="pool")(x)
    outputs = keras.layers.Dense(num_classes, kernel_initializer=keras.initializers.RandomNormal(0.0, 0.01),
                                 name="fc")(x)
    return keras.Model(inputs, outputs, name=name)
