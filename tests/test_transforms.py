import numpy as np

from data_tools import transforms


def test_centre_crop_matches_reference_formula():
    start, length = transforms.crop_windows(np.array([100, 20]), 64, [0.95])
    np.testing.assert_array_equal(start, [2, 0])      # int(0.05 * 100 / 2) = 2, int(0.5) = 0
    np.testing.assert_array_equal(length, [96, 20])


def test_resize_is_half_pixel_linear_interpolation():
    # Upsampling 2 frames [0, 1] to 4: PyTorch bilinear align_corners=False gives 0, .25, .75, 1.
    data = np.zeros((1, 1, 5, 1, 1), np.float32)
    data[0, 0, :2, 0, 0] = [0.0, 1.0]
    out = transforms.crop_resize(data, np.array([2]), 4, [1.0])
    np.testing.assert_allclose(out[0, 0, :, 0, 0], [0.0, 0.25, 0.75, 1.0], atol=1e-6)
    # Downsampling 8 -> 4 averages neighbours: frames (0,1), (2,3), ...
    data = np.arange(8, dtype=np.float32).reshape(1, 1, 8, 1, 1)
    out = transforms.crop_resize(data, np.array([8]), 4, [1.0])
    np.testing.assert_allclose(out[0, 0, :, 0, 0], [0.5, 2.5, 4.5, 6.5], atol=1e-6)


def test_random_crop_respects_bounds_and_min_length():
    rng = np.random.default_rng(0)
    start, length = transforms.crop_windows(np.array([300, 40, 100] * 50), 64, [0.5, 1.0], rng)
    valid = np.array([300, 40, 100] * 50)
    assert (start >= 0).all() and (start + length <= valid).all()
    assert (length >= np.minimum(64, valid)).all()


def test_rotation_is_orthonormal_and_keeps_zeros():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(3, 2, 4, 25, 3)).astype(np.float32)
    data[:, 1] = 0
    out = transforms.random_rotation(data, 0.3, rng)
    assert (out[:, 1] == 0).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(data, axis=-1), rtol=1e-5)
    r = transforms.rotation_matrices(np.array([[0.1, 0.2, 0.3]]))[0]
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)


def test_bone_and_motion_modalities():
    data = np.random.default_rng(0).normal(size=(1, 1, 3, 3, 3)).astype(np.float32)
    pairs = [(0, 1), (1, 1), (2, 1)]
    bone = transforms.apply_modality(data, "bone", pairs)
    np.testing.assert_allclose(bone[..., 0, :], data[..., 0, :] - data[..., 1, :])
    assert (bone[..., 1, :] == 0).all()
    motion = transforms.apply_modality(data, "joint_motion", pairs)
    np.testing.assert_allclose(motion[:, :, 0], data[:, :, 1] - data[:, :, 0])
    assert (motion[:, :, -1] == 0).all()
    bone_motion = transforms.apply_modality(data, "bone_motion", pairs)
    np.testing.assert_allclose(bone_motion[:, :, 0], bone[:, :, 1] - bone[:, :, 0], atol=1e-6)


# --- NW-UCLA feeder (official CTR-GCN feeders/feeder_ucla.py semantics) ------------------------------

def _ucla_reference(clip, angle_x, angle_y, scale, indices):
    """One clip (T, V, 3) the way the official feeder treats it, written loop by loop."""
    clip = clip - clip[0, 1]
    ax, ay = np.radians(angle_x), np.radians(angle_y)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), np.sin(ax)], [0, -np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, -np.sin(ay)], [0, 1, 0], [np.sin(ay), 0, np.cos(ay)]])
    rows = clip.reshape(-1, 3) @ (ry @ (rx @ (np.eye(3) * scale)))
    rows = (rows - rows.min(axis=0)) / (rows.max(axis=0) - rows.min(axis=0)) * 2 - 1
    return rows.reshape(clip.shape)[indices]


def test_ucla_training_transform_matches_per_clip_reference():
    rng = np.random.default_rng(3)
    lengths = np.array([30, 7, 52, 90])
    data = np.zeros((4, 1, 90, 20, 3))
    for b, length in enumerate(lengths):
        data[b, 0, :length] = rng.normal(size=(length, 20, 3)) + 5.0
    out = transforms.ucla_transform(data, lengths, 52, True, np.random.default_rng(11))
    # Replay the same draws: angles x, angles y, scales, then one index sample per clip.
    replay = np.random.default_rng(11)
    angle_x = replay.integers(-60, 61, size=4)
    angle_y = replay.integers(-60, 61, size=4)
    scale = replay.uniform(0.5, 1.5, size=4)
    indices = transforms.ucla_train_indices(lengths, 52, replay)
    for b, length in enumerate(lengths):
        expected = _ucla_reference(data[b, 0, :length], angle_x[b], angle_y[b], scale[b], indices[b])
        np.testing.assert_allclose(out[b, 0], expected, atol=1e-5)
    assert out.shape == (4, 1, 52, 20, 3) and out.min() >= -1 - 1e-6 and out.max() <= 1 + 1e-6


