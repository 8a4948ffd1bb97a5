"""Evaluate a trained model on a prepared split, optionally fusing several streams.

    python -m keras_skeleton.evaluate --model_path=runs/x/model.keras --flagfile=configs/x.flags
    python -m keras_skeleton.evaluate --model_path=J.keras,B.keras --stream_weights=0.6,0.6 --flagfile=...

Each model is evaluated with the flagfile's evaluation settings (window, centre crop,
its own modality from the model directory's config.json when present). Prints one
JSON object as the last line (``top1``, ``top5`` in percent; per stream and fused)
and writes it to ``--output_json`` when given.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

from keras_skeleton.config import FLAGS, UsageError, define_flags, float_list
from data_tools.prepared import PreparedDataError, atomic_write_json

define_flags()
flags.DEFINE_list("model_path", None, "One or more .keras models (comma-separated) to evaluate and fuse.")
flags.DEFINE_list("stream_weights", [], "Fusion weights, one per model (default: equal weights).")
flags.DEFINE_list("stream_modalities", [], "Modality of each model (default: from its config.json, else --modality).")
flags.DEFINE_string("output_json", None, "Where to write the results JSON.")


def stream_modality(model_path: str, index: int) -> str:
    if FLAGS.stream_modalities:
        return FLAGS.stream_modalities[index]
    config_path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    if os.path.isfile(config_path):
        with open(config_path) as f:
            return json.load(f).get("modality", FLAGS.modality)
    return FLAGS.modality


def run():
    import numpy as np

    if not FLAGS.model_path:
        raise UsageError("--model_path is required")
    if not FLAGS.data_dir or not os.path.isdir(FLAGS.data_dir):
        raise UsageError(f"data directory '{FLAGS.data_dir}' does not exist")
    for path in FLAGS.model_path:
        if not os.path.isfile(path):
            raise UsageError(f"model file '{path}' not found")
    weights = float_list(FLAGS.stream_weights, "stream_weights") if FLAGS.stream_weights else [1.0] * len(
        FLAGS.model_path)
    if len(weights) != len(FLAGS.model_path):
        raise UsageError(f"{len(weights)} --stream_weights for {len(FLAGS.model_path)} models")

    import keras
    import keras_skeleton
    from data_tools.prepared import PreparedSplit
    from keras_skeleton import graphs
    from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder
    from keras_skeleton.train import summarize_predictions

    split = PreparedSplit(FLAGS.data_dir, FLAGS.eval_split)
    layout = graphs.get_layout(split.meta["layout"])
    results, fused, labels = {"streams": {}}, None, None
    for index, (path, weight) in enumerate(zip(FLAGS.model_path, weights)):
        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad file for the user
            raise UsageError(f"cannot load model '{path}': {e}") from None
        _, m, _, v, c = model.input_shape
        split.check_layout(v, c, layout.name)
        modality = stream_modality(path, index)
        config = FeederConfig(FLAGS.window, float_list(FLAGS.eval_p_interval, "eval_p_interval"), 0.0, modality,
                              layout.bone_pairs(), FLAGS.min_crop)
        feeder = SkeletonFeeder(split, config, FLAGS.eval_batch_size, shuffle=False,
                                max_samples=FLAGS.max_eval_samples or None)
        logits = []
        labels_list = []
        for x, y in feeder:
            logits.append(np.asarray(model(x, training=False)))
            labels_list.append(y)
        logits, labels = np.concatenate(logits), np.concatenate(labels_list)
        summary = summarize_predictions(logits, labels)
        results["streams"][path] = {"modality": modality, "weight": weight, "top1": summary["top1"],
                                    "top5": summary["top5"]}
        fused = weight * logits if fused is None else fused + weight * logits
    summary = summarize_predictions(fused, labels)
    results.update(top1=summary["top1"], top5=summary["top5"], num_samples=summary["num_samples"],
                   per_class_top1=summary["per_class_top1"], split=FLAGS.eval_split, data_dir=FLAGS.data_dir)
    if FLAGS.output_json:
        atomic_write_json(FLAGS.output_json, results)
    for path, stream in results["streams"].items():
        print(f"{path}: {stream['modality']} top1 {stream['top1']:.2f} top5 {stream['top5']:.2f}")
    print(json.dumps({k: results[k] for k in ("top1", "top5", "num_samples")}))
    return results


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
        sys.exit(2)
    try:
        run()
    except (UsageError, PreparedDataError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
