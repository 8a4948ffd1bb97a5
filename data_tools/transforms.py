"""Feeder transforms of the CTR-GCN family, vectorised over a batch (numpy only).

All functions take channels-last batches ``(B, M, T, V, C)``. They are shared by
the tf.data training pipeline, the exporter's calibration data and the
TensorFlow-free predictor, so training and deployment preprocess identically.
Semantics follow MODEL_SPEC §2.13 (official ``feeders/tools.py``).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

MODALITIES = ("joint", "bone", "joint_motion", "bone_motion")


def crop_windows(num_frames: np.ndarray, window: int, p_interval: Sequence[float],
                 rng: Optional[np.random.Generator] = None, min_crop: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """Start and length of the kept frames for each sample.

    One value ``[p]`` (evaluation): keep ``[b, L - b)`` with ``b = int((1 - p) L / 2)``.
    Two values ``[lo, hi]`` (training): ``p ~ U(lo, hi)``,
    ``len = min(max(floor(L p), min_crop), L)``, start uniform in ``[0, L - len]``.
    ``min_crop`` is the reference's hard-coded 64.
    """
    valid = np.maximum(np.asarray(num_frames, dtype=np.int64), 0)
    if len(p_interval) == 1:
        bias = ((1.0 - p_interval[0]) * valid / 2.0).astype(np.int64)
        return bias, np.maximum(valid - 2 * bias, 0)
    rng = rng or np.random.default_rng()
    p = rng.random(len(valid)) * (p_interval[1] - p_interval[0]) + p_interval[0]
    length = np.minimum(np.maximum(np.floor(valid * p).astype(np.int64), min_crop), valid)
    start = np.floor(rng.random(len(valid)) * (valid - length + 1)).astype(np.int64)
    return start, length


def resize_indices(start: np.ndarray, length: np.ndarray, window: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear-resize sampling of ``length`` frames to ``window`` (half-pixel centres, no antialias).

    Returns ``(lower, upper, weight)`` each ``(B, window)``: output frame ``t`` is
    ``(1 - w) X[lower] + w X[upper]`` (PyTorch bilinear, ``align_corners=False``).
    """
    length = np.maximum(length, 1)[:, None].astype(np.float64)
    source = (np.arange(window, dtype=np.float64)[None, :] + 0.5) * (length / window) - 0.5
    source = np.maximum(source, 0.0)
    lower = np.floor(source).astype(np.int64)
    lower = np.minimum(lower, length.astype(np.int64) - 1)
    upper = np.minimum(lower + 1, length.astype(np.int64) - 1)
    weight = (source - lower).astype(np.float32)
    return lower + start[:, None], upper + start[:, None], weight


def crop_resize(data: np.ndarray, num_frames: np.ndarray, window: int, p_interval: Sequence[float] = (0.95,),
                rng: Optional[np.random.Generator] = None, min_crop: int = 64) -> np.ndarray:
    """Valid-frame crop then linear resize to ``window`` frames.

    ``data (B, M, T, V, C)`` -> ``(B, M, window, V, C)`` float32. Samples with no
    valid frame come out as zeros.
    """
    data = np.asarray(data)
    start, length = crop_windows(num_frames, window, p_interval, rng, min_crop)
    lower, upper, weight = resize_indices(start, length, window)
    lower = np.clip(lower, 0, data.shape[2] - 1)
    upper = np.clip(upper, 0, data.shape[2] - 1)
    index_shape = (data.shape[0], 1, window, 1, 1)
    low = np.take_along_axis(data, lower.reshape(index_shape), axis=2)
    high = np.take_along_axis(data, upper.reshape(index_shape), axis=2)
    w = weight.reshape(index_shape)
    out = (low * (1.0 - w) + high * w).astype(np.float32)
    out[length <= 0] = 0.0
    return out


def rotation_matrices(angles: np.ndarray) -> np.ndarray:
    """``(B, 3)`` angles (x, y, z) -> ``(B, 3, 3)`` matrices ``Rz @ Ry @ Rx`` of the reference."""
    cx, cy, cz = np.cos(angles).T
    sx, sy, sz = np.sin(angles).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, sx, zero, -sx, cx], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, -sy, zero, one, zero, sy, zero, cy], -1).reshape(-1, 3, 3)
    rz = np.stack([cz, sz, zero, -sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    return rz @ ry @ rx


def random_rotation(data: np.ndarray, theta: float, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Rotates every sample's x/y/z by one random ``R`` (angles ~ U(-theta, theta)); zeros stay zero."""
    rng = rng or np.random.default_rng()
    angles = rng.uniform(-theta, theta, size=(data.shape[0], 3))
    matrices = rotation_matrices(angles).astype(np.float32)            # (B, 3, 3)
    xyz = data[..., :3]
    rotated = np.einsum("bij,bmtvj->bmtvi", matrices, xyz, optimize=True)
    if data.shape[-1] == 3:
        return rotated.astype(np.float32)
    return np.concatenate([rotated, data[..., 3:]], axis=-1).astype(np.float32)


def to_bone(data: np.ndarray, bone_pairs: Sequence[Tuple[int, int]]) -> np.ndarray:
    """``bone[..., j, :] = X[..., j, :] - X[..., ref(j), :]`` for ``(j, ref)`` pairs."""
    joints = np.array([j for j, _ in bone_pairs])
    refs = np.array([r for _, r in bone_pairs])
    out = np.zeros_like(data)
    out[..., joints, :] = data[..., joints, :] - data[..., refs, :]
    return out


def to_motion(data: np.ndarray) -> np.ndarray:
    """Forward difference over frames (axis 2); the last frame is zero."""
    out = np.zeros_like(data)
    out[:, :, :-1] = data[:, :, 1:] - data[:, :, :-1]
    return out


def apply_modality(data: np.ndarray, modality: str, bone_pairs: Sequence[Tuple[int, int]]) -> np.ndarray:
    """joint / bone / joint_motion / bone_motion (bone first, then motion, as the reference)."""
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got '{modality}'")
    if modality.startswith("bone"):
        data = to_bone(data, bone_pairs)
    if modality.endswith("motion"):
        data = to_motion(data)
    return data
