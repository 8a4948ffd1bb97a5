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


def gather_frame_pairs(store: np.ndarray, rows: np.ndarray, lower: np.ndarray,
                       upper: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Frames ``lower`` and ``upper`` of the samples ``rows`` of ``store``.

    ``store (N, M, T, V, C)`` (an array or a memmap), ``rows (B,)``, ``lower``/``upper``
    ``(B, W)`` in ``[0, T)`` -> two ``(B, M, W, V, C)`` arrays of the store's dtype.
    One row gather over a ``(N * M * T, V * C)`` view, so a memmap copies out only
    the ``2 W`` frames each sample needs instead of all ``T``.
    """
    n, m, t, v, c = store.shape
    batch, window = lower.shape
    flat = store.reshape(n * m * t, v * c)               # a view for contiguous arrays and memmaps
    frames = np.concatenate([lower, upper], axis=1)      # (B, 2W)
    first = (np.asarray(rows, dtype=np.int64)[:, None] * m + np.arange(m)[None, :]) * t   # (B, M)
    picked = np.asarray(flat[(first[:, :, None] + frames[:, None, :]).reshape(-1)])
    picked = picked.reshape(batch, m, 2 * window, v, c)
    return picked[:, :, :window], picked[:, :, window:]


def crop_resize(data: np.ndarray, num_frames: np.ndarray, window: int, p_interval: Sequence[float] = (0.95,),
                rng: Optional[np.random.Generator] = None, min_crop: int = 64,
                rows: Optional[np.ndarray] = None) -> np.ndarray:
    """Valid-frame crop then linear resize to ``window`` frames.

    ``data (B, M, T, V, C)`` -> ``(B, M, window, V, C)`` float32. Samples with no
    valid frame come out as zeros. With ``rows (B,)``, ``data`` is a whole store
    ``(N, M, T, V, C)`` (e.g. a memory-mapped split), sample ``b`` is ``data[rows[b]]``
    and only the frames the resize reads are copied out of it (same result as
    ``crop_resize(data[rows], ...)``).
    """
    if rows is None:
        data = np.asarray(data)
        rows = np.arange(data.shape[0])
    start, length = crop_windows(num_frames, window, p_interval, rng, min_crop)
    lower, upper, weight = resize_indices(start, length, window)
    lower = np.clip(lower, 0, data.shape[2] - 1)
    upper = np.clip(upper, 0, data.shape[2] - 1)
    low, high = gather_frame_pairs(data, rows, lower, upper)
    w = weight.reshape(len(rows), 1, window, 1, 1)
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
    """``bone[..., j, :] = X[..., j, :] - X[..., ref(j), :]`` for ``(j, ref)`` pairs; other joints zero."""
    joints = np.array([j for j, _ in bone_pairs], dtype=np.int64)
    refs = np.array([r for _, r in bone_pairs], dtype=np.int64)
    # np.take along the joint axis is ~15x faster than ellipsis fancy indexing over C = 3.
    if np.array_equal(joints, np.arange(data.shape[-2])):      # one pair per joint, in order
        return data - np.take(data, refs, axis=-2)
    out = np.zeros_like(data)
    out[..., joints, :] = np.take(data, joints, axis=-2) - np.take(data, refs, axis=-2)
    return out


def to_motion(data: np.ndarray) -> np.ndarray:
    """Forward difference over frames (axis 2); the last frame is zero."""
    out = np.empty_like(data)
    np.subtract(data[:, :, 1:], data[:, :, :-1], out=out[:, :, :-1])
    out[:, :, -1:] = 0
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


# --- NW-UCLA feeder of the official CTR-GCN (``feeders/feeder_ucla.py`` semantics) ----------------

def valid_frame_mask(num_frames: np.ndarray, max_frames: int) -> np.ndarray:
    """``(B, max_frames)`` bool, True for the first ``num_frames[b]`` frames."""
    return np.arange(max_frames)[None, :] < np.asarray(num_frames)[:, None]


def view_matrices(angle_x_deg: np.ndarray, angle_y_deg: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(B, 3, 3)`` matrices ``Ry @ Rx @ diag(s)`` applied to *row* vectors (``xyz @ M``).

    ``Rx``/``Ry`` are the same matrices as in ``rotation_matrices``; the UCLA feeder
    multiplies row vectors from the right, so this is not the NTU rotation.
    """
    ax, ay = np.radians(angle_x_deg), np.radians(angle_y_deg)
    cx, sx, cy, sy = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay)
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, sx, zero, -sx, cx], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, -sy, zero, one, zero, sy, zero, cy], -1).reshape(-1, 3, 3)
    return ry @ rx * np.asarray(scale, dtype=np.float64)[:, None, None]


