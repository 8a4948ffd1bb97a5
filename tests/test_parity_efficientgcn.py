"""EfficientGCN-B0/B2/B4 (SG): official checkpoints import with logits within 1e-4; the in-model J/V/B branch
features equal the official feeder's; parameter counts equal the reference's."""

import json

import numpy as np
import pytest
import keras

import keras_skeleton
from conftest import shared_path
from keras_skeleton.convert import convert
from keras_skeleton.models.efficientgcn import scaled_blocks


def count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_compound_scaling_rounds_half_to_even():
    assert scaled_blocks(0) == [[48, 1, 0], [32, 1, 0], [64, 2, 1], [128, 2, 1]]
    assert scaled_blocks(2) == [[64, 1, 1], [32, 1, 1], [96, 2, 2], [192, 2, 2]]
    assert scaled_blocks(4) == [[96, 1, 2], [48, 1, 2], [128, 2, 3], [272, 2, 3]]


@pytest.mark.parametrize("phi, expected", [(0, 306_201), (2, 534_465), (4, 1_119_945)])
def test_parameter_counts(phi, expected):
    assert count(keras_skeleton.get_model(f"efficientgcn_b{phi}", num_classes=60)) == expected


def test_b0_parameter_count_at_120_classes():
    assert count(keras_skeleton.get_model("efficientgcn_b0", num_classes=120)) == 313_941


@pytest.mark.parametrize("phi", [0, 2, 4])
def test_efficientgcn_parity(phi, tmp_path):
    folder = shared_path("parity", f"efficientgcn_b{phi}_ntu60")
    manifest = json.load(open(f"{folder}/manifest.json"))
    output = str(tmp_path / "model.keras")
    convert(f"efficientgcn_b{phi}", f"{folder}/model.pth.tar", output, num_classes=60)
    model = keras.saving.load_model(output)
    assert count(model) == manifest["num_params_trainable"]
    raw = np.load(f"{folder}/raw_joints.npy").transpose(0, 4, 2, 3, 1)            # (N, M, T, V, C)
    logits = np.asarray(model(raw, training=False))
    assert np.abs(logits - np.load(f"{folder}/logits.npy")).max() <= 1e-4
    reference = np.load(f"{folder}/input.npy")                                     # (N, 3, 6, T, V, M)
    n, _, _, t, v, m = reference.shape
    features = np.asarray(model.get_layer("branch_inputs")(raw))                   # (N*M, T, V, 18)
    features = features.reshape(n, m, t, v, 3, 6).transpose(0, 4, 5, 2, 3, 1)
    assert np.abs(features - reference).max() <= 1e-4
