"""Train a skeleton model on a prepared dataset.

    python -m keras_skeleton.train --flagfile=configs/quickstart.flags [--model_dir=DIR] [--other=flags]

Writes into ``model_dir``: ``config.json`` (every resolved flag), ``meta.json``
(the dataset's layout and class names), TensorBoard event files under ``logs/``
(loss, top-1, top-5 and learning rate per epoch for train and validation; at the
end a confusion-matrix image and per-class accuracy), a checkpoint every epoch
under ``checkpoints/`` (written atomically), the final ``model.keras`` with its card
``model.json`` (model, modality, layout, window: what the model expects as input),
``metrics.json`` (top-1/top-5 in percent, per-class top-1, confusion matrix,
timings) and the evaluation scores ``<split>_logits.npy``; with ``--save_best`` also
``best_model.keras`` and ``best_model.json`` (the epoch of highest validation top-1, reported in
``metrics.json`` as ``best_epoch``). Rerunning the same
command resumes from the last completed epoch, also after SIGKILL.

Backends: TensorFlow (tf.data input, tf.distribute strategies) and JAX or PyTorch
(``KERAS_BACKEND``; batches come from a prefetching Python iterator and
TensorBoard files are written without TensorFlow). ``--strategy`` needs TensorFlow.
"""

from __future__ import annotations

import glob
import json
import math
import os
import sys
import time

from absl import app

from keras_skeleton.config import FLAGS, UsageError, define_flags, float_list, parse_model_kwargs, resolved_flags
from data_tools.prepared import PreparedDataError, atomic_path, atomic_write_json
from keras_skeleton.model_card import write_model_card

define_flags()

STATE_FILE = "state.json"


# --- data --------------------------------------------------------------------------------------

def ensure_data() -> None:
    """Prepares ``--data_dir`` when it holds no meta.json and a preparation flag asks for it."""
    if os.path.isfile(os.path.join(FLAGS.data_dir, "meta.json")):
        return
    if FLAGS.prepare_nwucla:
        from data_tools import nwucla
        print(f"Preparing NW-UCLA from {FLAGS.prepare_nwucla} into {FLAGS.data_dir} ...", flush=True)
        nwucla.convert(FLAGS.prepare_nwucla, FLAGS.data_dir)
    elif FLAGS.prepare_synthetic:
        from data_tools import synthetic
        print(f"Preparing the synthetic NTU-format data set in {FLAGS.data_dir} ...", flush=True)
        synthetic.prepare(FLAGS.data_dir, performers=FLAGS.synthetic_performers, seed=0)


def feeder_config(layout, training: bool, num_classes: int = 0, modality: str = None, num_clips: int = 1):
    """The FeederConfig the flags describe, for training or evaluation."""
    from keras_skeleton.data.pipeline import FeederConfig

    p_interval = float_list(FLAGS.train_p_interval if training else FLAGS.eval_p_interval,
                            "train_p_interval" if training else "eval_p_interval")
    return FeederConfig(window=FLAGS.window, p_interval=p_interval, rotation=FLAGS.rotation if training else 0.0,
                        modality=modality or FLAGS.modality, bone_pairs=layout.bone_pairs(),
                        min_crop=FLAGS.min_crop, sampling=FLAGS.sampling, training=training,
                        num_clips=num_clips, ucla_max_angle=FLAGS.ucla_max_angle,
                        mixup_alpha=FLAGS.mixup_alpha if training else 0.0, num_classes=num_classes)


def one_hot_targets(num_classes: int) -> int:
    """Mixup needs soft targets; everything else trains on integer labels."""
    return num_classes if FLAGS.mixup_alpha else 0


