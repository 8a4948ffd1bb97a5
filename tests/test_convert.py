"""Checkpoint reading without PyTorch/Paddle and the converter's error messages."""

import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import REPO_ROOT, shared_path
from keras_skeleton.checkpoint_io import load_state_dict
from keras_skeleton.importers import CheckpointError


def run_convert(*args):
    return subprocess.run([sys.executable, "-m", "keras_skeleton.convert", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def paddle_state(tmp_path, edit):
    tensors, _ = load_state_dict(shared_path("parity", "paddlevideo_ctrgcn_ntu60", "model.pdparams"))
    edit(tensors)
    path = tmp_path / "edited.pdparams"
    with open(path, "wb") as f:
        pickle.dump(tensors, f)
    return str(path)


def test_reads_every_container_kind():
    official, info = load_state_dict(shared_path("parity", "ctrgcn_official_ntu60", "model.pt"))
    assert info["format"] == "pytorch" and len(official) == 822
    assert official["l1.gcn1.PA"].shape == (3, 25, 25) and official["l1.gcn1.PA"].dtype == np.float32
    paddle, info = load_state_dict(shared_path("parity", "paddlevideo_ctrgcn_ntu60", "model.pdparams"))
    assert info["format"] == "paddle" and "StructuredToParameterName@@" not in paddle and len(paddle) == 736
    effgcn, info = load_state_dict(shared_path("parity", "efficientgcn_b0_ntu60", "model.pth.tar"))
    assert info["container_key"] == "model"
    mmcv, info = load_state_dict(shared_path("parity", "stgcnpp_ntu_ntu60", "model.pth"))
    assert info["container_key"] == "state_dict" and any(k.startswith("backbone.") for k in mmcv)


def test_missing_key_is_named(tmp_path):
    path = paddle_state(tmp_path, lambda t: t.pop("backbone.l3.gcn1.alpha"))
    result = run_convert("--model=ctrgcn", f"--checkpoint={path}", f"--output={tmp_path / 'x.keras'}")
    assert result.returncode != 0 and "backbone.l3.gcn1.alpha" in result.stderr and "missing" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x.keras").exists()


def test_misshaped_and_unexpected_keys_are_named(tmp_path):
    def edit(t):
        t["backbone.l2.gcn1.PA"] = np.zeros((3, 24, 24), np.float32)
        t["backbone.extra.weight"] = np.zeros(3, np.float32)
    path = paddle_state(tmp_path, edit)
    result = run_convert("--model=ctrgcn", f"--checkpoint={path}", "--num_classes=60",
                         f"--output={tmp_path / 'x.keras'}")
    assert result.returncode != 0
    assert "backbone.l2.gcn1.PA" in result.stderr and "(3, 24, 24)" in result.stderr
    assert "backbone.extra.weight" in result.stderr


def test_not_a_checkpoint_names_the_file(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    result = run_convert("--model=ctrgcn", f"--checkpoint={text}", f"--output={tmp_path / 'x.keras'}")
    assert result.returncode != 0 and str(text) in result.stderr and "Traceback" not in result.stderr
    archive = tmp_path / "archive.pth"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "not torch")
    with pytest.raises(CheckpointError, match="archive.pth"):
        load_state_dict(str(archive))
    with pytest.raises(CheckpointError, match="not found"):
        load_state_dict(str(tmp_path / "absent.pt"))


def test_refuses_to_run_code_from_a_pickle(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    path = tmp_path / "evil.pdparams"
    with open(path, "wb") as f:
        pickle.dump({"w": Evil()}, f)
    with pytest.raises(CheckpointError):
        load_state_dict(str(path))
    assert not (tmp_path / "pwned").exists()
