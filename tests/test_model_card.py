"""Model cards: the input stream a saved model expects, and evaluation refusing a contradicting one."""

import glob
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from keras_skeleton.model_card import card_path, recorded_modality, resolve_modality_and_source, write_model_card


def test_card_is_read_before_the_run_config(tmp_path):
    model = str(tmp_path / "model.keras")
    assert recorded_modality(model) == (None, None)
    (tmp_path / "config.json").write_text(json.dumps({"modality": "joint_motion"}))
    assert recorded_modality(model) == ("joint_motion", str(tmp_path / "config.json"))
    write_model_card(model, model="ctrgcn", modality="bone")
    assert card_path(model) == str(tmp_path / "model.json")
    assert recorded_modality(model) == ("bone", str(tmp_path / "model.json"))
    # A checkpoint of the run: the run's config.json, one folder up.
    (tmp_path / "checkpoints").mkdir()
    checkpoint = str(tmp_path / "checkpoints" / "epoch-0003.keras")
    assert recorded_modality(checkpoint) == ("joint_motion", str(tmp_path / "config.json"))


def test_the_modality_comes_with_where_it_was_read(tmp_path):
    model = str(tmp_path / "model.keras")
    # Nothing recorded: the flag's value, named by the flag; no flag either: nothing.
    assert resolve_modality_and_source(model, "bone", "--modality") == ("bone", "--modality")
    assert resolve_modality_and_source(model, None, "--modality") == (None, None)
    # A card: it wins and is named, and a flag that agrees with it changes nothing.
    write_model_card(model, model="ctrgcn", modality="joint_motion")
    for given in (None, "joint_motion"):
        assert resolve_modality_and_source(model, given, "--modality") == ("joint_motion", card_path(model))
    with pytest.raises(ValueError, match="trained on joint_motion .* --modality gives it bone"):
        resolve_modality_and_source(model, "bone", "--modality")


def test_bad_cards_are_refused(tmp_path):
    model = str(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="needs a modality"):
        write_model_card(model, modality="bones")
    assert not os.path.exists(card_path(model))
    (tmp_path / "m.json").write_text('{"modality": "skeleton"}')
    with pytest.raises(ValueError, match="'skeleton', not one of"):
        recorded_modality(model)
    (tmp_path / "m.json").write_text('{"modality": ')
    with pytest.raises(ValueError, match="cannot read the modality"):
        recorded_modality(model)


def test_evaluate_refuses_a_stream_modality_the_card_contradicts(tiny_prepared, tmp_path):
    model = tmp_path / "bone.keras"
    model.write_bytes(b"not loaded: the modality is checked first")
    write_model_card(str(model), model="ctrgcn", modality="bone")
    result = subprocess.run([sys.executable, "-m", "keras_skeleton.evaluate", f"--model_path={model}",
                             f"--data_dir={tiny_prepared}", "--stream_modalities=joint"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 2
    assert "was trained on bone" in result.stderr and "gives it joint" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("model", sorted(glob.glob(os.path.join(REPO_ROOT, "pretrained", "*.keras"))),
                         ids=os.path.basename)
def test_every_committed_model_has_a_card_naming_its_stream(model):
    modality, source = recorded_modality(model)
    assert source == card_path(model), f"{model} has no card"
    # The file names end in the stream (..._joint, ..._bone, ..._joint_motion, ...).
    assert os.path.basename(model).removesuffix(".keras").endswith("_" + modality)