def make_feeders(layout, num_joints, num_channels, num_classes=0, num_shards=1, shard_index=0):
    """Training feeder, per-epoch validation feeder and final-evaluation feeder (``test_clips`` clips)."""
    from data_tools.prepared import PreparedSplit
    from keras_skeleton.data.pipeline import SkeletonFeeder

    train_split = PreparedSplit(FLAGS.data_dir, FLAGS.train_split)
    eval_split = PreparedSplit(FLAGS.data_dir, FLAGS.eval_split)
    for split in (train_split, eval_split):
        split.check_layout(num_joints, num_channels, layout.name)
    if len(train_split) * FLAGS.train_repeat < FLAGS.batch_size:
        raise UsageError(f"the '{FLAGS.train_split}' split of {FLAGS.data_dir} has {len(train_split)} samples, "
                         f"fewer than --batch_size={FLAGS.batch_size}")
    if len(eval_split) == 0:
        raise UsageError(f"the '{FLAGS.eval_split}' split of {FLAGS.data_dir} is empty")
    targets = one_hot_targets(num_classes)
    train = SkeletonFeeder(train_split, feeder_config(layout, True, targets), FLAGS.batch_size, shuffle=True,
                           seed=FLAGS.seed, drop_remainder=True, max_samples=FLAGS.max_train_samples or None,
                           repeat=FLAGS.train_repeat, num_shards=num_shards, shard_index=shard_index)
    max_eval = FLAGS.max_eval_samples or None
    validation = SkeletonFeeder(eval_split, feeder_config(layout, False, targets), FLAGS.eval_batch_size,
                                shuffle=False, seed=FLAGS.seed, max_samples=max_eval)
    final = SkeletonFeeder(eval_split, feeder_config(layout, False, 0, num_clips=FLAGS.test_clips),
                           FLAGS.eval_batch_size, shuffle=False, seed=FLAGS.seed, max_samples=max_eval)
    return train, validation, final


class FeederSequence:
    """Wraps a feeder's epoch as a ``keras.utils.PyDataset`` (random access, re-iterable)."""

    def __new__(cls, feeder):
        import keras

        class _Sequence(keras.utils.PyDataset):
            def __init__(self):
                super().__init__(workers=1, use_multiprocessing=False)
                self.order = feeder.epoch_order(feeder.epoch)

            def __len__(self):
                return len(feeder)

            def __getitem__(self, index):
                return feeder.batch_at(feeder.epoch, index, self.order)

        return _Sequence()


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


def init_weights(model, path):
    """Copies every weight of the saved model ``path`` into ``model`` (``--init_from``), checking shapes.

    Weights are matched by order, as ``model.load_weights`` does, after checking that both models hold
    the same number of weights with the same shapes: a different model, width or class count is refused
    with one line instead of a partial load.
    """
    import keras

    try:
        source = keras.saving.load_model(path, compile=False)
    except Exception as e:  # a truncated zip, another format, an unregistered layer
        raise UsageError(f"--init_from model '{path}' cannot be loaded: {type(e).__name__}: {e}") from None
    theirs, ours = source.weights, model.weights
    if len(theirs) != len(ours):
        raise UsageError(f"--init_from model '{path}' holds {len(theirs)} weights, --model={FLAGS.model} "
                         f"{len(ours)}: not the same model")
    for mine, given in zip(ours, theirs):
        if tuple(mine.shape) != tuple(given.shape):
            raise UsageError(f"--init_from model '{path}': weight {given.path} has shape {tuple(given.shape)}, "
                             f"this model's {mine.path} {tuple(mine.shape)}")
    model.set_weights(source.get_weights())
    print(f"Initialised from {path} ({source.count_params():,} parameters)", flush=True)


def learning_rate_scale() -> float:
    """Linear scaling rule: batch_size / lr_reference_batch (1 when no reference batch is set)."""
    return FLAGS.batch_size / FLAGS.lr_reference_batch if FLAGS.lr_reference_batch else 1.0


def make_schedule(steps_per_epoch):
    """The learning-rate schedule of ``--lr_schedule`` (see keras_skeleton.optim for the formulas)."""
    from keras_skeleton import optim

    scale = learning_rate_scale()
    base, min_lr, start = FLAGS.base_lr * scale, FLAGS.min_lr * scale, FLAGS.warmup_start_lr * scale
    if FLAGS.lr_schedule == "step":
        return optim.WarmupStepDecay(base, steps_per_epoch, FLAGS.warmup_epochs,
                                     [int(float(e)) for e in FLAGS.lr_decay_epochs], FLAGS.lr_decay_rate)
    if FLAGS.lr_schedule == "cosine_paddle":
        return optim.PaddleWarmupCosine(base, steps_per_epoch, FLAGS.warmup_epochs, FLAGS.epochs, start)
    return optim.WarmupCosine(base, FLAGS.epochs * steps_per_epoch, FLAGS.warmup_epochs * steps_per_epoch, min_lr,
                              warmup_from_zero=FLAGS.lr_schedule == "cosine_warmup_from_zero")


