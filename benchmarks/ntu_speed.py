"""Speed of the NTU raw-skeleton converter on 1,200 real files.

    python -m benchmarks.ntu_speed [--workers=2] [--repeats=3] [--setups=20] [--check]

Builds the benchmark set in a temporary folder: the 60 shared raw files
(``../shared/data/ntu_raw``) copied under setup numbers 1..20 (1,200 files), then times the
whole command ``python -m data_tools.ntu --dataset=ntu120`` (interpreter start, parsing in
``--workers`` processes, writing both benchmarks) and prints the figures; the last line is
JSON. The official three-stage scripts take about 19.8 s for the same 1,200 files on the
development machine (~60 files/s). ``--check`` also verifies that the output is identical
with one worker.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OFFICIAL_FILES_PER_S = 1200 / 19.8

flags.DEFINE_string("raw_dir", os.path.join(REPO_ROOT, "..", "shared", "data", "ntu_raw"),
                    "Folder with the 60 raw .skeleton files.")
flags.DEFINE_integer("setups", 20, "Copies of the files, under setup numbers 1..setups.")
flags.DEFINE_integer("workers", 2, "Parsing processes of the converter.")
flags.DEFINE_integer("repeats", 3, "Timed runs (the best and the median are reported).")
flags.DEFINE_bool("check", False, "Also compare the outputs with a one-worker run.")
flags.DEFINE_string("work_dir", None, "Temporary folder to use (default: a new one under the system temp).")


def build_file_set(raw_dir: str, target: str, setups: int) -> int:
    """Copies every ``S001*.skeleton`` of ``raw_dir`` under setups 1..``setups``; returns the file count."""
    names = sorted(n for n in os.listdir(raw_dir) if n.endswith(".skeleton"))
    if not names:
        raise FileNotFoundError(f"no .skeleton files in '{raw_dir}'")
    os.makedirs(target, exist_ok=True)
    for setup in range(1, setups + 1):
        for name in names:
            shutil.copyfile(os.path.join(raw_dir, name), os.path.join(target, f"S{setup:03d}{name[4:]}"))
    return setups * len(names)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_converter(raw: str, out: str, workers: int):
    """Runs the converter command; returns ``(wall seconds, CPU seconds of it and its workers)``."""
    command = [sys.executable, "-m", "data_tools.ntu", f"--raw_dir={raw}", f"--out_dir={out}", "--dataset=ntu120",
               f"--workers={workers}", "--noprogress"]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return seconds, _children_cpu() - cpu_before


def same_outputs(first: str, second: str) -> bool:
    for folder, _, files in os.walk(first):
        for name in files:
            if name == "meta.json" or name == "skipped.txt":
                continue
            path = os.path.join(folder, name)
            other = os.path.join(second, os.path.relpath(path, first))
            with open(path, "rb") as a, open(other, "rb") as b:
                if a.read() != b.read():
                    return False
    return True


def main(argv):
    del argv
    options = flags.FLAGS
    if not os.path.isdir(options.raw_dir):
        sys.exit(f"error: '{options.raw_dir}' not found (the shared NTU sample files are needed)")
    work = tempfile.mkdtemp(prefix="ntu_speed_", dir=options.work_dir)
    try:
        raw = os.path.join(work, "raw")
        num_files = build_file_set(options.raw_dir, raw, options.setups)
        seconds, cpu = [], []
        for repeat in range(options.repeats):
            out = os.path.join(work, "out")
            shutil.rmtree(out, ignore_errors=True)
            wall, used = run_converter(raw, out, options.workers)
            seconds.append(wall)
            cpu.append(used)
            print(f"run {repeat + 1}: {num_files} files in {wall:.2f} s = {num_files / wall:.0f} files/s "
                  f"({options.workers} workers, {used:.2f} CPU-s, load average {os.getloadavg()[0]:.1f})")
        identical = None
        if options.check:
            reference = os.path.join(work, "out_1worker")
            run_converter(raw, reference, 1)
            identical = same_outputs(os.path.join(work, "out"), reference)
            print(f"output identical to the one-worker run: {identical}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best, median = min(seconds), statistics.median(seconds)
    result = {
        "benchmark": "ntu_convert", "files": num_files, "workers": options.workers,
        "best_s": round(best, 3), "median_s": round(median, 3),
        "files_per_s": round(num_files / best, 1), "files_per_s_median": round(num_files / median, 1),
        "official_files_per_s": round(OFFICIAL_FILES_PER_S, 1),
        "speedup_vs_official": round(num_files / best / OFFICIAL_FILES_PER_S, 1),
        "cpu_s_median": round(statistics.median(cpu), 3),
        # What the CPU time alone allows when the workers get whole cores (the machine is shared).
        "files_per_s_if_cores_free": round(num_files * options.workers / statistics.median(cpu), 1),
        "identical_to_one_worker": identical, "cpu_count": os.cpu_count(), "machine": platform.processor() or
        platform.machine(), "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
