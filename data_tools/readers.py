"""Converters from the skeleton data users already have into the prepared format.

    python -m data_tools.readers --format=FORMAT --input=PATH --out_dir=OUT [options]

One command, one ``--format`` per source; each writes prepared datasets (``data_tools.prepared``:
``<split>_data.npy (N, M, T, V, C)`` float32 channels-last, labels, names, num_frames, ``meta.json``),
splits named ``train`` and ``val`` (a source's ``test`` becomes ``val``):

``ctrgcn_npz``   CTR-GCN's ``NTU60_CS.npz``-style archive: ``x_train (N, T, 150)`` (column
                 ``m*75 + v*3 + c``), one-hot ``y_train (N, classes)``, ``x_test``, ``y_test``.
                 -> ``OUT/`` (layout ntu25). Read member by member in chunks, never whole.
                 Sample names are ``train_000000`` ... (the archive has none).
``paddlevideo``  PaddleVideo's ``train_data.npy (N, 3, T, 25, 2)`` + ``train_label.pkl``
                 (``[names, labels]``) and ``val_*``; ``--input`` is that folder (-> ``OUT/``) or a
                 folder of benchmark folders such as ``xsub/``, ``xview/`` (-> ``OUT/<benchmark>/``).
``pyskl``        PYSKL / MMAction2 annotation pickle: ``{'split': {name: [frame_dir, ...]},
                 'annotations': [{'frame_dir', 'label', 'total_frames', 'keypoint' (M, T, V, C),
                 ['keypoint_score' (M, T, V)], ['img_shape' (h, w)]}, ...]}``, or a list of
                 annotations, or one annotation. Split ``<benchmark>_<train|val|test>`` (``xsub_train``,
                 ``xview_val`` ...) -> ``OUT/<benchmark>/<train|val>``; a plain ``train`` / ``val`` /
                 ``test`` -> ``OUT/<train|val>``; no split -> ``OUT/train``. 3-D NTU (V=25, C=3) ->
                 ntu25, centred like the official NTU pipeline (joint 2 of person 1 in its first present
                 frame; PYSKL leaves centring to load time). 2-D COCO-17 (V=17, C=2 + score) -> coco17 with
                 C = (x / width, y / height, score), (height, width) = ``img_shape`` (PYSKL's convention,
                 default 1080 x 1920), the same input the ST-GCN++ COCO parity fixture uses.
``custom``       A folder of ``.npy`` clips, ``(T, V, C)`` or ``(M, T, V, C)``, plus a labels CSV
                 ``file,label[,split]`` (header optional; ``file`` relative to the CSV; ``label`` a
                 0-based integer or a class name -- names are numbered in sorted order; ``split`` train,
                 val or test, default train) given as ``--input=labels.csv``, and ``--layout`` (coco17,
                 openpose18, mediapipe33, ntu25, nwucla20, hand21: V must match). Stored as given (no
                 centring). Clips that cannot be used are skipped and listed in ``OUT/skipped.txt``.

NW-UCLA JSON has its own command, ``python -m data_tools.nwucla``; raw NTU ``.skeleton`` files,
``python -m data_tools.ntu``. Pickles are read with an allow-list (numpy arrays, dtypes and
scalars only), never executing code from the file. Every error names the file and the problem.
"""

from __future__ import annotations

import collections
import csv
import importlib
import os
import pickle
import re
import sys
import zipfile
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from data_tools.layouts import get_layout, list_layouts
from data_tools.ntu_classes import NTU60_CLASSES, NTU120_CLASSES
from data_tools.prepared import PreparedDataError, SplitWriter, atomic_write_text, write_meta

FORMATS = ("ctrgcn_npz", "paddlevideo", "pyskl", "custom")
_NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


class ReaderError(PreparedDataError):
    """A source file that cannot be converted (message names the file and the problem)."""


# --- shared helpers ------------------------------------------------------------------------------

