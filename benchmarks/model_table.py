"""The README model table: parameters, MACs per clip at each reference's T, float32 TFLite size.

    python -m benchmarks.model_table [--models=ctrgcn,stgcnpp] [--output=docs/model_table.json]

Each model is built at 60 classes, converted to a batch-1 float32 TFLite graph at the reference's clip
length (CTR-GCN family T=64, EfficientGCN T=288, ST-GCN++ T=100; M=2, NTU-25) exactly as
``export.export_model`` does (names stripped), and its multiply-accumulates are counted on that graph
(conv, depthwise conv, fully connected, batch matmul). With ``--parity_dir``
the CTR-GCN family is measured with its official checkpoint weights (fresh weights have alpha = 0 and zero
biases, which let the converter fold branches away and understate size and MACs). Prints a markdown table, then JSON as the last line.
"""

from __future__ import annotations

import json
import os
import tempfile

from absl import app, flags

REFERENCE_FRAMES = {"ctrgcn": 64, "ctrgcn_light": 64, "ctrgcn_light_v1": 64, "ctrgcn_light_v2": 64,
                    "efficientgcn_b0": 288, "efficientgcn_b1": 288, "efficientgcn_b2": 288, "efficientgcn_b3": 288,
                    "efficientgcn_b4": 288, "stgcnpp": 100}

flags.DEFINE_list("models", [], "Models (default: all registered).")
flags.DEFINE_string("output", None, "Write the rows as JSON here too.")
flags.DEFINE_string("parity_dir", None, "Folder of the parity fixtures (../shared/parity): measure models with "
                    "their official (non-initial) weights where a fixture exists.")

FIXTURES = {"ctrgcn": ("ctrgcn_official_ntu60", "model.pt"), "ctrgcn_light": ("ctrgcn_light_ntu60", "model.pdparams"),
            "ctrgcn_light_v1": ("ctrgcn_light_v1_ntu60", "model.pdparams"),
            "ctrgcn_light_v2": ("ctrgcn_light_v2_ntu60", "model.pdparams")}
FLAGS = flags.FLAGS


def main(argv):
    del argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras_skeleton
    from export.export_model import convert_tflite, fixed_model
    from export.tflite_tools import count_macs

    rows = []
    for name in FLAGS.models or keras_skeleton.list_models():
        weights = "initial"
        if FLAGS.parity_dir and name in FIXTURES:
            # Initial CTR-GC weights (alpha = 0, zero biases) let the converter fold whole branches away;
            # official weights give the graph a trained model has.
            from keras_skeleton.convert import convert
            folder, checkpoint = FIXTURES[name]
            model, _, _ = convert(name, os.path.join(FLAGS.parity_dir, folder, checkpoint), None, num_classes=60)
            weights = "official checkpoint"
        else:
            model = keras_skeleton.get_model(name, num_classes=60)
        frames = REFERENCE_FRAMES.get(name, 64)
        content = convert_tflite(fixed_model(model, 1, 2, frames), "float32")
        with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
            f.write(content)
            f.flush()
            macs = count_macs(f.name)
        rows.append({"model": name, "parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
                     "frames": frames, "weights": weights, "gmacs": round(macs / 1e9, 3), "tflite_float32_mb": round(len(content) / 1e6, 2)})
        print(f"| `{name}` | {rows[-1]['parameters']:,} | {rows[-1]['gmacs']:.2f} G (T={frames}) | "
              f"{rows[-1]['tflite_float32_mb']:.2f} MB |", flush=True)
    if FLAGS.output:
        from data_tools.prepared import atomic_write_json
        atomic_write_json(FLAGS.output, rows)
    print(json.dumps(rows))


if __name__ == "__main__":
    app.run(main)
