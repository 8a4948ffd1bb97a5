"""Converters of existing skeleton data (CTR-GCN npz, PaddleVideo, PYSKL, custom clips) to the prepared format."""

import csv
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, shared_path
from data_tools import readers
from data_tools.prepared import PreparedSplit
from data_tools.readers import ReaderError


def ntu_like(rng, n, frames=300, persons=2):
    """``(n, persons, frames, 25, 3)`` with zero padding after a random length and some lone actors."""
    data = np.zeros((n, persons, frames, 25, 3), np.float32)
    lengths = rng.integers(5, frames, n)
    for i, length in enumerate(lengths):
        data[i, :, :length] = rng.normal(0, 0.3, (persons, length, 25, 3))
        if i % 2:
            data[i, 1] = 0
    return data, lengths


# --- CTR-GCN npz ---------------------------------------------------------------------------------

@pytest.mark.parametrize("compressed", [False, True])
def test_ctrgcn_npz(tmp_path, compressed):
    rng = np.random.default_rng(0)
    train, train_lengths = ntu_like(rng, 7)
    test, test_lengths = ntu_like(rng, 3)
    as_columns = lambda d: d.transpose(0, 2, 1, 3, 4).reshape(len(d), 300, 150)
    one_hot = lambda labels: np.eye(60, dtype=np.float32)[labels]
    path = str(tmp_path / "NTU60_CS.npz")
    (np.savez_compressed if compressed else np.savez)(
        path, x_train=as_columns(train), y_train=one_hot(np.arange(7)), x_test=as_columns(test),
        y_test=one_hot(np.array([59, 3, 0])))
    meta = readers.convert_ctrgcn_npz(path, str(tmp_path / "out"), chunk=3)
    assert meta["layout"] == "ntu25" and meta["num_classes"] == 60 and meta["class_names"][0] == "drink water"
    for split, data, lengths, labels in (("train", train, train_lengths, np.arange(7)),
                                         ("val", test, test_lengths, [59, 3, 0])):
        prepared = PreparedSplit(str(tmp_path / "out"), split)
        np.testing.assert_array_equal(prepared.data, data)
        np.testing.assert_array_equal(prepared.num_frames, lengths)
        np.testing.assert_array_equal(prepared.labels, labels)
    assert prepared.names == ["val_000000", "val_000001", "val_000002"]


def test_ctrgcn_npz_errors_name_the_file(tmp_path):
    path = str(tmp_path / "bad.npz")
    np.savez(path, x_train=np.zeros((2, 300, 150), np.float32), y_train=np.eye(2))
    with pytest.raises(ReaderError, match=r"bad.npz: no array 'y_test'"):
        readers.convert_ctrgcn_npz(path, str(tmp_path / "out"))
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ReaderError, match=r"text.npz: not an .npz archive"):
        readers.convert_ctrgcn_npz(str(tmp_path / "text.npz"), str(tmp_path / "out"))


# --- PaddleVideo ---------------------------------------------------------------------------------

def write_paddle_folder(folder, splits):
    os.makedirs(folder, exist_ok=True)
    for split, (data, names, labels) in splits.items():
        np.save(os.path.join(folder, f"{split}_data.npy"), data.transpose(0, 4, 2, 3, 1))   # (N, C, T, V, M)
        with open(os.path.join(folder, f"{split}_label.pkl"), "wb") as f:
            pickle.dump([np.array(names), np.array(labels, np.int64)], f)