def valid_frame_counts(data: np.ndarray) -> np.ndarray:
    """``(N,)`` frames up to the last one with any non-zero value, from ``(N, M, T, V, C)``."""
    present = np.any(data != 0, axis=(1, 3, 4))                       # (N, T)
    last = present.shape[1] - np.argmax(present[:, ::-1], axis=1)
    return np.where(present.any(axis=1), last, 0).astype(np.int32)


def default_class_names(num_classes: int, ntu: bool = False) -> List[str]:
    if ntu and num_classes == 60:
        return list(NTU60_CLASSES)
    if ntu and num_classes == 120:
        return list(NTU120_CLASSES)
    return [f"class_{i}" for i in range(num_classes)]


def read_class_names(path: Optional[str], num_classes: Optional[int]) -> Optional[List[str]]:
    """One class name per line, or None when no file is given."""
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise ReaderError(f"{path}: cannot read the class names ({e.strerror or e})") from None
    if num_classes is not None and len(names) != num_classes:
        raise ReaderError(f"{path}: {len(names)} class names for {num_classes} classes")
    return names


class _AllowListUnpickler(pickle.Unpickler):
    """Unpickles containers, strings, numbers and numpy arrays/scalars; refuses everything else."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
                ("collections", "OrderedDict")}

    def find_class(self, module, name):
        canonical = module.replace("numpy._core", "numpy.core")
        if (canonical, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load '{module}.{name}' (only numpy arrays are allowed)")
        if canonical.startswith("numpy.core") and hasattr(np, "_core"):
            module = canonical.replace("numpy.core", "numpy._core")      # NumPy 2 location, no deprecation
        return getattr(importlib.import_module(module), name)


def load_pickle(path: str):
    """A pickle of plain data and numpy arrays (see ``_AllowListUnpickler``)."""
    try:
        with open(path, "rb") as f:
            return _AllowListUnpickler(f, encoding="latin1").load()
    except FileNotFoundError:
        raise ReaderError(f"{path}: file not found") from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise ReaderError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from None


def _write_prepared(out_dir: str, splits: Dict[str, List[Tuple[str, int, np.ndarray, int]]], layout: str,
                    num_classes: int, class_names: Sequence[str], num_channels: int, source: str,
                    **extra) -> Dict:
    """Writes ``splits`` (split -> [(name, label, joints (M', T', V, C), num_frames)]) and meta.json."""
    samples = [s for items in splits.values() for s in items]
    num_persons = max([s[2].shape[0] for s in samples] + [1])
    max_frames = max([s[2].shape[1] for s in samples] + [1])
    num_joints = get_layout(layout).num_joints
    for split in ("train", "val"):
        items = splits.get(split, [])
        with SplitWriter(out_dir, split, len(items), num_persons, max_frames, num_joints, num_channels) as writer:
            for name, label, joints, num_frames in items:
                writer.add(name, label, joints, num_frames)
    return write_meta(out_dir, layout, num_classes, class_names,
                      splits={split: len(splits.get(split, [])) for split in ("train", "val")},
                      num_persons=num_persons, max_frames=max_frames, num_channels=num_channels, source=source,
                      **extra)


def _check_labels(path: str, labels: np.ndarray, num_classes: int) -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ReaderError(f"{path}: labels outside 0..{num_classes - 1} (found {labels.min()}..{labels.max()})")


# --- CTR-GCN .npz --------------------------------------------------------------------------------

def _npz_member(archive: zipfile.ZipFile, path: str, key: str):
    """An open member ``key`` of an .npz with its ``(shape, dtype)``, positioned at the data."""
    member = f"{key}.npy"
    if member not in archive.namelist():
        raise ReaderError(f"{path}: no array '{key}' (found {', '.join(n[:-4] for n in archive.namelist())})")
    stream = archive.open(member)
    try:
        version = np.lib.format.read_magic(stream)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = reader(stream)
    except ValueError as e:
        raise ReaderError(f"{path}: '{key}' is not a readable array ({e})") from None
    if fortran_order or dtype.hasobject:
        raise ReaderError(f"{path}: '{key}' is stored in Fortran order or holds objects; re-save it with numpy")
    return stream, shape, dtype


def _npz_rows(stream, shape, dtype, chunk: int) -> Iterator[np.ndarray]:
    row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
    for start in range(0, shape[0], chunk):
        count = min(chunk, shape[0] - start)
        buffer = stream.read(count * row_bytes)
        if len(buffer) != count * row_bytes:
            raise EOFError
        yield np.frombuffer(buffer, dtype).reshape((count,) + tuple(shape[1:]))


def _labels_from_targets(path: str, key: str, targets: np.ndarray) -> Tuple[np.ndarray, Optional[int]]:
    """0-based labels from a one-hot ``(N, classes)`` or an integer ``(N,)`` array."""
    if targets.ndim == 2:
        if len(targets) and not np.all(targets.max(axis=1) > 0):
            raise ReaderError(f"{path}: '{key}' has rows without a positive entry (not one-hot)")
        return np.argmax(targets, axis=1).astype(np.int64), targets.shape[1]
    if targets.ndim == 1:
        return targets.astype(np.int64), None
    raise ReaderError(f"{path}: '{key}' has shape {targets.shape}; expected one-hot (N, classes) or labels (N,)")


def convert_ctrgcn_npz(path: str, out_dir: str, class_names: Optional[Sequence[str]] = None,
                       num_classes: Optional[int] = None, chunk: int = 512) -> Dict:
    """CTR-GCN ``x_train/y_train/x_test/y_test`` archive -> ``out_dir`` (train, val), layout ntu25."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ReaderError(f"{path}: file not found") from None
    except (zipfile.BadZipFile, OSError) as e:
        raise ReaderError(f"{path}: not an .npz archive ({e})") from None
    with archive:
        labels, classes = {}, {}
        for split, key in (("train", "y_train"), ("val", "y_test")):
            stream, shape, dtype = _npz_member(archive, path, key)
            with stream:
                try:
                    targets = next(_npz_rows(stream, shape, dtype, max(shape[0], 1))) if shape[0] else \
                        np.zeros(shape, dtype)
                except EOFError:
                    raise ReaderError(f"{path}: '{key}' is truncated") from None
            labels[split], classes[split] = _labels_from_targets(path, key, targets)
        found = [c for c in classes.values() if c is not None]
        num_classes = num_classes or (found[0] if found else int(max(l.max(initial=-1) for l in labels.values())) + 1)
        class_names = list(class_names) if class_names else default_class_names(num_classes, ntu=True)
        counts = {}
        for split, key in (("train", "x_train"), ("val", "x_test")):
            _check_labels(path, labels[split], num_classes)
            stream, shape, dtype = _npz_member(archive, path, key)
            if len(shape) != 3 or shape[2] % 75 or shape[0] != len(labels[split]):
                raise ReaderError(f"{path}: '{key}' has shape {shape}; expected (N={len(labels[split])}, T, M*75)")
            num_persons, max_frames = shape[2] // 75, shape[1]
            with stream, SplitWriter(out_dir, split, shape[0], num_persons, max_frames, 25, 3) as writer:
                index = 0
                try:
                    for rows in _npz_rows(stream, shape, dtype, chunk):
                        joints = rows.reshape(len(rows), max_frames, num_persons, 25, 3).transpose(0, 2, 1, 3, 4)
                        if not np.isfinite(joints).all():
                            raise ReaderError(f"{path}: '{key}' holds NaN or infinite values near sample {index}")
                        frames = valid_frame_counts(joints)
                        for sample, num_frames in zip(joints, frames):
                            writer.add(f"{split}_{index:06d}", labels[split][index], sample[:, :max(num_frames, 1)],
                                       num_frames)
                            index += 1
                except EOFError:
                    raise ReaderError(f"{path}: '{key}' is truncated after {index} samples") from None
            counts[split] = shape[0]
    return write_meta(out_dir, "ntu25", num_classes, class_names, splits=counts, num_persons=num_persons,
                      max_frames=max_frames, num_channels=3,
                      source=f"CTR-GCN archive {os.path.abspath(path)} (x_test/y_test -> val)")


