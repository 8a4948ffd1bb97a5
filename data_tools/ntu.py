"""NTU RGB+D 60 / 120 raw ``.skeleton`` files -> prepared datasets, exactly as the official scripts.

    python -m data_tools.ntu --raw_dir=nturgb+d_skeletons [--raw_dir=nturgbd_skeletons_s018_to_s032] \\
        --out_dir=data/ntu60 --dataset=ntu60 [--benchmarks=xsub,xview] [--workers=4]

Writes, for every benchmark, ``OUT/<benchmark>/{train,val}_{data.npy,label.npy,names.txt,num_frames.npy}``
and ``meta.json`` (layout ``ntu25``): data ``(N, 2, 300, 25, 3)`` float32, channels-last, zero-padded
after ``num_frames``. ``OUT/skipped.txt`` lists every file left out and why (``file:line: problem``).

Per sample this is the official CTR-GCN/SGN pipeline (MODEL_SPEC §7.3-7.5, ``data_tools.ntu_skeleton``):
empty frames dropped, bodies grouped by ID, length / spread denoising, motion ranking, two-actor
assembly, removal of frames without any kept actor, centring on joint 2 of actor 1 in its first
present frame. A lone actor leaves person 2 at zero for ``ntu60`` and is duplicated there for
``ntu120`` (the two official scripts differ, MODEL_SPEC §9.7). The published samples with missing
skeletons are excluded. Within a split, samples follow the official order: grouped by subject /
camera / setup in the order of the official ID list, by name within a group.

Benchmarks: ``xsub`` (training subjects of MODEL_SPEC §7.5.3), ``xview`` (cameras 2, 3 train,
camera 1 val), ``xset`` (even setups train). Defaults: ``xsub,xview`` for ntu60, ``xsub,xset`` for ntu120.

Bad files (truncated, wrong joint count, non-numeric or NaN coordinates, no body at all, nothing
left after denoising) are skipped and reported; the command fails only when no sample is usable.
Files are parsed in ``--workers`` processes while the main process writes the outputs.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import multiprocessing
import os
import re
import sys
import tempfile
import time
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from data_tools.ntu_classes import NTU60_CLASSES, NTU120_CLASSES
from data_tools.ntu_missing import missing_samples
from data_tools.ntu_skeleton import NTUSkeletonError, process_skeleton, read_sample  # noqa: F401 (API)
from data_tools.prepared import atomic_path, atomic_save_npy, atomic_write_text, write_meta

MAX_FRAMES = 300
NUM_PERSONS = 2
NUM_JOINTS = 25
_PERSON_VALUES = NUM_JOINTS * 3

_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

# Cross-subject training subjects; NTU-60 uses the first 20 (MODEL_SPEC §7.5.3).
_XSUB_TRAIN_120 = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45, 46, 47, 49, 50,
                   52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95,
                   97, 98, 100, 103)
_XSUB_TRAIN_60 = _XSUB_TRAIN_120[:20]
_XSUB_VAL_60 = (3, 6, 7, 10, 11, 12, 20, 21, 22, 23, 24, 26, 29, 30, 32, 33, 36, 37, 39, 40)


class NTUConversionError(ValueError):
    """The conversion as a whole cannot run (bad arguments, no usable sample)."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    name: str
    class_names: Tuple[str, ...]
    max_setup: int
    max_performer: int
    default_benchmarks: Tuple[str, ...]
    duplicate_lone_actor: bool       # NTU-120 script copies a lone actor into person 2

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


DATASETS = {
    "ntu60": DatasetSpec("ntu60", NTU60_CLASSES, 17, 40, ("xsub", "xview"), False),
    "ntu120": DatasetSpec("ntu120", NTU120_CLASSES, 32, 106, ("xsub", "xset"), True),
}
BENCHMARKS = ("xsub", "xview", "xset")


@dataclasses.dataclass(frozen=True)
class Sample:
    """One raw file, with the IDs its name encodes (all 1-based)."""

    name: str
    path: str
    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        return self.action - 1


