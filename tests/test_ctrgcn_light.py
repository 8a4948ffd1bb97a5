"""CTRGCN_light / V1 / V2: the fused layers equal the unfused maths they replace (MODEL_SPEC §4.3, §4.4),
the block plan and Paddle init of §4, and a train -> .keras -> TFLite (builtin ops) -> LiteRT smoke test."""

import numpy as np
import pytest
import keras

import keras_skeleton
from keras_skeleton import graphs
from keras_skeleton.layers import FusedMultiScaleTemporalConv, FusedUnitGCN, LightBlock, MultiScaleTemporalConv, UnitGCN

ADJACENCY = graphs.spatial_adjacency("ntu25")


def randomize(layer, rng):
    """Random weights everywhere (positive variances), so a mis-ordered copy cannot cancel out."""
    for w in layer.weights:
        if "variance" in w.name:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        else:
            w.assign(rng.normal(0, 0.3, w.shape).astype("float32"))


def copy_bn(source, target):
    target.set_weights(source.get_weights())


@pytest.mark.parametrize("shared_relation", [False, True])
def test_fused_ctrgc_equals_three_stacked_ctrgcs(shared_relation):
    # V1: conv1 stacks q of all subsets, then k of all subsets, then values; V2: one q and one k for all.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 25, 16)).astype("float32")
    reference = UnitGCN(24, ADJACENCY, bn_gamma_init=1.0, down_bias=False, conv_initializer="kaiming_fan_in")
    reference.build(x.shape)
    randomize(reference, rng)
    if shared_relation:
        for ctrgc in reference.convs[1:]:
            ctrgc.conv1.set_weights(reference.convs[0].conv1.get_weights())
            ctrgc.conv2.set_weights(reference.convs[0].conv2.get_weights())
    fused = FusedUnitGCN(24, ADJACENCY, shared_relation=shared_relation)
    fused.build(x.shape)
    relations = reference.convs[:1] if shared_relation else reference.convs
    parts = ([c.conv1 for c in relations] + [c.conv2 for c in relations] + [c.conv3 for c in reference.convs])
    fused.conv1.set_weights([np.concatenate([p.kernel for p in parts], axis=-1),
                             np.concatenate([p.bias for p in parts])])
    assert fused.conv1.kernel.shape[-1] == (2 if shared_relation else 6) * 2 + 3 * 24   # R = 16 // 8
    for conv2, ctrgc in zip(fused.conv2, reference.convs):
        conv2.set_weights(ctrgc.conv4.get_weights())
    fused.PA.assign(reference.PA)
    fused.alpha.assign(reference.alpha)
    for name in ("bn", "down_conv", "down_bn"):
        copy_bn(getattr(reference, name), getattr(fused, name))
    expected = np.asarray(reference(x, training=False))
    np.testing.assert_allclose(np.asarray(fused(x, training=False)), expected, atol=2e-5,
                               rtol=1e-5)
    assert np.abs(expected).max() > 0.1


@pytest.mark.parametrize("strides, residual", [(1, "identity"), (2, "conv")])
def test_fused_tcn_equals_separate_stems(strides, residual):
    # conv_pw = the three branch stems stacked along the output axis in branch order 0, 1, 2.
    rng = np.random.default_rng(1)
    in_channels = 16 if residual == "identity" else 12
    x = rng.normal(size=(2, 9, 5, in_channels)).astype("float32")
    reference = MultiScaleTemporalConv(16, strides=strides, residual=residual, use_bias=False,
                                       bn_gamma_std=0.0, conv_initializer="kaiming_fan_in")
    reference.build(x.shape)
    randomize(reference, rng)
    fused = FusedMultiScaleTemporalConv(16, strides=strides, residual=residual)
    fused.build(x.shape)
    stems = reference.branch_stems + [reference.pool_stem]
    stem_bns = reference.branch_stem_bns + [reference.pool_stem_bn]
    fused.conv_pw.kernel.assign(np.concatenate([s.kernel for s in stems], axis=-1))
    fused.conv_pw_bn.set_weights([np.concatenate(ws) for ws in zip(*[bn.get_weights() for bn in stem_bns])])
    for i in range(2):
        fused.tconvs[i].set_weights(reference.branch_tconvs[i].get_weights())
        copy_bn(reference.branch_tconv_bns[i], fused.tconv_bns[i])
    for name in ("pool_bn", "point_conv", "point_bn") + (("residual_conv", "residual_bn") if residual == "conv" else ()):
        copy_bn(getattr(reference, name), getattr(fused, name))
    expected = np.asarray(reference(x, training=False))
    assert expected.shape == (2, (9 - 1) // strides + 1, 5, 16)
    np.testing.assert_allclose(np.asarray(fused(x, training=False)), expected, atol=1e-5, rtol=1e-5)


def test_v2_tcn_split_keeps_the_remainder_in_the_strided_branch():
    layer = FusedMultiScaleTemporalConv(62)
    y = layer(np.zeros((1, 4, 25, 62), "float32"))
    assert y.shape == (1, 4, 25, 62)
    assert layer.conv_pw.kernel.shape == (1, 1, 62, 45) and layer.point_conv.kernel.shape == (1, 1, 62, 17)


@pytest.mark.parametrize("name, gcn_blocks", [("ctrgcn_light", {1, 4, 6, 7, 9, 10}),
                                              ("ctrgcn_light_v1", {1, 4, 6, 7, 9, 10}),
                                              ("ctrgcn_light_v2", set(range(1, 11)))])
def test_block_plan_and_paddle_init(name, gcn_blocks):
    model = keras_skeleton.get_model(name, num_classes=10)
    blocks = [model.get_layer(f"l{i}") for i in range(1, 11)]
    assert {i for i, b in enumerate(blocks, start=1) if b.use_gcn} == gcn_blocks
    assert [b.strides for b in blocks] == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    # Paddle defaults in effect (§3.2): every BN gamma 1 (no 1e-6, no random gamma), alpha 0, PA = A, fc bias 0.
    for w in model.weights:
        if w.name == "gamma":
            np.testing.assert_array_equal(np.asarray(w), 1.0, err_msg=w.path)
        elif w.name == "alpha":
            np.testing.assert_array_equal(np.asarray(w), 0.0)
        elif w.name == "PA":
            np.testing.assert_allclose(np.asarray(w), ADJACENCY, atol=1e-7)
    np.testing.assert_array_equal(np.asarray(model.get_layer("fc").bias), 0.0)
    # Conv kernels ~ Normal(0, sqrt(2 / fan_in)) (fan-in, not CTR-GCN's fan-out).
    kernel = np.asarray(blocks[9].tcn1.point_conv.kernel if name == "ctrgcn_light" else blocks[9].tcn1.conv_pw.kernel)
    fan_in = kernel.shape[2]
    assert abs(kernel.std() / np.sqrt(2.0 / fan_in) - 1.0) < 0.05


def test_light_block_layer_round_trips_its_config():
    block = LightBlock(8, ADJACENCY, strides=2, fused=True, shared_relation=True, gcn_channels=4)
    x = np.random.default_rng(2).normal(size=(2, 8, 25, 4)).astype("float32")
    y = block(x)
    assert y.shape == (2, 4, 25, 8)
    clone = LightBlock.from_config(block.get_config())
    clone(x)
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(clone(x), y, atol=1e-6)


# Training, .keras reload, builtin-op TFLite, rank <= 4 and LiteRT parity of every light model are
# covered by tests/test_model_zoo.py::test_chain (one conversion per model keeps the suite short).
