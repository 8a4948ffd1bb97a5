"""Command-line flags shared by ``keras_skeleton.train`` and ``keras_skeleton.evaluate``.

Both commands read the same flagfiles (``configs/*.flags``), so every flag is
defined once here. Later flags override the flagfile: absl semantics.
"""

from __future__ import annotations

import os
from typing import Dict, List

from absl import flags

FLAGS = flags.FLAGS


class UsageError(ValueError):
    """A bad flag value or an input that does not fit; printed as one line, exit code 2."""


def define_flags() -> None:
    if "model" in FLAGS:      # defined already (tests import both modules)
        return
    # Model.
    flags.DEFINE_string("model", "ctrgcn", "Registered model name (keras_skeleton.list_models()).")
    flags.DEFINE_list("model_kwargs", [], "Extra builder arguments as key=value (e.g. base_channels=16).")
    flags.DEFINE_integer("num_classes", 0, "Classifier width; 0 = from the dataset's meta.json.")
    # Data.
    flags.DEFINE_string("data_dir", None, "Prepared dataset directory (holding meta.json).")
    flags.DEFINE_string("train_split", "train", "Training split name.")
    flags.DEFINE_string("eval_split", "val", "Evaluation split name.")
    flags.DEFINE_bool("prepare_synthetic", False,
                      "Generate and prepare the synthetic NTU-format data set into data_dir when absent.")
    flags.DEFINE_integer("synthetic_performers", 10, "Performers of the synthetic data set.")
    flags.DEFINE_string("prepare_nwucla", None, "NW-UCLA folder (holding all_sqe/): prepare data_dir from it "
                        "when data_dir holds no meta.json (e.g. ../shared/data/nw_ucla).")
    flags.DEFINE_integer("window", 64, "Frames fed to the model after crop-and-resize.")
    flags.DEFINE_list("train_p_interval", ["0.5", "1.0"], "Random valid-frame crop ratio range (training).")
    flags.DEFINE_list("eval_p_interval", ["0.95"], "Centre crop ratio (evaluation).")
    flags.DEFINE_integer("min_crop", 64, "Minimum random-crop length (the reference hard-codes 64).")
    flags.DEFINE_float("rotation", 0.3, "Max random rotation angle (radians) in training; 0 = off.")
    flags.DEFINE_enum("sampling", "crop_resize", ["crop_resize", "ucla", "uniform", "first"],
                      "Frame sampling: crop_resize (CTR-GCN: crop valid frames + linear resize), ucla (official "
                      "NW-UCLA feeder: view rotation/scale, min-max to [-1, 1], sorted random frames / evenly spaced "
                      "at test), uniform (PYSKL UniformSample), first (EfficientGCN: first --window frames).")
    flags.DEFINE_integer("ucla_max_angle", 60, "NW-UCLA view rotation range in degrees (sampling=ucla, training).")
    flags.DEFINE_integer("train_repeat", 1, "Each training sample appears this many times per epoch "
                         "(NW-UCLA recipe: 5; PYSKL RepeatDataset: 5).")
    flags.DEFINE_integer("test_clips", 1, "Clips per sample in the final evaluation, probabilities averaged "
                         "(sampling=uniform; ST-GCN++: 10). Per-epoch validation uses one clip.")
    flags.DEFINE_enum("modality", "joint", ["joint", "bone", "joint_motion", "bone_motion"], "Input stream.")
    flags.DEFINE_integer("max_train_samples", 0, "Use only the first N training samples (0 = all).")
    flags.DEFINE_integer("max_eval_samples", 0, "Use only the first N evaluation samples (0 = all).")
    # Optimisation (MODEL_SPEC §2.12 defaults).
    flags.DEFINE_integer("epochs", 65, "Training epochs.")
    flags.DEFINE_integer("batch_size", 64, "Training batch size.")
    flags.DEFINE_integer("eval_batch_size", 64, "Evaluation batch size.")
    flags.DEFINE_float("base_lr", 0.1, "Base learning rate.")
    flags.DEFINE_integer("lr_reference_batch", 0, "Linear scaling rule: when > 0 the learning rates (base, "
                         "warm-up start, minimum) are multiplied by batch_size / lr_reference_batch.")
    flags.DEFINE_enum("lr_schedule", "step", ["step", "cosine", "cosine_warmup_from_zero", "cosine_paddle"],
                      "step: CTR-GCN, set per epoch, warm-up base*(e+1)/W then decay at --lr_decay_epochs; "
                      "cosine: per iteration, warm-up base*(n+1)/W then cosine to --min_lr over the rest "
                      "(ST-GCN++ with W=0); cosine_warmup_from_zero: EfficientGCN, warm-up base*n/W then cosine; "
                      "cosine_paddle: PaddleVideo CustomWarmupCosineDecay, cosine measured from epoch 0 with a "
                      "linear warm-up from --warmup_start_lr.")
    flags.DEFINE_integer("warmup_epochs", 5, "Linear warm-up epochs.")
    flags.DEFINE_float("warmup_start_lr", 0.0, "First learning rate of the cosine_paddle warm-up.")
    flags.DEFINE_list("lr_decay_epochs", ["35", "55"], "Epochs at which the step schedule decays.")
    flags.DEFINE_float("lr_decay_rate", 0.1, "Step-decay factor.")
    flags.DEFINE_float("min_lr", 0.0, "Final learning rate of the cosine schedule.")
    flags.DEFINE_float("momentum", 0.9, "SGD momentum.")
    flags.DEFINE_bool("nesterov", True, "Nesterov momentum.")
    flags.DEFINE_float("weight_decay", 4e-4, "L2 weight decay added to every gradient (PyTorch SGD semantics).")
    flags.DEFINE_float("label_smoothing", 0.0, "Label smoothing of the cross-entropy.")
    flags.DEFINE_float("mixup_alpha", 0.0, "Mixup with lambda ~ Beta(alpha, alpha) per training batch (0 = off).")
    # Run.
    flags.DEFINE_string("model_dir", None, "Output directory (config, checkpoints, TensorBoard, model, metrics).")
    flags.DEFINE_integer("seed", 1, "Random seed (weights, shuffling, augmentation).")
    flags.DEFINE_string("init_from", None, "Start from the weights of this saved .keras model (same model, "
                        "classes and stream) instead of a random initialisation, with a fresh optimiser and "
                        "the given schedule: MMAction2's load_from, Model Garden's init_checkpoint. Ignored "
                        "when model_dir holds a checkpoint to resume from.")
    flags.DEFINE_integer("steps_per_epoch", 0, "Limit the steps per epoch (0 = the whole split).")
    flags.DEFINE_integer("threads", 0, "TensorFlow intra-op threads (0 = TensorFlow's default).")
    flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"], "XLA-compile the train step.")
    flags.DEFINE_bool("run_eagerly", False, "Run the train step eagerly, without tf.function (debugging: slower "
                      "steps, no tracing).")
    flags.DEFINE_integer("eval_every", 1, "Validate every N epochs (the last epoch is always evaluated).")
    flags.DEFINE_integer("steps_per_execution", 1, "Training steps per compiled call (fewer host round trips).")
    flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                      "tf.distribute strategy (TensorFlow backend): default (one device), mirrored (all local "
                      "GPUs), multi_worker (MultiWorkerMirroredStrategy over TF_CONFIG). --batch_size is the "
                      "global batch, split over replicas.")
    flags.DEFINE_bool("mixed_precision", False, "mixed_bfloat16 compute on a GPU; ignored with a note on CPU.")
    flags.DEFINE_bool("tensorboard", True, "Write TensorBoard event files under model_dir/logs.")
    flags.DEFINE_integer("keep_checkpoints", 2, "Epoch checkpoints kept in model_dir/checkpoints.")
    flags.DEFINE_bool("save_best", False, "Also keep the model of the epoch with the highest validation top-1 "
                      "(first one on ties) as model_dir/best_model.keras and report it in metrics.json, as the "
                      "official CTR-GCN code and MMAction2's save_best do. The validation split is the test split "
                      "in these benchmarks, so a best-epoch figure is selected on it: report it beside the last "
                      "epoch's, never instead.")
    flags.DEFINE_integer("verbose", 1, "Keras verbosity: 0 silent, 1 progress bar, 2 one line per epoch.")