def parse_sample_name(file_name: str) -> Optional[Dict[str, int]]:
    """``'S001C002P003R002A013.skeleton'`` -> ``{'setup': 1, 'camera': 2, ...}``, or None."""
    stem = file_name[:-len(".skeleton")] if file_name.endswith(".skeleton") else file_name
    match = _NAME.fullmatch(stem)
    if not match:
        return None
    return dict(zip(("setup", "camera", "performer", "replication", "action"), map(int, match.groups())))


def benchmark_groups(dataset: str, benchmark: str) -> Tuple[str, Tuple[int, ...], Tuple[int, ...]]:
    """``(attribute, train IDs, val IDs)`` in the official order of the ID lists."""
    spec = DATASETS[dataset]
    if benchmark == "xsub":
        if dataset == "ntu60":
            return "performer", _XSUB_TRAIN_60, _XSUB_VAL_60
        return "performer", _XSUB_TRAIN_120, tuple(p for p in range(1, spec.max_performer + 1)
                                                   if p not in _XSUB_TRAIN_120)
    if benchmark == "xview":
        return "camera", (2, 3), (1,)
    if benchmark == "xset":
        setups = range(1, spec.max_setup + 1)
        return "setup", tuple(s for s in setups if s % 2 == 0), tuple(s for s in setups if s % 2 == 1)
    raise NTUConversionError(f"unknown benchmark '{benchmark}' (choose among {', '.join(BENCHMARKS)})")


def split_samples(samples: Sequence[Sample], dataset: str, benchmark: str) -> Dict[str, List[int]]:
    """Indices into ``samples`` (sorted by name) of each split, in the official order."""
    attribute, train_ids, val_ids = benchmark_groups(dataset, benchmark)
    by_id: Dict[int, List[int]] = collections.defaultdict(list)
    for index, sample in enumerate(samples):
        by_id[getattr(sample, attribute)].append(index)
    return {"train": [i for g in train_ids for i in by_id.get(g, [])],
            "val": [i for g in val_ids for i in by_id.get(g, [])]}


def find_samples(raw_dirs: Sequence[str], dataset: str) -> Tuple[List[Sample], List[Tuple[str, str]]]:
    """Lists the usable ``.skeleton`` files of ``raw_dirs``, sorted by name.

    Returns ``(samples, left_out)`` where ``left_out`` holds ``(file, reason)`` for names outside
    the dataset, duplicates and the published missing-skeleton samples.
    """
    spec = DATASETS[dataset]
    excluded = missing_samples(spec.max_setup)
    found: Dict[str, Sample] = {}
    left_out: List[Tuple[str, str]] = []
    for raw_dir in raw_dirs:
        if not os.path.isdir(raw_dir):
            raise NTUConversionError(f"raw folder '{raw_dir}' does not exist")
        for entry in sorted(os.scandir(raw_dir), key=lambda e: e.name):
            if not entry.name.endswith(".skeleton") or not entry.is_file():
                continue
            ids = parse_sample_name(entry.name)
            name = entry.name[:-len(".skeleton")]
            if ids is None:
                left_out.append((entry.path, "file name is not of the form SsssCcccPpppRrrrAaaa.skeleton"))
            elif not (1 <= ids["setup"] <= spec.max_setup and 1 <= ids["action"] <= spec.num_classes
                      and 1 <= ids["performer"] <= spec.max_performer and 1 <= ids["camera"] <= 3):
                left_out.append((entry.path, f"not a sample of {dataset} (setups 1-{spec.max_setup}, actions "
                                             f"1-{spec.num_classes}, performers 1-{spec.max_performer}, "
                                             "cameras 1-3)"))
            elif name in excluded:
                left_out.append((entry.path, "excluded: a published sample with missing skeletons "
                                             "(MODEL_SPEC Appendix A)"))
            elif name in found:
                left_out.append((entry.path, f"duplicate of {found[name].path}"))
            else:
                found[name] = Sample(name=name, path=entry.path, **ids)
    return [found[name] for name in sorted(found)], left_out


# --- parsing and writing in worker processes ----------------------------------------------------
#
# Workers write their samples straight into the output files (``os.pwrite`` at positions fixed
# in advance) and send back only the frame count: no array crosses a process boundary.