def test_paddlevideo_benchmark_folders(tmp_path):
    rng = np.random.default_rng(1)
    train, train_lengths = ntu_like(rng, 4, frames=50)
    val, _ = ntu_like(rng, 2, frames=50)
    names = [f"S001C00{c}P001R001A00{a}" for c, a in ((2, 1), (3, 2), (2, 3), (3, 4))]
    for benchmark in ("xsub", "xview"):
        write_paddle_folder(tmp_path / "paddle" / benchmark, {
            "train": (train, names, [0, 1, 2, 3]),
            "val": (val, ["S001C001P003R001A001", "S001C001P003R001A002"], [0, 1])})
    written = readers.convert("paddlevideo", str(tmp_path / "paddle"), str(tmp_path / "out"))
    assert sorted(written) == [str(tmp_path / "out" / "xsub"), str(tmp_path / "out" / "xview")]
    prepared = PreparedSplit(str(tmp_path / "out" / "xview"), "train")
    np.testing.assert_array_equal(prepared.data, train)
    np.testing.assert_array_equal(prepared.num_frames, train_lengths)
    assert prepared.names == names and prepared.meta["num_classes"] == 60
    assert PreparedSplit(str(tmp_path / "out" / "xsub"), "val").labels.tolist() == [0, 1]


def test_paddlevideo_real_example(tmp_path):
    sample = np.load(shared_path("data", "paddlevideo_examples", "data", "example_NTU-RGB-D_sketeton.npy"))
    folder = tmp_path / "xsub"
    write_paddle_folder(folder, {"val": (sample.transpose(3, 1, 2, 0)[None], ["S001C001P001R001A001"], [0])})
    meta = readers.convert("paddlevideo", str(folder), str(tmp_path / "out"))[str(tmp_path / "out")]
    assert meta["splits"] == {"train": 0, "val": 1}
    prepared = PreparedSplit(str(tmp_path / "out"), "val")
    np.testing.assert_array_equal(prepared.data[0], sample.transpose(3, 1, 2, 0))
    frames = np.flatnonzero(np.any(sample != 0, axis=(0, 2, 3)))
    assert prepared.num_frames[0] == frames[-1] + 1


# --- PYSKL ---------------------------------------------------------------------------------------

def test_pyskl_real_2d_coco_annotation(tmp_path):
    path = shared_path("data", "paddlevideo_examples", "data", "example_UCF101_skeleton.pkl")
    with open(path, "rb") as f:
        annotation = pickle.load(f)
    metas = readers.convert("pyskl", path, str(tmp_path / "out"), num_classes=101)
    meta = metas[str(tmp_path / "out")]
    assert meta["layout"] == "coco17" and meta["num_channels"] == 3 and meta["splits"] == {"train": 1, "val": 0}
    prepared = PreparedSplit(str(tmp_path / "out"), "train")
    assert prepared.names == ["v_ApplyEyeMakeup_g01_c01"] and prepared.num_frames.tolist() == [163]
    assert prepared.data.shape == (1, 2, 163, 17, 3)
    height, width = annotation["img_shape"]
    keypoint = annotation["keypoint"].astype(np.float32)
    np.testing.assert_allclose(prepared.data[0, ..., 0], keypoint[..., 0] / width, rtol=1e-6)
    np.testing.assert_allclose(prepared.data[0, ..., 1], keypoint[..., 1] / height, rtol=1e-6)
    np.testing.assert_array_equal(prepared.data[0, ..., 2], annotation["keypoint_score"].astype(np.float32))


