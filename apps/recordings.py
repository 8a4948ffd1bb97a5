"""Recording readers for the predictor and the demo (numpy only — no TensorFlow).

Every reader returns a ``Recording``: joints ``(M, T, V, C)`` float32 with its valid
frame count, a layout name when the format implies one, and a label when the file
carries one. Unreadable input raises ``RecordingError`` naming the file.

Formats: NTU ``.skeleton`` (raw Kinect v2 text), ``.npy`` (a clip ``(M, T, V, C)`` /
``(T, V, C)``, or a prepared ``<split>_data.npy`` with an index), NW-UCLA ``.json``,
PYSKL ``.pkl`` annotations (one annotation, or a dataset with ``annotations``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from typing import List, Optional

import numpy as np


class RecordingError(ValueError):
    """A recording that cannot be read or does not fit (message names the file)."""


@dataclasses.dataclass
class Recording:
    joints: np.ndarray            # (M, T, V, C) float32, zero-padded persons/frames
    num_frames: int
    layout: Optional[str] = None
    label: Optional[int] = None
    name: str = ""


def read_ntu_skeleton(path: str) -> Recording:
    """Raw NTU ``.skeleton`` -> centred ``(2, T, 25, 3)`` with the official denoising rules when available."""
    try:
        from data_tools import ntu
    except ImportError:
        ntu = None
    if ntu is not None and hasattr(ntu, "read_sample"):
        try:
            joints = ntu.read_sample(path)
        except Exception as e:  # noqa: BLE001 - the converter's documented error carries file and line
            raise RecordingError(str(e)) from None
        return Recording(joints.astype(np.float32), int((joints != 0).any(axis=(0, 2, 3)).sum()), "ntu25",
                         _ntu_label(path), os.path.basename(path))
    return _read_ntu_simple(path)


def _ntu_label(path: str) -> Optional[int]:
    name = os.path.basename(path)
    index = name.find("A")
    try:
        return int(name[index + 1:index + 4]) - 1 if index >= 0 else None
    except ValueError:
        return None


def _read_ntu_simple(path: str) -> Recording:
    """Parser used when the NTU converter is not installed: the two longest-lived bodies, centred on
    joint 2 of actor 1 in its first frame (the official centring; no spread/motion denoising)."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")
        num_frames, cursor = int(lines[0]), 1
        bodies = {}
        for t in range(num_frames):
            count, cursor = int(lines[cursor]), cursor + 1
            for _ in range(count):
                body_id = lines[cursor].split()[0]
                num_joints = int(lines[cursor + 1])
                rows = [lines[cursor + 2 + j].split()[:3] for j in range(num_joints)]
                cursor += 2 + num_joints
                bodies.setdefault(body_id, {})[t] = np.array(rows, dtype=np.float32)
    except (OSError, ValueError, IndexError) as e:
        raise RecordingError(f"{path}: not a readable NTU .skeleton file ({type(e).__name__}: {e})") from None
    if not bodies:
        raise RecordingError(f"{path}: no bodies in any frame")
    chosen = sorted(bodies.values(), key=len, reverse=True)[:2]
    frames = sorted({t for body in chosen for t in body})
    joints = np.zeros((2, len(frames), 25, 3), np.float32)
    for m, body in enumerate(chosen):
        for i, t in enumerate(frames):
            if t in body:
                if body[t].shape != (25, 3):
                    raise RecordingError(f"{path}: frame {t} has {len(body[t])} joints, expected 25")
                joints[m, i] = body[t]
    if not np.isfinite(joints).all():
        raise RecordingError(f"{path}: NaN or infinite coordinates")
    present = (joints != 0).any(axis=(2, 3))
    first = np.argmax(present[0])
    joints = joints - joints[0, first, 1]
    joints[~present] = 0.0
    return Recording(joints, len(frames), "ntu25", _ntu_label(path), os.path.basename(path))


