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


@pytest.mark.parametrize("name", ["ctrgcn", "ctrgcn_light_v1"])
def test_channels_first_training_aggregation_equals_the_inference_form(name, monkeypatch):
    # Training computes the CTR-GC aggregation channels-first (multi_subset_aggregate_channels_first);
    # swapping in the inference form (value conv, then multi_subset_aggregate) must give the same
    # training-mode logits and gradients, with the kernels sliced as each layer slices them.
    from keras import ops
    from keras_skeleton.layers import ctrgcn as ctrgcn_layers
    from keras_skeleton.layers import ctrgcn_light as light_layers

    # float64: in training mode the BatchNorms' backward passes amplify float32 rounding into
    # gradient differences of up to 0.5 % (V2), which would hide a real mismatch.
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(3)
        model = keras_skeleton.get_model(name, num_classes=7)
    finally:
        keras.config.set_dtype_policy("float32")
    # Non-zero alpha and biases so every term of the sum matters.
    for layer in model._flatten_layers():
        if hasattr(layer, "alpha"):
            layer.alpha.assign([0.7])
    x = np.random.default_rng(1).normal(size=(2, 2, 8, 25, 3))

    def logits_and_grads():
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y = model(x, training=True)
            loss = ops.sum(y * ops.arange(7, dtype=y.dtype))
        return y.numpy(), [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]

    fast, fast_grads = logits_and_grads()

    def inference_form(relations, convs, alpha, adjacency, x, value_kernels, value_biases):
        values = ops.conv(x, ops.concatenate(value_kernels, axis=-1)[None, None]) + ops.concatenate(value_biases, 0)
        return ctrgcn_layers.multi_subset_aggregate(relations, convs, alpha, adjacency, values)

    monkeypatch.setattr(ctrgcn_layers, "multi_subset_aggregate_channels_first", inference_form)
    monkeypatch.setattr(light_layers, "multi_subset_aggregate_channels_first", inference_form)
    slow, slow_grads = logits_and_grads()
    assert fast.dtype == np.float64
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)
    assert len(fast_grads) == len(slow_grads)
    # Judged over all parameters together: biases followed by a BatchNorm have a true gradient of
    # 0, so per-tensor relative errors would compare rounding noise with rounding noise.
    fast_flat = np.concatenate([g.ravel() for g in fast_grads])
    slow_flat = np.concatenate([g.ravel() for g in slow_grads])
    assert np.abs(slow_flat).max() > 1e-2
    assert np.linalg.norm(fast_flat - slow_flat) <= 1e-8 * np.linalg.norm(slow_flat)
    assert np.abs(fast_flat - slow_flat).max() <= 1e-8 * np.abs(slow_flat).max()


@pytest.mark.parametrize("shape", [(4, 6, 25, 16), (8, 75)])
@pytest.mark.parametrize("fused", [True, False])
def test_batch_norm_training_step_equals_keras_with_pytorch_running_variance(shape, fused, monkeypatch):
    # Our BatchNormalization (fused kernel, or its keras.ops fallback) must give Keras' outputs and
    # gradients in training, and update the moving variance with the unbiased batch variance (PyTorch).
    import tensorflow as tf
    from keras_skeleton.layers import common

    if not fused:
        monkeypatch.setattr(common, "fused_batch_norm_training", lambda *args: None)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(1.0, 3.0, size=shape).astype("float32"))
    weights = rng.normal(size=shape).astype("float32")
    gamma, beta = rng.uniform(0.5, 1.5, shape[-1]), rng.normal(size=shape[-1])
    results = []
    for layer in (common.batch_norm(), keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9)):
        layer.build(shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * weights)
        results.append([y, *tape.gradient(loss, [x, layer.gamma, layer.beta]), layer.moving_mean,
                        layer.moving_variance])
    ours, reference = [[np.asarray(v) for v in r] for r in results]
    for a, b in zip(ours[:5], reference[:5]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    count = np.prod(shape[:-1])
    unbiased = np.asarray(tf.math.reduce_variance(x, axis=tuple(range(len(shape) - 1)))) * count / (count - 1)
    np.testing.assert_allclose(ours[5], 0.9 + 0.1 * unbiased, rtol=1e-5)
    # Inference uses the moving statistics exactly as Keras does.
    inference = common.batch_norm()
    inference.build(shape)
    inference.set_weights([gamma, beta, ours[4], ours[5]])
    np.testing.assert_allclose(inference(x, training=False), reference_inference(x, gamma, beta, ours[4], ours[5]),
                               rtol=1e-5, atol=1e-5)


def reference_inference(x, gamma, beta, mean, variance):
    return (np.asarray(x) - mean) / np.sqrt(variance + 1e-5) * gamma + beta
