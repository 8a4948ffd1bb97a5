"""CTRGCN_light / V1 / V2 PaddleVideo checkpoints (``.pdparams``, MODEL_SPEC §4 key tables)."""

from __future__ import annotations

from keras_skeleton.importers.base import StateDict, assign, register_importer
from keras_skeleton.importers.ctrgcn import (KeyStyle, import_batch_norm, import_classifier, import_conv,
                                             import_data_bn, import_multiscale_tcn, import_unit_gcn)


def import_fused_unit_gcn(layer, state: StateDict, prefix: str, style: KeyStyle) -> None:
    """``FusedUnitGCN``: PA, alpha, convs.conv1 (stacked q, k, values), convs.conv2.{i}, bn, down."""
    for name, variable in (("PA", layer.PA), ("alpha", layer.alpha)):
        key = f"{prefix}.{name}"
        assign(variable, state.take(key, tuple(variable.shape)), state, key)
    import_conv(layer.conv1, state, f"{prefix}.convs.conv1")
    for i, conv in enumerate(layer.conv2):
        import_conv(conv, state, f"{prefix}.convs.conv2.{i}")
    import_batch_norm(layer.bn, state, f"{prefix}.bn", style)
    if layer.has_down:
        import_conv(layer.down_conv, state, f"{prefix}.down.0")
        import_batch_norm(layer.down_bn, state, f"{prefix}.down.1", style)


def import_fused_tcn(layer, state: StateDict, prefix: str, style: KeyStyle) -> None:
    """``FusedMultiScaleTemporalConv``: conv_pw.{0,1}, branches.{0,1}.{conv,bn}, branches.2.1, branches.3.{0,1}."""
    import_conv(layer.conv_pw, state, f"{prefix}.conv_pw.0")
    import_batch_norm(layer.conv_pw_bn, state, f"{prefix}.conv_pw.1", style)
    for i, (tconv, tconv_bn) in enumerate(zip(layer.tconvs, layer.tconv_bns)):
        import_conv(tconv.conv, state, f"{prefix}.branches.{i}.conv")
        import_batch_norm(tconv_bn, state, f"{prefix}.branches.{i}.bn", style)
    i = len(layer.tconvs)
    import_batch_norm(layer.pool_bn, state, f"{prefix}.branches.{i}.1", style)
    import_conv(layer.point_conv, state, f"{prefix}.branches.{i + 1}.0")
    import_batch_norm(layer.point_bn, state, f"{prefix}.branches.{i + 1}.1", style)
    if layer.residual == "conv":
        import_conv(layer.residual_conv, state, f"{prefix}.residual.conv")
        import_batch_norm(layer.residual_bn, state, f"{prefix}.residual.bn", style)


@register_importer("ctrgcn_light", "ctrgcn_light_v1", "ctrgcn_light_v2")
def import_ctrgcn_light(model, state: StateDict, **unused) -> None:
    style = KeyStyle(paddle=True)
    import_data_bn(model, state, style)
    for index in range(1, 11):
        block = model.get_layer(f"l{index}")
        prefix = f"backbone.l{index}"
        if block.use_gcn:
            if block.fused:
                import_fused_unit_gcn(block.gcn1, state, f"{prefix}.gcn1", style)
            else:
                import_unit_gcn(block.gcn1, state, f"{prefix}.gcn1", style)
        if block.fused:
            import_fused_tcn(block.tcn1, state, f"{prefix}.tcn1", style)
        else:
            import_multiscale_tcn(block.tcn1, state, f"{prefix}.tcn1", style)
        if block.residual_kind == "conv" and not block.residual_in_tcn:
            import_conv(block.residual_conv, state, f"{prefix}.residual.conv")
            import_batch_norm(block.residual_bn, state, f"{prefix}.residual.bn", style)
    import_classifier(model, state, style)
