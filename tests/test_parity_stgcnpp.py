"""ST-GCN++ (PYSKL) checkpoints, NTU-25 and COCO-17: logits within 1e-4, exact parameter counts."""

import json

import numpy as np
import pytest
import keras

import keras_skeleton
from conftest import shared_path
from keras_skeleton.convert import convert


def count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_parameter_counts_match_reference():
    assert count(keras_skeleton.get_model("stgcnpp", num_classes=60)) == 1_403_144
    assert count(keras_skeleton.get_model("stgcnpp", num_classes=120)) == 1_418_564
    assert count(keras_skeleton.get_model("stgcnpp", num_classes=60, layout="coco17")) == 1_393_016
    assert count(keras_skeleton.get_model("stgcnpp", num_classes=120, layout="coco17")) == 1_408_436


@pytest.mark.parametrize("fixture, layout", [("stgcnpp_ntu_ntu60", "ntu25"), ("stgcnpp_coco_ntu60", "coco17")])
def test_stgcnpp_parity(fixture, layout, tmp_path):
    folder = shared_path("parity", fixture)
    manifest = json.load(open(f"{folder}/manifest.json"))
    output = str(tmp_path / "model.keras")
    convert("stgcnpp", f"{folder}/model.pth", output, num_classes=60, layout=layout)
    model = keras.saving.load_model(output)
    assert count(model) == manifest["num_params_trainable"]
    logits = np.asarray(model(np.load(f"{folder}/input.npy"), training=False))    # already (N, M, T, V, C)
    assert np.abs(logits - np.load(f"{folder}/logits.npy")).max() <= 1e-4