# --- PaddleVideo ---------------------------------------------------------------------------------

def convert_paddlevideo(input_dir: str, out_dir: str, layout: Optional[str] = None,
                        class_names: Optional[Sequence[str]] = None, num_classes: Optional[int] = None,
                        chunk: int = 256) -> Dict[str, Dict]:
    """PaddleVideo ``{train,val}_data.npy`` + ``*_label.pkl`` folder(s) -> prepared folder(s).

    Returns ``{benchmark: meta}`` (benchmark ``""`` when ``input_dir`` itself holds the files).
    """
    if not os.path.isdir(input_dir):
        raise ReaderError(f"{input_dir}: folder not found")
    if os.path.isfile(os.path.join(input_dir, "train_data.npy")) or \
            os.path.isfile(os.path.join(input_dir, "val_data.npy")):
        folders = {"": input_dir}
    else:
        folders = {name: os.path.join(input_dir, name) for name in sorted(os.listdir(input_dir))
                   if os.path.isfile(os.path.join(input_dir, name, "train_data.npy"))}
        if not folders:
            raise ReaderError(f"{input_dir}: no train_data.npy here or in a benchmark sub-folder (xsub/, xview/)")
    metas = {}
    for benchmark, folder in folders.items():
        metas[benchmark] = _convert_paddlevideo_folder(folder, os.path.join(out_dir, benchmark), layout,
                                                       class_names, num_classes, chunk)
    return metas