@dataclasses.dataclass(frozen=True)
class _Target:
    """One output data file as a worker sees it."""

    path: str
    offset: int              # start of the array data in the file
    sample_bytes: int
    person_bytes: int


_worker_targets: List[_Target] = []
_worker_fds: List[int] = []
_worker_settings: Dict[str, object] = {}


def _start_worker(targets: Sequence[_Target], max_frames: int, duplicate_lone_actor: bool) -> None:
    keep_freed_memory()
    _stop_worker()
    _worker_targets.extend(targets)
    _worker_fds.extend(os.open(t.path, os.O_WRONLY) for t in targets)
    _worker_settings.update(max_frames=max_frames, duplicate_lone_actor=duplicate_lone_actor)


def _stop_worker() -> None:
    for fd in _worker_fds:
        os.close(fd)
    _worker_fds.clear()
    _worker_targets.clear()


def _convert_one(task: Tuple[str, Tuple[Tuple[int, int], ...]]) -> Tuple[int, Optional[str], Optional[str]]:
    """Parses one file and writes it at its slots ``(target, position)``.

    Returns ``(num_frames, problem, note)``: ``problem`` names the file and line when it is
    unusable (num_frames 0); ``note`` reports a sample cut to the frame limit.
    """
    path, slots = task
    try:
        with open(path, "rb") as f:
            data = f.read()
        joints = process_skeleton(data, path)
    except NTUSkeletonError as e:
        return 0, str(e), None
    except OSError as e:
        return 0, f"{path}: cannot be read ({e.strerror or e})", None
    except Exception as e:  # noqa: BLE001 - one odd file must not end a run over 100,000 files
        return 0, f"{path}: unexpected {type(e).__name__} while parsing ({e}); please report this file", None
    note = None
    max_frames = _worker_settings["max_frames"]
    if len(joints) > max_frames:
        note = f"{path}: {len(joints)} frames, cut to {max_frames}"
        joints = joints[:max_frames]
    chunks = _person_chunks(joints, _worker_settings["duplicate_lone_actor"])
    for target, position in slots:
        base = _worker_targets[target].offset + position * _worker_targets[target].sample_bytes
        for person, chunk in enumerate(chunks):
            if chunk:
                os.pwrite(_worker_fds[target], chunk, base + person * _worker_targets[target].person_bytes)
    return len(joints), None, note


