"""CTRGCN_light / V1 / V2 PaddleVideo checkpoints import with logits within 1e-4; exact parameter counts;
a checkpoint that does not fit is refused with the offending keys named."""

import json

import numpy as np
import pytest
import keras

import keras_skeleton
from conftest import shared_path
from keras_skeleton.convert import convert

COUNTS = {"ctrgcn_light": (1_024_110, 1_038_570), "ctrgcn_light_v1": (1_462_878, 1_480_218),
          "ctrgcn_light_v2": (1_117_782, 1_132_722)}
FIXTURES = [("ctrgcn_light", "ctrgcn_light_ntu60"), ("ctrgcn_light_v1", "ctrgcn_light_v1_ntu60"),
            ("ctrgcn_light_v2", "ctrgcn_light_v2_ntu60")]


def count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_parameter_counts_match_reference(name):
    assert (count(keras_skeleton.get_model(name, num_classes=60)),
            count(keras_skeleton.get_model(name, num_classes=120))) == COUNTS[name]


@pytest.mark.parametrize("name, fixture", FIXTURES)
def test_light_parity(name, fixture, tmp_path):
    folder = shared_path("parity", fixture)
    manifest = json.load(open(f"{folder}/manifest.json"))
    output = str(tmp_path / "model.keras")
    _, state, _ = convert(name, f"{folder}/model.pdparams", output, num_classes=60)
    assert not state.unexpected() and not state.missing and not state.misshaped
    model = keras.saving.load_model(output)
    assert count(model) == manifest["num_params_trainable"]
    # Reference input is (N, C, T, V, M); the Keras model reads (N, M, T, V, C).
    logits = np.asarray(model(np.load(f"{folder}/input.npy").transpose(0, 4, 2, 3, 1), training=False))
    diff = np.abs(logits - np.load(f"{folder}/logits.npy")).max()
    print(f"{name}: max |logits - reference| = {diff:.2e}")
    assert diff <= 1e-4


def test_checkpoint_that_does_not_fit_names_its_keys():
    from keras_skeleton.checkpoint_io import load_state_dict
    from keras_skeleton.importers import CheckpointError, StateDict, get_importer

    tensors, _ = load_state_dict(f"{shared_path('parity', 'ctrgcn_light_v2_ntu60')}/model.pdparams")
    # V1 and V2 share key names but not shapes: V2's single relation map makes every conv1 narrower.
    model = keras_skeleton.get_model("ctrgcn_light_v1", num_classes=60)
    with pytest.raises(CheckpointError, match="l1.gcn1.convs.conv1.weight: checkpoint .202, 3, 1, 1., "
                                              "expected .264, 3, 1, 1."):
        state = StateDict(tensors, source="v2.pdparams")
        get_importer("ctrgcn_light_v1")(model, state)
        state.raise_if_problems()

    del tensors["backbone.l3.tcn1.branches.1.bn._variance"]
    tensors["backbone.l3.extra.weight"] = np.zeros(3, "float32")
    model = keras_skeleton.get_model("ctrgcn_light_v2", num_classes=60)
    state = StateDict(tensors, source="v2.pdparams")
    get_importer("ctrgcn_light_v2")(model, state)
    assert state.missing == ["backbone.l3.tcn1.branches.1.bn._variance"]
    assert state.unexpected() == ["backbone.l3.extra.weight"] and not state.misshaped
    with pytest.raises(CheckpointError, match="missing keys .1.: backbone.l3.tcn1.branches.1.bn._variance"):
        state.raise_if_problems()
