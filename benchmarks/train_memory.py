"""Host memory of training a registered model on CPU: the peak, and whether it grows step after step.

    python -m benchmarks.train_memory --model=ctrgcn --batch=64 --frames=64 --steps=5        # peak
    python -m benchmarks.train_memory --model=ctrgcn --model_kwargs=base_channels=8 \\
        --batch=8 --frames=16 --steps=1000                                                    # growth

Trains with ``model.fit`` (the CTR-GCN recipe's optimiser and loss) on NTU-shaped clips
``(B, 2, frames, 25, 3)``: ``--data=random`` cycles a few random batches held in memory through
``tf.data``; ``--data=pipeline`` runs the real training pipeline (``make_dataset`` with crop-resize,
rotation and bone-motion) over the synthetic memory-mapped split of ``benchmarks.pipeline_throughput``.

Every ``--sample_every`` steps it reads ``/proc/self/status``: ``VmRSS`` and its anonymous part
``RssAnon`` (heap: what a leak grows; ``RssFile`` is mapped files such as the memmap and shared
libraries, which the kernel can drop). The growth is the least-squares slope of ``RssAnon`` over the
later steps (from ``--slope_from`` of the run on, after allocator warm-up) and over the last quarter,
in bytes per step, with about 11 points of the ``RssAnon`` curve (``[step, MiB]``). The peak is
``VmHWM`` (= ``getrusage`` ``ru_maxrss``). The slope of the C heap in use (glibc ``mallinfo2``) over
the same steps tells a leak from memory the allocator keeps. The last line is JSON.
"""

from __future__ import annotations

import datetime
import json
import os
import resource
import time

from absl import app, flags

flags.DEFINE_string("model", "ctrgcn", "Registered model name.")
flags.DEFINE_list("model_kwargs", [], "Extra builder arguments as key=value (e.g. base_channels=8).")
flags.DEFINE_integer("batch", 64, "Batch size.")
flags.DEFINE_integer("frames", 64, "Frames per clip (T).")
flags.DEFINE_integer("persons", 2, "Persons per clip (M).")
flags.DEFINE_integer("num_classes", 60, "Classes.")
flags.DEFINE_integer("steps", 5, "Training steps (one model.fit epoch of that many steps).")
flags.DEFINE_integer("sample_every", 0, "Steps between memory samples; 0 = about 100 samples per run.")
flags.DEFINE_float("slope_from", 0.5, "Fraction of the run after which the growth slope is fitted.")
flags.DEFINE_enum("data", "random", ["random", "pipeline"], "random batches in memory, or the real pipeline.")
flags.DEFINE_integer("threads", 2, "TensorFlow intra- and inter-op threads.")
FLAGS = flags.FLAGS

MIB = 1 << 20


