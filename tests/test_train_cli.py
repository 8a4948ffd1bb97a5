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


def event_values(log_dir):
    """{"train/tag" or "validation/tag": [(step, value or PNG bytes), ...]} as TensorBoard shows them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values = {}
    for run_name in ("train", "validation"):
        if not (log_dir / run_name).is_dir():
            continue
        accumulator = EventAccumulator(str(log_dir / run_name)).Reload()     # applies the restart markers
        for tag in accumulator.Tags()["scalars"]:
            values[f"{run_name}/{tag}"] = [(e.step, e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["images"]:
            values[f"{run_name}/{tag}"] = [(e.step, e.encoded_image_string) for e in accumulator.Images(tag)]
    return values


def test_train_writes_outputs_and_resumes_after_kill(tiny_prepared, tmp_path, request):
    model_dir = tmp_path / "run"
    # Eager steps of 8 clips (2 per epoch): cheaper than tracing the train function in each of the three
    # processes; the resume logic is the same.
    command = train_command(tiny_prepared, model_dir, "--epochs=4", "--run_eagerly", "--batch_size=8", "--save_best")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)
    # The same run without interruption, for comparison (started now: the two share the CPU).
    reference_dir = tmp_path / "uninterrupted"
    reference = subprocess.Popen(train_command(tiny_prepared, reference_dir, "--epochs=4", "--run_eagerly",
                                               "--batch_size=8", "--save_best"),
                                 cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    # A failed assertion must not leave either training process running after the test.
    request.addfinalizer(lambda: [p.kill() for p in (process, reference) if p.poll() is None])
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

    # Nothing lost, nothing repeated: the resumed run ends with the uninterrupted run's weights.
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-2000:]
    import keras
    import keras_skeleton  # noqa: F401
    resumed = keras.saving.load_model(model_dir / "model.keras", compile=False).get_weights()
    straight = keras.saving.load_model(reference_dir / "model.keras", compile=False).get_weights()
    for a, b in zip(resumed, straight):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert json.loads((reference_dir / "metrics.json").read_text())["top1"] == metrics["top1"]

    # --save_best: the first epoch of highest validation top-1 is kept across the kill, evaluated again in
    # metrics.json (same split, one clip: the same figure) and identical to the uninterrupted run's.
    val_top1 = [h["val_top1"] for h in state["history"]]
    best_epoch = 1 + int(np.argmax(val_top1))
    assert state["best"]["epoch"] == best_epoch and metrics["best_epoch"]["epoch"] == best_epoch
    assert abs(metrics["best_epoch"]["top1"] - 100 * val_top1[best_epoch - 1]) < 1e-3
    assert os.listdir(model_dir / "checkpoints").count(f"best-epoch-{best_epoch:04d}.keras") == 1
    # Each saved model has its card: what it expects as input, read by evaluation.
    card = json.loads((model_dir / "model.json").read_text())
    assert (card["model"], card["modality"], card["layout"], card["window"]) == ("ctrgcn", "joint", "ntu25", 16)
    assert json.loads((model_dir / "best_model.json").read_text()) == dict(card, epoch=best_epoch)
    assert len([f for f in os.listdir(model_dir / "checkpoints") if f.startswith("best-")]) == 1
    best_resumed = keras.saving.load_model(model_dir / "best_model.keras", compile=False).get_weights()
    best_straight = keras.saving.load_model(reference_dir / "best_model.keras", compile=False).get_weights()
    for a, b in zip(best_resumed, best_straight):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    # TensorBoard: per-epoch scalars for train and validation, then the confusion matrix and per-class accuracy.
    values = event_values(model_dir / "logs")
    assert [step for step, _ in values["train/epoch_learning_rate"]] == [1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in values["train/epoch_learning_rate"]], [0.02, 0.04, 0.06, 0.08],
                               rtol=1e-5)
    assert {"train/epoch_loss", "train/epoch_top1", "train/epoch_top5", "validation/epoch_loss",
            "validation/epoch_top1", "validation/epoch_top5"} <= set(values)
    (step, image), = values["validation/confusion_matrix"]
    assert step == 4 and image.startswith(b"\x89PNG")
    per_class = {tag: v for tag, v in values.items() if tag.startswith("validation/per_class_top1/")}
    assert len(per_class) == 2 and metrics["per_class_top1"] == {"0": per_class[
        "validation/per_class_top1/000_left"][0][1], "1": per_class["validation/per_class_top1/001_right"][0][1]}
    assert np.asarray(metrics["confusion_matrix"]).sum() == metrics["num_samples"]

    # Evaluating the saved models, fused as two streams: each is reported (the first reproduces the
    # run's own figure), then the weighted sum of their scores.
    both = f"{model_dir / 'model.keras'},{reference_dir / 'model.keras'}"
    fused = run([sys.executable, "-m", "keras_skeleton.evaluate", f"--model_path={both}", "--stream_weights=0.6,0.4",
                 f"--data_dir={tiny_prepared}", f"--output_json={tmp_path / 'fused.json'}",
                 f"--scores_path={tmp_path / 'scores.npz'}", *TINY])
    assert fused.returncode == 0, fused.stderr[-2000:]
    report = json.loads((tmp_path / "fused.json").read_text())
    # The kept scores re-fuse offline to the same figure, clip by clip under the split's names.
    saved = np.load(tmp_path / "scores.npz")
    num_clips = report["num_samples"]
    assert saved["scores"].shape[:2] == (2, num_clips) and list(saved["weights"]) == [0.6, 0.4]
    np.testing.assert_allclose(0.6 * saved["scores"][0] + 0.4 * saved["scores"][1], saved["fused"], rtol=1e-5)
    assert np.mean(saved["fused"].argmax(1) == saved["labels"]) * 100 == report["top1"]
    with open(os.path.join(tiny_prepared, "val_names.txt")) as names_file:
        val_names = names_file.read().split()
    assert list(saved["names"]) == val_names[:num_clips] and list(saved["modalities"]) == ["joint", "joint"]
    assert [s["weight"] for s in report["streams"]] == [0.6, 0.4] and "ensemble of 2 streams" in fused.stdout
    assert report["streams"][0]["top1"] == metrics["top1"]
    # Each stream says where its modality was read: here, each model's own card.
    assert [s["modality_source"] for s in report["streams"]] == [
        str(model_dir / "model.json"), str(reference_dir / "model.json")]
    assert f"joint (from {model_dir / 'model.json'}, weight 0.6)" in fused.stdout
    assert json.loads(fused.stdout.strip().splitlines()[-1])["top1"] == report["top1"] == metrics["top1"]


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


def test_nan_loss_stops_with_epoch_and_step(tmp_path):
    from data_tools.prepared import write_meta, write_split
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    samples = [rng.normal(size=(2, 20, 25, 3)).astype(np.float32) for _ in range(8)]
    samples[3][0, 5, 4, 1] = np.nan                     # one bad coordinate in one training sample
    write_split(str(data), "train", [f"t{i}" for i in range(8)], [i % 2 for i in range(8)], samples,
                num_persons=2, max_frames=20, num_joints=25, num_channels=3)
    write_split(str(data), "val", ["v0", "v1"], [0, 1], samples[:1] * 2, num_persons=2, max_frames=20,
                num_joints=25, num_channels=3)
    write_meta(str(data), "ntu25", 2)
    # Eager steps: the guard is the same, without half a minute of train-function tracing.
    result = run(train_command(data, tmp_path / "run", "--epochs=2", "--batch_size=8", "--run_eagerly"))
    assert result.returncode == 1
    assert "error: loss became nan at epoch 1, step 1" in result.stderr and "Traceback" not in result.stderr, \
        result.stderr[-2000:]
    assert not (tmp_path / "run" / "state.json").exists()          # no checkpoint of a broken epoch


def test_nan_guard_names_the_first_bad_step_without_waiting_on_the_current_one():
    from keras_skeleton.train import NaNGuard
    guard = NaNGuard()
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(0, {"loss": 1.0})
    guard.on_train_batch_end(1, {"loss": float("inf")})       # read only when step 3 has been dispatched
    import pytest
    with pytest.raises(FloatingPointError, match="loss became inf at epoch 3, step 2"):
        guard.on_train_batch_end(2, {"loss": float("nan")})
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(0, {"loss": float("nan")})
    with pytest.raises(FloatingPointError, match="epoch 1, step 1"):
        guard.on_epoch_end(0)


def test_event_writer_restart_drops_what_a_killed_run_logged(tmp_path):
    from keras_skeleton.summaries import EventWriter
    killed = EventWriter(str(tmp_path / "train"))
    for step in (1, 2, 3):
        killed.scalar("epoch_loss", float(step), step)        # epoch 3 logged, but its checkpoint never written
    killed.close()
    time.sleep(1.1)                                            # a new event file name (one per second)
    resumed = EventWriter(str(tmp_path / "train"))
    resumed.restart(3)
    for step in (3, 4):
        resumed.scalar("epoch_loss", 10.0 * step, step)
    resumed.close()
    assert event_values(tmp_path)["train/epoch_loss"] == [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0)]


def test_confusion_image_and_png():
    import struct
    import zlib
    from keras_skeleton.summaries import confusion_image, png
    confusion = np.array([[5, 0, 0], [1, 1, 2], [0, 0, 0]])
    image = confusion_image(confusion, cell=8)
    assert image.shape == (24, 24, 3) and image.dtype == np.uint8
    assert tuple(image[4, 4]) == (8, 48, 107)                 # recall 1 -> darkest blue
    assert tuple(image[12, 12]) != tuple(image[4, 4]) and tuple(image[8, 8]) == (220, 30, 30)   # weak class framed
    assert tuple(image[20, 20]) == (255, 255, 255)            # a class without samples stays white
    data = png(image)
    width, height = struct.unpack(">II", data[16:24])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (24, 24)
    idat = data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(24, 1 + 24 * 3)
    np.testing.assert_array_equal(rows[:, 1:].reshape(24, 24, 3), image)


def test_init_from_starts_from_a_saved_model_and_refuses_a_mismatch(tiny_prepared, tmp_path):
    import keras

    import keras_skeleton  # noqa: F401  (registers the layers for load_model)

    quick = ["--epochs=1", "--run_eagerly", "--batch_size=8"]
    source = run(train_command(tiny_prepared, tmp_path / "source", *quick))
    assert source.returncode == 0, source.stderr[-2000:]
    source_model = str(tmp_path / "source" / "model.keras")
    # A learning rate of 1e-9 and no weight decay leave the trainable weights where they started: the source
    # model's with --init_from, another seed's random initialisation without it.
    frozen = [*quick, "--seed=2", "--base_lr=1e-9", "--weight_decay=0"]
    started = run(train_command(tiny_prepared, tmp_path / "init", *frozen, f"--init_from={source_model}"))
    assert started.returncode == 0, started.stderr[-2000:]
    assert f"Initialised from {source_model}" in started.stdout
    fresh = run(train_command(tiny_prepared, tmp_path / "fresh", *frozen))
    assert fresh.returncode == 0, fresh.stderr[-2000:]

    def trainable(path):
        return [w.numpy() for w in keras.saving.load_model(path, compile=False).trainable_weights]

    expected = trainable(source_model)
    for a, b in zip(trainable(tmp_path / "init" / "model.keras"), expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not all(np.allclose(a, b, atol=1e-3) for a, b in zip(trainable(tmp_path / "fresh" / "model.keras"),
                                                                 expected))

    cases = [
        (train_command(tiny_prepared, tmp_path / "a", f"--init_from={tmp_path / 'none.keras'}"), "does not exist"),
        (train_command(tiny_prepared, tmp_path / "b", f"--init_from={source_model}", "--modality=bone"),
         "was trained on joint"),
        (train_command(tiny_prepared, tmp_path / "c", *quick, f"--init_from={source_model}",
                       "--model_kwargs=base_channels=16"), "has shape"),
    ]
    for command, message in cases:
        result = run(command)
        assert result.returncode != 0
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]
