"""Evaluate trained models on a prepared split, fusing several streams.

    python -m keras_skeleton.evaluate --model_path=runs/x/model.keras --flagfile=configs/x.flags
    python -m keras_skeleton.evaluate --flagfile=configs/nwucla_ctrgcn_joint.flags \\
        --model_path=runs/j/model.keras,runs/b/model.keras,runs/jm/model.keras,runs/bm/model.keras

Every model is evaluated with the flagfile's evaluation settings (window, sampling,
test clips) and its own modality: the one its card ``<name>.json`` records (see
``keras_skeleton.model_card``), else the ``config.json`` of its run directory, else
``--stream_modalities``, else ``--modality``; a ``--stream_modalities`` entry that contradicts
a recorded modality is refused. Streams are fused by a weighted sum of their
scores (logits; clip-averaged probabilities with ``--test_clips`` > 1). Default
weights follow CTR-GCN's ensemble by modality (joint 0.6, bone 0.6, joint_motion
0.4, bone_motion 0.4); ``--fusion=pyskl`` gives PYSKL's 2:2:1:1, ``--fusion=equal``
equal weights, and ``--stream_weights`` any weights. Prints each stream and the
fused result; the last line is one JSON object with ``top1``/``top5`` (percent) of
the fusion, also written to ``--output_json`` when given. ``--scores_path=x.npz`` keeps every
stream's per-clip scores (as CTR-GCN's and PYSKL's score pickles do) for fusing or error
analysis later without running the models again: ``scores`` ``(S, N, K)``, ``weights`` ``(S,)``,
``fused`` ``(N, K)``, ``labels`` ``(N,)``, ``names`` ``(N,)``, ``modalities`` and ``model_paths`` ``(S,)``.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

from keras_skeleton.config import FLAGS, UsageError, define_flags, float_list
from keras_skeleton.model_card import resolve_modality_and_source
from data_tools.prepared import PreparedDataError, atomic_write_json

define_flags()
flags.DEFINE_list("model_path", None, "One or more .keras models (comma-separated) to evaluate and fuse.")
flags.DEFINE_list("stream_weights", [], "Fusion weights, one per model (default: --fusion by modality).")
flags.DEFINE_enum("fusion", "ctrgcn", ["ctrgcn", "pyskl", "equal"],
                  "Default weights by modality: ctrgcn 0.6/0.6/0.4/0.4, pyskl 2/2/1/1 "
                  "(joint/bone/joint_motion/bone_motion), equal 1 each.")
flags.DEFINE_list("stream_modalities", [],
                  "Modality of each model, for models without a recorded one (default: --modality).")
flags.DEFINE_string("output_json", None, "Where to write the results JSON.")
flags.DEFINE_string("scores_path", None, "Where to write every stream's per-clip scores, the fused scores, "
                    "labels and clip names (.npz).")

FUSION_WEIGHTS = {
    "ctrgcn": {"joint": 0.6, "bone": 0.6, "joint_motion": 0.4, "bone_motion": 0.4},
    "pyskl": {"joint": 2.0, "bone": 2.0, "joint_motion": 1.0, "bone_motion": 1.0},
    "equal": {"joint": 1.0, "bone": 1.0, "joint_motion": 1.0, "bone_motion": 1.0},
}


def stream_modality(model_path: str, index: int) -> tuple[str, str]:
    """(input stream of one model, where it came from): its card or run's config.json, else the flags.

    The source is printed beside each stream's figure: a model with no card silently falls back to
    --modality, and a reader of the output should see that it did.
    """
    given = None
    if FLAGS.stream_modalities:
        if len(FLAGS.stream_modalities) != len(FLAGS.model_path):
            raise UsageError(f"{len(FLAGS.stream_modalities)} --stream_modalities for {len(FLAGS.model_path)} models")
        given = FLAGS.stream_modalities[index]
    try:
        modality, source = resolve_modality_and_source(model_path, given, "--stream_modalities")
    except ValueError as e:
        raise UsageError(str(e)) from None
    return (modality, source) if modality else (FLAGS.modality, "--modality")


def fusion_weights(modalities):
    if FLAGS.stream_weights:
        weights = float_list(FLAGS.stream_weights, "stream_weights")
        if len(weights) != len(modalities):
            raise UsageError(f"{len(weights)} --stream_weights for {len(modalities)} models")
        return weights
    return [FUSION_WEIGHTS[FLAGS.fusion][m] for m in modalities]


def write_scores(path, stream_scores, weights, fused, labels, names, modalities, model_paths):
    """One ``.npz`` of the per-clip scores, written under a temporary name and renamed."""
    import numpy as np
    from data_tools.prepared import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, scores=np.stack(stream_scores).astype(np.float32), weights=np.asarray(weights, np.float64),
                     fused=np.asarray(fused, np.float32), labels=np.asarray(labels, np.int64),
                     names=np.asarray(names, dtype=str), modalities=np.asarray(modalities, dtype=str),
                     model_paths=np.asarray(model_paths, dtype=str))


def run():
    if not FLAGS.model_path:
        raise UsageError("--model_path is required")
    if not FLAGS.data_dir:
        raise UsageError("--data_dir is required (a prepared dataset directory)")
    if FLAGS.scores_path and not FLAGS.scores_path.endswith(".npz"):
        raise UsageError(f"--scores_path must end with .npz, got '{FLAGS.scores_path}'")
    for path in FLAGS.model_path:
        if not os.path.isfile(path):
            raise UsageError(f"model file '{path}' not found")
    from keras_skeleton.train import ensure_data, evaluate_model, feeder_config, summarize_predictions

    ensure_data()
    if not os.path.isdir(FLAGS.data_dir):
        raise UsageError(f"data directory '{FLAGS.data_dir}' does not exist")
    modalities, modality_sources = zip(*[stream_modality(path, i) for i, path in enumerate(FLAGS.model_path)])
    weights = fusion_weights(modalities)

    import keras
    import keras_skeleton  # noqa: F401  (registers the custom layers for loading)
    from data_tools.prepared import PreparedSplit
    from keras_skeleton import graphs
    from keras_skeleton.data.pipeline import SkeletonFeeder

    split = PreparedSplit(FLAGS.data_dir, FLAGS.eval_split)
    layout = graphs.get_layout(split.meta["layout"])
    results, fused, labels, stream_scores = {"streams": []}, None, None, []
    for path, modality, source, weight in zip(FLAGS.model_path, modalities, modality_sources, weights):
        try:
            model = keras.saving.load_model(path, compile=False)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad file for the user
            raise UsageError(f"cannot load model '{path}': {e}") from None
        _, _, _, v, c = model.input_shape
        split.check_layout(v, c, layout.name)
        feeder = SkeletonFeeder(split, feeder_config(layout, False, modality=modality, num_clips=FLAGS.test_clips),
                                FLAGS.eval_batch_size, shuffle=False, max_samples=FLAGS.max_eval_samples or None)
        summary, scores, labels = evaluate_model(model, feeder)
        results["streams"].append({"model_path": path, "modality": modality, "modality_source": source,
                                   "weight": weight, "top1": summary["top1"], "top5": summary["top5"]})
        fused = weight * scores if fused is None else fused + weight * scores
        stream_scores.append(scores)
    summary = summarize_predictions(fused, labels)
    results.update(top1=summary["top1"], top5=summary["top5"], num_samples=summary["num_samples"],
                   per_class_top1=summary["per_class_top1"], confusion_matrix=summary["confusion_matrix"],
                   split=FLAGS.eval_split, data_dir=FLAGS.data_dir, test_clips=FLAGS.test_clips)
    if FLAGS.output_json:
        atomic_write_json(FLAGS.output_json, results)
    if FLAGS.scores_path:
        write_scores(FLAGS.scores_path, stream_scores, weights, fused, labels, split.names[:len(labels)],
                     modalities, FLAGS.model_path)
    for stream in results["streams"]:
        print(f"{stream['model_path']}: {stream['modality']} (from {stream['modality_source']}, "
              f"weight {stream['weight']:g}) "
              f"top1 {stream['top1']:.2f} top5 {stream['top5']:.2f}")
    if len(results["streams"]) > 1:
        print(f"ensemble of {len(results['streams'])} streams: top1 {results['top1']:.2f} top5 {results['top5']:.2f}")
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
