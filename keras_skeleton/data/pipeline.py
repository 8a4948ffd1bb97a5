"""Batches of a prepared dataset for training and evaluation (memory-mapped, never loaded whole).

A ``SkeletonFeeder`` produces whole augmented batches with vectorised numpy
(``data_tools.transforms``). Every batch is addressed by ``(epoch, index)`` and
draws its randomness from ``numpy.random.default_rng([seed, epoch, index])``, so
a run is reproducible, a resumed run sees exactly the batches it would have seen
without the interruption, and batches can be made in any order or in parallel.

``make_dataset`` wraps one epoch as ``tf.data`` (TensorFlow backend); ``stream``
yields the batches of many epochs back to back, prefetched on a thread, for any
backend (JAX has no ``tf.data``).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from typing import Iterator, Optional, Sequence

import numpy as np

from data_tools import transforms
from data_tools.prepared import PreparedSplit

SAMPLINGS = ("crop_resize", "ucla", "uniform", "first")


@dataclasses.dataclass
class FeederConfig:
    """How samples are cropped, augmented and turned into a modality.

    Attributes:
        window: frames fed to the model (CTR-GCN 64, NW-UCLA 52, ST-GCN++ 100, EfficientGCN 288).
        p_interval: ``[p]`` centre crop (evaluation) or ``[lo, hi]`` random crop (training);
            ``crop_resize`` sampling only.
        rotation: max random 3-D rotation angle in radians (0 = off); ``crop_resize`` only.
        modality: joint / bone / joint_motion / bone_motion.
        bone_pairs: ``(joint, reference)`` pairs for the bone modalities.
        min_crop: the reference's minimum random-crop length (64).
        sampling: ``crop_resize`` (CTR-GCN: crop valid frames, linear resize), ``ucla`` (official
            NW-UCLA feeder: view augmentation, min-max normalisation, 52 sorted random frames /
            evenly spaced at test), ``uniform`` (PYSKL UniformSample) or ``first`` (EfficientGCN:
            the first ``window`` stored frames, zero padded).
        training: random sampling and augmentation (True) or the deterministic test variant;
            None = training exactly when ``p_interval`` holds two values.
        num_clips: clips per sample at test (PYSKL: 10); batches then hold ``B * num_clips``
            rows, clip-minor, and predictions are averaged per sample.
        ucla_max_angle: NW-UCLA view-rotation range in integer degrees.
        mixup_alpha: Beta(alpha, alpha) mixup per batch (0 = off); needs ``num_classes``.
        num_classes: when > 0, labels come out one-hot ``(B, num_classes)`` float32 (mixup mixes them).
    """

    window: int = 64
    p_interval: Sequence[float] = (0.95,)
    rotation: float = 0.0
    modality: str = "joint"
    bone_pairs: Sequence = ()
    min_crop: int = 64
    sampling: str = "crop_resize"
    training: Optional[bool] = None
    num_clips: int = 1
    ucla_max_angle: int = 60
    mixup_alpha: float = 0.0
    num_classes: int = 0

    def __post_init__(self):
        if self.training is None:
            self.training = len(self.p_interval) == 2
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got '{self.sampling}'")
        if self.mixup_alpha and not self.num_classes:
            raise ValueError("mixup needs num_classes (one-hot targets)")


class SkeletonFeeder:
    """Yields ``(joints (B, M, window, V, C) float32, labels)`` batches of one split.

    Labels are ``(B,)`` int32, or ``(B, num_classes)`` float32 when the config asks
    for one-hot targets. ``repeat`` lists every sample that many times per epoch
    (the NW-UCLA recipe uses 5). ``num_shards``/``shard_index`` give one worker of a
    multi-worker run its rows of every global batch (rows ``shard_index::num_shards``),
    so the workers together see exactly the single-worker batches.
    """

    def __init__(self, split: PreparedSplit, config: FeederConfig, batch_size: int, shuffle: bool,
                 seed: int = 1, drop_remainder: bool = False, max_samples: Optional[int] = None,
                 repeat: int = 1, num_shards: int = 1, shard_index: int = 0):
        self.split = split
        self.config = config
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_remainder = drop_remainder
        self.num_samples = len(split) if max_samples is None else min(len(split), max_samples)
        self.repeat = max(int(repeat), 1)
        self.num_shards = num_shards
        self.shard_index = shard_index
        self.epoch = 0   # the epoch iterated by ``__iter__``

    def __len__(self) -> int:
        rows = self.num_samples * self.repeat
        if self.drop_remainder:
            return rows // self.batch_size
        return -(-rows // self.batch_size)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Sample indices of one epoch in batch order (repeats included)."""
        rows = self.num_samples * self.repeat
        if not self.shuffle:
            return np.arange(rows) % self.num_samples
        return np.random.default_rng([self.seed, epoch]).permutation(rows) % self.num_samples

    def batch_at(self, epoch: int, index: int, order: Optional[np.ndarray] = None):
        """Batch ``index`` of ``epoch`` (this shard's rows)."""
        order = self.epoch_order(epoch) if order is None else order
        chunk = order[index * self.batch_size:(index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, index])
        return self.batch(chunk, rng, shard=True)

    def batch(self, indices: np.ndarray, rng: np.random.Generator, shard: bool = False):
        """Loads and transforms the samples ``indices`` (any order, repeats allowed)."""
        cfg = self.config
        num_frames = self.split.num_frames[indices]
        x = self._sample(indices, num_frames, rng)
        x = transforms.apply_modality(x, cfg.modality, cfg.bone_pairs)
        labels = self.split.labels[indices].astype(np.int32)
        if cfg.num_classes:
            labels = np.eye(cfg.num_classes, dtype=np.float32)[labels]
            if cfg.mixup_alpha and cfg.training:
                x, labels = transforms.mixup(x, labels, cfg.mixup_alpha, rng)
        if shard and self.num_shards > 1:
            rows = np.arange(len(indices))[self.shard_index::self.num_shards]
            labels = labels[rows]
            if cfg.num_clips > 1:
                rows = (rows[:, None] * cfg.num_clips + np.arange(cfg.num_clips)[None]).reshape(-1)
            x = x[rows]
        return x.astype(np.float32, copy=False), labels

    def _read(self, indices: np.ndarray, frames: int) -> np.ndarray:
        """``(B, M, frames, V, C)``: the first ``frames`` stored frames of the samples ``indices``."""
        # One sorted fancy read from the memmap, then back to the requested order.
        unique, inverse = np.unique(indices, return_inverse=True)
        return np.asarray(self.split.data[unique, :, :frames])[inverse]

    def _sample(self, indices: np.ndarray, num_frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        if cfg.sampling == "crop_resize":
            p_interval = cfg.p_interval if cfg.training else cfg.p_interval[:1]
            # Reads only the 2 x window frames the resize interpolates, straight from the memmap.
            x = transforms.crop_resize(self.split.data, num_frames, cfg.window, p_interval, rng, cfg.min_crop,
                                       rows=indices)
            if cfg.rotation and cfg.training:
                x = transforms.random_rotation(x, cfg.rotation, rng)
            return x
        if cfg.sampling == "first":
            raw = self._read(indices, cfg.window)
            out = np.zeros(raw.shape[:2] + (cfg.window,) + raw.shape[3:], np.float32)
            out[:, :, :raw.shape[2]] = raw
            return out
        # ucla and uniform never look past the batch's longest valid clip (the rest is padding).
        raw = self._read(indices, int(max(np.max(num_frames, initial=1), 1)))
        if cfg.sampling == "ucla":
            return transforms.ucla_transform(raw, num_frames, cfg.window, cfg.training, rng, cfg.ucla_max_angle)
        # uniform: one clip in training; num_clips deterministic clips at test (PYSKL seeds 255).
        if cfg.training:
            return transforms.gather_frames(raw, transforms.uniform_sample_indices(num_frames, cfg.window, rng))
        test_rng = np.random.default_rng(255)
        clips = [transforms.gather_frames(raw, transforms.uniform_sample_indices(
            num_frames, cfg.window, test_rng, training=False, clip_index=i, num_clips=cfg.num_clips))
            for i in range(cfg.num_clips)]
        stacked = np.stack(clips, axis=1)                                   # (B, K, M, W, V, C)
        return stacked.reshape((-1,) + stacked.shape[2:]).astype(np.float32)

    def __iter__(self):
        order = self.epoch_order(self.epoch)
        for b in range(len(self)):
            yield self.batch_at(self.epoch, b, order)

    def stream(self, first_epoch: int, steps_per_epoch: int, num_epochs: Optional[int] = None,
               prefetch: int = 4) -> Iterator:
        """Batches of epochs ``first_epoch, first_epoch + 1, ...``, ``steps_per_epoch`` each.

        A background thread prepares up to ``prefetch`` batches ahead. Used as one
        endless iterator for ``model.fit(steps_per_epoch=...)``: the epoch boundaries
        are counted here, never taken from callbacks, so prefetching cannot mix epochs.
        """
        def produce():
            epoch = first_epoch
            while num_epochs is None or epoch < first_epoch + num_epochs:
                order = self.epoch_order(epoch)
                for b in range(steps_per_epoch):
                    yield self.batch_at(epoch, b, order)
                epoch += 1

        return prefetched(produce(), prefetch)


def prefetched(iterator: Iterator, depth: int) -> Iterator:
    """Runs ``iterator`` on a daemon thread, ``depth`` items ahead; re-raises its errors."""
    if depth <= 0:
        yield from iterator
        return
    items: "queue.Queue" = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work():
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            items.put(e)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def output_signature(feeder: SkeletonFeeder):
    """Shapes and dtypes of the feeder's batches (batch dimension unknown)."""
    _, m, _, v, c = feeder.split.shape
    cfg = feeder.config
    labels = ((None, cfg.num_classes), "float32") if cfg.num_classes else ((None,), "int32")
    return ((None, m, cfg.window, v, c), "float32"), labels


def make_dataset(feeder: SkeletonFeeder, prefetch: int = 2, first_epoch: Optional[int] = None,
                 steps_per_epoch: Optional[int] = None):
    """Wraps a feeder as a ``tf.data.Dataset``.

    Without ``first_epoch``: the epoch ``feeder.epoch``, with a known length (for
    progress bars and evaluation). With ``first_epoch``: the endless ``stream`` from
    that epoch, ``steps_per_epoch`` batches per epoch (for training).
    """
    import tensorflow as tf

    (x_shape, x_dtype), (y_shape, y_dtype) = output_signature(feeder)
    spec = (tf.TensorSpec(x_shape, x_dtype), tf.TensorSpec(y_shape, y_dtype))
    if first_epoch is None:
        dataset = tf.data.Dataset.from_generator(lambda: iter(feeder), output_signature=spec)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(feeder)))
    else:
        steps = steps_per_epoch or len(feeder)
        dataset = tf.data.Dataset.from_generator(lambda: feeder.stream(first_epoch, steps, prefetch=0),
                                                 output_signature=spec)
    return dataset.prefetch(prefetch)