def minmax_normalize(data: np.ndarray, num_frames: np.ndarray) -> np.ndarray:
    """Per sample and coordinate, maps the valid frames' range to ``[-1, 1]``.

    Min and max run over every valid frame, joint and person of the sample
    (the reference's reshape to ``(T * V, 3)``); padded frames are ignored and
    come out as they went in. A coordinate with zero range maps to -1, where the
    reference would divide by zero.
    """
    t = data.shape[2]
    valid = np.broadcast_to(valid_frame_mask(num_frames, t)[:, None, :, None, None], data.shape)
    low = data.min(axis=(1, 2, 3), keepdims=True, where=valid, initial=np.inf)
    high = data.max(axis=(1, 2, 3), keepdims=True, where=valid, initial=-np.inf)
    span = high - low
    span = np.where(np.isfinite(span) & (span > 0), span, 1.0)
    low = np.where(np.isfinite(low), low, 0.0)
    out = (data - low) * (2.0 / span) - 1.0
    return np.where(valid, out, data)


def ucla_train_indices(num_frames: np.ndarray, window: int, rng: np.random.Generator,
                       copies: int = 100) -> np.ndarray:
    """``(B, window)`` sorted random frame indices, as ``sorted(random.sample(list(range(L)) * 100, window))``.

    Drawing ``window`` items without replacement from ``copies`` copies of every
    frame gives per-frame counts that follow a multivariate hypergeometric law;
    repeating each frame index by its count yields the sorted sample directly.
    """
    out = np.empty((len(num_frames), window), dtype=np.int64)
    for row, length in enumerate(np.maximum(np.asarray(num_frames), 1)):
        counts = rng.multivariate_hypergeometric(np.full(int(length), copies), window)
        out[row] = np.repeat(np.arange(int(length)), counts)
    return out


def ucla_test_indices(num_frames: np.ndarray, window: int) -> np.ndarray:
    """``(B, window)`` evenly spaced indices ``int(linspace(0, L - 1, window))``."""
    last = np.maximum(np.asarray(num_frames, dtype=np.float64), 1.0) - 1.0
    step = last / max(window - 1, 1)
    positions = np.arange(window, dtype=np.float64)[None, :] * step[:, None]
    positions[:, -1] = last                      # numpy's linspace sets the end point exactly
    return np.floor(positions).astype(np.int64)


