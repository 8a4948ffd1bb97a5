"""Chain test of every registered model (like PaddleVideo's TIPC lite_train_lite_infer):
train a step on tiny data -> save -> reload -> float32 TFLite with builtin ops -> LiteRT equals Keras ->
the LiteRT-only predictor runs on a recording."""

import os
import subprocess
import sys

import numpy as np
import pytest
import keras

import keras_skeleton
from conftest import REPO_ROOT

FRAMES = 8


# One chain per distinct layer set (the suite's time budget): EfficientGCN-B1..B4 are B0's layers at other
# widths and depths (their parity tests cover each), and `ctrgcn_light` is CTR-GCN's layers without biases,
# exported with every gate in tests/test_export.py.
CHAIN_MODELS = [name for name in keras_skeleton.list_models() if name not in
                ("efficientgcn_b1", "efficientgcn_b2", "efficientgcn_b3", "efficientgcn_b4", "ctrgcn_light")]


@pytest.mark.parametrize("name", CHAIN_MODELS)
def test_chain(name, tiny_prepared, tmp_path):
    from data_tools.prepared import PreparedSplit
    from export.export_model import convert_tflite, fixed_model
    from export.tflite_tools import max_tensor_rank, op_histogram, run_tflite
    from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder

    keras.utils.set_random_seed(0)
    model = keras_skeleton.get_model(name, num_classes=2)
    model.compile(optimizer=keras_skeleton.optim.TorchSGD(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
    # Two training steps on batches of the foundation's pipeline (crop-resize + rotation).
    feeder = SkeletonFeeder(PreparedSplit(tiny_prepared, "train"), FeederConfig(FRAMES, [0.5, 1.0], 0.3,
                            min_crop=FRAMES), batch_size=2, shuffle=True, seed=0, drop_remainder=True)
    before = model.get_layer("fc").get_weights()[0].copy()
    for step, (x, y) in zip(range(2), feeder):
        model.train_on_batch(x, y)
    assert not np.array_equal(before, model.get_layer("fc").get_weights()[0])

    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)), expected, rtol=1e-5, atol=1e-5)

    static = fixed_model(reloaded, 1, 2, FRAMES)
    tflite_path = tmp_path / "model_float32.tflite"
    tflite_path.write_bytes(convert_tflite(static, "float32"))
    ops = op_histogram(str(tflite_path))
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
    assert max_tensor_rank(str(tflite_path)) <= 4                     # after the (1, M, T, V, C) input
    lite = run_tflite(str(tflite_path), x)
    # Untrained BatchNorm statistics make logits large, so compare relative to their scale.
    assert np.abs(lite - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())

    clip = tmp_path / "clip.npy"
    np.save(clip, x[0])
    result = subprocess.run([sys.executable, "-m", "apps.predict", f"--model={tflite_path}", f"--input={clip}",
                             "--top_k=2"], cwd=REPO_ROOT, capture_output=True, text=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"top1_index"' in result.stdout.splitlines()[-1]


@pytest.mark.parametrize("frames", [9, 12])
def test_temporal_depthwise_conv_stride_matches_the_formula(frames):
    # Stride (2, 1) depthwise: y[t] = sum_j w[j] * x_padded[2t + j]; computed with a unit-stride conv and
    # frame selection because TensorFlow's plain CPU kernel rejects unequal strides (oneDNN off).
    from keras_skeleton.layers import TemporalDepthwiseConv

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, frames, 3, 4)).astype("float32")
    layer = TemporalDepthwiseConv(kernel_size=5, strides=2)
    y = keras.ops.convert_to_numpy(layer(x))
    w, bias = (keras.ops.convert_to_numpy(v) for v in layer.conv.weights)
    w = w[:, 0, :, 0]                                                # (k, C)
    padded = np.pad(x, [(0, 0), (2, 2), (0, 0), (0, 0)])
    expected = np.stack([sum(w[j] * padded[:, 2 * t + j] for j in range(5)) + bias
                         for t in range((frames - 1) // 2 + 1)], axis=1)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, atol=1e-5)