def keep_freed_memory() -> None:
    """Asks glibc to keep freed memory for reuse instead of returning it to the system.

    Parsing allocates and frees a few MB of temporaries per file; by default glibc hands large
    blocks back and every file then pays ~700 page faults, which doubled the CPU time of a
    conversion. Only called in processes this module owns (the CLI and its workers); a no-op
    elsewhere than glibc.
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)      # M_MMAP_THRESHOLD: blocks below 32 MB come from the heap
        libc.mallopt(-1, 512 << 20)     # M_TRIM_THRESHOLD: keep up to 512 MB of freed heap
    except (OSError, AttributeError):
        pass


def _convert_all(tasks: Sequence, targets: Sequence[_Target], max_frames: int, duplicate_lone_actor: bool,
                 workers: int) -> Iterator[Tuple[int, Optional[str], Optional[str]]]:
    """Results of ``_convert_one`` in the order of ``tasks``."""
    settings = (list(targets), max_frames, duplicate_lone_actor)
    if workers <= 1 or len(tasks) < 2:
        _start_worker(*settings)
        try:
            yield from map(_convert_one, tasks)
        finally:
            _stop_worker()
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, min(16, len(tasks) // (workers * 8)))
    with context.Pool(min(workers, len(tasks)), initializer=_start_worker, initargs=settings) as pool:
        yield from pool.imap(_convert_one, tasks, chunksize=chunk)


# --- writing -------------------------------------------------------------------------------------

class _PaddedDataFile:
    """``(N, 2, max_frames, 25, 3)`` float32 ``.npy`` written sample by sample at known positions.

    Only the valid frames are written (``os.pwrite``); the zero padding stays a file hole, so a
    split costs what its frames weigh. Positions assume every listed sample succeeds; ``finish``
    drops the failed ones by copying the rest into a compact file (rare: bad raw files). The
    array is built under a temporary name and renamed by ``finish``; on error it is removed.
    """

    def __init__(self, path: str, num_samples: int, max_frames: int, stack: contextlib.ExitStack):
        self.path = path
        self.max_frames = max_frames
        self.num_samples = num_samples
        self.person_bytes = max_frames * _PERSON_VALUES * 4
        self.sample_bytes = NUM_PERSONS * self.person_bytes
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, self.tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
        os.close(fd)
        stack.callback(self._discard)
        self.offset = self._create(self.tmp_path, num_samples)
        self.fd = os.open(self.tmp_path, os.O_RDWR)

    def _create(self, path: str, num_samples: int) -> int:
        """Writes the header of a zero-filled (sparse) array and returns the data offset."""
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                          shape=(num_samples, NUM_PERSONS, self.max_frames, NUM_JOINTS, 3))
        offset = array.offset
        del array
        return offset

    def _discard(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        with contextlib.suppress(OSError):
            os.remove(self.tmp_path)

    def target(self) -> _Target:
        return _Target(self.tmp_path, self.offset, self.sample_bytes, self.person_bytes)

    def finish(self, kept_positions: Sequence[int], frames: Sequence[int]) -> None:
        """Keeps the samples at ``kept_positions`` (``frames`` valid frames each), in that order."""
        with atomic_path(self.path) as final_tmp:
            if len(kept_positions) == self.num_samples:
                os.close(self.fd)
                self.fd = None
                os.replace(self.tmp_path, final_tmp)
                return
            offset = self._create(final_tmp, len(kept_positions))
            fd = os.open(final_tmp, os.O_RDWR)
            try:
                for new, (old, num_frames) in enumerate(zip(kept_positions, frames)):
                    for person in range(NUM_PERSONS):
                        source = self.offset + old * self.sample_bytes + person * self.person_bytes
                        chunk = os.pread(self.fd, num_frames * _PERSON_VALUES * 4, source)
                        os.pwrite(fd, chunk, offset + new * self.sample_bytes + person * self.person_bytes)
            finally:
                os.close(fd)
        self._discard()


def _person_chunks(joints: np.ndarray, duplicate_lone_actor: bool) -> List[bytes]:
    """Bytes of persons 1 and 2 (``(T, 25, 3)`` float32 each, b'' for an all-zero person)."""
    if joints.shape[1] == _PERSON_VALUES:
        first = joints.tobytes()
        return [first, first if duplicate_lone_actor else b""]
    return [np.ascontiguousarray(joints[:, :_PERSON_VALUES]).tobytes(),
            np.ascontiguousarray(joints[:, _PERSON_VALUES:]).tobytes()]


@dataclasses.dataclass
class ConversionReport:
    num_files: int
    num_prepared: int
    left_out: List[Tuple[str, str]]          # (file, reason) excluded before parsing
    unreadable: List[str]                     # "file:line: problem"
    truncated: List[str]                      # samples longer than max_frames (cut)
    splits: Dict[str, Dict[str, int]]         # benchmark -> split -> count
    seconds: float


def convert(raw_dirs: Sequence[str], out_dir: str, dataset: str = "ntu60",
            benchmarks: Optional[Sequence[str]] = None, workers: int = 1, max_frames: int = MAX_FRAMES,
            progress: bool = False) -> ConversionReport:
    """Prepares every benchmark of ``dataset`` from the raw files of ``raw_dirs`` into ``out_dir``.

    Raises:
        NTUConversionError: unknown dataset/benchmark, a missing raw folder, or not one usable sample.
    """
    started = time.perf_counter()
    if dataset not in DATASETS:
        raise NTUConversionError(f"unknown dataset '{dataset}' (choose ntu60 or ntu120)")
    spec = DATASETS[dataset]
    benchmarks = list(benchmarks or spec.default_benchmarks)
    for benchmark in benchmarks:
        benchmark_groups(dataset, benchmark)          # validates the name
    if not raw_dirs:
        raise NTUConversionError("no raw folder given (--raw_dir)")
    samples, left_out = find_samples(raw_dirs, dataset)
    num_files = len(samples) + len(left_out)
    if not samples:
        _write_skipped(out_dir, left_out, [])
        raise NTUConversionError(f"no usable .skeleton file of {dataset} in {', '.join(raw_dirs)} "
                                 f"({num_files} .skeleton files found)")

    # Where each sample goes: benchmark -> split -> position, assuming every file parses.
    placements: Dict[str, Dict[str, List[int]]] = {b: split_samples(samples, dataset, b) for b in benchmarks}
    file_keys = [(b, s) for b, splits in placements.items() for s in splits]
    slots: List[List[Tuple[int, int]]] = [[] for _ in samples]
    for target, (benchmark, split) in enumerate(file_keys):
        for position, index in enumerate(placements[benchmark][split]):
            slots[index].append((target, position))

    unreadable: List[str] = []
    truncated: List[str] = []
    num_frames = np.zeros(len(samples), np.int64)
    with contextlib.ExitStack() as stack:
        files = {(b, s): _PaddedDataFile(os.path.join(out_dir, b, f"{s}_data.npy"), len(placements[b][s]),
                                         max_frames, stack) for b, s in file_keys}
        tasks = [(sample.path, tuple(slots[i])) for i, sample in enumerate(samples)]
        results = _convert_all(tasks, [files[key].target() for key in file_keys], max_frames,
                               spec.duplicate_lone_actor, workers)
        if progress:
            results = _progress(results, len(samples))
        for index, (frames, problem, note) in enumerate(results):
            num_frames[index] = frames
            if problem:
                unreadable.append(problem)
            if note:
                truncated.append(note)
        ok = num_frames > 0

        if not ok.any():
            # Leave nothing half-made: the ExitStack removes the temporary data files.
            _write_skipped(out_dir, left_out, unreadable)
            raise NTUConversionError(f"none of the {len(samples)} {dataset} files could be used; "
                                     f"reasons in {os.path.join(out_dir, 'skipped.txt')}")
        report_splits: Dict[str, Dict[str, int]] = {}
        for benchmark, splits in placements.items():
            folder = os.path.join(out_dir, benchmark)
            # An older meta.json would mark a half-replaced folder as complete; it is rewritten last.
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(folder, "meta.json"))
            for split, indices in splits.items():
                kept = [position for position, index in enumerate(indices) if ok[index]]
                kept_indices = [indices[p] for p in kept]
                files[benchmark, split].finish(kept, [int(num_frames[i]) for i in kept_indices])
                prefix = os.path.join(folder, split)
                atomic_save_npy(f"{prefix}_label.npy", np.asarray([samples[i].label for i in kept_indices], np.int64))
                atomic_save_npy(f"{prefix}_num_frames.npy", num_frames[kept_indices].astype(np.int32))
                atomic_write_text(f"{prefix}_names.txt", "".join(f"{samples[i].name}\n" for i in kept_indices))
                report_splits.setdefault(benchmark, {})[split] = len(kept_indices)
    # Every split file is in place; meta.json, written last, marks each benchmark complete.
    for benchmark in benchmarks:
        write_meta(os.path.join(out_dir, benchmark), "ntu25", spec.num_classes, spec.class_names,
                   splits=report_splits[benchmark], num_persons=NUM_PERSONS, max_frames=max_frames,
                   num_channels=3, dataset=dataset, benchmark=benchmark,
                   source=f"NTU RGB+D raw skeletons from {', '.join(os.path.abspath(d) for d in raw_dirs)}; "
                          "official CTR-GCN/SGN preprocessing (denoised, centred on joint 2 of actor 1), "
                          f"lone actor {'duplicated' if spec.duplicate_lone_actor else 'with a zero second person'}")
    _write_skipped(out_dir, left_out, unreadable, truncated)
    return ConversionReport(num_files, int(ok.sum()), left_out, unreadable, truncated, report_splits,
                            time.perf_counter() - started)


def _progress(results: Iterable, total: int) -> Iterator:
    """Wraps ``results`` in a progress bar with file count, rate and ETA (stderr)."""
    try:
        from tqdm import tqdm
    except ImportError:                       # tqdm is optional; a plain counter does the same job
        return _plain_progress(results, total)
    return iter(tqdm(results, total=total, unit="file", desc="NTU", mininterval=0.5, file=sys.stderr))


def _plain_progress(results: Iterable, total: int) -> Iterator:
    started = last = time.perf_counter()
    for done, result in enumerate(results, 1):
        now = time.perf_counter()
        if now - last > 1.0 or done == total:
            rate = done / max(now - started, 1e-9)
            print(f"\rNTU {done}/{total} files, {rate:.0f} files/s, ETA {(total - done) / rate:.0f} s",
                  end="", file=sys.stderr, flush=True)
            last = now
        yield result
    print(file=sys.stderr)


def _write_skipped(out_dir: str, left_out: Sequence[Tuple[str, str]], unreadable: Sequence[str],
                   truncated: Sequence[str] = ()) -> None:
    lines = ["# Files of the raw folders that are not in the prepared data, one per line: file[:line]: reason\n"]
    lines += [f"{problem}\n" for problem in sorted(unreadable)]
    lines += [f"{path}: {reason}\n" for path, reason in sorted(left_out)]
    if truncated:
        lines.append("# Samples kept but cut to the first max_frames frames:\n")
        lines += [f"# {line}\n" for line in truncated]
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_text(os.path.join(out_dir, "skipped.txt"), "".join(lines))


def format_report(report: ConversionReport, out_dir: str) -> str:
    """A few lines for the end of a run: counts per split and what was left out, by reason."""
    lines = [f"{report.num_prepared} of {report.num_files} .skeleton files prepared in {report.seconds:.1f} s "
             f"({report.num_files / max(report.seconds, 1e-9):.0f} files/s) into {out_dir}"]
    for benchmark, splits in report.splits.items():
        lines.append(f"  {benchmark}: " + ", ".join(f"{split} {count}" for split, count in splits.items()))
    reasons = collections.Counter(_reason_kind(reason) for _, reason in report.left_out)
    reasons.update(_reason_kind(problem.split(": ", 1)[-1]) for problem in report.unreadable)
    if reasons:
        lines.append(f"  skipped {sum(reasons.values())} (listed in {os.path.join(out_dir, 'skipped.txt')}):")
        lines += [f"    {count} x {kind}" for kind, count in reasons.most_common()]
    if report.truncated:
        lines.append(f"  {len(report.truncated)} samples longer than the frame limit were cut (see skipped.txt)")
    return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """The reason without file-specific numbers, for counting."""
    return re.sub(r"'[^']*'|\d+", "#", reason)[:100]


def main(argv):
    from absl import flags
    if len(argv) > 1:
        sys.exit(f"error: unexpected arguments {' '.join(argv[1:])} (use --raw_dir=DIR)")
    options = flags.FLAGS
    keep_freed_memory()
    try:
        report = convert(options.raw_dir or [], options.out_dir, options.dataset, options.benchmarks,
                         options.workers, options.max_frames, progress=options.progress)
    except (NTUConversionError, OSError) as e:
        sys.exit(f"error: {e}")
    print(format_report(report, options.out_dir))


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_multi_string("raw_dir", None, "Folder of raw .skeleton files; repeat for NTU-120's second "
                                               "folder (setups 18-32).")
    flags.DEFINE_string("out_dir", None, "Output folder: <out_dir>/<benchmark>/ and skipped.txt.")
    flags.DEFINE_enum("dataset", "ntu60", list(DATASETS), "ntu60 (setups 1-17, 60 classes) or ntu120.")
    flags.DEFINE_list("benchmarks", None, "Benchmarks among xsub, xview, xset (default: xsub,xview for "
                                          "ntu60, xsub,xset for ntu120).")
    flags.DEFINE_integer("workers", os.cpu_count() or 1, "Parsing processes.")
    flags.DEFINE_integer("max_frames", MAX_FRAMES, "Padded length; longer samples are cut (none in NTU).")
    flags.DEFINE_bool("progress", True, "Show a progress bar on stderr.")
    flags.mark_flags_as_required(["raw_dir", "out_dir"])
    app.run(main)