def make_optimizer(steps_per_epoch):
    from keras_skeleton import optim

    return optim.TorchSGD(make_schedule(steps_per_epoch), momentum=FLAGS.momentum, nesterov=FLAGS.nesterov,
                          l2_weight_decay=FLAGS.weight_decay)


def make_loss(num_classes, reduction="sum_over_batch_size"):
    """Cross-entropy from logits; label smoothing as PyTorch; soft (mixup) targets when mixup is on."""
    import keras
    from keras_skeleton import optim

    if FLAGS.mixup_alpha:
        return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=FLAGS.label_smoothing,
                                                    reduction=reduction)
    if not FLAGS.label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
    return optim.SmoothedSparseCrossEntropy(num_classes, FLAGS.label_smoothing, reduction=reduction)


def make_metrics(num_classes):
    import keras

    k = min(5, num_classes)
    if FLAGS.mixup_alpha:
        return [keras.metrics.CategoricalAccuracy(name="top1"), keras.metrics.TopKCategoricalAccuracy(k, name="top5")]
    return [keras.metrics.SparseCategoricalAccuracy(name="top1"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=k, name="top5")]


# --- devices, precision, strategies ------------------------------------------------------------------

def has_gpu() -> bool:
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax
        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch
        return torch.cuda.is_available()
    return False


def set_precision() -> str:
    """Turns on mixed_bfloat16 when asked and a GPU is present; returns the policy in effect."""
    import keras

    if FLAGS.mixed_precision:
        if has_gpu():
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        else:
            print("note: --mixed_precision ignored: no GPU, training in float32", flush=True)
    return keras.mixed_precision.global_policy().name


def set_threads() -> None:
    """TensorFlow's thread pools (--threads); must run before TensorFlow starts (and before a strategy)."""
    import keras

    if FLAGS.threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
        tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)


class Worker:
    """This process's place in a run: index, count and whether it writes the outputs."""

    def __init__(self, index=0, count=1, chief=True):
        self.index, self.count, self.chief = index, count, chief


def make_strategy():
    """``(strategy or None, Worker)`` for ``--strategy``. Must run before TensorFlow executes any op."""
    import keras

    if FLAGS.strategy == "default":
        return None, Worker()
    if keras.backend.backend() != "tensorflow":
        raise UsageError(f"--strategy={FLAGS.strategy} needs the TensorFlow backend "
                         f"(KERAS_BACKEND is {keras.backend.backend()})")
    import tensorflow as tf

    if FLAGS.strategy == "mirrored":
        return tf.distribute.MirroredStrategy(), Worker()
    if "TF_CONFIG" not in os.environ:
        raise UsageError("--strategy=multi_worker needs TF_CONFIG (cluster and task) in the environment")
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict()
    count = sum(len(cluster.get(job, [])) for job in ("chief", "worker"))
    index = resolver.task_id + (1 if resolver.task_type == "worker" and "chief" in cluster else 0)
    chief = resolver.task_type == "chief" or (resolver.task_type == "worker" and index == 0)
    return strategy, Worker(index, count, chief)


class _NoScope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def scope(strategy):
    return strategy.scope() if strategy is not None else _NoScope()


# --- callbacks -----------------------------------------------------------------------------------

def _callback_base():
    import keras
    return keras.callbacks.Callback


