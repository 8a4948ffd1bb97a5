"""tf.data pipeline streaming a prepared dataset (memory-mapped, never loaded whole).

A ``SkeletonFeeder`` produces whole augmented batches with vectorised numpy
(``data_tools.transforms``); ``make_dataset`` wraps it in ``tf.data`` with
prefetching. Randomness comes from ``numpy.random.default_rng([seed, epoch])``,
so a run is reproducible and a resumed run sees the same epochs it would have
seen without the interruption.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from data_tools import transforms
from data_tools.prepared import PreparedSplit


@dataclasses.dataclass
class FeederConfig:
    """How samples are cropped, augmented and turned into a modality.

    Attributes:
        window: frames fed to the model (CTR-GCN: 64).
        p_interval: ``[p]`` centre crop (evaluation) or ``[lo, hi]`` random crop (training).
        rotation: max random rotation angle in radians (0 = off).
        modality: joint / bone / joint_motion / bone_motion.
        bone_pairs: ``(joint, reference)`` pairs for the bone modalities.
        min_crop: the reference's minimum random-crop length (64).
    """

    window: int = 64
    p_interval: Sequence[float] = (0.95,)
    rotation: float = 0.0
    modality: str = "joint"
    bone_pairs: Sequence = ()
    min_crop: int = 64


class SkeletonFeeder:
    """Yields ``(joints (B, M, window, V, C) float32, labels (B,) int32)`` batches of one split."""

    def __init__(self, split: PreparedSplit, config: FeederConfig, batch_size: int, shuffle: bool,
                 seed: int = 1, drop_remainder: bool = False, max_samples: Optional[int] = None):
        self.split = split
        self.config = config
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_remainder = drop_remainder
        self.num_samples = len(split) if max_samples is None else min(len(split), max_samples)
        self.epoch = 0   # set by the trainer before each epoch (see EpochSetter)

    def __len__(self) -> int:
        if self.drop_remainder:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def batch(self, indices: np.ndarray, rng: np.random.Generator):
        """Loads and transforms the samples ``indices`` (any order)."""
        order = np.argsort(indices)
        sorted_indices = indices[order]
        # One sorted fancy read from the memmap, then back to the requested order.
        raw = np.asarray(self.split.data[sorted_indices])[np.argsort(order)]
        num_frames = self.split.num_frames[indices]
        cfg = self.config
        x = transforms.crop_resize(raw, num_frames, cfg.window, cfg.p_interval, rng, cfg.min_crop)
        if cfg.rotation:
            x = transforms.random_rotation(x, cfg.rotation, rng)
        x = transforms.apply_modality(x, cfg.modality, cfg.bone_pairs)
        return x.astype(np.float32), self.split.labels[indices].astype(np.int32)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        indices = rng.permutation(self.num_samples) if self.shuffle else np.arange(self.num_samples)
        for b in range(len(self)):
            chunk = indices[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.batch(chunk, rng)


def make_dataset(feeder: SkeletonFeeder, prefetch: int = 2):
    """Wraps a feeder as a ``tf.data.Dataset`` with a known length (for progress bars)."""
    import tensorflow as tf

    split = feeder.split
    _, m, _, v, c = split.shape
    spec = (tf.TensorSpec((None, m, feeder.config.window, v, c), tf.float32), tf.TensorSpec((None,), tf.int32))
    dataset = tf.data.Dataset.from_generator(lambda: iter(feeder), output_signature=spec)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(feeder)))
    return dataset.prefetch(prefetch)
