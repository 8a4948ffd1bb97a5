"""Helpers shared by the benchmark scripts: a synthetic memory-mapped NTU split and the CPU's name."""

from __future__ import annotations

import platform


def write_synthetic_split(data_dir: str, num_samples: int, max_frames: int, seed: int = 0) -> None:
    """A prepared ntu25 ``train`` split ``(num_samples, 2, max_frames, 25, 3)`` of random-walk joints.

    Valid lengths are uniform in ``[30, max_frames]``; half the clips hold a second person.
    """
    import numpy as np

    from data_tools.prepared import SplitWriter, write_meta

    rng = np.random.default_rng(seed)
    lengths = rng.integers(min(30, max_frames), max_frames + 1, num_samples)
    with SplitWriter(data_dir, "train", num_samples, 2, max_frames, 25, 3) as writer:
        for i, length in enumerate(lengths):
            persons = 2 if i % 2 else 1
            rest = rng.normal(0.0, 0.3, (persons, 1, 25, 3))
            walk = np.cumsum(rng.normal(0.0, 0.01, (persons, int(length), 25, 3)), axis=1)
            writer.add(f"S001C001P001R001A{i % 60 + 1:03d}_{i}", i % 60, (rest + walk).astype(np.float32))
    write_meta(data_dir, "ntu25", 60, splits={"train": num_samples}, max_frames=max_frames,
               source="benchmarks.common (synthetic random walks)")


def ensure_split(data_dir: str, num_samples: int, max_frames: int, seed: int) -> str:
    """Reuses ``data_dir`` when it already holds a complete split of that size, else writes it."""
    from data_tools.prepared import PreparedDataError, PreparedSplit

    try:
        split = PreparedSplit(data_dir, "train")
        if split.shape == (num_samples, 2, max_frames, 25, 3):
            return "reused"
    except PreparedDataError:
        pass
    write_synthetic_split(data_dir, num_samples, max_frames, seed)
    return "written"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (else what platform knows)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