def memory_status() -> dict:
    """``VmRSS``, ``RssAnon``, ``RssFile`` and ``VmHWM`` of this process in bytes (Linux)."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024          # reported in kB
    return values


def malloc_in_use():
    """Bytes the C heap has handed out and not yet freed (glibc ``mallinfo2``: arenas + mmapped), or None.

    Unlike RSS it ignores freed memory that the allocator keeps, so it tells a leak (it climbs)
    from fragmentation or caching in the allocator (RSS climbs, this stays flat).
    """
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost")]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
    except (OSError, AttributeError):
        return None
    info = libc.mallinfo2()
    return int(info.uordblks + info.hblkhd)


def growth_slope(steps, values, start_step: float) -> float:
    """Least-squares slope (units per step) of ``values`` over the samples at ``steps >= start_step``."""
    import numpy as np

    steps, values = np.asarray(steps, np.float64), np.asarray(values, np.float64)
    later = steps >= start_step
    if later.sum() < 2:
        return float("nan")
    return float(np.polyfit(steps[later], values[later], 1)[0])


def random_dataset(batch: int, persons: int, frames: int, num_classes: int, pool_batches: int = 4):
    """``tf.data`` cycling ``pool_batches`` random batches ``(B, M, frames, 25, 3)`` held in memory."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, (pool_batches * batch, persons, frames, 25, 3)).astype("float32")
    y = rng.integers(0, num_classes, pool_batches * batch).astype("int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(batch, drop_remainder=True).prefetch(2)


def pipeline_dataset(batch: int, frames: int):
    """The training pipeline (crop-resize 0.5-1, rotation 0.3, bone_motion) over the synthetic NTU split."""
    import tempfile

    from benchmarks.common import ensure_split
    from data_tools.prepared import PreparedSplit
    from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder, make_dataset
    from keras_skeleton.graphs import get_layout

    data_dir = os.path.join(tempfile.gettempdir(), "keras_skeleton_pipeline_bench_2000x300")
    ensure_split(data_dir, 2000, 300, 0)
    config = FeederConfig(window=frames, p_interval=[0.5, 1.0], rotation=0.3, modality="bone_motion",
                          bone_pairs=get_layout("ntu25").bone_pairs(), training=True)
    feeder = SkeletonFeeder(PreparedSplit(data_dir, "train"), config, batch, shuffle=True, seed=0,
                            drop_remainder=True)
    return make_dataset(feeder, first_epoch=0, steps_per_epoch=len(feeder))


def main(argv):
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    import keras

    import keras_skeleton
    from benchmarks.common import cpu_model
    from keras_skeleton import optim
    from keras_skeleton.config import parse_model_kwargs

    at_start = memory_status()
    keras.utils.set_random_seed(0)
    kwargs = parse_model_kwargs(FLAGS.model_kwargs)
    model = keras_skeleton.get_model(FLAGS.model, num_classes=FLAGS.num_classes, num_persons=FLAGS.persons,
                                     **kwargs)
    model.compile(optimizer=optim.TorchSGD(0.1, momentum=0.9, nesterov=True, l2_weight_decay=4e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
    if FLAGS.data == "random":
        dataset = random_dataset(FLAGS.batch, FLAGS.persons, FLAGS.frames, FLAGS.num_classes)
    else:
        dataset = pipeline_dataset(FLAGS.batch, FLAGS.frames)
    every = FLAGS.sample_every or max(FLAGS.steps // 100, 1)
    samples = {"step": [], "rss": [], "anon": [], "file": [], "heap": [], "time": []}

    class MemorySampler(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            step = batch + 1
            if step % every == 0 or step == FLAGS.steps:
                status = memory_status()
                samples["step"].append(step)
                samples["rss"].append(status["VmRSS"])
                samples["anon"].append(status["RssAnon"])
                samples["file"].append(status["RssFile"])
                samples["heap"].append(malloc_in_use())
                samples["time"].append(time.perf_counter())
                if len(samples["step"]) % 10 == 1 or step == FLAGS.steps:
                    print(f"step {step}: RSS {status['VmRSS'] / MIB:.0f} MiB (anon {status['RssAnon'] / MIB:.0f}, "
                          f"file {status['RssFile'] / MIB:.0f})", flush=True)

    begin = time.perf_counter()
    model.fit(dataset, steps_per_epoch=FLAGS.steps, epochs=1, verbose=0, callbacks=[MemorySampler()])
    seconds = time.perf_counter() - begin
    at_end = memory_status()
    peak_rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # kB on Linux
    start_step = FLAGS.slope_from * FLAGS.steps
    anon_slope = growth_slope(samples["step"], samples["anon"], start_step)
    rss_slope = growth_slope(samples["step"], samples["rss"], start_step)
    quarter_slope = growth_slope(samples["step"], samples["anon"], 0.75 * FLAGS.steps)
    has_heap = None not in samples["heap"]
    heap_slope = growth_slope(samples["step"], samples["heap"], start_step) if has_heap else None
    later = [a for s, a in zip(samples["step"], samples["anon"]) if s >= start_step]
    # About 11 points of the RssAnon curve, to tell a steady climb from a one-off allocator step.
    stride = max(len(samples["step"]) // 10, 1)
    trace = [[s, round(a / MIB, 1)] for s, a in list(zip(samples["step"], samples["anon"]))[::stride]]
    if trace and trace[-1][0] != samples["step"][-1]:
        trace.append([samples["step"][-1], round(samples["anon"][-1] / MIB, 1)])
    step_times = np.diff(samples["time"]) / np.maximum(np.diff(samples["step"]), 1)
    result = {
        "benchmark": "train_memory", "model": FLAGS.model, "model_kwargs": kwargs, "batch": FLAGS.batch,
        "frames": FLAGS.frames, "persons": FLAGS.persons, "steps": FLAGS.steps, "data": FLAGS.data,
        "threads": FLAGS.threads, "params": int(model.count_params()),
        "peak_rss_mib": round(at_end["VmHWM"] / MIB, 1), "peak_rss_mib_rusage": round(peak_rusage / MIB, 1),
        "rss_start_mib": round(at_start["VmRSS"] / MIB, 1), "rss_end_mib": round(at_end["VmRSS"] / MIB, 1),
        "rss_anon_end_mib": round(at_end["RssAnon"] / MIB, 1),
        "slope_from_step": int(start_step), "memory_samples": len(samples["step"]),
        "rss_anon_slope_bytes_per_step": round(anon_slope, 1), "rss_slope_bytes_per_step": round(rss_slope, 1),
        "rss_anon_slope_last_quarter_bytes_per_step": round(quarter_slope, 1),
        "rss_anon_later_min_mib": round(min(later) / MIB, 1) if later else None,
        "rss_anon_later_max_mib": round(max(later) / MIB, 1) if later else None,
        "rss_anon_trace_mib": trace,
        "malloc_in_use_slope_bytes_per_step": round(heap_slope, 1) if has_heap else None,
        "malloc_in_use_end_mib": round(samples["heap"][-1] / MIB, 1) if has_heap and samples["heap"] else None,
        "step_ms_median": round(float(np.median(step_times)) * 1000, 1) if len(step_times) else None,
        "seconds": round(seconds, 1), "cpu_count": os.cpu_count(), "cpu": cpu_model(),
        "date": datetime.date.today().isoformat(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
