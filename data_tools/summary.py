"""Summary of a prepared dataset: counts per split and class, frame lengths, persons present.

    python -m data_tools.summary --data_dir=data/ntu60/xsub [--json]

``--data_dir`` is a prepared folder (with ``meta.json``) or a folder of them (e.g. the
``data/ntu60`` written by ``data_tools.ntu``, holding ``xsub/`` and ``xview/``): each is
summarised. The person count of a sample is the number of person slots with any non-zero
value in its valid frames; the data are read in chunks (memory-mapped), never whole.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Dict, List

import numpy as np

from data_tools.prepared import PreparedDataError, PreparedSplit, read_meta

# Frame-length bins of the histogram (upper bounds are exclusive; the last bin is open).
_LENGTH_EDGES = (1, 32, 64, 100, 150, 200, 250, 300)


def split_names(data_dir: str, meta: Dict) -> List[str]:
    """Splits listed in meta.json, else those whose ``<split>_data.npy`` exists (train, val first)."""
    names = list(meta.get("splits") or [])
    if not names:
        names = sorted(f[:-len("_data.npy")] for f in os.listdir(data_dir) if f.endswith("_data.npy"))
    return sorted(names, key=lambda s: ({"train": 0, "val": 1, "test": 2}.get(s, 3), s))


def persons_present(split: PreparedSplit, chunk: int = 256) -> np.ndarray:
    """``(N,)`` number of person slots with any non-zero value within each sample's valid frames."""
    counts = np.zeros(len(split), np.int64)
    frames = np.arange(split.data.shape[2])
    for start in range(0, len(split), chunk):
        block = np.asarray(split.data[start:start + chunk])                       # (n, M, T, V, C)
        valid = frames[None, :] < split.num_frames[start:start + chunk, None]      # (n, T)
        present = np.any(block != 0, axis=(3, 4)) & valid[:, None, :]              # (n, M, T)
        counts[start:start + chunk] = present.any(axis=2).sum(axis=1)
    return counts


def summarize_split(split: PreparedSplit) -> Dict:
    num_classes = int(split.meta["num_classes"])
    per_class = np.bincount(split.labels, minlength=num_classes) if len(split) else np.zeros(num_classes, int)
    edges = list(_LENGTH_EDGES) + [max(int(split.data.shape[2]) + 1, _LENGTH_EDGES[-1] + 1)]
    histogram = np.histogram(split.num_frames, bins=[0] + edges)[0] if len(split) else np.zeros(len(edges), int)
    persons = persons_present(split)
    lengths = split.num_frames
    return {
        "samples": len(split),
        "shape": list(split.shape),
        "per_class": per_class.tolist(),
        "frames": {"min": int(lengths.min()) if len(split) else 0, "max": int(lengths.max()) if len(split) else 0,
                   "mean": round(float(lengths.mean()), 1) if len(split) else 0.0},
        "frame_histogram": {_bin_name(lo, hi, i == len(edges) - 1): int(n)
                            for i, (lo, hi, n) in enumerate(zip([0] + edges[:-1], edges, histogram))},
        "persons": {str(k): int((persons == k).sum()) for k in range(split.data.shape[1] + 1)
                    if (persons == k).any()},
    }


def _bin_name(low: int, high: int, last: bool) -> str:
    return f">={low}" if last else f"{low}-{high - 1}"


def summarize(data_dir: str) -> Dict:
    """``{'data_dir', 'layout', 'num_classes', 'class_names', 'splits': {split: summary}}``."""
    meta = read_meta(data_dir)
    return {
        "data_dir": data_dir, "layout": meta["layout"], "num_classes": int(meta["num_classes"]),
        "class_names": meta.get("class_names") or [f"class_{i}" for i in range(meta["num_classes"])],
        "num_persons": meta.get("num_persons"), "max_frames": meta.get("max_frames"), "source": meta.get("source", ""),
        "splits": {name: summarize_split(PreparedSplit(data_dir, name)) for name in split_names(data_dir, meta)},
    }


def format_summary(summary: Dict, bar_width: int = 30) -> str:
    splits = summary["splits"]
    lines = [f"{summary['data_dir']}: layout {summary['layout']}, {summary['num_classes']} classes, "
             f"{summary['num_persons']} person slots, {summary['max_frames']} frames"]
    if summary["source"]:
        lines.append(f"  source: {summary['source']}")
    for name, split in splits.items():
        if not split["samples"]:
            lines.append(f"  {name}: empty, shape {tuple(split['shape'])}")
            continue
        lines.append(f"  {name}: {split['samples']} samples, shape {tuple(split['shape'])}, frames min "
                     f"{split['frames']['min']} / mean {split['frames']['mean']} / max {split['frames']['max']}; "
                     "samples with " + ", ".join(f"{k} person{'s' if k != '1' else ''}: {n}"
                                                 for k, n in split["persons"].items()))
    lines.append("")
    header = f"  {'class':<40}" + "".join(f"{name:>8}" for name in splits)
    lines.append(header)
    for index, class_name in enumerate(summary["class_names"]):
        counts = [split["per_class"][index] for split in splits.values()]
        label = f"{index:>3} {class_name}"[:40]
        lines.append(f"  {label:<40}" + "".join(f"{n:>8}" for n in counts))
    for name, split in splits.items():
        if not split["samples"]:
            continue
        lines.append("")
        lines.append(f"  frame lengths ({name}):")
        peak = max(split["frame_histogram"].values(), default=0) or 1
        for bin_name, count in split["frame_histogram"].items():
            bar = "#" * int(round(bar_width * count / peak))
            lines.append(f"    {bin_name:>8} {count:>7} {bar}")
    return "\n".join(lines)


def prepared_folders(data_dir: str) -> List[str]:
    """``data_dir`` if it is a prepared dataset, else its prepared sub-folders."""
    if os.path.isfile(os.path.join(data_dir, "meta.json")) or not os.path.isdir(data_dir):
        return [data_dir]
    folders = sorted(os.path.join(data_dir, name) for name in os.listdir(data_dir)
                     if os.path.isfile(os.path.join(data_dir, name, "meta.json")))
    return folders or [data_dir]


def main(argv):
    from absl import flags
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments {' '.join(argv[1:])}")
    options = flags.FLAGS
    try:
        summaries = [summarize(folder) for folder in prepared_folders(options.data_dir)]
    except PreparedDataError as e:
        sys.exit(f"error: {e}")
    try:
        if options.json:
            print(json.dumps(summaries if len(summaries) > 1 else summaries[0]))
        else:
            print("\n\n".join(format_summary(s) for s in summaries))
    except BrokenPipeError:            # e.g. piped into head
        sys.stderr.close()


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("data_dir", None, "Prepared dataset folder (or a folder of them).")
    flags.DEFINE_bool("json", False, "Print JSON instead of tables.")
    flags.mark_flags_as_required(["data_dir"])
    app.run(main)