def test_pyskl_3d_dataset_splits_map_to_benchmark_folders(tmp_path):
    rng = np.random.default_rng(2)
    annotations = []
    for i, name in enumerate(["S001C001P001R001A001", "S001C002P003R001A002", "S001C003P002R001A050"]):
        frames = 10 + i
        keypoint = rng.normal(0, 1, (2 if i == 2 else 1, frames, 25, 3)).astype(np.float16)
        annotations.append({"frame_dir": name, "label": int(name[-3:]) - 1, "total_frames": frames,
                            "keypoint": keypoint})
    content = {"split": {"xsub_train": [annotations[0]["frame_dir"], annotations[2]["frame_dir"]],
                         "xsub_val": [annotations[1]["frame_dir"]],
                         "xview_train": [annotations[1]["frame_dir"], annotations[2]["frame_dir"]],
                         "xview_val": [annotations[0]["frame_dir"]]},
               "annotations": annotations}
    path = tmp_path / "ntu60_3danno.pkl"
    path.write_bytes(pickle.dumps(content))
    metas = readers.convert("pyskl", str(path), str(tmp_path / "out"))
    assert sorted(metas) == [str(tmp_path / "out" / "xsub"), str(tmp_path / "out" / "xview")]
    train = PreparedSplit(str(tmp_path / "out" / "xsub"), "train")
    assert train.names == ["S001C001P001R001A001", "S001C003P002R001A050"] and train.labels.tolist() == [0, 49]
    assert train.meta["num_classes"] == 60 and train.data.shape == (2, 2, 12, 25, 3)
    first = annotations[0]["keypoint"].astype(np.float32)
    np.testing.assert_allclose(train.data[0, 0, :10], first[0] - first[0, 0, 1], atol=1e-6)   # centred, joint 2
    assert not train.data[0, 1].any() and train.num_frames.tolist() == [10, 12]
    assert PreparedSplit(str(tmp_path / "out" / "xview"), "val").names == ["S001C001P001R001A001"]


def test_pickles_are_loaded_without_running_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"annotations": [Exploit()]}))
    with pytest.raises(ReaderError, match="evil.pkl: not a readable pickle .*refusing to load"):
        readers.convert("pyskl", str(path), str(tmp_path / "out"))
    assert not (tmp_path / "pwned").exists()


# --- custom clips --------------------------------------------------------------------------------

def test_custom_clips_with_csv(tmp_path):
    rng = np.random.default_rng(3)
    clips = tmp_path / "clips"
    clips.mkdir()
    rows = [("file", "label", "split")]
    expected = {}
    for i in range(5):
        clip = rng.normal(0, 1, (20 + i, 33, 3)).astype(np.float32) if i % 2 else \
            rng.normal(0, 1, (2, 20 + i, 33, 3)).astype(np.float32)
        np.save(clips / f"clip{i}.npy", clip)
        rows.append((f"clips/clip{i}.npy", "wave" if i < 3 else "jump", "test" if i == 4 else "train"))
        expected[f"clip{i}"] = clip if clip.ndim == 4 else clip[None]
    np.save(clips / "wrong.npy", np.zeros((10, 17, 3), np.float32))
    rows.append(("clips/wrong.npy", "jump", "train"))
    rows.append(("clips/absent.npy", "jump", "val"))
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    meta = readers.convert("custom", str(tmp_path / "labels.csv"), str(tmp_path / "out"), layout="mediapipe33")
    meta = meta[str(tmp_path / "out")]
    assert meta["class_names"] == ["jump", "wave"] and meta["layout"] == "mediapipe33"
    train = PreparedSplit(str(tmp_path / "out"), "train")
    assert train.names == ["clip0", "clip1", "clip2", "clip3"] and train.labels.tolist() == [1, 1, 1, 0]
    assert train.data.shape == (4, 2, 24, 33, 3) and train.num_frames.tolist() == [20, 21, 22, 23]
    np.testing.assert_array_equal(train.data[1, :1, :21], expected["clip1"])
    assert not train.data[1, 1].any()
    assert PreparedSplit(str(tmp_path / "out"), "val").names == ["clip4"]
    skipped = open(tmp_path / "out" / "skipped.txt").read()
    assert "wrong.npy: 17 joints, the layout has 33" in skipped and "absent.npy: file not found" in skipped


def test_cli_errors_are_one_line(tmp_path):
    (tmp_path / "labels.csv").write_text("a.npy,0\n")
    command = [sys.executable, "-m", "data_tools.readers", "--format=custom", f"--input={tmp_path / 'labels.csv'}",
               f"--out_dir={tmp_path / 'out'}"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and result.stderr.strip().startswith("error: --format=custom needs --layout")
    assert "Traceback" not in result.stderr
    result = subprocess.run(command + ["--layout=coco17"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'labels.csv'}: none of the 1 clips")