def read_npy(path: str, index: int = 0) -> Recording:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RecordingError(f"{path}: not a readable .npy array ({e})") from None
    num_frames = None
    if array.ndim == 5:                       # a prepared split: pick one sample
        if not 0 <= index < array.shape[0]:
            raise RecordingError(f"{path}: index {index} outside 0..{array.shape[0] - 1}")
        frames_file = path.replace("_data.npy", "_num_frames.npy")
        if frames_file != path and os.path.isfile(frames_file):
            num_frames = int(np.load(frames_file)[index])
        array = array[index]
    elif array.ndim == 3:
        array = array[None]
    elif array.ndim != 4:
        raise RecordingError(f"{path}: array of shape {array.shape}; expected (M, T, V, C), (T, V, C) or "
                             "(N, M, T, V, C)")
    joints = np.asarray(array, dtype=np.float32)
    if not np.isfinite(joints).all():
        raise RecordingError(f"{path}: NaN or infinite coordinates")
    if num_frames is None:
        valid = (joints != 0).any(axis=(0, 2, 3))
        num_frames = int(np.nonzero(valid)[0].max() + 1) if valid.any() else 0
    return Recording(joints, num_frames, None, None, os.path.basename(path))


def read_nwucla_json(path: str) -> Recording:
    try:
        with open(path) as f:
            record = json.load(f)
        joints = np.asarray(record["skeletons"], dtype=np.float32)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RecordingError(f"{path}: not a readable NW-UCLA clip ({type(e).__name__}: {e})") from None
    if joints.ndim != 3 or joints.shape[0] == 0 or joints.shape[2] != 3:
        raise RecordingError(f"{path}: 'skeletons' has shape {joints.shape}, expected (T, V, 3)")
    if not np.isfinite(joints).all():
        raise RecordingError(f"{path}: NaN or infinite coordinates")
    joints = joints - joints[0, 1]            # centred as data_tools.nwucla does
    label = record.get("label")
    return Recording(joints[None], len(joints), "nwucla20" if joints.shape[1] == 20 else None,
                     None if label is None else int(label) - 1, os.path.basename(path))


def read_pyskl(path: str, index: int = 0) -> Recording:
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means an unusable file
        raise RecordingError(f"{path}: not a readable PYSKL pickle ({type(e).__name__}: {e})") from None
    annotation = data
    if isinstance(data, dict) and "annotations" in data:
        annotation = data["annotations"][index]
    elif isinstance(data, list):
        annotation = data[index]
    if not isinstance(annotation, dict) or "keypoint" not in annotation:
        raise RecordingError(f"{path}: no 'keypoint' array in the annotation")
    keypoint = np.asarray(annotation["keypoint"], dtype=np.float32)           # (M, T, V, C)
    if keypoint.ndim != 4:
        raise RecordingError(f"{path}: keypoint has shape {keypoint.shape}, expected (M, T, V, C)")
    if "keypoint_score" in annotation and keypoint.shape[-1] == 2:
        height, width = annotation.get("img_shape", (1.0, 1.0))
        keypoint = keypoint / np.array([width, height], np.float32)             # x/width, y/height as PYSKL
        score = np.asarray(annotation["keypoint_score"], dtype=np.float32)[..., None]
        keypoint = np.concatenate([keypoint, score], axis=-1)
    layout = {17: "coco17", 25: "ntu25"}.get(keypoint.shape[2])
    return Recording(keypoint, int(annotation.get("total_frames", keypoint.shape[1])), layout,
                     annotation.get("label"), str(annotation.get("frame_dir", os.path.basename(path))))


def read_recording(path: str, index: int = 0) -> Recording:
    """Dispatches on the file extension."""
    if not os.path.isfile(path):
        raise RecordingError(f"{path}: file not found")
    extension = os.path.splitext(path)[1].lower()
    readers = {".skeleton": read_ntu_skeleton, ".json": read_nwucla_json}
    if extension in readers:
        return readers[extension](path)
    if extension == ".npy":
        return read_npy(path, index)
    if extension in (".pkl", ".pickle"):
        return read_pyskl(path, index)
    raise RecordingError(f"{path}: unknown recording format '{extension}' (.skeleton, .npy, .json, .pkl)")


def list_recordings(folder: str) -> List[str]:
    extensions = (".skeleton", ".npy", ".json", ".pkl")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(extensions))


def fit_persons(joints: np.ndarray, persons: int) -> np.ndarray:
    """Pads with empty persons or keeps the first ``persons``."""
    if joints.shape[0] >= persons:
        return joints[:persons]
    pad = np.zeros((persons - joints.shape[0],) + joints.shape[1:], joints.dtype)
    return np.concatenate([joints, pad])
