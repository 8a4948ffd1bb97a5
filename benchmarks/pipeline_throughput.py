"""Throughput of the training input pipeline on memory-mapped NTU-shaped arrays (synthetic, no download).

    python -m benchmarks.pipeline_throughput [--samples=2000] [--batch=64] [--window=64] [--modality=bone_motion]

Writes (or reuses) a prepared split ``(N, 2, 300, 25, 3)`` float32 with random valid lengths in
``[30, 300]`` (a second person in half of the clips, zero padding after ``num_frames``, as the NTU
converter writes it), then iterates ``make_dataset`` in training mode with the full CTR-GCN augmentation
(valid-frame crop with ``p_interval`` 0.5-1 and linear resize, random rotation, the chosen modality).
After a warm-up it counts samples in ``--windows`` timed windows of ``--seconds`` each and prints, as
the last line, JSON with ``samples_per_s`` (the median window).

The array is read through the page cache (it was just written or read), as a training run reads it
after its first epoch; a cold disk is not measured.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import time

from absl import app, flags

flags.DEFINE_integer("samples", 2000, "Samples in the synthetic split.")
flags.DEFINE_integer("max_frames", 300, "Stored frames per sample (T of the array).")
flags.DEFINE_integer("batch", 64, "Batch size.")
flags.DEFINE_integer("window", 64, "Frames per clip after crop-resize.")
flags.DEFINE_enum("modality", "bone_motion", ["joint", "bone", "joint_motion", "bone_motion"], "Input modality.")
flags.DEFINE_list("p_interval", ["0.5", "1.0"], "Random valid-frame crop ratio range.")
flags.DEFINE_float("rotation", 0.3, "Max random rotation angle (radians).")
flags.DEFINE_float("seconds", 3.0, "Length of one timed window.")
flags.DEFINE_integer("windows", 5, "Timed windows (the median is reported).")
flags.DEFINE_float("warmup_seconds", 2.0, "Untimed iteration first.")
flags.DEFINE_string("data_dir", None, "Where the synthetic split is written or reused "
                    "(default: a folder named after its size in the system temp dir).")
flags.DEFINE_integer("threads", 2, "TensorFlow intra- and inter-op threads.")
flags.DEFINE_integer("seed", 0, "Seed of the synthetic data and of the feeder.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    from benchmarks.common import cpu_model, ensure_split
    from data_tools.prepared import PreparedSplit
    from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder, make_dataset
    from keras_skeleton.graphs import get_layout

    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    data_dir = FLAGS.data_dir or os.path.join(
        tempfile.gettempdir(), f"keras_skeleton_pipeline_bench_{FLAGS.samples}x{FLAGS.max_frames}")
    start = time.perf_counter()
    how = ensure_split(data_dir, FLAGS.samples, FLAGS.max_frames, FLAGS.seed)
    print(f"split {data_dir}: {how} in {time.perf_counter() - start:.1f} s", flush=True)

    split = PreparedSplit(data_dir, "train")
    config = FeederConfig(window=FLAGS.window, p_interval=[float(p) for p in FLAGS.p_interval],
                          rotation=FLAGS.rotation, modality=FLAGS.modality,
                          bone_pairs=get_layout("ntu25").bone_pairs(), training=True)
    feeder = SkeletonFeeder(split, config, FLAGS.batch, shuffle=True, seed=FLAGS.seed, drop_remainder=True)
    # The training run's call: the endless stream of epochs, as tf.data.
    batches = iter(make_dataset(feeder, first_epoch=0, steps_per_epoch=len(feeder)))

    def count_for(seconds: float) -> float:
        """Samples per second over about ``seconds`` of iteration."""
        samples, begin = 0, time.perf_counter()
        while True:
            x, _ = next(batches)
            samples += int(x.shape[0])
            elapsed = time.perf_counter() - begin
            if elapsed >= seconds:
                return samples / elapsed

    count_for(FLAGS.warmup_seconds)
    rates = []
    for i in range(FLAGS.windows):
        rates.append(count_for(FLAGS.seconds))
        print(f"window {i + 1}/{FLAGS.windows}: {rates[-1]:.0f} samples/s", flush=True)
    result = {
        "benchmark": "pipeline_throughput", "samples_per_s": round(float(np.median(rates)), 1),
        "samples_per_s_min": round(min(rates), 1), "samples_per_s_max": round(max(rates), 1),
        "batch": FLAGS.batch, "window": FLAGS.window, "modality": FLAGS.modality,
        "p_interval": [float(p) for p in FLAGS.p_interval], "rotation": FLAGS.rotation,
        "array_shape": list(split.shape), "threads": FLAGS.threads, "cpu_count": os.cpu_count(),
        "cpu": cpu_model(), "date": datetime.date.today().isoformat(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    app.run(main)
