"""The converter command: a working conversion, and one clear line (no traceback) for every kind of bad input."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, shared_path
from keras_skeleton.checkpoint_io import load_state_dict
from keras_skeleton.convert import convert
from keras_skeleton.importers import CheckpointError
from test_checkpoint_io import write_torch_checkpoint


def run_convert(*args):
    return subprocess.run([sys.executable, "-m", "keras_skeleton.convert", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))


def assert_clean_failure(result, output, *words):
    assert result.returncode != 0, result.stdout
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.stderr and not os.path.exists(output)
    # No temporary file of the atomic write is left behind either.
    assert not [n for n in os.listdir(os.path.dirname(output)) if n.endswith(".keras")]


def test_converts_with_inferred_classes_and_prints_a_summary(tmp_path):
    output = tmp_path / "out" / "ctrgcn.keras"
    checkpoint = shared_path("parity", "paddlevideo_ctrgcn_ntu60", "model.pdparams")
    result = run_convert("--model=ctrgcn", f"--checkpoint={checkpoint}", f"--output={output}")
    assert result.returncode == 0, result.stderr
    summary = [line for line in result.stdout.splitlines() if line.startswith("converted")]
    assert len(summary) == 1 and "736 tensors used" in summary[0] and "60 classes" in summary[0]
    assert "1,446,672 trainable parameters" in summary[0] and output.stat().st_size > 1_000_000


def test_missing_key_is_named(tmp_path):
    tensors, _ = load_state_dict(shared_path("parity", "paddlevideo_ctrgcn_ntu60", "model.pdparams"))
    del tensors["backbone.l3.gcn1.alpha"]
    path = tmp_path / "edited.pdparams"
    with open(path, "wb") as f:
        pickle.dump(tensors, f)
    output = str(tmp_path / "x.keras")
    result = run_convert("--model=ctrgcn", f"--checkpoint={path}", f"--output={output}")
    assert_clean_failure(result, output, "missing keys (1): backbone.l3.gcn1.alpha", str(path))


def test_misshaped_and_unexpected_keys_are_named(tmp_path):
    # Official key style in a torch zip written by the test helper.
    tensors, _ = load_state_dict(shared_path("parity", "ctrgcn_official_ntu60", "model.pt"))
    tensors["l2.gcn1.PA"] = np.zeros((3, 24, 24), np.float32)
    tensors["l5.tcn1.branches.0.0.weight"] = tensors["l5.tcn1.branches.0.0.weight"][:, :-1]
    tensors["extra.weight"] = np.zeros(3, np.float32)
    path = tmp_path / "edited.pt"
    write_torch_checkpoint(path, tensors)
    output = str(tmp_path / "x.keras")
    result = run_convert("--model=ctrgcn", f"--checkpoint={path}", "--num_classes=60", f"--output={output}")
    assert_clean_failure(result, output, "mis-shaped keys (2)", "l2.gcn1.PA: checkpoint (3, 24, 24), expected (3, 25, 25)",
                         "l5.tcn1.branches.0.0.weight", "unexpected keys (1): extra.weight")


def test_not_a_checkpoint_and_unknown_model(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    output = str(tmp_path / "x.keras")
    assert_clean_failure(run_convert("--model=ctrgcn", f"--checkpoint={text}", f"--output={output}"), output,
                         f"'{text}' is not a checkpoint")
    # The command prints every CheckpointError the same way; the other messages are checked in-process.
    with pytest.raises(CheckpointError, match="absent.pt' not found"):
        convert("ctrgcn", str(tmp_path / "absent.pt"), output)
    with pytest.raises(CheckpointError, match="unknown model 'resnet'.*ctrgcn"):
        convert("resnet", str(text), output)
    assert not os.path.exists(output)
