"""data_tools.summary: counts per split and class, frame lengths, persons present."""

import json
import subprocess
import sys

import numpy as np

from conftest import REPO_ROOT
from data_tools import summary
from data_tools.prepared import write_meta, write_split


def make_dataset(folder):
    """6 train + 2 val samples, 3 classes; two train samples have a second person."""
    rng = np.random.default_rng(0)
    lengths = {"train": [10, 40, 70, 120, 300, 33], "val": [5, 64]}
    for split, frames in lengths.items():
        samples = []
        for i, t in enumerate(frames):
            x = rng.normal(0, 1, (2, t, 25, 3)).astype(np.float32)
            if split == "val" or i >= 2:
                x[1] = 0
            samples.append(x)
        write_split(str(folder), split, [f"{split}{i}" for i in range(len(frames))],
                    [i % 3 for i in range(len(frames))], samples, num_persons=2, max_frames=300, num_joints=25,
                    num_channels=3)
    write_meta(str(folder), "ntu25", 3, ["wave", "clap", "jump"], splits={"train": 6, "val": 2})


def test_summary_counts(tmp_path):
    make_dataset(tmp_path / "xsub")
    result = summary.summarize(str(tmp_path / "xsub"))
    train, val = result["splits"]["train"], result["splits"]["val"]
    assert train["samples"] == 6 and train["per_class"] == [2, 2, 2] and val["per_class"] == [1, 1, 0]
    assert train["persons"] == {"1": 4, "2": 2} and val["persons"] == {"1": 2}
    assert train["frames"] == {"min": 10, "max": 300, "mean": 95.5}
    assert train["frame_histogram"]["1-31"] == 1 and train["frame_histogram"][">=300"] == 1
    assert sum(train["frame_histogram"].values()) == 6
    text = summary.format_summary(result)
    assert "train: 6 samples" in text and "  0 wave" in text and "frame lengths (val)" in text


def test_summary_command(tmp_path):
    make_dataset(tmp_path / "xsub")
    make_dataset(tmp_path / "xview")
    run = lambda *args: subprocess.run([sys.executable, "-m", "data_tools.summary", *args], cwd=REPO_ROOT,
                                       capture_output=True, text=True)
    result = run(f"--data_dir={tmp_path}")                       # a folder of prepared folders
    assert result.returncode == 0 and result.stdout.count("layout ntu25, 3 classes") == 2
    as_json = json.loads(run(f"--data_dir={tmp_path / 'xsub'}", "--json").stdout)
    assert as_json["splits"]["train"]["persons"] == {"1": 4, "2": 2}
    missing = run(f"--data_dir={tmp_path / 'nothing'}")
    assert missing.returncode != 0 and missing.stderr.strip() == \
        f"error: data directory '{tmp_path / 'nothing'}' does not exist"
