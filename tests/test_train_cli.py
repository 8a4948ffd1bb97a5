"""The training CLI end to end on a tiny prepared dataset: outputs, resume after SIGKILL, clear errors."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from conftest import REPO_ROOT

TINY = ["--model=ctrgcn", "--model_kwargs=base_channels=8", "--window=16", "--min_crop=16", "--batch_size=4",
        "--eval_batch_size=8", "--verbose=2", "--jit_compile=false", "--threads=1"]


def train_command(data_dir, model_dir, *extra):
    return [sys.executable, "-m", "keras_skeleton.train", f"--data_dir={data_dir}", f"--model_dir={model_dir}",
            *TINY, *extra]


def run(command, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def test_train_writes_outputs_and_resumes_after_kill(tiny_prepared, tmp_path):
    model_dir = tmp_path / "run"
    command = train_command(tiny_prepared, model_dir, "--epochs=4")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)
    state_path = model_dir / "state.json"
    deadline = time.time() + 240
    while time.time() < deadline and process.poll() is None:
        if state_path.exists() and json.loads(state_path.read_text())["epoch"] >= 1:
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = json.loads(state_path.read_text())["epoch"]
    assert 1 <= done_before < 4, "the run should have been killed after its first checkpoint"

    result = run(command)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resuming from" in result.stdout and f"(epoch {done_before} of 4 done)" in result.stdout
    state = json.loads(state_path.read_text())
    assert state["epoch"] == 4
    assert [h["epoch"] for h in state["history"]] == [1, 2, 3, 4]          # nothing repeated or lost
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 4 and 0 <= metrics["top1"] <= 100 and metrics["top5"] >= metrics["top1"]
    assert json.loads((model_dir / "config.json").read_text())["epochs"] == 4
    assert (model_dir / "model.keras").exists()
    events = [f for _, _, files in os.walk(model_dir / "logs") for f in files if f.startswith("events.out")]
    assert events
    assert not [f for f in os.listdir(model_dir / "checkpoints") if ".tmp" in f]

    evaluated = run([sys.executable, "-m", "keras_skeleton.evaluate", f"--model_path={model_dir / 'model.keras'}",
                     f"--data_dir={tiny_prepared}", *TINY])
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout.strip().splitlines()[-1])["top1"] == metrics["top1"]


def test_bad_inputs_stop_with_one_clear_line(tiny_prepared, tmp_path):
    cases = [
        (train_command(tiny_prepared, tmp_path / "a", "--epochs=0"), "--epochs must be positive"),
        (train_command(tmp_path / "missing", tmp_path / "b"), "does not exist"),
        (train_command(tiny_prepared, tmp_path / "c", "--model=nope"), "is not registered"),
        (train_command(tiny_prepared, tmp_path / "d", "--train_p_interval=2"), "train_p_interval"),
    ]
    for command, message in cases:
        result = run(command)
        assert result.returncode != 0
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]


def test_layout_mismatch_is_one_clear_line(tmp_path):
    from data_tools.prepared import write_meta, write_split
    data = tmp_path / "data"
    for split in ("train", "val"):
        write_split(str(data), split, ["a", "b", "c", "d"], [0, 1, 0, 1], [np.ones((1, 5, 17, 3))] * 4,
                    num_persons=2, max_frames=5, num_joints=17, num_channels=3)
    write_meta(str(data), "ntu25", 2)         # claims ntu25 but holds 17 joints
    result = run(train_command(data, tmp_path / "run", "--epochs=1"))
    assert result.returncode != 0
    assert "V=17" in result.stderr and "V=25" in result.stderr and "Traceback" not in result.stderr
