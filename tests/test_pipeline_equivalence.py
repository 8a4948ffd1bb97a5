"""The batched memmap fast path of the feeder equals a per-sample reference, bit for bit."""

import numpy as np
import pytest

from data_tools import transforms
from data_tools.prepared import PreparedSplit, write_meta, write_split
from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder
from keras_skeleton.graphs import get_layout

BONES = get_layout("ntu25").bone_pairs()


@pytest.fixture
def ragged_prepared(tmp_path):
    """12 ntu25 samples stored in 60 frames: valid lengths 0 to 60, one or two persons."""
    rng = np.random.default_rng(1)
    lengths = [0, 1, 5, 15, 16, 17, 30, 44, 59, 60, 60, 23]
    samples = [rng.normal(0, 0.5, (1 + i % 2, n, 25, 3)).astype(np.float32) for i, n in enumerate(lengths)]
    names = [f"s{i}" for i in range(len(lengths))]
    write_split(str(tmp_path), "train", names, [i % 3 for i in range(len(lengths))], samples,
                num_persons=2, max_frames=60, num_joints=25, num_channels=3)
    write_meta(str(tmp_path), "ntu25", 3, splits={"train": len(lengths)}, max_frames=60)
    return str(tmp_path)


def reference_batch(split, config, indices, rng):
    """The feeder's crop_resize path, one whole sample at a time (full read, explicit loops)."""
    num_frames = split.num_frames[indices]
    p_interval = config.p_interval if config.training else config.p_interval[:1]
    start, length = transforms.crop_windows(num_frames, config.window, p_interval, rng, config.min_crop)
    lower, upper, weight = transforms.resize_indices(start, length, config.window)
    clips = []
    for b, row in enumerate(indices):
        sample = np.array(split.data[row])                                   # (M, T, V, C), all frames
        last = sample.shape[1] - 1
        low = sample[:, np.clip(lower[b], 0, last)]
        high = sample[:, np.clip(upper[b], 0, last)]
        w = weight[b][None, :, None, None]
        clip = (low * (1.0 - w) + high * w).astype(np.float32)
        clips.append(clip if length[b] > 0 else np.zeros_like(clip))
    x = np.stack(clips)
    if config.rotation and config.training:
        x = transforms.random_rotation(x, config.rotation, rng)
    if config.modality.startswith("bone"):
        bone = np.zeros_like(x)
        for joint, ref in config.bone_pairs:
            bone[..., joint, :] = x[..., joint, :] - x[..., ref, :]
        x = bone
    if config.modality.endswith("motion"):
        motion = np.zeros_like(x)
        for t in range(x.shape[2] - 1):
            motion[:, :, t] = x[:, :, t + 1] - x[:, :, t]
        x = motion
    return x


@pytest.mark.parametrize("modality,bone_pairs,training", [
    ("bone_motion", BONES, True),
    ("joint", BONES, True),
    ("bone", [(j, r) for j, r in BONES if j % 3], True),      # pairs that leave some joints zero
    ("joint_motion", BONES, False),
])
def test_feeder_batch_equals_per_sample_reference(ragged_prepared, modality, bone_pairs, training):
    split = PreparedSplit(ragged_prepared, "train")
    config = FeederConfig(window=16, p_interval=[0.5, 1.0] if training else [0.95], rotation=0.3,
                          modality=modality, bone_pairs=bone_pairs, min_crop=16)
    feeder = SkeletonFeeder(split, config, batch_size=8, shuffle=True, seed=5, repeat=2)
    order = feeder.epoch_order(3)
    for index in range(len(feeder)):
        x, _ = feeder.batch_at(3, index, order)
        chunk = order[index * 8:(index + 1) * 8]
        expected = reference_batch(split, config, chunk, np.random.default_rng([5, 3, index]))
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, expected)


def test_crop_resize_from_store_rows_equals_crop_resize_of_the_gathered_batch(ragged_prepared):
    split = PreparedSplit(ragged_prepared, "train")
    rows = np.array([3, 9, 0, 3, 11, 7])
    from_store = transforms.crop_resize(split.data, split.num_frames[rows], 24, [0.3, 1.0],
                                        np.random.default_rng(2), 8, rows=rows)
    from_batch = transforms.crop_resize(np.asarray(split.data[rows]), split.num_frames[rows], 24, [0.3, 1.0],
                                        np.random.default_rng(2), 8)
    np.testing.assert_array_equal(from_store, from_batch)
    assert (from_store[2] == 0).all()                         # sample 0 has no valid frame


@pytest.mark.parametrize("config", [
    FeederConfig(window=20, sampling="ucla", training=True),
    FeederConfig(window=20, sampling="uniform", training=False, num_clips=2),
    FeederConfig(window=70, sampling="first", training=True),
])
def test_other_samplings_read_only_what_they_use(ragged_prepared, config):
    # Reading fewer frames (up to the longest valid clip / the window) changes nothing.
    split = PreparedSplit(ragged_prepared, "train")
    feeder = SkeletonFeeder(split, config, batch_size=6, shuffle=True, seed=1)
    indices = feeder.epoch_order(0)[:6]
    x, _ = feeder.batch(indices, np.random.default_rng(4))
    raw = np.asarray(split.data[indices])
    num_frames = split.num_frames[indices]
    rng = np.random.default_rng(4)
    if config.sampling == "ucla":
        expected = transforms.ucla_transform(raw, num_frames, 20, True, rng)
    elif config.sampling == "uniform":
        test_rng = np.random.default_rng(255)
        clips = [transforms.gather_frames(raw, transforms.uniform_sample_indices(
            num_frames, 20, test_rng, training=False, clip_index=i, num_clips=2)) for i in range(2)]
        expected = np.stack(clips, axis=1).reshape((-1,) + raw.shape[1:2] + (20, 25, 3))
    else:
        expected = np.zeros((6, 2, 70, 25, 3), np.float32)
        expected[:, :, :60] = raw
    np.testing.assert_array_equal(x, expected)