class NaNGuard(_callback_base()):
    """Stops training with a clear error when the loss becomes NaN or infinite.

    The loss of step ``n`` is read when step ``n + 1`` has been dispatched, so the
    check does not stall an accelerator's queue, and the error still names the
    step where the loss first went bad (epoch and step are 1-based).
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0
        self.pending = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.pending = None

    def check(self, loss, batch):
        value = float(loss)
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at epoch {self.epoch + 1}, step {batch + 1}; "
                                     "stopping (lower --base_lr or check the data for NaN/Inf)")

    def on_train_batch_end(self, batch, logs=None):
        if self.pending is not None:
            self.check(*self.pending)
        loss = (logs or {}).get("loss")
        self.pending = None if loss is None else (loss, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.pending is not None:
            self.check(*self.pending)
        self.pending = None


class LearningRateLogger(_callback_base()):
    """Adds the epoch's first learning rate and its wall times to the logs.

    ``epoch_seconds`` covers the whole epoch (validation included);
    ``train_seconds`` ends at the last training step.
    """

    def on_epoch_begin(self, epoch, logs=None):
        import keras
        self.rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.start = self.last_step = time.time()

    def on_train_batch_end(self, batch, logs=None):
        self.last_step = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.rate
            logs["epoch_seconds"] = time.time() - self.start
            logs["train_seconds"] = self.last_step - self.start


class TensorBoardLogger(_callback_base()):
    """Per-epoch scalars into ``logs/train`` and ``logs/validation`` (any backend).

    A resumed run first writes a session-start marker at its first epoch, so
    TensorBoard discards what a killed run logged after its last checkpoint.
    """

    def __init__(self, log_dir, first_epoch=0):
        super().__init__()
        from keras_skeleton.summaries import EventWriter
        self.train = EventWriter(os.path.join(log_dir, "train"))
        self.validation = EventWriter(os.path.join(log_dir, "validation"))
        if first_epoch:
            self.train.restart(first_epoch + 1)
            self.validation.restart(first_epoch + 1)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key in ("epoch_seconds", "train_seconds"):
                continue
            writer, name = (self.validation, key[4:]) if key.startswith("val_") else (self.train, key)
            writer.scalar(f"epoch_{name}", float(value), epoch + 1)
        self.train.flush()
        self.validation.flush()

    def on_train_end(self, logs=None):
        self.train.close()
        self.validation.close()


class AtomicEpochCheckpoint(_callback_base()):
    """Saves weights + optimiser state after every epoch, then records the epoch in state.json.

    Both files are written under temporary names and renamed, and state.json is
    written last, so a kill at any moment leaves the previous complete checkpoint.

    With ``save_best`` the epoch with the highest ``val_top1`` so far (the first on ties) is also saved
    as a whole model, ``checkpoints/best-epoch-NNNN.keras``, named in state.json; a file that state.json
    does not name (left by a kill between the two writes) is removed at the next save.
    """

    def __init__(self, model_dir, keep, save_best=False):
        super().__init__()
        self.model_dir = model_dir
        self.keep = keep
        self.save_best = save_best

    def on_epoch_end(self, epoch, logs=None):
        directory = os.path.join(self.model_dir, "checkpoints")
        os.makedirs(directory, exist_ok=True)
        name = f"epoch-{epoch + 1:04d}.weights.h5"
        with atomic_path(os.path.join(directory, name)) as tmp:
            self.model.save_weights(tmp)
        state = load_state(self.model_dir)
        history = [h for h in state.get("history", []) if h["epoch"] <= epoch] + [
            {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}]
        best = state.get("best") if state.get("best", {}).get("epoch", 0) <= epoch else None
        top1 = (logs or {}).get("val_top1")
        if self.save_best and top1 is not None and (best is None or float(top1) > best["val_top1"]):
            best = {"epoch": epoch + 1, "val_top1": float(top1), "model": f"best-epoch-{epoch + 1:04d}.keras"}
            with atomic_path(os.path.join(directory, best["model"])) as tmp:
                self.model.save(tmp)
        new_state = {"epoch": epoch + 1, "weights": name, "history": history}
        if best is not None:
            new_state["best"] = best
        atomic_write_json(os.path.join(self.model_dir, STATE_FILE), new_state)
        for old in sorted(glob.glob(os.path.join(directory, "epoch-*.weights.h5")))[:-self.keep]:
            os.remove(old)
        for stale in glob.glob(os.path.join(directory, "best-epoch-*.keras")):
            if best is None or os.path.basename(stale) != best["model"]:
                os.remove(stale)


def make_callbacks(model_dir, worker, first_epoch=0):
    callbacks = [LearningRateLogger(), NaNGuard()]
    if worker.chief:
        if FLAGS.tensorboard:
            callbacks.append(TensorBoardLogger(os.path.join(model_dir, "logs"), first_epoch))
        callbacks.append(AtomicEpochCheckpoint(model_dir, FLAGS.keep_checkpoints, FLAGS.save_best))
    return callbacks


def load_state(model_dir):
    path = os.path.join(model_dir, STATE_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


# --- evaluation ----------------------------------------------------------------------------------

def predict_scores(model, x, num_clips=1):
    """Logits ``(B, K)``; with ``num_clips > 1`` the mean of the clips' softmax probabilities."""
    import numpy as np

    logits = np.asarray(model(x, training=False), dtype=np.float32)
    if num_clips <= 1:
        return logits
    logits = logits.reshape(-1, num_clips, logits.shape[-1])
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).mean(axis=1)


