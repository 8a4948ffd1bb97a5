"""The prepared-data format every reader writes and the training pipeline streams.

A prepared dataset is a directory::

    meta.json                    layout, num_classes, class_names, splits, ...
    <split>_data.npy             float32 (N, M, T_max, V, C), channels-last, zero-padded after num_frames
    <split>_label.npy            int64 (N,), 0-based
    <split>_names.txt            one sample name per line
    <split>_num_frames.npy       int32 (N,), valid frames of each sample

Arrays are opened memory-mapped and never loaded whole. Writers go through a
temporary name and ``os.replace`` so an interrupted run never leaves a half file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

FORMAT_VERSION = 1
SPLIT_FILES = ("data.npy", "label.npy", "names.txt", "num_frames.npy")


class PreparedDataError(ValueError):
    """A prepared dataset is missing, incomplete or inconsistent (message names the file)."""


# --- atomic writing ------------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_path(final_path: str):
    """Yields a temporary path next to ``final_path``; renames it on success, removes it on error."""
    directory = os.path.dirname(os.path.abspath(final_path)) or "."
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(final_path)
    # Keep the full extension (".weights.h5", ".npy") last so numpy/keras accept the name as it is.
    dot = base.find(".", 1)
    stem, extension = (base, "") if dot < 0 else (base[:dot], base[dot:])
    fd, tmp_path = tempfile.mkstemp(prefix=f".{stem}.", suffix=f".tmp{extension}", dir=directory)
    os.close(fd)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, final_path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        raise


def atomic_save_npy(path: str, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)


def atomic_write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def _json_default(value):
    # numpy scalars and arrays in reports
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def atomic_write_json(path: str, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


class SplitWriter:
    """Streams samples of one split into ``<split>_data.npy`` without holding them in memory.

    Usage::

        with SplitWriter(out_dir, "train", num_samples, num_persons, max_frames, V, C) as w:
            w.add(name, label, joints)   # joints (M', T', V, C); M' <= M, T' <= max_frames
    """

    def __init__(self, out_dir: str, split: str, num_samples: int, num_persons: int, max_frames: int,
                 num_joints: int, num_channels: int):
        self.out_dir = out_dir
        self.split = split
        self.num_samples = num_samples
        self.shape = (num_samples, num_persons, max_frames, num_joints, num_channels)
        self.names: List[str] = []
        self.labels: List[int] = []
        self.num_frames: List[int] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        os.makedirs(self.out_dir, exist_ok=True)
        self._tmp_data = self._stack.enter_context(
            atomic_path(os.path.join(self.out_dir, f"{self.split}_data.npy")))
        self._data = np.lib.format.open_memmap(self._tmp_data, mode="w+", dtype=np.float32, shape=self.shape)
        return self

    def add(self, name: str, label: int, joints: np.ndarray, num_frames: Optional[int] = None) -> None:
        index = len(self.names)
        if index >= self.num_samples:
            raise PreparedDataError(f"{self.split}: more samples than the {self.num_samples} announced")
        joints = np.asarray(joints, dtype=np.float32)
        m, t = joints.shape[:2]
        if joints.shape[2:] != self.shape[3:] or m > self.shape[1] or t > self.shape[2]:
            raise PreparedDataError(
                f"sample '{name}': joints of shape {joints.shape} do not fit (M<={self.shape[1]}, "
                f"T<={self.shape[2]}, V={self.shape[3]}, C={self.shape[4]})")
        self._data[index, :m, :t] = joints
        self.names.append(name)
        self.labels.append(int(label))
        self.num_frames.append(int(t if num_frames is None else num_frames))

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                if len(self.names) != self.num_samples:
                    raise PreparedDataError(
                        f"{self.split}: {len(self.names)} samples written, {self.num_samples} announced")
                self._data.flush()
                del self._data
                prefix = os.path.join(self.out_dir, self.split)
                atomic_save_npy(f"{prefix}_label.npy", np.asarray(self.labels, dtype=np.int64))
                atomic_save_npy(f"{prefix}_num_frames.npy", np.asarray(self.num_frames, dtype=np.int32))
                atomic_write_text(f"{prefix}_names.txt", "".join(f"{n}\n" for n in self.names))
            else:
                self._data = None
        finally:
            # Renames the data file on success; removes it on error.
            self._stack.__exit__(exc_type, exc, tb)
        return False


def write_split(out_dir: str, split: str, names: Sequence[str], labels: Sequence[int],
                samples: Iterable[np.ndarray], num_persons: int, max_frames: int, num_joints: int,
                num_channels: int, num_frames: Optional[Sequence[int]] = None) -> None:
    """Writes one split from an iterable of ``(M', T', V, C)`` arrays (streamed)."""
    with SplitWriter(out_dir, split, len(names), num_persons, max_frames, num_joints, num_channels) as writer:
        for i, (name, label, joints) in enumerate(zip(names, labels, samples)):
            writer.add(name, label, joints, None if num_frames is None else num_frames[i])


def write_meta(out_dir: str, layout: str, num_classes: int, class_names: Optional[Sequence[str]] = None,
               splits: Optional[Dict[str, int]] = None, num_persons: int = 2, max_frames: int = 300,
               num_channels: int = 3, source: str = "", **extra) -> Dict:
    """Writes ``meta.json`` (call it last: its presence marks a complete dataset)."""
    class_names = list(class_names) if class_names is not None else [f"class_{i}" for i in range(num_classes)]
    if len(class_names) != num_classes:
        raise PreparedDataError(f"{len(class_names)} class names for {num_classes} classes")
    meta = {
        "format_version": FORMAT_VERSION,
        "layout": layout,
        "num_classes": int(num_classes),
        "class_names": class_names,
        "num_persons": int(num_persons),
        "max_frames": int(max_frames),
        "num_channels": int(num_channels),
        "splits": dict(splits or {}),
        "source": source,
    }
    meta.update(extra)
    atomic_write_json(os.path.join(out_dir, "meta.json"), meta)
    return meta


# --- reading -------------------------------------------------------------------------------------

def read_meta(data_dir: str) -> Dict:
    path = os.path.join(data_dir, "meta.json")
    if not os.path.isdir(data_dir):
        raise PreparedDataError(f"data directory '{data_dir}' does not exist")
    if not os.path.isfile(path):
        raise PreparedDataError(f"'{path}' not found: '{data_dir}' is not a prepared dataset "
                                "(prepare it with a data_tools command first)")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise PreparedDataError(f"'{path}' is not readable JSON: {e}") from None
    for key in ("layout", "num_classes"):
        if key not in meta:
            raise PreparedDataError(f"'{path}' lacks the key '{key}'")
    return meta


class PreparedSplit:
    """One split of a prepared dataset, memory-mapped.

    Attributes: ``data`` (N, M, T_max, V, C) float32 memmap, ``labels`` (N,) int64,
    ``num_frames`` (N,) int32, ``names`` list, ``meta`` dict.
    """

    def __init__(self, data_dir: str, split: str):
        self.data_dir = data_dir
        self.split = split
        self.meta = read_meta(data_dir)
        prefix = os.path.join(data_dir, split)
        for suffix in SPLIT_FILES:
            if not os.path.isfile(f"{prefix}_{suffix}"):
                raise PreparedDataError(f"'{prefix}_{suffix}' not found (split '{split}' of '{data_dir}')")
        self.data = self._load(f"{prefix}_data.npy", mmap=True)
        self.labels = self._load(f"{prefix}_label.npy").astype(np.int64)
        self.num_frames = self._load(f"{prefix}_num_frames.npy").astype(np.int32)
        with open(f"{prefix}_names.txt", encoding="utf-8") as f:
            self.names = [line.rstrip("\n") for line in f if line.strip()]
        n = self.data.shape[0]
        if self.data.ndim != 5:
            raise PreparedDataError(f"'{prefix}_data.npy' has shape {self.data.shape}; expected (N, M, T, V, C)")
        for what, length in (("label", len(self.labels)), ("num_frames", len(self.num_frames)),
                             ("names", len(self.names))):
            if length != n:
                raise PreparedDataError(f"'{prefix}_{what}' has {length} entries but the data has {n} samples")
        if n and (self.labels.min() < 0 or self.labels.max() >= self.meta["num_classes"]):
            raise PreparedDataError(
                f"'{prefix}_label.npy' holds labels outside [0, {self.meta['num_classes']})")

    @staticmethod
    def _load(path: str, mmap: bool = False) -> np.ndarray:
        try:
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise PreparedDataError(f"'{path}' is not a readable .npy array: {e}") from None

    def __len__(self) -> int:
        return int(self.data.shape[0])

    @property
    def shape(self):
        return tuple(self.data.shape)

    def check_layout(self, num_joints: int, num_channels: int, layout_name: str = "") -> None:
        """Raises a clear error when V or C of the arrays differ from what a model expects."""
        _, _, _, v, c = self.data.shape
        if v != num_joints or c != num_channels:
            raise PreparedDataError(
                f"'{os.path.join(self.data_dir, self.split)}_data.npy' has V={v}, C={c} but the layout "
                f"'{layout_name or self.meta.get('layout')}' needs V={num_joints}, C={num_channels}")
