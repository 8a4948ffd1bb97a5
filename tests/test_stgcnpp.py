"""ST-GCN++ (PYSKL) without checkpoints: graph and orientation, layer arithmetic, per-block sizes,
configs, and a smoke chain per layout (2 training steps -> .keras reload -> builtin-only TFLite -> LiteRT)."""

import numpy as np
import keras
import pytest

import keras_skeleton
from keras_skeleton.layers.stgcnpp import AdaptiveGraphConv, MultiScaleTCNPlusPlus, STGCNPlusPlusBlock

SMALL_FRAMES = 8


def count(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


def test_registered_with_the_shared_builder_signature():
    assert "stgcnpp" in keras_skeleton.list_models()
    model = keras_skeleton.get_model("stgcnpp", num_classes=7, layout="coco17", num_persons=2, num_frames=12,
                                     num_channels=3)
    assert model.input_shape == (None, 2, 12, 17, 3)
    assert model.output_shape == (None, 7)
    assert model.get_layer("data_bn").bn.gamma.shape == (17 * 3,)      # "VC": shared by both persons


def test_block_sizes_match_reference():
    # MODEL_SPEC §6.8, NTU-25 with 60 classes; COCO blocks are 3 * (625 - 289) smaller.
    expected = [13_371] + [24_699] * 3 + [83_635] + [91_059] * 2 + [323_963] + [355_195] * 2
    for layout, less in (("ntu25", 0), ("coco17", 1_008)):
        model = keras_skeleton.get_model("stgcnpp", num_classes=60, layout=layout)
        sizes = [count(model.get_layer(f"gcn_{i}").trainable_weights) for i in range(10)]
        assert sizes == [n - less for n in expected], layout
    # mstcn channel split: branch 0 takes the remainder (64 -> 14 + 5 x 10).
    tcn = model.get_layer("gcn_1").tcn
    assert [s.kernel.shape[-1] for s in tcn.stems] + [tcn.pool_stem.kernel.shape[-1],
                                                      tcn.point_conv.kernel.shape[-1]] == [14, 10, 10, 10, 10, 10]


def test_initial_graph_is_pyskl_variant_b_read_source_row():
    model = keras_skeleton.get_model("stgcnpp", num_classes=60, layout="ntu25")
    a = np.asarray(model.get_layer("gcn_0").gcn.A)
    assert a.shape == (3, 25, 25)
    np.testing.assert_allclose(a.sum(axis=(1, 2)), [25, 24, 18], atol=1e-5)
    # Variant B: hand tips 22 and thumb 23 (0-based 21, 22) both hang on hand 8 (index 7).
    # Source-row reading out[w] = sum_v h[v] A[v, w]: each child receives its parent with weight 1 ...
    assert a[1, 7, 21] == 1.0 and a[1, 7, 22] == 1.0 and a[1, 22, 21] == 0.0
    # ... and the hand receives the mean of its two children (and nothing from its own parent, the wrist).
    np.testing.assert_allclose(a[2, [21, 22], 7], [0.5, 0.5])
    assert a[2, 6, 7] == 0.0
    coco = np.asarray(keras_skeleton.get_model("stgcnpp", layout="coco17").get_layer("gcn_0").gcn.A)
    np.testing.assert_allclose(coco.sum(axis=(1, 2)), [17, 16, 11], atol=1e-5)
    assert coco[1, 0, 5] == 1.0                                         # l-shoulder receives the nose


def test_adaptive_graph_conv_aggregates_source_row_per_subset():
    rng = np.random.default_rng(0)
    adjacency = rng.normal(size=(3, 5, 5)).astype("float32")
    layer = AdaptiveGraphConv(4, adjacency.tolist())
    x = rng.normal(size=(2, 3, 5, 6)).astype("float32")
    y = np.asarray(layer(x, training=False))
    h = np.asarray(layer.conv(x)).reshape(2, 3, 5, 3, 4)                # (N, T, V, K, C): channel k*C + c
    aggregated = np.einsum("ntvkc,kvw->ntwc", h, adjacency)
    residual = np.asarray(layer.down_bn(layer.down_conv(x), training=False))
    expected = np.maximum(aggregated / np.sqrt(1.0 + 1e-5) + residual, 0.0)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", [
    AdaptiveGraphConv(12, np.stack([np.eye(5)] * 3).tolist()),
    MultiScaleTCNPlusPlus(12, strides=2),
    STGCNPlusPlusBlock(12, np.stack([np.eye(5)] * 3).tolist(), strides=2),
])
def test_layers_round_trip_their_config(layer):
    x = np.random.default_rng(1).normal(size=(2, 7, 5, 12)).astype("float32")
    y = layer(x)
    clone = layer.__class__.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), y, atol=1e-6)
    frames = 4 if getattr(layer, "strides", 1) == 2 else 7               # PyTorch: (7 + 2 - 3) // 2 + 1
    assert tuple(y.shape) == tuple(layer.compute_output_shape(x.shape)) == (2, frames, 5, 12)


# ntu25 is covered by tests/test_model_zoo.py::test_chain; the COCO-17 graph only here.
@pytest.mark.parametrize("layout, joints", [("coco17", 17)])
def test_smoke_train_save_tflite(layout, joints, tmp_path):
    from export.export_model import convert_tflite, fixed_model
    from export.tflite_tools import _interpreter, op_histogram, run_tflite, xnnpack_report

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    # Narrow (base 12) but all ten blocks; eager steps skip a minute of train-function compilation.
    model = keras_skeleton.get_model("stgcnpp", num_classes=3, layout=layout, base_channels=12)
    model.compile(optimizer=keras_skeleton.optim.TorchSGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
    x = rng.normal(size=(4, 2, SMALL_FRAMES, joints, 3)).astype("float32")
    graph = model.get_layer("gcn_3").gcn.A
    before = np.asarray(graph).copy()
    history = model.fit(x, np.array([0, 1, 2, 1]), batch_size=2, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    assert not np.array_equal(before, np.asarray(graph))                 # A is trainable (adaptive 'init')

    path = str(tmp_path / f"stgcnpp_{layout}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    expected = np.asarray(model(x[:1], training=False))
    np.testing.assert_allclose(np.asarray(reloaded(x[:1], training=False)), expected, rtol=1e-6, atol=1e-6)

    tflite_path = tmp_path / "model.tflite"
    tflite_path.write_bytes(convert_tflite(fixed_model(reloaded, 1, 2, SMALL_FRAMES), "float32"))
    ops = op_histogram(str(tflite_path))
    assert ops and not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"], ops
    # The 6-branch concatenation is split so that XNNPACK (at most 5 inputs) takes every one.
    assert xnnpack_report(str(tflite_path))["undelegated"].count("CONCATENATION") == 0
    ranks = [len(d["shape"]) for d in _interpreter(str(tflite_path), delegate=False).get_tensor_details()]
    assert max(ranks) == 5 and ranks.count(5) == 1                     # only the raw input is rank 5
    lite = run_tflite(str(tflite_path), x[:1])
    assert lite.shape == (1, 3)
    assert np.abs(lite - expected).max() <= 1e-4
