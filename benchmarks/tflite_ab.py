"""Latency of several .tflite files timed against each other in one process (an A/B of two exports).

    python -m benchmarks.tflite_ab --models=A/model_float32.tflite,B/model_float32.tflite [--runs=15] [--threads=1]

Every file is loaded into its own LiteRT interpreter (XNNPACK, ``--threads``), run 3 times untimed, then
timed round-robin (one run of each file per round, the same random clip of its input shape) so that the
machine's drift hits every file alike. Prints one line per file and, as the last line, JSON with the median
latency of each file and its ratio to the first one.
"""

from __future__ import annotations

import json
import statistics
import time

from absl import app, flags

flags.DEFINE_list("models", None, "The .tflite files; ratios are against the first.")
flags.DEFINE_integer("runs", 15, "Timed rounds.")
flags.DEFINE_integer("threads", 1, "Interpreter threads.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    import numpy as np

    from export.benchmark import tflite_runner

    if not FLAGS.models:
        raise app.UsageError("--models needs at least one .tflite file")
    runners = []
    for path in FLAGS.models:
        run, shape = tflite_runner(path, FLAGS.threads)
        x = np.random.default_rng(0).normal(0, 0.3, shape).astype(np.float32)
        for _ in range(3):
            run(x)
        runners.append((run, x))
    times = [[] for _ in runners]
    for _ in range(FLAGS.runs):
        for i, (run, x) in enumerate(runners):
            start = time.perf_counter()
            run(x)
            times[i].append(time.perf_counter() - start)
    medians = [statistics.median(t) * 1000 for t in times]
    rows = [{"model": path, "p50_ms": round(ms, 2), "ratio_to_first": round(ms / medians[0], 3)}
            for path, ms in zip(FLAGS.models, medians)]
    for row in rows:
        print(f"{row['p50_ms']:8.1f} ms  {row['ratio_to_first']:.3f}x  {row['model']}")
    print(json.dumps({"benchmark": "tflite_ab", "threads": FLAGS.threads, "runs": FLAGS.runs, "results": rows}))


if __name__ == "__main__":
    app.run(main)