def evaluate_model(model, feeder):
    """Top-1 / top-5 in percent, per-class accuracy and confusion matrix over a whole split, plus the scores."""
    import numpy as np

    scores, labels = [], []
    order = feeder.epoch_order(0)
    for b in range(len(feeder)):
        x, y = feeder.batch_at(0, b, order)
        scores.append(predict_scores(model, x, feeder.config.num_clips))
        labels.append(np.asarray(y))
    scores = np.concatenate(scores)
    labels = np.concatenate(labels)
    return summarize_predictions(scores, labels), scores, labels


def summarize_predictions(scores, labels, num_classes=None):
    import numpy as np

    num_classes = num_classes or scores.shape[1]
    k = min(5, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top1 = float(np.mean(top[:, 0] == labels) * 100.0)
    top5 = float(np.mean((top == labels[:, None]).any(axis=1)) * 100.0)
    per_class = {}
    for c in np.unique(labels):
        mask = labels == c
        per_class[int(c)] = float(np.mean(top[mask, 0] == c) * 100.0)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels.astype(np.int64), top[:, 0]), 1)
    return {"top1": top1, "top5": top5, "num_samples": int(len(labels)), "per_class_top1": per_class,
            "confusion_matrix": confusion.tolist()}


def log_final_summaries(log_dir, metrics, class_names, step):
    """Confusion-matrix image and per-class accuracy into ``logs/validation``."""
    import numpy as np
    from keras_skeleton.summaries import EventWriter, confusion_image

    writer = EventWriter(os.path.join(log_dir, "validation"))
    writer.image("confusion_matrix", confusion_image(np.asarray(metrics["confusion_matrix"])), step)
    names = class_names or []
    for c, accuracy in metrics["per_class_top1"].items():
        label = names[c] if c < len(names) else f"class_{c}"
        writer.scalar(f"per_class_top1/{c:03d}_{label.replace(' ', '_')}", accuracy, step)
    writer.close()


# --- the distributed loop ----------------------------------------------------------------------------

