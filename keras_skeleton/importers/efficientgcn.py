"""EfficientGCN official checkpoints (``.pth.tar`` with the state dict under ``model``; MODEL_SPEC §5.8)."""

from __future__ import annotations

import numpy as np

from keras_skeleton.importers.base import StateDict, assign, register_importer
from keras_skeleton.importers.ctrgcn import KeyStyle, import_batch_norm, import_conv

_STYLE = KeyStyle(paddle=False)


def _import_depthwise(layer, state, prefix):
    key = f"{prefix}.weight"
    kernel = layer.conv.kernel                                      # (kT, 1, C, 1)
    weight = state.take(key, (kernel.shape[2], 1, kernel.shape[0], 1))
    assign(kernel, None if weight is None else np.transpose(weight, (2, 3, 0, 1)), state, key)
    key = f"{prefix}.bias"
    assign(layer.conv.bias, state.take(key, (kernel.shape[2],)), state, key)


def _import_scn(layer, state, prefix):
    for name, variable in (("conv.A", layer.A), ("conv.edge", layer.edge)):
        key = f"{prefix}.{name}"
        assign(variable, state.take(key, tuple(variable.shape)), state, key)
    import_conv(layer.gcn, state, f"{prefix}.conv.gcn")
    import_batch_norm(layer.bn, state, f"{prefix}.bn", _STYLE)
    if layer.has_residual_conv:
        import_conv(layer.residual_conv, state, f"{prefix}.residual.0")
        import_batch_norm(layer.residual_bn, state, f"{prefix}.residual.1", _STYLE)


def _import_sg(layer, state, prefix):
    _import_depthwise(layer.depth_conv1, state, f"{prefix}.depth_conv1.0")
    import_batch_norm(layer.depth_bn1, state, f"{prefix}.depth_conv1.1", _STYLE)
    import_conv(layer.point_conv1, state, f"{prefix}.point_conv1.0")
    import_batch_norm(layer.point_bn1, state, f"{prefix}.point_conv1.1", _STYLE)
    import_conv(layer.point_conv2, state, f"{prefix}.point_conv2.0")
    import_batch_norm(layer.point_bn2, state, f"{prefix}.point_conv2.1", _STYLE)
    _import_depthwise(layer.depth_conv2, state, f"{prefix}.depth_conv2.0")
    import_batch_norm(layer.depth_bn2, state, f"{prefix}.depth_conv2.1", _STYLE)
    if layer.strides != 1:
        import_conv(layer.residual_conv, state, f"{prefix}.residual.0")
        import_batch_norm(layer.residual_bn, state, f"{prefix}.residual.1", _STYLE)


def _import_attention(layer, state, prefix):
    import_conv(layer.fcn_conv, state, f"{prefix}.att.fcn.0")
    import_batch_norm(layer.fcn_bn, state, f"{prefix}.att.fcn.1", _STYLE)
    import_conv(layer.conv_t, state, f"{prefix}.att.conv_t")
    import_conv(layer.conv_v, state, f"{prefix}.att.conv_v")
    import_batch_norm(layer.bn, state, f"{prefix}.bn", _STYLE)


@register_importer(*[f"efficientgcn_b{phi}" for phi in range(5)])
def import_efficientgcn(model, state: StateDict, **unused) -> None:
    for layer in model.layers:
        name = layer.name
        if name.startswith("input_branches_") or name.startswith("main_stream_"):
            prefix = _reference_prefix(name)
            kind = type(layer).__name__
            if kind == "SpatialGraphLayer":
                _import_scn(layer, state, prefix)
            elif kind == "TemporalBasicLayer":
                import_conv(layer.conv.conv, state, f"{prefix}.conv")
                import_batch_norm(layer.bn, state, f"{prefix}.bn", _STYLE)
            elif kind == "TemporalSGLayer":
                _import_sg(layer, state, prefix)
            elif kind == "STJointAttention":
                _import_attention(layer, state, prefix)
            elif kind == "BatchNormalization":
                import_batch_norm(layer, state, prefix, _STYLE)
    fc = model.get_layer("fc")
    in_dim, classes = fc.kernel.shape
    weight = state.take("classifier.fc.weight", (classes, in_dim, 1, 1, 1))
    assign(fc.kernel, None if weight is None else weight.reshape(classes, in_dim).T, state, "classifier.fc.weight")
    assign(fc.bias, state.take("classifier.fc.bias", (classes,)), state, "classifier.fc.bias")


def _reference_prefix(name: str) -> str:
    """Keras layer name -> reference module path, e.g. ``input_branches_0_block_1_tcn_0`` ->
    ``input_branches.0.block-1_tcn-0`` and ``main_stream_block_0_att`` -> ``main_stream.block-0_att``."""
    if name.startswith("input_branches_"):
        index, rest = name[len("input_branches_"):].split("_", 1)
        head = f"input_branches.{index}"
    else:
        head, rest = "main_stream", name[len("main_stream_"):]
    if rest.startswith("block_"):
        parts = rest.split("_")                    # block, i, kind[, d]
        rest = f"block-{parts[1]}_{parts[2]}" + (f"-{parts[3]}" if len(parts) > 3 else "")
    return f"{head}.{rest}"
