"""Training throughput of a registered model on random clips (the CTR-GCN recipe's optimiser and loss).

    python -m benchmarks.train_throughput --model=ctrgcn --batch=16 --frames=64 --threads=2

Times whole optimiser steps after warm-up (graph tracing and compilation excluded) and prints, as the last line,
JSON with ``samples_per_s`` (from the median step time), ``step_ms_median`` and the settings.

With ``--reference_repo`` (a checkout of the official Uason-Chen/CTR-GCN) the official PyTorch model is timed
right after, with the same batch, frames, threads and step count, by ``benchmarks.train_reference`` in its own
interpreter (``--reference_python``, one that has PyTorch), and the JSON adds ``reference_samples_per_s`` and
``ratio_to_reference`` (ours / reference, same run, same machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from absl import app, flags

flags.DEFINE_string("model", "ctrgcn", "Registered model name.")
flags.DEFINE_integer("batch", 16, "Batch size.")
flags.DEFINE_integer("frames", 64, "Frames per clip (T).")
flags.DEFINE_integer("persons", 2, "Persons per clip (M).")
flags.DEFINE_integer("num_classes", 60, "Classes.")
flags.DEFINE_integer("threads", 2, "TensorFlow intra- and inter-op threads.")
flags.DEFINE_integer("inter_op_threads", None, "TensorFlow inter-op threads (default: --threads).")
flags.DEFINE_integer("steps", 20, "Timed steps.")
flags.DEFINE_integer("warmup", 3, "Untimed steps first.")
flags.DEFINE_enum("jit_compile", "false", ["auto", "true", "false"], "XLA-compile the train step.")
flags.DEFINE_string("reference_repo", None, "Checkout of Uason-Chen/CTR-GCN: also time the official PyTorch model.")
flags.DEFINE_string("reference_python", sys.executable, "Interpreter with PyTorch for --reference_repo.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    onednn_setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (1, set by keras_skeleton)")
    import keras_skeleton  # first: it sets oneDNN on before TensorFlow is imported, as training gets it
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads or FLAGS.threads)
    import keras
    from keras_skeleton import optim

    from benchmarks.common import cpu_model

    keras.utils.set_random_seed(0)
    model = keras_skeleton.get_model(FLAGS.model, num_classes=FLAGS.num_classes, num_persons=FLAGS.persons)
    model.compile(optimizer=optim.TorchSGD(0.1, momentum=0.9, nesterov=True, l2_weight_decay=4e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile={"auto": "auto", "true": True, "false": False}[FLAGS.jit_compile])
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, (FLAGS.batch, FLAGS.persons, FLAGS.frames, 25, 3)).astype("float32")
    y = rng.integers(0, FLAGS.num_classes, FLAGS.batch).astype("int32")
    for _ in range(FLAGS.warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(FLAGS.steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    step = float(np.median(times))
    result = {"model": FLAGS.model, "batch": FLAGS.batch, "frames": FLAGS.frames, "persons": FLAGS.persons,
              "threads": FLAGS.threads, "inter_op_threads": FLAGS.inter_op_threads or FLAGS.threads,
              "onednn": onednn_setting, "jit_compile": FLAGS.jit_compile, "steps": FLAGS.steps,
              "step_ms_median": round(step * 1000, 1), "step_ms_p90": round(float(np.percentile(times, 90)) * 1000, 1),
              "samples_per_s": round(FLAGS.batch / step, 2), "machine": cpu_model(), "cpus": os.cpu_count()}
    if FLAGS.reference_repo:
        reference = run_reference()
        result.update(reference_samples_per_s=reference["samples_per_s"],
                      reference_step_ms_median=reference["step_ms_median"], reference_torch=reference["torch"],
                      ratio_to_reference=round(result["samples_per_s"] / reference["samples_per_s"], 3))
    print(json.dumps(result))


def run_reference():
    """``benchmarks.train_reference`` with this run's settings; its last-line JSON."""
    command = [FLAGS.reference_python, "-m", "benchmarks.train_reference", f"--reference_repo={FLAGS.reference_repo}",
               f"--batch={FLAGS.batch}", f"--frames={FLAGS.frames}", f"--persons={FLAGS.persons}",
               f"--num_classes={FLAGS.num_classes}", f"--threads={FLAGS.threads}", f"--steps={FLAGS.steps}",
               f"--warmup={FLAGS.warmup}"]
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(command, cwd=repo_root, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: the reference run failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    app.run(main)
