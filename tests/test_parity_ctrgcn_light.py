"""CTRGCN_light / V1 / V2 PaddleVideo checkpoints import with logits within 1e-4; exact parameter counts."""

import json

import numpy as np
import pytest
import keras

import keras_skeleton
from conftest import shared_path
from keras_skeleton.convert import convert

COUNTS = {"ctrgcn_light": (1_024_110, 1_038_570), "ctrgcn_light_v1": (1_462_878, 1_480_218),
          "ctrgcn_light_v2": (1_117_782, 1_132_722)}


def count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_parameter_counts_match_reference(name):
    assert (count(keras_skeleton.get_model(name, num_classes=60)),
            count(keras_skeleton.get_model(name, num_classes=120))) == COUNTS[name]


@pytest.mark.parametrize("name, fixture", [("ctrgcn_light", "ctrgcn_light_ntu60"),
                                           ("ctrgcn_light_v1", "ctrgcn_light_v1_ntu60"),
                                           ("ctrgcn_light_v2", "ctrgcn_light_v2_ntu60")])
def test_light_parity(name, fixture, tmp_path):
    folder = shared_path("parity", fixture)
    manifest = json.load(open(f"{folder}/manifest.json"))
    output = str(tmp_path / "model.keras")
    convert(name, f"{folder}/model.pdparams", output, num_classes=60)
    model = keras.saving.load_model(output)
    assert count(model) == manifest["num_params_trainable"]
    logits = np.asarray(model(np.load(f"{folder}/input.npy").transpose(0, 4, 2, 3, 1), training=False))
    assert np.abs(logits - np.load(f"{folder}/logits.npy")).max() <= 1e-4
