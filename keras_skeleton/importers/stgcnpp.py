"""ST-GCN++ checkpoints of PYSKL (mmcv container: ``state_dict`` with ``backbone.`` / ``cls_head.`` keys)."""

from __future__ import annotations

from keras_skeleton.importers.base import StateDict, assign, register_importer
from keras_skeleton.importers.ctrgcn import KeyStyle, import_batch_norm, import_conv


@register_importer("stgcnpp")
def import_stgcnpp(model, state: StateDict, **unused) -> None:
    style = KeyStyle(paddle=False)
    import_batch_norm(model.get_layer("data_bn").bn, state, "backbone.data_bn", style)
    for index in range(10):
        block = model.get_layer(f"gcn_{index}")
        prefix = f"backbone.gcn.{index}"
        gcn, tcn = block.gcn, block.tcn
        key = f"{prefix}.gcn.A"
        # Source-row orientation kept in the layer: A copies as is.
        assign(gcn.A, state.take(key, tuple(gcn.A.shape)), state, key)
        import_conv(gcn.conv, state, f"{prefix}.gcn.conv")
        import_batch_norm(gcn.bn, state, f"{prefix}.gcn.bn", style)
        if gcn.has_down:
            import_conv(gcn.down_conv, state, f"{prefix}.gcn.down.0")
            import_batch_norm(gcn.down_bn, state, f"{prefix}.gcn.down.1", style)
        for i, (stem, stem_bn, tconv) in enumerate(zip(tcn.stems, tcn.stem_bns, tcn.tconvs)):
            import_conv(stem, state, f"{prefix}.tcn.branches.{i}.0")
            import_batch_norm(stem_bn, state, f"{prefix}.tcn.branches.{i}.1", style)
            import_conv(tconv.conv, state, f"{prefix}.tcn.branches.{i}.3.conv")
        i = len(tcn.stems)
        import_conv(tcn.pool_stem, state, f"{prefix}.tcn.branches.{i}.0")
        import_batch_norm(tcn.pool_stem_bn, state, f"{prefix}.tcn.branches.{i}.1", style)
        import_conv(tcn.point_conv, state, f"{prefix}.tcn.branches.{i + 1}")
        import_batch_norm(tcn.transform_bn, state, f"{prefix}.tcn.transform.0", style)
        import_conv(tcn.transform_conv, state, f"{prefix}.tcn.transform.2")
        import_batch_norm(tcn.bn, state, f"{prefix}.tcn.bn", style)
        if block.residual_kind == "conv":
            import_conv(block.residual_conv, state, f"{prefix}.residual.conv")
            import_batch_norm(block.residual_bn, state, f"{prefix}.residual.bn", style)
    fc = model.get_layer("fc")
    in_dim, classes = fc.kernel.shape
    weight = state.take("cls_head.fc_cls.weight", (classes, in_dim))
    assign(fc.kernel, None if weight is None else weight.T, state, "cls_head.fc_cls.weight")
    assign(fc.bias, state.take("cls_head.fc_cls.bias", (classes,)), state, "cls_head.fc_cls.bias")
