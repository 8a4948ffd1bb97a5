import numpy as np
import keras
import pytest

import keras_skeleton
from keras_skeleton.layers import CTRGCNBlock, MultiScaleTemporalConv, TemporalConv, UnitGCN


def count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_registry_lists_ctrgcn():
    assert "ctrgcn" in keras_skeleton.list_models()
    with pytest.raises(ValueError, match="Registered models"):
        keras_skeleton.get_model("nope")


def test_ctrgcn_parameter_counts_match_reference():
    assert count(keras_skeleton.get_model("ctrgcn", num_classes=60)) == 1_446_672
    assert count(keras_skeleton.get_model("ctrgcn", num_classes=120)) == 1_462_092


def test_ctrgcn_output_shape_and_save_reload(tmp_path):
    model = keras_skeleton.get_model("ctrgcn", num_classes=5, base_channels=8)
    x = np.random.default_rng(0).normal(size=(2, 2, 16, 25, 3)).astype("float32")
    y = model(x)
    assert y.shape == (2, 5)
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded(x), y, atol=1e-6)


def test_temporal_conv_pads_like_pytorch_for_stride_two():
    # Symmetric padding: with stride 2 the windows centre on frames 0, 2, 4, ...
    layer = TemporalConv(1, kernel_size=5, strides=2, dilation_rate=1, use_bias=False)
    x = np.arange(8, dtype="float32").reshape(1, 8, 1, 1)
    layer.build(x.shape)
    layer.conv.kernel.assign(np.array([0, 0, 1, 0, 0], "float32").reshape(5, 1, 1, 1))
    np.testing.assert_array_equal(np.asarray(layer(x))[0, :, 0, 0], [0, 2, 4, 6])
    dilated = TemporalConv(1, kernel_size=5, strides=2, dilation_rate=2, use_bias=False)
    dilated.build(x.shape)
    dilated.conv.kernel.assign(np.array([0, 0, 1, 0, 0], "float32").reshape(5, 1, 1, 1))
    np.testing.assert_array_equal(np.asarray(dilated(x))[0, :, 0, 0], [0, 2, 4, 6])


@pytest.mark.parametrize("layer", [
    TemporalConv(4, 5, 2, 2),
    MultiScaleTemporalConv(8, strides=2),
    UnitGCN(8, np.stack([np.eye(5)] * 3).tolist()),
    CTRGCNBlock(8, np.stack([np.eye(5)] * 3).tolist(), strides=2),
])
def test_layers_round_trip_their_config(layer):
    x = np.random.default_rng(1).normal(size=(2, 8, 5, 16)).astype("float32")
    y = layer(x)
    clone = layer.__class__.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x), y, atol=1e-6)
    assert tuple(y.shape) == tuple(layer.compute_output_shape(x.shape))


def test_ctrgcn_trains_one_step():
    model = keras_skeleton.get_model("ctrgcn", num_classes=3, base_channels=8)
    # Eager: compiling a graph (XLA by default) for one step costs minutes on 2 cores.
    model.compile(optimizer=keras_skeleton.optim.TorchSGD(0.01), loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True), run_eagerly=True)
    x = np.random.default_rng(2).normal(size=(4, 2, 8, 25, 3)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.array([0, 1, 2, 0]), epochs=1, batch_size=4, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("frames", [7, 8, 9])
def test_strided_dilated_conv_equals_dense_conv_then_subsample(frames):
    rng = np.random.default_rng(frames)
    layer = TemporalConv(3, kernel_size=5, strides=2, dilation_rate=2, use_bias=True)
    x = rng.normal(size=(2, frames, 4, 5)).astype("float32")
    y = np.asarray(layer(x))
    kernel, bias = (np.asarray(w) for w in layer.conv.weights)          # (5, 1, 5, 3), (3,)
    padded = np.pad(x, ((0, 0), (4, 4), (0, 0), (0, 0)))
    expected = np.stack([sum(padded[:, 2 * t + 2 * k] @ kernel[k, 0] for k in range(5)) + bias
                         for t in range((frames - 1) // 2 + 1)], axis=1)
    np.testing.assert_allclose(y, expected, atol=1e-5)