def _convert_paddlevideo_folder(folder, out_dir, layout, class_names, num_classes, chunk) -> Dict:
    parts = {}
    for split in ("train", "val"):
        data_path = os.path.join(folder, f"{split}_data.npy")
        label_path = os.path.join(folder, f"{split}_label.pkl")
        if not os.path.isfile(data_path):
            parts[split] = None
            continue
        try:
            data = np.load(data_path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ReaderError(f"{data_path}: not a readable .npy array ({e})") from None
        if data.ndim != 5 or data.shape[1] not in (2, 3):
            raise ReaderError(f"{data_path}: shape {data.shape}; expected (N, C, T, V, M)")
        content = load_pickle(label_path)
        if not (isinstance(content, (list, tuple)) and len(content) == 2):
            raise ReaderError(f"{label_path}: expected [names, labels]")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in content[0]]
        try:
            labels = np.asarray(content[1], dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise ReaderError(f"{label_path}: labels are not integers") from None
        if not len(names) == len(labels) == data.shape[0]:
            raise ReaderError(f"{label_path}: {len(names)} names and {len(labels)} labels for "
                              f"{data.shape[0]} samples in {data_path}")
        parts[split] = (data_path, data, names, labels)
    present = [p for p in parts.values() if p is not None]
    if not present:
        raise ReaderError(f"{folder}: neither train_data.npy nor val_data.npy")
    _, first, names0, _ = present[0]
    channels, max_frames, num_joints, num_persons = first.shape[1:]
    layout = layout or {25: "ntu25", 17: "coco17", 18: "openpose18", 20: "nwucla20"}.get(num_joints)
    if layout is None or get_layout(layout).num_joints != num_joints:
        raise ReaderError(f"{folder}: {num_joints} joints; give --layout with that many joints")
    ntu = all(_NTU_NAME.fullmatch(n) for p in present for n in p[2][:50])
    all_labels = np.concatenate([p[3] for p in present])
    num_classes = num_classes or (60 if ntu and all_labels.max(initial=0) < 60 else
                                  120 if ntu else int(all_labels.max(initial=0)) + 1)
    class_names = list(class_names) if class_names else default_class_names(num_classes, ntu)
    counts = {}
    for split in ("train", "val"):
        part = parts[split]
        count = 0 if part is None else part[1].shape[0]
        with SplitWriter(out_dir, split, count, num_persons, max_frames, num_joints, channels) as writer:
            if part is not None:
                data_path, data, names, labels = part
                if data.shape[1:] != first.shape[1:]:
                    raise ReaderError(f"{data_path}: shape {data.shape} differs from {first.shape} of the other split")
                _check_labels(data_path, labels, num_classes)
                for start in range(0, count, chunk):
                    joints = np.asarray(data[start:start + chunk], np.float32).transpose(0, 4, 2, 3, 1)
                    if not np.isfinite(joints).all():
                        raise ReaderError(f"{data_path}: NaN or infinite values near sample {start}")
                    for offset, num_frames in enumerate(valid_frame_counts(joints)):
                        i = start + offset
                        writer.add(names[i], labels[i], joints[offset, :, :max(num_frames, 1)], num_frames)
        counts[split] = count
    return write_meta(out_dir, layout, num_classes, class_names, splits=counts, num_persons=int(num_persons),
                      max_frames=int(max_frames), num_channels=int(channels),
                      source=f"PaddleVideo arrays in {os.path.abspath(folder)}")


# --- PYSKL annotation pickles --------------------------------------------------------------------

def _split_target(key: str) -> Optional[Tuple[str, str]]:
    """``'xsub_train'`` -> ``('xsub', 'train')``; ``'test'`` -> ``('', 'val')``; None if not a split name."""
    match = re.fullmatch(r"(?:(.+)_)?(train|val|test)", key)
    if not match:
        return None
    return match.group(1) or "", "train" if match.group(2) == "train" else "val"


def pyskl_joints(path: str, annotation: dict, centre_3d: bool = True) -> Tuple[np.ndarray, int, str, int]:
    """One annotation -> ``(joints (M, T, V, C) float32, num_frames, layout, channels)``."""
    name = annotation.get("frame_dir", "?")
    try:
        keypoint = np.asarray(annotation["keypoint"], dtype=np.float32)
    except KeyError:
        raise ReaderError(f"{path}: annotation '{name}' has no 'keypoint'") from None
    except (TypeError, ValueError):
        raise ReaderError(f"{path}: annotation '{name}': 'keypoint' is not a numeric array") from None
    if keypoint.ndim != 4 or keypoint.shape[0] == 0 or keypoint.shape[1] == 0:
        raise ReaderError(f"{path}: annotation '{name}': keypoint has shape {keypoint.shape}, expected (M, T, V, C)")
    num_joints, channels = keypoint.shape[2:]
    if channels == 2:
        score = annotation.get("keypoint_score")
        score = np.ones(keypoint.shape[:3], np.float32) if score is None else np.asarray(score, np.float32)
        if score.shape != keypoint.shape[:3]:
            raise ReaderError(f"{path}: annotation '{name}': keypoint_score has shape {score.shape}, expected "
                              f"{keypoint.shape[:3]}")
        height, width = (float(v) for v in annotation.get("img_shape", (1080, 1920)))
        keypoint = np.concatenate([keypoint / np.array([width, height], np.float32), score[..., None]], axis=-1)
    elif channels != 3:
        raise ReaderError(f"{path}: annotation '{name}': {channels} channels, expected 2 (+ score) or 3")
    if not np.isfinite(keypoint).all():
        raise ReaderError(f"{path}: annotation '{name}': NaN or infinite keypoints")
    layout = {(17, 2): "coco17", (25, 3): "ntu25", (18, 2): "openpose18"}.get((num_joints, channels))
    if layout is None:
        raise ReaderError(f"{path}: annotation '{name}': {num_joints} joints with {channels} channels match no "
                          "known layout (NTU-25 3-D, COCO-17 or OpenPose-18 2-D)")
    if layout == "ntu25" and centre_3d:
        keypoint = centre_on_first_frame(keypoint)
    num_frames = int(annotation.get("total_frames", keypoint.shape[1]))
    return keypoint, min(max(num_frames, 0), keypoint.shape[1]), layout, 3


def centre_on_first_frame(joints: np.ndarray, joint: int = 1) -> np.ndarray:
    """Subtracts ``joint`` of person 1 in its first present frame; absent (all-zero) person-frames stay zero."""
    present = np.any(joints != 0, axis=(2, 3))                       # (M, T)
    frames = np.flatnonzero(present[0])
    if not len(frames):
        return joints
    centred = joints - joints[0, frames[0], joint]
    centred[~present] = 0
    return centred


def convert_pyskl(path: str, out_dir: str, class_names: Optional[Sequence[str]] = None,
                  num_classes: Optional[int] = None, centre_3d: bool = True) -> Dict[str, Dict]:
    """A PYSKL annotation pickle -> ``OUT/<benchmark>/`` (or ``OUT/``) per split group; returns the metas."""
    content = load_pickle(path)
    if isinstance(content, dict) and "annotations" in content:
        annotations, split_lists = content["annotations"], content.get("split") or {}
    elif isinstance(content, dict) and "keypoint" in content:
        annotations, split_lists = [content], {}
    elif isinstance(content, list):
        annotations, split_lists = content, {}
    else:
        raise ReaderError(f"{path}: not a PYSKL annotation file (expected 'annotations' and 'split', a list of "
                          "annotations, or one annotation with 'keypoint')")
    if not isinstance(annotations, list) or not all(isinstance(a, dict) for a in annotations):
        raise ReaderError(f"{path}: 'annotations' must be a list of dicts")
    if not isinstance(split_lists, dict):
        raise ReaderError(f"{path}: 'split' must be a dict of name -> list of frame_dir")
    by_name = {}
    for i, annotation in enumerate(annotations):
        by_name.setdefault(str(annotation.get("frame_dir", f"sample_{i:06d}")), annotation)
    groups: Dict[str, Dict[str, List[str]]] = collections.defaultdict(lambda: {"train": [], "val": []})
    if split_lists:
        for key, members in split_lists.items():
            target = _split_target(str(key))
            if target is None:
                print(f"warning: {path}: split '{key}' is not <benchmark>_<train|val|test>; left out",
                      file=sys.stderr)
                continue
            groups[target[0]][target[1]].extend(str(m) for m in members)
    else:
        groups[""]["train"] = list(by_name)
    labels = [a.get("label") for a in annotations]
    if any(not isinstance(l, (int, np.integer)) for l in labels):
        raise ReaderError(f"{path}: every annotation needs an integer 'label'")
    ntu = all(_NTU_NAME.fullmatch(n) for n in list(by_name)[:50])
    top = int(max(labels, default=0))
    num_classes = num_classes or (60 if ntu and top < 60 else 120 if ntu else top + 1)
    class_names = list(class_names) if class_names else default_class_names(num_classes, ntu)
    metas = {}
    for benchmark, splits in groups.items():
        prepared: Dict[str, List] = {"train": [], "val": []}
        layouts = set()
        for split, members in splits.items():
            for member in members:
                if member not in by_name:
                    raise ReaderError(f"{path}: split lists '{member}' but no annotation has that frame_dir")
                annotation = by_name[member]
                joints, num_frames, layout, _ = pyskl_joints(path, annotation, centre_3d)
                layouts.add(layout)
                label = int(annotation["label"])
                if not 0 <= label < num_classes:
                    raise ReaderError(f"{path}: annotation '{member}' has label {label} outside 0..{num_classes - 1}")
                prepared[split].append((member, label, joints, num_frames))
        if len(layouts) > 1:
            raise ReaderError(f"{path}: annotations mix layouts {sorted(layouts)}")
        layout = layouts.pop() if layouts else "ntu25"
        two_d = layout != "ntu25"
        metas[benchmark] = _write_prepared(
            os.path.join(out_dir, benchmark), prepared, layout, num_classes, class_names, 3,
            source=f"PYSKL annotations {os.path.abspath(path)}" + (f", split {benchmark}" if benchmark else ""),
            coordinates="x/width, y/height, score (img_shape = (height, width))" if two_d else
            ("camera metres, centred on joint 2 of person 1 in its first frame" if centre_3d else "camera metres"))
    return metas


# --- custom: one .npy per clip + labels CSV ------------------------------------------------------

def read_labels_csv(path: str) -> List[Tuple[str, str, str, int]]:
    """Rows ``(file, label, split, line number)`` of a ``file,label[,split]`` CSV (header optional)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise ReaderError(f"{path}: cannot read the labels CSV ({e})") from None
    entries = []
    for number, row in enumerate(rows, 1):
        row = [cell.strip() for cell in row]
        if not row or not any(row) or row[0].startswith("#"):
            continue
        if number == 1 and row[0].lower() in ("file", "path", "filename") and len(row) > 1:
            continue
        if len(row) < 2 or not row[0] or not row[1]:
            raise ReaderError(f"{path}:{number}: expected file,label[,split], got {','.join(row)!r}")
        split = row[2].lower() if len(row) > 2 and row[2] else "train"
        if split not in ("train", "val", "test"):
            raise ReaderError(f"{path}:{number}: split '{row[2]}' is not train, val or test")
        entries.append((row[0], row[1], "val" if split == "test" else split, number))
    if not entries:
        raise ReaderError(f"{path}: no clips listed")
    return entries


def load_clip(path: str, num_joints: int) -> np.ndarray:
    """One clip ``.npy`` -> ``(M, T, V, C)`` float32 (a ``(T, V, C)`` clip has one person)."""
    try:
        clip = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ReaderError(f"{path}: file not found") from None
    except (OSError, ValueError) as e:
        raise ReaderError(f"{path}: not a readable .npy array ({e})") from None
    if clip.ndim == 3:
        clip = clip[None]
    if clip.ndim != 4 or 0 in clip.shape:
        raise ReaderError(f"{path}: shape {clip.shape}; expected (T, V, C) or (M, T, V, C)")
    if clip.shape[2] != num_joints:
        raise ReaderError(f"{path}: {clip.shape[2]} joints, the layout has {num_joints}")
    if not np.issubdtype(clip.dtype, np.number):
        raise ReaderError(f"{path}: dtype {clip.dtype} is not numeric")
    clip = clip.astype(np.float32)
    if not np.isfinite(clip).all():
        raise ReaderError(f"{path}: {int((~np.isfinite(clip)).sum())} NaN or infinite values "
                          "(write missing joints as 0)")
    return clip


def convert_custom(csv_path: str, out_dir: str, layout: str, class_names: Optional[Sequence[str]] = None,
                   num_classes: Optional[int] = None) -> Dict:
    """Clips listed in ``csv_path`` -> ``out_dir``; unusable clips are listed in ``out_dir/skipped.txt``."""
    try:
        num_joints = get_layout(layout).num_joints
    except ValueError as e:
        raise ReaderError(str(e)) from None
    entries = read_labels_csv(csv_path)
    base = os.path.dirname(os.path.abspath(csv_path))
    raw_labels = [e[1] for e in entries]
    if all(re.fullmatch(r"\d+", l) for l in raw_labels):
        label_of = {l: int(l) for l in raw_labels}
        num_classes = num_classes or max(label_of.values()) + 1
        class_names = list(class_names) if class_names else default_class_names(num_classes)
    else:
        names = list(class_names) if class_names else sorted(set(raw_labels))
        unknown = sorted(set(raw_labels) - set(names))
        if unknown:
            raise ReaderError(f"{csv_path}: labels {unknown[:5]} are not among the class names")
        label_of = {name: i for i, name in enumerate(names)}
        class_names, num_classes = names, num_classes or len(names)
    prepared: Dict[str, List] = {"train": [], "val": []}
    skipped: List[str] = []
    channels = set()
    for file_name, label, split, number in entries:
        path = file_name if os.path.isabs(file_name) else os.path.join(base, file_name)
        if not 0 <= label_of[label] < num_classes:
            skipped.append(f"{csv_path}:{number}: label {label} outside 0..{num_classes - 1}")
            continue
        try:
            clip = load_clip(path, num_joints)
        except ReaderError as e:
            skipped.append(str(e))
            continue
        channels.add(clip.shape[3])
        name = os.path.splitext(os.path.basename(file_name))[0]
        prepared[split].append((name, label_of[label], clip, clip.shape[1]))
    if len(channels) > 1:
        raise ReaderError(f"{csv_path}: clips have different channel counts {sorted(channels)}")
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(os.path.join(out_dir, "skipped.txt"), "".join(f"{line}\n" for line in skipped))
    if not prepared["train"] and not prepared["val"]:
        raise ReaderError(f"{csv_path}: none of the {len(entries)} clips could be used; reasons in "
                          f"{os.path.join(out_dir, 'skipped.txt')}")
    meta = _write_prepared(out_dir, prepared, layout, num_classes, class_names, channels.pop(),
                           source=f"custom clips listed in {os.path.abspath(csv_path)}")
    meta["skipped"] = skipped
    return meta


# --- command line --------------------------------------------------------------------------------

def convert(fmt: str, input_path: str, out_dir: str, layout: Optional[str] = None,
            class_names_file: Optional[str] = None, num_classes: Optional[int] = None) -> Dict:
    """Dispatches to the converter of ``fmt``; returns ``{folder: meta}`` of what was written."""
    class_names = read_class_names(class_names_file, num_classes)
    if class_names and not num_classes:
        num_classes = len(class_names)
    if fmt == "ctrgcn_npz":
        return {out_dir: convert_ctrgcn_npz(input_path, out_dir, class_names, num_classes)}
    if fmt == "paddlevideo":
        metas = convert_paddlevideo(input_path, out_dir, layout, class_names, num_classes)
        return {os.path.join(out_dir, k) if k else out_dir: v for k, v in metas.items()}
    if fmt == "pyskl":
        metas = convert_pyskl(input_path, out_dir, class_names, num_classes)
        return {os.path.join(out_dir, k) if k else out_dir: v for k, v in metas.items()}
    if fmt == "custom":
        if not layout:
            raise ReaderError(f"--format=custom needs --layout (one of {', '.join(list_layouts())})")
        return {out_dir: convert_custom(input_path, out_dir, layout, class_names, num_classes)}
    raise ReaderError(f"unknown format '{fmt}' (choose among {', '.join(FORMATS)})")


def main(argv):
    from absl import flags
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments {' '.join(argv[1:])}")
    options = flags.FLAGS
    try:
        written = convert(options.format, options.input, options.out_dir, options.layout, options.class_names,
                          options.num_classes)
    except (PreparedDataError, OSError) as e:
        sys.exit(f"error: {e}")
    for folder, meta in written.items():
        print(f"{folder}: layout {meta['layout']}, {meta['num_classes']} classes, "
              + ", ".join(f"{split} {count}" for split, count in meta["splits"].items()))
        if meta.get("skipped"):
            print(f"  {len(meta['skipped'])} clips skipped (listed in {os.path.join(folder, 'skipped.txt')})")


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_enum("format", None, list(FORMATS), "Source format.")
    flags.DEFINE_string("input", None, "Source file or folder (see the module docstring per format).")
    flags.DEFINE_string("out_dir", None, "Output prepared-dataset folder.")
    flags.DEFINE_string("layout", None, "Skeleton layout (custom; paddlevideo when V is not 25).")
    flags.DEFINE_string("class_names", None, "Text file with one class name per line.")
    flags.DEFINE_integer("num_classes", None, "Number of classes (default: from the data).")
    flags.mark_flags_as_required(["format", "input", "out_dir"])
    app.run(main)
