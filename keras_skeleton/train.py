"""Train a skeleton model on a prepared dataset.

    python -m keras_skeleton.train --flagfile=configs/quickstart.flags [--model_dir=DIR] [--other=flags]

Writes into ``model_dir``: ``config.json`` (every resolved flag), ``meta.json``
(the dataset's layout and class names), TensorBoard event files under ``logs/``
(loss, top-1, top-5, learning rate per epoch), a checkpoint every epoch under
``checkpoints/`` (written atomically), the final ``model.keras`` and
``metrics.json`` (top-1/top-5 in percent on the evaluation split). Rerunning the
same command resumes from the last completed epoch.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

from absl import app

from keras_skeleton.config import FLAGS, UsageError, define_flags, float_list, parse_model_kwargs, resolved_flags
from data_tools.prepared import PreparedDataError, atomic_path, atomic_write_json

define_flags()

STATE_FILE = "state.json"


# --- data --------------------------------------------------------------------------------------

def ensure_data() -> None:
    """Generates and prepares the synthetic data set into ``--data_dir`` when asked and absent."""
    if os.path.isfile(os.path.join(FLAGS.data_dir, "meta.json")) or not FLAGS.prepare_synthetic:
        return
    from data_tools import synthetic
    print(f"Preparing the synthetic NTU-format data set in {FLAGS.data_dir} ...", flush=True)
    synthetic.prepare(FLAGS.data_dir, performers=FLAGS.synthetic_performers, seed=0)


def make_feeders(layout, num_joints, num_channels):
    from data_tools.prepared import PreparedSplit
    from keras_skeleton.data.pipeline import FeederConfig, SkeletonFeeder

    train_split = PreparedSplit(FLAGS.data_dir, FLAGS.train_split)
    eval_split = PreparedSplit(FLAGS.data_dir, FLAGS.eval_split)
    for split in (train_split, eval_split):
        split.check_layout(num_joints, num_channels, layout.name)
    if len(train_split) < FLAGS.batch_size:
        raise UsageError(f"the '{FLAGS.train_split}' split of {FLAGS.data_dir} has {len(train_split)} samples, "
                         f"fewer than --batch_size={FLAGS.batch_size}")
    if len(eval_split) == 0:
        raise UsageError(f"the '{FLAGS.eval_split}' split of {FLAGS.data_dir} is empty")
    bones = layout.bone_pairs()
    train_cfg = FeederConfig(FLAGS.window, float_list(FLAGS.train_p_interval, "train_p_interval"),
                             FLAGS.rotation, FLAGS.modality, bones, FLAGS.min_crop)
    eval_cfg = FeederConfig(FLAGS.window, float_list(FLAGS.eval_p_interval, "eval_p_interval"), 0.0,
                            FLAGS.modality, bones, FLAGS.min_crop)
    train = SkeletonFeeder(train_split, train_cfg, FLAGS.batch_size, shuffle=True, seed=FLAGS.seed,
                           drop_remainder=True, max_samples=FLAGS.max_train_samples or None)
    evaluation = SkeletonFeeder(eval_split, eval_cfg, FLAGS.eval_batch_size, shuffle=False, seed=FLAGS.seed,
                                max_samples=FLAGS.max_eval_samples or None)
    return train, evaluation


# --- model and optimiser -------------------------------------------------------------------------

def build_model(meta):
    import keras_skeleton
    from keras_skeleton import graphs

    layout = graphs.get_layout(meta["layout"])
    num_classes = FLAGS.num_classes or int(meta["num_classes"])
    kwargs = dict(num_classes=num_classes, layout=layout.name, num_persons=int(meta.get("num_persons", 2)),
                  num_channels=int(meta.get("num_channels", 3)))
    kwargs.update(parse_model_kwargs(FLAGS.model_kwargs))
    try:
        model = keras_skeleton.get_model(FLAGS.model, **kwargs)
    except (TypeError, ValueError) as e:
        raise UsageError(f"cannot build --model={FLAGS.model} with {kwargs}: {e}") from None
    return model, layout, num_classes


def make_optimizer(steps_per_epoch):
    from keras_skeleton import optim

    if FLAGS.lr_schedule == "step":
        schedule = optim.WarmupStepDecay(FLAGS.base_lr, steps_per_epoch, FLAGS.warmup_epochs,
                                         [int(float(e)) for e in FLAGS.lr_decay_epochs], FLAGS.lr_decay_rate)
    else:
        schedule = optim.WarmupCosine(FLAGS.base_lr, FLAGS.epochs * steps_per_epoch,
                                      FLAGS.warmup_epochs * steps_per_epoch, FLAGS.min_lr)
    return optim.TorchSGD(schedule, momentum=FLAGS.momentum, nesterov=FLAGS.nesterov,
                          l2_weight_decay=FLAGS.weight_decay)


def make_loss(num_classes):
    import keras
    from keras_skeleton import optim

    if not FLAGS.label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return optim.SmoothedSparseCrossEntropy(num_classes, FLAGS.label_smoothing)


# --- checkpoints ---------------------------------------------------------------------------------

def make_callbacks(model_dir, feeder):
    import keras

    class EpochSetter(keras.callbacks.Callback):
        """Tells the feeder which epoch starts, so augmentation is reproducible across resumes."""

        def on_epoch_begin(self, epoch, logs=None):
            feeder.epoch = epoch

    class LearningRateLogger(keras.callbacks.Callback):
        """Adds the epoch's learning rate to the logs (read by TensorBoard and the history)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.rate = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["learning_rate"] = self.rate

    class AtomicEpochCheckpoint(keras.callbacks.Callback):
        """Saves weights + optimiser state after every epoch, then records the epoch in state.json.

        Both files are written under temporary names and renamed, and state.json is
        written last, so a kill at any moment leaves the previous complete checkpoint.
        """

        def on_epoch_end(self, epoch, logs=None):
            directory = os.path.join(model_dir, "checkpoints")
            os.makedirs(directory, exist_ok=True)
            name = f"epoch-{epoch + 1:04d}.weights.h5"
            with atomic_path(os.path.join(directory, name)) as tmp:
                self.model.save_weights(tmp)
            history = load_state(model_dir).get("history", [])
            history = [h for h in history if h["epoch"] <= epoch] + [
                {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}]
            atomic_write_json(os.path.join(model_dir, STATE_FILE),
                              {"epoch": epoch + 1, "weights": name, "history": history})
            for old in sorted(glob.glob(os.path.join(directory, "epoch-*.weights.h5")))[:-FLAGS.keep_checkpoints]:
                os.remove(old)

    class NaNGuard(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not (float(loss) == float(loss) and abs(float(loss)) != float("inf")):
                raise FloatingPointError(f"loss became {loss} at epoch {self.epoch + 1}, step {batch + 1}; "
                                         "stopping (lower --base_lr or check the data for NaN/Inf)")

    return [EpochSetter(), LearningRateLogger(), NaNGuard(),
            keras.callbacks.TensorBoard(log_dir=os.path.join(model_dir, "logs"), write_graph=False),
            AtomicEpochCheckpoint()]


def load_state(model_dir):
    path = os.path.join(model_dir, STATE_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


# --- evaluation ----------------------------------------------------------------------------------

def evaluate_model(model, feeder):
    """Top-1 / top-5 in percent and per-class accuracy over a whole split, plus the logits."""
    import numpy as np

    logits, labels = [], []
    for x, y in feeder:
        logits.append(np.asarray(model(x, training=False)))
        labels.append(y)
    logits = np.concatenate(logits)
    labels = np.concatenate(labels)
    return summarize_predictions(logits, labels), logits, labels


def summarize_predictions(logits, labels):
    import numpy as np

    k = min(5, logits.shape[1])
    top = np.argsort(-logits, axis=1)[:, :k]
    top1 = float(np.mean(top[:, 0] == labels) * 100.0)
    top5 = float(np.mean((top == labels[:, None]).any(axis=1)) * 100.0)
    per_class = {}
    for c in np.unique(labels):
        mask = labels == c
        per_class[int(c)] = float(np.mean(top[mask, 0] == c) * 100.0)
    return {"top1": top1, "top5": top5, "num_samples": int(len(labels)), "per_class_top1": per_class}


# --- main ----------------------------------------------------------------------------------------

def run():
    from keras_skeleton.config import validate

    validate()
    if not FLAGS.model_dir:
        raise UsageError("--model_dir is required")
    ensure_data()
    from data_tools.prepared import read_meta
    meta = read_meta(FLAGS.data_dir)

    import numpy as np
    import tensorflow as tf
    import keras

    if FLAGS.threads:
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
    keras.utils.set_random_seed(FLAGS.seed)

    model_dir = FLAGS.model_dir
    os.makedirs(model_dir, exist_ok=True)
    atomic_write_json(os.path.join(model_dir, "config.json"), resolved_flags())
    atomic_write_json(os.path.join(model_dir, "meta.json"), meta)

    model, layout, num_classes = build_model(meta)
    train_feeder, eval_feeder = make_feeders(layout, layout.num_joints, int(meta.get("num_channels", 3)))
    steps_per_epoch = len(train_feeder)
    if FLAGS.steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, FLAGS.steps_per_epoch)
    model.compile(optimizer=make_optimizer(steps_per_epoch), loss=make_loss(num_classes),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1"),
                           keras.metrics.SparseTopKCategoricalAccuracy(k=min(5, num_classes), name="top5")],
                  jit_compile={"auto": "auto", "true": True, "false": False}[FLAGS.jit_compile])

    state = load_state(model_dir)
    initial_epoch = int(state.get("epoch", 0))
    if initial_epoch:
        weights = os.path.join(model_dir, "checkpoints", state["weights"])
        model.optimizer.build(model.trainable_variables)
        model.load_weights(weights)
        print(f"Resuming from {weights} (epoch {initial_epoch} of {FLAGS.epochs} done)", flush=True)

    from keras_skeleton.data.pipeline import make_dataset
    start = time.time()
    if initial_epoch < FLAGS.epochs:
        train_feeder.epoch = initial_epoch
        model.fit(make_dataset(train_feeder), validation_data=make_dataset(eval_feeder), epochs=FLAGS.epochs,
                  initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                  callbacks=make_callbacks(model_dir, train_feeder), verbose=FLAGS.verbose)
    train_seconds = time.time() - start

    with atomic_path(os.path.join(model_dir, "model.keras")) as tmp:
        model.save(tmp)
    metrics, logits, labels = evaluate_model(model, eval_feeder)
    history = load_state(model_dir).get("history", [])
    metrics.update(epochs=int(load_state(model_dir).get("epoch", FLAGS.epochs)), model=FLAGS.model,
                   split=FLAGS.eval_split, modality=FLAGS.modality, train_seconds_this_run=round(train_seconds, 1),
                   best_val_top1=max((100.0 * h.get("val_top1", 0.0) for h in history), default=None),
                   class_names=meta.get("class_names"))
    atomic_write_json(os.path.join(model_dir, "metrics.json"), metrics)
    with atomic_path(os.path.join(model_dir, f"{FLAGS.eval_split}_logits.npy")) as tmp:
        np.save(tmp, logits)
    print(json.dumps({k: metrics[k] for k in ("top1", "top5", "epochs", "num_samples")}))
    return metrics


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
        sys.exit(2)
    try:
        run()
    except (UsageError, PreparedDataError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2 if isinstance(e, UsageError) else 1)


if __name__ == "__main__":
    app.run(main)