def gather_frames(data: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``data (B, M, T, V, C)``, ``indices (B, W)`` -> ``(B, M, W, V, C)``."""
    b, m, _, v, c = data.shape
    index = np.broadcast_to(indices[:, None, :, None, None], (b, m, indices.shape[1], v, c))
    return np.take_along_axis(data, index, axis=2)


def ucla_transform(data: np.ndarray, num_frames: np.ndarray, window: int, training: bool,
                   rng: Optional[np.random.Generator] = None, max_angle: int = 60,
                   scale_range: Sequence[float] = (0.5, 1.5), center_joint: int = 1) -> np.ndarray:
    """The official NW-UCLA feeder for a batch ``(B, M, T, V, 3)`` -> ``(B, M, window, V, 3)``.

    1. Centre on joint ``center_joint`` of frame 0 of person 0.
    2. Training: view change ``xyz @ Ry(ay) Rx(ax) diag(s)`` with integer degrees
       ``ax, ay`` uniform in ``[-max_angle, max_angle]`` and ``s ~ U(scale_range)``
       (the scale is undone by step 3; it is kept so the random streams match the recipe).
    3. Min-max normalisation of each coordinate over the whole clip to ``[-1, 1]``.
    4. Training: ``window`` random frames, sorted, drawn as the reference does;
       evaluation: ``int(linspace(0, L - 1, window))``.
    """
    # Frames past the batch's longest clip are padding: drop them before the float64 work.
    longest = int(max(np.max(num_frames, initial=1), 1))
    data = np.asarray(data[:, :, :longest], dtype=np.float64)
    data = data - data[:, :1, :1, center_joint:center_joint + 1, :]
    if training:
        rng = rng or np.random.default_rng()
        batch = data.shape[0]
        angle_x = rng.integers(-max_angle, max_angle + 1, size=batch)
        angle_y = rng.integers(-max_angle, max_angle + 1, size=batch)
        scale = rng.uniform(scale_range[0], scale_range[1], size=batch)
        matrices = view_matrices(angle_x, angle_y, scale)
        b, m, t, v, c = data.shape
        data = (data.reshape(b, m * t * v, c) @ matrices).reshape(b, m, t, v, c)
    data = minmax_normalize(data, num_frames)
    indices = ucla_train_indices(num_frames, window, rng) if training else ucla_test_indices(num_frames, window)
    return gather_frames(data, indices).astype(np.float32)


# --- PYSKL UniformSample (ST-GCN++, MODEL_SPEC §6.10) -------------------------------------------

def uniform_sample_indices(num_frames: np.ndarray, clip_len: int, rng: np.random.Generator,
                           training: bool = True, clip_index: int = 0, num_clips: int = 1) -> np.ndarray:
    """``(B, clip_len)`` frame indices of PYSKL's ``UniformSample`` (one clip per call).

    ``L < clip_len``: a looped run ``(s + arange) % L``, ``s`` random in training and
    ``i`` or ``i * L // num_clips`` for test clip ``i``; ``clip_len <= L < 2 clip_len``:
    ``arange(clip_len)`` shifted by ``L - clip_len`` random distinct slots (an ordered
    random subset without repeats); ``L >= 2 clip_len``: one random frame in each of
    ``clip_len`` equal segments.
    """
    length = np.maximum(np.asarray(num_frames, dtype=np.int64), 1)
    batch = len(length)
    arange = np.arange(clip_len, dtype=np.int64)[None, :]
    # Short clips: loop.
    if training:
        start = np.floor(rng.random(batch) * length).astype(np.int64)
    else:
        start = np.where(length < num_clips, clip_index, clip_index * length // num_clips)
    looped = (start[:, None] + arange) % length[:, None]
    # Medium clips: choose L - clip_len of the clip_len + 1 slots; each chosen slot shifts later frames by one.
    keys = rng.random((batch, clip_len + 1))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    chosen = ranks < (length - clip_len)[:, None]
    medium = arange + np.cumsum(chosen, axis=1)[:, :clip_len]
    # Long clips: one random frame per segment [floor(i L / n), floor((i + 1) L / n)).
    bounds = (np.arange(clip_len + 1, dtype=np.int64)[None, :] * length[:, None]) // clip_len
    width = bounds[:, 1:] - bounds[:, :-1]
    long = bounds[:, :-1] + np.floor(rng.random((batch, clip_len)) * width).astype(np.int64)
    return np.where((length < clip_len)[:, None], looped,
                    np.where((length < 2 * clip_len)[:, None], medium, long))


# --- Mixup (PaddleVideo's collate, MODEL_SPEC §4.5) -----------------------------------------------

def mixup(data: np.ndarray, targets: np.ndarray, alpha: float, rng: np.random.Generator):
    """One ``lam ~ Beta(alpha, alpha)`` and one permutation ``p`` per batch.

    Returns ``(lam * x + (1 - lam) * x[p], lam * t + (1 - lam) * t[p])`` for soft
    targets ``t (B, K)``; mixing the targets equals mixing the two losses because
    cross-entropy is linear in the target.
    """
    lam = float(rng.beta(alpha, alpha))
    permutation = rng.permutation(data.shape[0])
    mixed = lam * data + (1.0 - lam) * data[permutation]
    return mixed.astype(np.float32), (lam * targets + (1.0 - lam) * targets[permutation]).astype(np.float32)


# --- evaluation preprocessing shared by export checks, the predictor and the demo ---------------

EVALUATION_SAMPLINGS = ("crop_resize", "ucla")


def evaluation_clips(data: np.ndarray, num_frames: np.ndarray, window: int, sampling: str = "crop_resize") -> np.ndarray:
    """Raw clips ``(B, M, T_max, V, C)`` -> the model input ``(B, M, window, V, C)`` as evaluation makes it.

    ``crop_resize``: CTR-GCN's centre crop of 95 % of the valid frames + linear resize;
    ``ucla``: the official NW-UCLA test feeder (centre, min-max to [-1, 1], evenly spaced frames).
    """
    if sampling == "ucla":
        return ucla_transform(data, num_frames, window, training=False)
    if sampling != "crop_resize":
        raise ValueError(f"sampling '{sampling}' has no evaluation path here (use one of {EVALUATION_SAMPLINGS})")
    return crop_resize(data, num_frames, window, [0.95], min_crop=window).astype(np.float32)