def fit_multi_worker(model, strategy, worker, train_feeder, validation_feeder, num_classes, initial_epoch,
                     steps_per_epoch, callbacks):
    """Training loop for MultiWorkerMirroredStrategy.

    Keras 3's ``fit`` cannot run under MultiWorkerMirroredStrategy (its log
    reduction averages scalars over axis 0; keras-team/keras#20585), so this loop
    runs the same per-replica step itself: each worker feeds its rows of the
    global batch, gradients are all-reduced by the optimiser, and BatchNorm moving
    statistics are averaged over the workers after every epoch so that all
    workers hold identical weights. Callbacks get the same hooks as under ``fit``.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    global_batch = float(FLAGS.batch_size)
    loss_fn = make_loss(num_classes, reduction=None)
    local_replicas = len(strategy.extended.worker_devices)

    def true_labels(y):
        return tf.argmax(y, axis=-1, output_type=tf.int32) if y.shape.rank == 2 else tf.cast(y, tf.int32)

    def step_counts(y, logits):
        labels = true_labels(y)
        top1 = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32))
        top5 = tf.reduce_sum(tf.cast(tf.math.in_top_k(labels, tf.cast(logits, tf.float32), min(5, num_classes)),
                                     tf.float32))
        return top1, top5

    @tf.function
    def train_step(x, y):
        def replica_step(x, y):
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                per_example = loss_fn(y, logits)
                loss = tf.reduce_sum(per_example) / global_batch
            gradients = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            top1, top5 = step_counts(y, logits)
            return tf.reduce_sum(per_example), top1, top5, tf.cast(tf.shape(x)[0], tf.float32)
        sums = strategy.run(replica_step, args=(x, y))
        return [strategy.reduce("SUM", value, axis=None) for value in sums]

    statistics = [v for v in model.non_trainable_variables]

    @tf.function
    def average_statistics():
        def replica_average():
            context = tf.distribute.get_replica_context()
            means = context.all_reduce("MEAN", [tf.identity(v.value) for v in statistics])
            for variable, mean in zip(statistics, means):
                variable.assign(mean)
        strategy.run(replica_average)

    @tf.function
    def eval_logits(x):
        return model(x, training=False)

    def distribute(batch):
        # Each local replica takes its slice of this worker's rows.
        x, y = batch
        rows = len(x) // local_replicas

        def value(context):
            local = context.replica_id_in_sync_group - worker.index * local_replicas
            return (tf.constant(x[local * rows:(local + 1) * rows]), tf.constant(y[local * rows:(local + 1) * rows]))
        return strategy.experimental_distribute_values_from_function(value)

    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    callback_list.on_train_begin()
    stream = train_feeder.stream(initial_epoch, steps_per_epoch, FLAGS.epochs - initial_epoch)
    for epoch in range(initial_epoch, FLAGS.epochs):
        callback_list.on_epoch_begin(epoch)
        totals = np.zeros(4)
        for step in range(steps_per_epoch):
            x, y = distribute(next(stream))
            totals += np.array([float(v) for v in train_step(x, y)])
            callback_list.on_train_batch_end(step, {"loss": totals[0] / totals[3]})
        average_statistics()
        logs = {"loss": totals[0] / totals[3], "top1": totals[1] / totals[3], "top5": totals[2] / totals[3]}
        if (epoch + 1) % FLAGS.eval_every == 0 or epoch + 1 == FLAGS.epochs:
            val = np.zeros(4)
            for x, y in validation_feeder:
                logits = eval_logits(tf.constant(x))
                y = tf.constant(y)
                top1, top5 = step_counts(y, logits)
                val += [float(tf.reduce_sum(loss_fn(y, logits))), float(top1), float(top5), len(x)]
            logs.update(val_loss=val[0] / val[3], val_top1=val[1] / val[3], val_top5=val[2] / val[3])
        callback_list.on_epoch_end(epoch, logs)
    callback_list.on_train_end()


# --- main ----------------------------------------------------------------------------------------

def run():
    from keras_skeleton.config import validate

    validate()
    if not FLAGS.model_dir:
        raise UsageError("--model_dir is required")
    set_threads()
    strategy, worker = make_strategy()
    ensure_data()
    from data_tools.prepared import read_meta
    meta = read_meta(FLAGS.data_dir)

    import numpy as np
    import keras

    backend = keras.backend.backend()
    keras.utils.set_random_seed(FLAGS.seed)
    policy = set_precision()

    model_dir = FLAGS.model_dir
    # Workers other than the chief write only their final model, beside the chief's outputs.
    out_dir = model_dir if worker.chief else os.path.join(model_dir, f"worker-{worker.index}")
    os.makedirs(out_dir, exist_ok=True)
    if worker.chief:
        atomic_write_json(os.path.join(model_dir, "config.json"), resolved_flags())
        atomic_write_json(os.path.join(model_dir, "meta.json"), meta)

    with scope(strategy):
        model, layout, num_classes = build_model(meta)
        train_feeder, validation_feeder, final_feeder = make_feeders(
            layout, layout.num_joints, int(meta.get("num_channels", 3)), num_classes,
            num_shards=worker.count, shard_index=worker.index)
        steps_per_epoch = len(train_feeder)
        if FLAGS.steps_per_epoch:
            steps_per_epoch = min(steps_per_epoch, FLAGS.steps_per_epoch)
        jit_compile = {"auto": "auto", "true": True, "false": False}[FLAGS.jit_compile]
        model.compile(optimizer=make_optimizer(steps_per_epoch), loss=make_loss(num_classes),
                      metrics=make_metrics(num_classes), jit_compile=False if FLAGS.run_eagerly else jit_compile,
                      run_eagerly=FLAGS.run_eagerly, steps_per_execution=FLAGS.steps_per_execution)

        state = load_state(model_dir)
        initial_epoch = min(int(state.get("epoch", 0)), FLAGS.epochs)
        if FLAGS.strategy != "multi_worker":
            # Builds the compiled loss and metrics on one validation batch, so that fit() does not
            # take a training batch for it (which would shift the data stream by one batch).
            x, y = validation_feeder.batch_at(0, 0)
            model.evaluate(x, y, batch_size=len(x), verbose=0)
        model.optimizer.build(model.trainable_variables)
        if initial_epoch:
            weights = os.path.join(model_dir, "checkpoints", state["weights"])
            model.load_weights(weights)
            print(f"Resuming from {weights} (epoch {initial_epoch} of {FLAGS.epochs} done)", flush=True)
        elif FLAGS.init_from:
            init_weights(model, FLAGS.init_from)

    start = time.time()
    if initial_epoch < FLAGS.epochs:
        callbacks = make_callbacks(model_dir, worker, initial_epoch)
        if FLAGS.strategy == "multi_worker":
            fit_multi_worker(model, strategy, worker, train_feeder, validation_feeder, num_classes, initial_epoch,
                             steps_per_epoch, callbacks)
        else:
            if backend == "tensorflow":
                from keras_skeleton.data.pipeline import make_dataset
                train_data = make_dataset(train_feeder, first_epoch=initial_epoch, steps_per_epoch=steps_per_epoch)
            else:
                train_data = train_feeder.stream(initial_epoch, steps_per_epoch)
            with scope(strategy):
                model.fit(train_data, validation_data=FeederSequence(validation_feeder), epochs=FLAGS.epochs,
                          initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                          validation_freq=FLAGS.eval_every, shuffle=False, verbose=FLAGS.verbose)
    train_seconds = time.time() - start

    card = dict(model=FLAGS.model, modality=FLAGS.modality, layout=layout.name, num_classes=num_classes,
                window=FLAGS.window, sampling=FLAGS.sampling)
    with atomic_path(os.path.join(out_dir, "model.keras")) as tmp:
        model.save(tmp)
    write_model_card(os.path.join(out_dir, "model.keras"), **card)
    metrics, scores, labels = evaluate_model(model, final_feeder)
    state = load_state(model_dir)
    history = state.get("history", [])
    epochs_done = int(state.get("epoch", FLAGS.epochs))
    seconds = sum(h.get("epoch_seconds", 0.0) for h in history)
    train_only = sum(h.get("train_seconds", 0.0) for h in history)
    samples = steps_per_epoch * FLAGS.batch_size
    metrics.update(
        epochs=epochs_done, model=FLAGS.model, split=FLAGS.eval_split, modality=FLAGS.modality,
        sampling=FLAGS.sampling, test_clips=FLAGS.test_clips, backend=backend, precision=policy,
        strategy=FLAGS.strategy, workers=worker.count, steps_per_epoch=steps_per_epoch, batch_size=FLAGS.batch_size,
        train_seconds_this_run=round(train_seconds, 1), train_seconds_total=round(seconds, 1),
        train_only_seconds_total=round(train_only, 1),
        samples_per_second=round(samples * len(history) / train_only, 1) if train_only else None,
        best_val_top1=max((100.0 * h["val_top1"] for h in history if "val_top1" in h), default=None),
        class_names=meta.get("class_names"))
    best = state.get("best")
    if best and worker.chief:
        # The official CTR-GCN protocol's figure: the best validation epoch's model, evaluated again
        # over the whole final split (with --test_clips, as the last epoch's figure).
        best_path = os.path.join(model_dir, "checkpoints", best["model"])
        best_model = keras.saving.load_model(best_path, compile=False)
        best_metrics, _, _ = evaluate_model(best_model, final_feeder)
        metrics["best_epoch"] = {"epoch": best["epoch"], "top1": best_metrics["top1"], "top5": best_metrics["top5"],
                                 "note": "selected on the validation split"}
        with atomic_path(os.path.join(model_dir, "best_model.keras")) as tmp:
            best_model.save(tmp)
        write_model_card(os.path.join(model_dir, "best_model.keras"), **card, epoch=best["epoch"])
    if worker.chief:
        atomic_write_json(os.path.join(model_dir, "metrics.json"), metrics)
        with atomic_path(os.path.join(model_dir, f"{FLAGS.eval_split}_logits.npy")) as tmp:
            np.save(tmp, scores)
        if FLAGS.tensorboard:
            log_final_summaries(os.path.join(model_dir, "logs"), metrics, meta.get("class_names"), epochs_done)
    print(json.dumps({k: metrics[k] for k in ("top1", "top5", "epochs", "num_samples", "best_epoch") if k in metrics}))
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
