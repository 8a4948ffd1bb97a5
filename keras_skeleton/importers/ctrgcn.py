"""CTR-GCN checkpoints: official PyTorch (``l1.gcn1...``, ``fc``) and PaddleVideo (``backbone.``, ``head.fc``).

The helpers here (BatchNorm, conv, CTR-GC, MS-TCN) are shared by the CTRGCN_light importers.
"""

from __future__ import annotations

from keras_skeleton.importers.base import StateDict, assign, register_importer, torch_conv_kernel


class KeyStyle:
    """Naming differences between the PyTorch and the Paddle checkpoints of the same network."""

    def __init__(self, paddle: bool):
        self.paddle = paddle
        self.backbone = "backbone." if paddle else ""
        self.mean = "_mean" if paddle else "running_mean"
        self.variance = "_variance" if paddle else "running_var"


def import_batch_norm(layer, state: StateDict, prefix: str, style: KeyStyle) -> None:
    """``prefix.{weight,bias,running_mean,running_var}`` -> gamma, beta, moving mean/variance."""
    n = layer.gamma.shape[0]
    for variable, suffix in ((layer.gamma, "weight"), (layer.beta, "bias"), (layer.moving_mean, style.mean),
                             (layer.moving_variance, style.variance)):
        key = f"{prefix}.{suffix}"
        assign(variable, state.take(key, (n,)), state, key)


def import_conv(layer, state: StateDict, prefix: str) -> None:
    """A Conv2D from ``prefix.weight (out, in, kT, kV)`` and, when the layer has one, ``prefix.bias``."""
    key = f"{prefix}.weight"
    kernel_shape = tuple(layer.kernel.shape)
    weight = state.take(key, (kernel_shape[3], kernel_shape[2], kernel_shape[0], kernel_shape[1]))
    assign(layer.kernel, None if weight is None else torch_conv_kernel(weight), state, key)
    if layer.use_bias:
        key = f"{prefix}.bias"
        assign(layer.bias, state.take(key, (kernel_shape[3],)), state, key)


def import_ctrgc(layer, state: StateDict, prefix: str) -> None:
    """One ``CTRGC``: its four 1x1 convs (with biases) ``prefix.conv1`` .. ``prefix.conv4``."""
    for name in ("conv1", "conv2", "conv3", "conv4"):
        import_conv(getattr(layer, name), state, f"{prefix}.{name}")


def import_unit_gcn(layer, state: StateDict, prefix: str, style: KeyStyle) -> None:
    """``UnitGCN``: PA, alpha, convs.i, bn, down.0/down.1."""
    key = f"{prefix}.PA"
    assign(layer.PA, state.take(key, tuple(layer.PA.shape)), state, key)
    key = f"{prefix}.alpha"
    assign(layer.alpha, state.take(key, (1,)), state, key)
    for i, conv in enumerate(layer.convs):
        import_ctrgc(conv, state, f"{prefix}.convs.{i}")
    import_batch_norm(layer.bn, state, f"{prefix}.bn", style)
    if layer.has_down:
        import_conv(layer.down_conv, state, f"{prefix}.down.0")
        import_batch_norm(layer.down_bn, state, f"{prefix}.down.1", style)


def import_multiscale_tcn(layer, state: StateDict, prefix: str, style: KeyStyle) -> None:
    """``MultiScaleTemporalConv``: branches.{0,1} (conv, BN, -, TemporalConv), .2 (pool), .3 (1x1)."""
    for i, (stem, stem_bn, tconv, tconv_bn) in enumerate(zip(layer.branch_stems, layer.branch_stem_bns,
                                                             layer.branch_tconvs, layer.branch_tconv_bns)):
        import_conv(stem, state, f"{prefix}.branches.{i}.0")
        import_batch_norm(stem_bn, state, f"{prefix}.branches.{i}.1", style)
        import_conv(tconv.conv, state, f"{prefix}.branches.{i}.3.conv")
        import_batch_norm(tconv_bn, state, f"{prefix}.branches.{i}.3.bn", style)
    i = len(layer.branch_stems)
    import_conv(layer.pool_stem, state, f"{prefix}.branches.{i}.0")
    import_batch_norm(layer.pool_stem_bn, state, f"{prefix}.branches.{i}.1", style)
    import_batch_norm(layer.pool_bn, state, f"{prefix}.branches.{i}.4", style)
    import_conv(layer.point_conv, state, f"{prefix}.branches.{i + 1}.0")
    import_batch_norm(layer.point_bn, state, f"{prefix}.branches.{i + 1}.1", style)
    if layer.residual == "conv":
        import_conv(layer.residual_conv, state, f"{prefix}.residual.conv")
        import_batch_norm(layer.residual_bn, state, f"{prefix}.residual.bn", style)


def import_data_bn(model, state: StateDict, style: KeyStyle) -> None:
    # PersonDataNorm keeps the reference's m*V*C + v*C + c channel order: vectors copy as they are.
    import_batch_norm(model.get_layer("data_bn").bn, state, f"{style.backbone}data_bn", style)


def import_classifier(model, state: StateDict, style: KeyStyle) -> None:
    fc = model.get_layer("fc")
    in_dim, classes = fc.kernel.shape
    if style.paddle:
        # Paddle Linear stores (in, out): copied as is.
        assign(fc.kernel, state.take("head.fc.weight", (in_dim, classes)), state, "head.fc.weight")
        assign(fc.bias, state.take("head.fc.bias", (classes,)), state, "head.fc.bias")
    else:
        weight = state.take("fc.weight", (classes, in_dim))
        assign(fc.kernel, None if weight is None else weight.T, state, "fc.weight")
        assign(fc.bias, state.take("fc.bias", (classes,)), state, "fc.bias")


def detect_style(state: StateDict) -> KeyStyle:
    """Paddle checkpoints prefix the backbone with ``backbone.``; official PyTorch ones have no prefix."""
    return KeyStyle(paddle=any(k.startswith("backbone.") for k in state.tensors))


@register_importer("ctrgcn")
def import_ctrgcn(model, state: StateDict, **unused) -> None:
    """Copies an official or PaddleVideo CTR-GCN state dict into ``keras_skeleton.get_model("ctrgcn")``."""
    style = detect_style(state)
    import_data_bn(model, state, style)
    for index in range(1, 11):
        block = model.get_layer(f"l{index}")
        prefix = f"{style.backbone}l{index}"
        import_unit_gcn(block.gcn1, state, f"{prefix}.gcn1", style)
        import_multiscale_tcn(block.tcn1, state, f"{prefix}.tcn1", style)
        if block.residual_kind == "conv":
            import_conv(block.residual_conv, state, f"{prefix}.residual.conv")
            import_batch_norm(block.residual_bn, state, f"{prefix}.residual.bn", style)
    import_classifier(model, state, style)

