"""Latency benchmark of an exported model: LiteRT (.tflite), onnxruntime (.onnx) or TensorFlow (.keras / SavedModel).

    python -m export.benchmark --model=OUT/model_float32.tflite [--num_threads=1] [--batch=1] [--runs=50]

Warm-up runs, then ``--runs`` timed runs on random clips of the model's input shape. Prints, as the last
line, JSON with p50/p90 latency (ms), throughput (clips/s), the model's multiply-accumulates (counted on the
TFLite graph: conv, depthwise conv, fully connected, batch matmul — for .onnx/.keras the float32 .tflite next
to it is counted when present) and the fraction of this machine's single-thread float32 matmul peak that the
run reached: ``2 * MACs / latency / peak``, the peak being numpy's 2048x2048 matmul measured in the same run.
``floor_ratio`` is its inverse, ``latency * peak / (2 * MACs)``. ``--reference_macs`` (per clip, e.g. 1.94e9
for CTR-GCN at T=64, M=2, the reference's count) adds ``floor_ratio_reference``: the same ratio against the
published model's work rather than this graph's, which the exact reformulations of ``layers/ctrgcn.py`` reduce.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS


def define_flags():
    """Defined only when run as a command, so importing this module never clashes with other flags."""
    flags.DEFINE_string("model", None, "A .tflite, .onnx, .keras file or a SavedModel directory.")
    flags.DEFINE_integer("num_threads", 1, "Runtime threads.")
    flags.DEFINE_integer("batch", 1, "Batch size (.keras/.onnx; a .tflite uses its static batch).")
    flags.DEFINE_integer("runs", 50, "Timed runs.")
    flags.DEFINE_integer("warmup", 5, "Untimed runs first.")
    flags.DEFINE_integer("num_frames", 64, "T for .keras models with a free T.")
    flags.DEFINE_float("reference_macs", None, "Multiply-accumulates per clip of the reference model "
                       "(CTR-GCN: 1.94e9 at T=64, M=2): also report floor_ratio_reference.")




# Environment variables that fix a BLAS's thread count; read once, when the library loads.
_ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_PEAK_PROGRAM = """
import json, sys, time
import numpy as np
size, repeats = int(sys.argv[1]), int(sys.argv[2])
a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
b = a.copy()
a @ b
times = []
for _ in range(repeats):
    start = time.perf_counter()
    a @ b
    times.append(time.perf_counter() - start)
print(json.dumps(2 * size ** 3 / float(np.median(times)) / 1e9))
"""


def floor_ratio(seconds, peak_gflops, macs):
    """Latency over the compute floor: ``seconds * peak / (2 * macs)`` (1.0 = the matmul peak reached)."""
    return round(seconds * peak_gflops * 1e9 / (2 * macs), 3)


def matmul_peak_gflops(size=2048, repeats=5):
    """Single-thread float32 matmul throughput of numpy (GFLOP/s, median of ``repeats``).

    Measured in a child process started with one BLAS thread: the thread count is fixed when the BLAS
    loads, so in a process that has already imported numpy an environment variable would come too late
    and the "single-thread" peak would silently use every core.
    """
    result = subprocess.run([sys.executable, "-c", _PEAK_PROGRAM, str(size), str(repeats)],
                            env={**os.environ, **_ONE_BLAS_THREAD}, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def tflite_runner(path, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    shape = tuple(int(v) for v in detail["shape"])

    def run(x):
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    return run, shape


def onnx_runner(path, threads, batch):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    shape = tuple(int(v) if isinstance(v, int) else batch for v in meta.shape)
    return (lambda x: session.run(None, {meta.name: x})[0]), shape


def tensorflow_runner(path, threads, batch, frames):
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:   # already initialised in this process: only valid if set to the same values before
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            raise
    if os.path.isdir(path):
        loaded = tf.saved_model.load(path)
        function = loaded.signatures["serving_default"]
        spec = list(function.structured_input_signature[1].values())[0]
        shape = tuple(spec.shape)
        return (lambda x: list(function(tf.constant(x)).values())[0].numpy()), shape
    import keras
    import keras_skeleton  # noqa: F401

    model = keras.saving.load_model(path, compile=False)
    _, m, t, v, c = model.input_shape
    shape = (batch, m, t or frames, v, c)
    function = tf.function(lambda x: model(x, training=False), jit_compile=False)
    return (lambda x: function(x).numpy()), shape


def sibling_tflite(path):
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    candidate = os.path.join(folder if not os.path.isdir(path) else os.path.dirname(folder), "model_float32.tflite")
    return candidate if os.path.isfile(candidate) else None


def main(argv):
    del argv
    path = FLAGS.model
    if not path or not os.path.exists(path):
        raise SystemExit(f"error: model '{path}' not found")
    if path.endswith(".tflite"):
        run, shape = tflite_runner(path, FLAGS.num_threads)
        runtime, macs_from = "litert", path
    elif path.endswith(".onnx"):
        run, shape = onnx_runner(path, FLAGS.num_threads, FLAGS.batch)
        runtime, macs_from = "onnxruntime", sibling_tflite(path)
    else:
        run, shape = tensorflow_runner(path, FLAGS.num_threads, FLAGS.batch, FLAGS.num_frames)
        runtime, macs_from = "tensorflow", sibling_tflite(path)
    x = np.random.default_rng(0).normal(0, 0.3, shape).astype(np.float32)
    for _ in range(FLAGS.warmup):
        run(x)
    times = []
    for _ in range(FLAGS.runs):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    p50, p90 = float(np.median(times)), float(np.percentile(times, 90))
    macs = None
    if macs_from:
        from export.tflite_tools import count_macs
        macs = count_macs(macs_from)
        macs = macs * shape[0] // max(1, _tflite_batch(macs_from))
    peak = matmul_peak_gflops()
    result = {"model": path, "runtime": runtime, "input_shape": list(shape), "threads": FLAGS.num_threads,
              "runs": FLAGS.runs, "p50_ms": round(p50 * 1000, 3), "p90_ms": round(p90 * 1000, 3),
              "throughput_clips_per_s": round(shape[0] / p50, 2), "macs": macs,
              "matmul_peak_gflops_1thread": round(peak, 1),
              "fraction_of_peak": None if macs is None else round(2 * macs / p50 / 1e9 / peak, 3),
              "floor_ratio": None if macs is None else floor_ratio(p50, peak, macs)}
    if FLAGS.reference_macs:
        reference_macs = FLAGS.reference_macs * shape[0]
        result.update(reference_macs=int(reference_macs), floor_ratio_reference=floor_ratio(p50, peak, reference_macs))
    print(json.dumps(result))


def _tflite_batch(path):
    from export.tflite_tools import input_signature
    return input_signature(path)[0][0]


if __name__ == "__main__":
    define_flags()
    app.run(main)
