"""Optimiser and learning-rate schedules of the references (MODEL_SPEC §2.12, §4.5, §6.11)."""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

PACKAGE = "keras_skeleton"


@keras.saving.register_keras_serializable(package=PACKAGE)
class TorchSGD(keras.optimizers.Optimizer):
    """SGD with momentum exactly as ``torch.optim.SGD`` (and Paddle Momentum + L2).

    Weight decay is *coupled*: ``g <- g + weight_decay * w`` before momentum, on
    every trainable variable (BN, PA, alpha included), which is what the references'
    ``weight_decay`` / ``L2Decay`` do. Keras's own ``weight_decay`` is decoupled
    (AdamW-style) and would train differently. The momentum buffer also follows
    PyTorch (``buf = mu * buf + g``; Nesterov step ``g + mu * buf``), so a change of
    learning rate does not rescale the accumulated velocity as Keras's SGD does.
    """

    def __init__(self, learning_rate=0.1, momentum=0.9, nesterov=True, l2_weight_decay=0.0,
                 name="torch_sgd", **kwargs):
        kwargs.pop("weight_decay", None)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum
        self.nesterov = nesterov
        self.l2_weight_decay = l2_weight_decay

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentum_buffers = [self.add_variable_from_reference(v, "momentum") for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.l2_weight_decay:
            gradient = gradient + self.l2_weight_decay * variable
        if not self.momentum:
            self.assign_sub(variable, learning_rate * gradient)
            return
        buffer = self.momentum_buffers[self._get_variable_index(variable)]
        self.assign(buffer, self.momentum * buffer + gradient)
        step = gradient + self.momentum * buffer if self.nesterov else buffer
        self.assign_sub(variable, learning_rate * step)

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, nesterov=self.nesterov, l2_weight_decay=self.l2_weight_decay)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class WarmupStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """CTR-GCN schedule, set once per epoch ``e`` (0-based).

    ``e < warmup``: ``base * (e + 1) / warmup``; else ``base * decay ** #{s in steps: s <= e}``.
    """

    def __init__(self, base_lr, steps_per_epoch, warmup_epochs=5, decay_epochs=(35, 55), decay_rate=0.1):
        self.base_lr = float(base_lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_epochs = int(warmup_epochs)
        self.decay_epochs = [int(e) for e in decay_epochs]
        self.decay_rate = float(decay_rate)

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / self.steps_per_epoch)
        warm = self.base_lr * (epoch + 1.0) / max(self.warmup_epochs, 1)
        passed = sum(ops.cast(epoch >= e, "float32") for e in self.decay_epochs) if self.decay_epochs else 0.0
        decayed = self.base_lr * ops.power(self.decay_rate, passed)
        return ops.where(epoch < self.warmup_epochs, warm, decayed)

    def get_config(self):
        return dict(base_lr=self.base_lr, steps_per_epoch=self.steps_per_epoch, warmup_epochs=self.warmup_epochs,
                    decay_epochs=self.decay_epochs, decay_rate=self.decay_rate)


@keras.saving.register_keras_serializable(package=PACKAGE)
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up then cosine annealing, updated every iteration.

    ``step < warmup``: ``base * (step + 1) / warmup_steps`` (``base * step / warmup_steps``
    with ``warmup_from_zero``, EfficientGCN's multiplier that starts at exactly 0); then
    ``min + (base - min) * (1 + cos(pi * (step - warmup) / (total - warmup))) / 2``.
    With ``warmup_steps=0`` this is PYSKL's ``CosineAnnealing`` by iteration (ST-GCN++).
    """

    def __init__(self, base_lr, total_steps, warmup_steps=0, min_lr=0.0, warmup_from_zero=False):
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.min_lr = float(min_lr)
        self.warmup_from_zero = bool(warmup_from_zero)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        offset = 0.0 if self.warmup_from_zero else 1.0
        warm = self.base_lr * (step + offset) / max(self.warmup_steps, 1)
        progress = (step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1)
        progress = ops.clip(progress, 0.0, 1.0)
        cosine = self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self):
        return dict(base_lr=self.base_lr, total_steps=self.total_steps, warmup_steps=self.warmup_steps,
                    min_lr=self.min_lr, warmup_from_zero=self.warmup_from_zero)


@keras.saving.register_keras_serializable(package=PACKAGE)
class PaddleWarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """PaddleVideo ``CustomWarmupCosineDecay`` stepped every iteration (MODEL_SPEC §4.5).

    With the fractional epoch ``e = step / steps_per_epoch`` and
    ``cos(e) = base * (1 + cos(pi * e / max_epochs)) / 2`` (measured from epoch 0, not
    from the end of the warm-up): ``e < warmup``: ``start + e * (cos(warmup) - start) / warmup``;
    else ``cos(e)``.
    """

    def __init__(self, base_lr, steps_per_epoch, warmup_epochs=10, max_epochs=100, warmup_start_lr=0.01):
        self.base_lr = float(base_lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_epochs = float(warmup_epochs)
        self.max_epochs = float(max_epochs)
        self.warmup_start_lr = float(warmup_start_lr)

    def _cosine(self, epoch):
        return self.base_lr * 0.5 * (1.0 + ops.cos(math.pi * epoch / self.max_epochs))

    def __call__(self, step):
        epoch = ops.cast(step, "float32") / self.steps_per_epoch
        if not self.warmup_epochs:
            return self._cosine(epoch)
        end = self.base_lr * 0.5 * (1.0 + math.cos(math.pi * self.warmup_epochs / self.max_epochs))
        warm = self.warmup_start_lr + epoch * (end - self.warmup_start_lr) / self.warmup_epochs
        return ops.where(epoch < self.warmup_epochs, warm, self._cosine(epoch))

    def get_config(self):
        return dict(base_lr=self.base_lr, steps_per_epoch=self.steps_per_epoch, warmup_epochs=self.warmup_epochs,
                    max_epochs=self.max_epochs, warmup_start_lr=self.warmup_start_lr)


def epoch_learning_rates(schedule, num_epochs: int) -> Sequence[float]:
    """Learning rate at the first step of each epoch (for tests and logs)."""
    steps = getattr(schedule, "steps_per_epoch", 1)
    return [float(schedule(e * steps)) for e in range(num_epochs)]


@keras.saving.register_keras_serializable(package=PACKAGE)
class SmoothedSparseCrossEntropy(keras.losses.Loss):
    """Cross-entropy from logits against integer labels with label smoothing.

    Targets are ``(1 - smoothing) * one_hot + smoothing / num_classes`` (PyTorch's
    ``CrossEntropyLoss(label_smoothing=...)`` convention).
    """

    def __init__(self, num_classes, smoothing=0.0, name="smoothed_sparse_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        targets = ops.one_hot(labels, self.num_classes) * (1.0 - self.smoothing) + self.smoothing / self.num_classes
        return keras.losses.categorical_crossentropy(targets, y_pred, from_logits=True)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, smoothing=self.smoothing)
        return config
