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
