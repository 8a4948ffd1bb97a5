"""Official CTR-GCN checkpoints (PyTorch and PaddleVideo) import with logits within 1e-4 of the reference."""

import json

import numpy as np
import pytest
import keras

import keras_skeleton
from conftest import shared_path
from keras_skeleton.convert import convert


@pytest.mark.parametrize("fixture, checkpoint", [("ctrgcn_official_ntu60", "model.pt"),
                                                 ("paddlevideo_ctrgcn_ntu60", "model.pdparams")])
def test_ctrgcn_parity(fixture, checkpoint, tmp_path):
    folder = shared_path("parity", fixture)
    manifest = json.load(open(f"{folder}/manifest.json"))
    output = str(tmp_path / "model.keras")
    convert("ctrgcn", f"{folder}/{checkpoint}", output, num_classes=60)
    model = keras.saving.load_model(output)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == manifest["num_params_trainable"]
    joints = np.load(f"{folder}/input.npy").transpose(0, 4, 2, 3, 1)      # (N, C, T, V, M) -> (N, M, T, V, C)
    logits = np.asarray(model(joints, training=False))
    assert np.abs(logits - np.load(f"{folder}/logits.npy")).max() <= 1e-4
