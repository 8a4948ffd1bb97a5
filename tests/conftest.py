"""Shared test fixtures: the ../shared folder and small prepared datasets."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared"))


def shared_path(*parts):
    """Path under ../shared, or skip the test with a reason when it is absent."""
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} not available (../shared is only present in CI and on developer machines)")
    return path


@pytest.fixture
def tiny_prepared(tmp_path):
    """A prepared ntu25 dataset with 2 classes that differ by a moving joint, 16 + 8 samples."""
    from data_tools.prepared import write_meta, write_split

    rng = np.random.default_rng(0)

    def sample(label):
        frames = int(rng.integers(20, 40))
        x = rng.normal(0, 0.05, (2, frames, 25, 3)).astype(np.float32)
        x[:, :, 11, 1] += np.sin(np.linspace(0, 6, frames))[None] * (1.0 if label else -1.0)
        x[1] = 0.0
        return x

    for split, n in (("train", 16), ("val", 8)):
        labels = [i % 2 for i in range(n)]
        write_split(str(tmp_path), split, [f"{split}{i}" for i in range(n)], labels, [sample(l) for l in labels],
                    num_persons=2, max_frames=40, num_joints=25, num_channels=3)
    write_meta(str(tmp_path), "ntu25", 2, ["left", "right"], splits={"train": 16, "val": 8}, max_frames=40)
    return str(tmp_path)