def test_ucla_test_transform_is_evenly_spaced_and_unrotated():
    rng = np.random.default_rng(0)
    lengths = np.array([1, 2, 51, 53, 201])
    data = rng.normal(size=(5, 1, 201, 20, 3))
    out = transforms.ucla_transform(data, lengths, 52, False)
    for b, length in enumerate(lengths):
        indices = np.linspace(0, length - 1, 52).astype(int)
        np.testing.assert_array_equal(transforms.ucla_test_indices(lengths[b:b + 1], 52)[0], indices)
        if length > 1:
            np.testing.assert_allclose(out[b, 0], _ucla_reference(data[b, 0, :length], 0, 0, 1.0, indices),
                                       atol=1e-5)


def test_ucla_train_indices_are_sorted_draws_without_replacement_from_100_copies():
    rng = np.random.default_rng(0)
    lengths = np.array([1, 2, 40, 201] * 250)
    indices = transforms.ucla_train_indices(lengths, 52, rng)
    assert (np.diff(indices, axis=1) >= 0).all()
    assert (indices >= 0).all() and (indices < lengths[:, None]).all()
    assert (indices[lengths == 1] == 0).all()
    # Two frames x 100 copies: the count of frame 0 is hypergeometric (mean 26, variance 52*.5*.5*148/199).
    zeros = (indices[lengths == 2] == 0).sum(axis=1)
    assert abs(zeros.mean() - 26) < 0.6 and abs(zeros.var() - 52 * 0.25 * 148 / 199) < 2.5


def test_minmax_ignores_padding_and_maps_to_unit_range():
    data = np.zeros((1, 1, 6, 2, 3))
    data[0, 0, :3] = np.arange(18).reshape(3, 2, 3)
    out = transforms.minmax_normalize(data, np.array([3]))
    assert out[0, 0, :3].min() == -1 and out[0, 0, :3].max() == 1
    assert (out[0, 0, 3:] == 0).all()


# --- PYSKL UniformSample ------------------------------------------------------------------------

def test_uniform_sample_three_regimes():
    rng = np.random.default_rng(0)
    lengths = np.array([30, 150, 450] * 20)
    indices = transforms.uniform_sample_indices(lengths, 100, rng)
    short, medium, long = indices[lengths == 30], indices[lengths == 150], indices[lengths == 450]
    # Short clips loop: consecutive frames modulo L.
    np.testing.assert_array_equal((short - short[:, :1]) % 30, np.arange(100)[None].repeat(len(short), 0) % 30)
    # Medium clips: strictly increasing, no repeats, inside [0, L).
    assert (np.diff(medium, axis=1) > 0).all() and medium.max() < 150
    # Long clips: one frame in each segment [floor(i L / 100), floor((i + 1) L / 100)).
    bounds = np.arange(101) * 450 // 100
    assert ((long >= bounds[:-1]) & (long < bounds[1:])).all()


def test_uniform_test_clips_are_deterministic_and_spread():
    lengths = np.array([5, 30])
    first = [transforms.uniform_sample_indices(lengths, 100, np.random.default_rng(255), False, i, 10)
             for i in range(10)]
    again = [transforms.uniform_sample_indices(lengths, 100, np.random.default_rng(255), False, i, 10)
             for i in range(10)]
    np.testing.assert_array_equal(first, again)
    assert [clip[0, 0] for clip in first] == list(range(5)) + list(range(5))    # L < num_clips: start i mod L
    assert [clip[1, 0] for clip in first] == [i * 30 // 10 for i in range(10)]   # else i * L // num_clips


# --- Mixup --------------------------------------------------------------------------------------

def test_mixup_mixes_inputs_and_targets_with_one_lambda_and_permutation():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(8, 1, 4, 3, 3)).astype(np.float32)
    targets = np.eye(4, dtype=np.float32)[np.arange(8) % 4]
    mixed, mixed_targets = transforms.mixup(x, targets, 0.2, np.random.default_rng(9))
    replay = np.random.default_rng(9)
    lam = replay.beta(0.2, 0.2)
    permutation = replay.permutation(8)
    np.testing.assert_allclose(mixed, lam * x + (1 - lam) * x[permutation], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mixed_targets, lam * targets + (1 - lam) * targets[permutation], rtol=1e-6)
    np.testing.assert_allclose(mixed_targets.sum(axis=1), 1.0, rtol=1e-6)
    # Beta(0.2, 0.2) puts most of its mass near 0 and 1.
    lams = np.random.default_rng(1).beta(0.2, 0.2, size=4000)
    assert ((lams < 0.1) | (lams > 0.9)).mean() > 0.5