def parse_model_kwargs(items: List[str]) -> Dict:
    """``["base_channels=16", "dropout=0.1"]`` -> ``{"base_channels": 16, "dropout": 0.1}``."""
    kwargs = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--model_kwargs entry '{item}' is not key=value")
        key, value = item.split("=", 1)
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        else:
            value = {"true": True, "false": False, "none": None}.get(value.lower(), value)
        kwargs[key.strip()] = value
    return kwargs


def float_list(values, name: str) -> List[float]:
    try:
        return [float(v) for v in values]
    except ValueError:
        raise UsageError(f"--{name} must be a comma-separated list of numbers, got {','.join(values)}") from None


def validate() -> None:
    """Checks flag values that absl cannot check by itself."""
    positive = ("epochs", "batch_size", "eval_batch_size", "window", "train_repeat", "test_clips", "eval_every",
                "steps_per_execution")
    for name in positive:
        if getattr(FLAGS, name) <= 0:
            raise UsageError(f"--{name} must be positive, got {getattr(FLAGS, name)}")
    if FLAGS.base_lr <= 0:
        raise UsageError(f"--base_lr must be positive, got {FLAGS.base_lr}")
    train_p = float_list(FLAGS.train_p_interval, "train_p_interval")
    eval_p = float_list(FLAGS.eval_p_interval, "eval_p_interval")
    for name, values in (("train_p_interval", train_p), ("eval_p_interval", eval_p)):
        if len(values) not in (1, 2) or not all(0 < v <= 1 for v in values):
            raise UsageError(f"--{name} needs one or two ratios in (0, 1], got {values}")
    float_list(FLAGS.lr_decay_epochs, "lr_decay_epochs")
    if not FLAGS.data_dir:
        raise UsageError("--data_dir is required (a prepared dataset directory)")
    if FLAGS.mixup_alpha < 0 or not 0 <= FLAGS.label_smoothing < 1:
        raise UsageError("--mixup_alpha must be >= 0 and --label_smoothing in [0, 1)")
    if FLAGS.prepare_nwucla and not os.path.isdir(FLAGS.prepare_nwucla) and not os.path.isfile(
            os.path.join(FLAGS.data_dir, "meta.json")):
        raise UsageError(f"--prepare_nwucla folder '{FLAGS.prepare_nwucla}' does not exist "
                         "(the NW-UCLA all_sqe JSON clips, e.g. ../shared/data/nw_ucla)")
    if not (FLAGS.prepare_synthetic or FLAGS.prepare_nwucla) and not os.path.isdir(FLAGS.data_dir):
        raise UsageError(f"data directory '{FLAGS.data_dir}' does not exist "
                         "(prepare it with data_tools, or pass --prepare_synthetic for the synthetic set)")
    import keras_skeleton
    if FLAGS.model not in keras_skeleton.list_models():
        raise UsageError(f"--model '{FLAGS.model}' is not registered; models: "
                         f"{', '.join(keras_skeleton.list_models())}")
    parse_model_kwargs(FLAGS.model_kwargs)
    if FLAGS.init_from:
        if not os.path.isfile(FLAGS.init_from):
            raise UsageError(f"--init_from model '{FLAGS.init_from}' does not exist")
        from keras_skeleton.model_card import recorded_modality
        try:
            recorded, source = recorded_modality(FLAGS.init_from)
        except ValueError as e:
            raise UsageError(str(e)) from None
        if recorded and recorded != FLAGS.modality:
            raise UsageError(f"--init_from model '{FLAGS.init_from}' was trained on {recorded} ('{source}'), "
                             f"but --modality is {FLAGS.modality}")


def resolved_flags() -> Dict:
    """Every flag of this module with its resolved value (for config.json)."""
    names = [f.name for f in FLAGS.get_flags_for_module(__name__)]
    return {name: FLAGS[name].value for name in sorted(names)}
