"""NW-UCLA Multiview Action3D (``all_sqe/*.json``) -> the prepared format.

    python -m data_tools.nwucla --input_dir=../shared/data/nw_ucla --out_dir=data/nwucla

Standard protocol: train = views 1 and 2, ``val`` (test) = view 3. One person, 20
Kinect-v1 joints (layout ``nwucla20``), labels 1..10 in the JSON become 0..9.
Each clip is centred like NTU (on joint 2, "spine", of its first frame) so the
CTR-GCN feeder semantics apply unchanged; clips keep their own length.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
from typing import Dict, List, Tuple

import numpy as np

from data_tools.prepared import PreparedDataError, write_meta, write_split

CLASS_NAMES = ["pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down",
               "stand up", "donning", "doffing", "throw", "carry"]
NUM_JOINTS = 20
_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)$")


class NWUCLAError(PreparedDataError):
    """An NW-UCLA clip that cannot be read (message names the file)."""


def read_clip(path: str) -> Tuple[str, np.ndarray, int]:
    """Returns ``(name, joints (T, 20, 3) float32, label 0..9)`` of one JSON clip."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise NWUCLAError(f"{path}: not a readable NW-UCLA JSON clip ({e})") from None
    if not isinstance(record, dict) or "skeletons" not in record or "label" not in record:
        raise NWUCLAError(f"{path}: missing 'skeletons' or 'label'")
    try:
        joints = np.asarray(record["skeletons"], dtype=np.float32)
    except (TypeError, ValueError):
        raise NWUCLAError(f"{path}: 'skeletons' is not a numeric (T, 20, 3) array") from None
    if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or joints.shape[0] == 0:
        raise NWUCLAError(f"{path}: 'skeletons' has shape {joints.shape}, expected (T, 20, 3) with T >= 1")
    if not np.isfinite(joints).all():
        raise NWUCLAError(f"{path}: 'skeletons' holds NaN or infinite coordinates")
    label = int(record["label"]) - 1
    if not 0 <= label < len(CLASS_NAMES):
        raise NWUCLAError(f"{path}: label {record['label']} outside 1..{len(CLASS_NAMES)}")
    name = str(record.get("file_name") or os.path.splitext(os.path.basename(path))[0])
    return name, joints, label


def centre(joints: np.ndarray) -> np.ndarray:
    """Subtracts joint 2 ("spine") of the first frame from every joint."""
    return joints - joints[0, 1][None, None, :]


def view_of(name: str) -> int:
    match = _NAME.search(name)
    if not match:
        raise NWUCLAError(f"'{name}': file name is not of the form aXX_sYY_eZZ_vWW")
    return int(match.group(4))


def convert(input_dir: str, out_dir: str, train_views=(1, 2), val_views=(3,)) -> Dict:
    """Converts every clip of ``input_dir/all_sqe`` (or ``input_dir``) and writes ``out_dir``."""
    clip_dir = os.path.join(input_dir, "all_sqe") if os.path.isdir(os.path.join(input_dir, "all_sqe")) else input_dir
    paths = sorted(glob.glob(os.path.join(clip_dir, "*.json")))
    if not paths:
        raise NWUCLAError(f"no NW-UCLA .json clips found in '{clip_dir}'")
    splits: Dict[str, List[Tuple[str, np.ndarray, int]]] = {"train": [], "val": []}
    for path in paths:
        name, joints, label = read_clip(path)
        view = view_of(name)
        split = "train" if view in train_views else "val" if view in val_views else None
        if split:
            splits[split].append((name, centre(joints), label))
    max_frames = max(j.shape[0] for clips in splits.values() for _, j, _ in clips)
    for split, clips in splits.items():
        write_split(out_dir, split, [c[0] for c in clips], [c[2] for c in clips],
                    (c[1][None] for c in clips), num_persons=1, max_frames=max_frames,
                    num_joints=NUM_JOINTS, num_channels=3)
    return write_meta(out_dir, "nwucla20", len(CLASS_NAMES), CLASS_NAMES,
                      splits={k: len(v) for k, v in splits.items()}, num_persons=1, max_frames=max_frames,
                      source=f"NW-UCLA all_sqe JSON from {os.path.abspath(clip_dir)}; train views "
                             f"{list(train_views)}, val views {list(val_views)}; centred on joint 2 of frame 1")


def main(argv):
    del argv
    from absl import flags
    try:
        meta = convert(flags.FLAGS.input_dir, flags.FLAGS.out_dir)
    except PreparedDataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"NW-UCLA prepared in {flags.FLAGS.out_dir}: {meta['splits']}")


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("input_dir", "../shared/data/nw_ucla", "NW-UCLA folder (holding all_sqe/).")
    flags.DEFINE_string("out_dir", "data/nwucla", "Output prepared-dataset folder.")
    app.run(main)
