"""The recipe flagfiles reproduce the references' schedules, losses, mixup and weight decay (MODEL_SPEC).

Learning rates are computed here from the formulas of MODEL_SPEC §2.12, §4.5, §5.9, §6.11 and the
official NW-UCLA config, independently of keras_skeleton.optim, and compared with what
``keras_skeleton.train`` builds from each flagfile.
"""

import glob
import math
import os

import keras
import numpy as np
import pytest
from absl import flags
from absl.testing import flagsaver

import keras_skeleton
from conftest import REPO_ROOT
from keras_skeleton import optim, train

FLAGS = flags.FLAGS


def parse(*args):
    """Parses flagfiles / flags like the CLI does (from the repository root)."""
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        FLAGS(["train", *args])
    finally:
        os.chdir(cwd)


def rates(steps_per_epoch, steps):
    schedule = train.make_schedule(steps_per_epoch)
    return np.array([float(schedule(s)) for s in steps])


@flagsaver.flagsaver
def test_ctrgcn_recipe_steps_per_epoch():
    parse("--flagfile=configs/ctrgcn_ntu60_xsub_joint.flags")
    spe = 100

    def official(step):                       # set once per epoch e
        e = step // spe
        return 0.1 * (e + 1) / 5 if e < 5 else 0.1 * 0.1 ** sum(e >= s for s in (35, 55))
    steps = [0, 99, 100, 250, 499, 500, 3499, 3500, 5499, 5500, 6499]
    np.testing.assert_allclose(rates(spe, steps), [official(s) for s in steps], rtol=1e-6)
    assert (FLAGS.weight_decay, FLAGS.momentum, FLAGS.nesterov, FLAGS.batch_size, FLAGS.epochs) == (
        4e-4, 0.9, True, 64, 65)
    assert FLAGS.label_smoothing == 0 and FLAGS.mixup_alpha == 0 and FLAGS.rotation == 0.3
    assert [float(p) for p in FLAGS.train_p_interval] == [0.5, 1.0] and FLAGS.window == 64


@flagsaver.flagsaver
def test_nwucla_recipe_is_the_official_ucla_config():
    parse("--flagfile=configs/nwucla_ctrgcn_joint.flags")
    spe = 1020 * 5 // 16                         # repeat 5, batch 16, drop_last
    assert spe == 318

    def official(step):
        e = step // spe
        return 0.1 * (e + 1) / 5 if e < 5 else 0.1 * 0.1 ** (e >= 50)
    steps = [0, 317, 318, 5 * spe - 1, 5 * spe, 50 * spe - 1, 50 * spe, 65 * spe - 1]
    np.testing.assert_allclose(rates(spe, steps), [official(s) for s in steps], rtol=1e-6)
    assert (FLAGS.sampling, FLAGS.window, FLAGS.train_repeat, FLAGS.batch_size, FLAGS.eval_batch_size) == (
        "ucla", 52, 5, 16, 64)
    assert (FLAGS.weight_decay, FLAGS.epochs, FLAGS.nesterov) == (1e-4, 65, True)


@flagsaver.flagsaver
def test_nwucla_cpu_schedule_overrides_only_the_schedule():
    parse("--flagfile=configs/nwucla_ctrgcn_joint.flags", "--flagfile=configs/nwucla_cpu_schedule.flags")
    spe = 1020 // 16
    total, warm = 15 * spe, 2 * spe
    steps = [0, warm - 1, warm, (warm + total) // 2, total - 1]
    expected = [0.1 * (s + 1) / warm if s < warm else 0.05 * (1 + math.cos(math.pi * (s - warm) / (total - warm)))
                for s in steps]
    np.testing.assert_allclose(rates(spe, steps), expected, rtol=1e-5, atol=1e-7)
    assert FLAGS.sampling == "ucla" and FLAGS.weight_decay == 1e-4 and FLAGS.batch_size == 16


@flagsaver.flagsaver
def test_nwucla_cpu_step_schedule_is_the_official_shape_over_100_passes():
    parse("--flagfile=configs/nwucla_ctrgcn_light_joint.flags", "--flagfile=configs/nwucla_cpu_step_schedule.flags")
    spe = 1020 // 16                               # no repeat, batch 16, drop_last

    def expected(step):
        e = step // spe
        return 0.1 * (e + 1) / 5 if e < 5 else 0.1 * 0.1 ** (e >= 77)
    steps = [0, spe - 1, spe, 5 * spe - 1, 5 * spe, 77 * spe - 1, 77 * spe, 100 * spe - 1]
    np.testing.assert_allclose(rates(spe, steps), [expected(s) for s in steps], rtol=1e-6)
    assert (FLAGS.train_repeat, FLAGS.epochs, FLAGS.eval_every) == (1, 100, 10)
    assert FLAGS.sampling == "ucla" and FLAGS.weight_decay == 1e-4 and FLAGS.batch_size == 16 and FLAGS.nesterov


@pytest.mark.parametrize("model", ["ctrgcn_light", "ctrgcn_light_v1", "ctrgcn_light_v2"])
@flagsaver.flagsaver
def test_light_aug_recipe_per_iteration_warmup_cosine(model):
    parse(f"--flagfile=configs/{model}_ntu60_xsub_joint_aug.flags")
    spe = 200

    def paddle(step):                         # fractional epoch, cosine measured from epoch 0
        e = step / spe
        cosine = lambda t: 0.1 * (1 + math.cos(math.pi * t / 100)) / 2  # noqa: E731
        return 0.01 + e * (cosine(10) - 0.01) / 10 if e < 10 else cosine(e)
    steps = [0, 1, 199, 1000, 1999, 2000, 2001, 10000, 19999]
    np.testing.assert_allclose(rates(spe, steps), [paddle(s) for s in steps], rtol=1e-5, atol=1e-8)
    assert FLAGS.model == model
    assert (FLAGS.mixup_alpha, FLAGS.label_smoothing, FLAGS.weight_decay, FLAGS.epochs, FLAGS.batch_size) == (
        0.2, 0.1, 4e-4, 100, 64)


@pytest.mark.parametrize("phi", range(5))
@flagsaver.flagsaver
def test_efficientgcn_recipe_warmup_from_zero_then_cosine(phi):
    parse(f"--flagfile=configs/efficientgcn_b{phi}_ntu60_xsub.flags")
    spe = 50
    warm, total = 10 * spe, 70 * spe

    def official(n):
        return 0.1 * (n / warm if n < warm else 0.5 * (1 + math.cos(math.pi * (n - warm) / (total - warm))))
    steps = [0, 1, 250, 499, 500, 501, 2000, 3499]
    np.testing.assert_allclose(rates(spe, steps), [official(n) for n in steps], rtol=1e-5, atol=1e-8)
    assert FLAGS.model == f"efficientgcn_b{phi}"
    assert (FLAGS.sampling, FLAGS.window, FLAGS.weight_decay, FLAGS.batch_size, FLAGS.rotation) == (
        "first", 288, 1e-4, 16, 0)


@flagsaver.flagsaver
def test_stgcnpp_recipe_cosine_and_linear_lr_scaling():
    parse("--flagfile=configs/stgcnpp_ntu60_xsub_joint.flags")
    spe = 40
    total = 16 * spe
    steps = [0, 1, total // 4, total // 2, total - 1]
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * n / total)) for n in steps]
    np.testing.assert_allclose(rates(spe, steps), expected, rtol=1e-5, atol=1e-8)
    assert (FLAGS.sampling, FLAGS.window, FLAGS.test_clips, FLAGS.train_repeat, FLAGS.weight_decay) == (
        "uniform", 100, 10, 5, 5e-4)
    parse("--flagfile=configs/stgcnpp_ntu60_xsub_joint.flags", "--batch_size=32")
    np.testing.assert_allclose(rates(spe, [0])[0], 0.025, rtol=1e-6)   # 0.1 * 32 / 128


def test_every_flagfile_parses_and_names_a_registered_model():
    names = sorted(glob.glob(os.path.join(REPO_ROOT, "configs", "*.flags")))
    assert len(names) >= 15
    for path in names:
        with flagsaver.flagsaver():
            parse(f"--flagfile=configs/{os.path.basename(path)}")
            assert FLAGS.model in keras_skeleton.list_models(), path
    for model, stream in [("ctrgcn", s) for s in ("joint", "bone", "joint_motion", "bone_motion")] + [
            ("ctrgcn_light", "joint"), ("ctrgcn_light_v2", "joint")]:
        with flagsaver.flagsaver():
            parse(f"--flagfile=configs/nwucla_{model}_{stream}.flags")
            assert (FLAGS.model, FLAGS.modality, FLAGS.sampling) == (model, stream, "ucla")


@flagsaver.flagsaver
def test_mixup_loss_equals_mixed_smoothed_cross_entropies():
    # The aug recipe: loss = lam * CE(smooth(y)) + (1 - lam) * CE(smooth(y[p])), from logits.
    parse("--flagfile=configs/ctrgcn_light_ntu60_xsub_joint_aug.flags")
    num_classes, eps = 5, FLAGS.label_smoothing
    loss = train.make_loss(num_classes)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, num_classes)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, 0])
    lam, permutation = 0.3, rng.permutation(6)
    targets = np.eye(num_classes)[labels]
    mixed = lam * targets + (1 - lam) * targets[permutation]

    def smoothed_ce(label_rows):
        smooth = label_rows * (1 - eps) + eps / num_classes
        log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return -(smooth * log_probs).sum(axis=1)
    expected = np.mean(lam * smoothed_ce(targets) + (1 - lam) * smoothed_ce(targets[permutation]))
    np.testing.assert_allclose(float(loss(mixed.astype(np.float32), logits)), expected, rtol=1e-5)
    assert [m.name for m in train.make_metrics(num_classes)] == ["top1", "top5"]


@flagsaver.flagsaver
def test_label_smoothing_without_mixup():
    parse("--flagfile=configs/ctrgcn_ntu60_xsub_joint.flags", "--label_smoothing=0.1")
    loss = train.make_loss(4)
    logits = np.log(np.array([[0.7, 0.1, 0.1, 0.1]], "float32"))
    np.testing.assert_allclose(float(loss(np.array([0]), logits)),
                               -(np.array([0.925, 0.025, 0.025, 0.025]) * logits[0]).sum(), rtol=1e-5)


def test_weight_decay_reaches_every_trainable_parameter():
    # First Nesterov step with zero gradients: buf = wd * w, step = (1 + mu) * wd * w for every variable,
    # BatchNorm gamma/beta and the graph parameters included (PyTorch's coupled weight_decay).
    keras.utils.set_random_seed(0)
    model = keras_skeleton.get_model("ctrgcn", num_classes=3, layout="nwucla20", num_persons=1, base_channels=8)
    lr, mu, wd = 0.1, 0.9, 4e-4
    optimizer = optim.TorchSGD(lr, momentum=mu, nesterov=True, l2_weight_decay=wd)
    variables = model.trainable_variables
    before = [np.asarray(v).copy() for v in variables]
    optimizer.apply_gradients([(keras.ops.zeros(v.shape), v) for v in variables])
    names = [v.path for v in variables]
    kinds = {n.split("/")[-1] for n in names}
    assert {"kernel", "bias", "gamma", "beta", "PA", "alpha"} <= kinds, kinds
    assert len(variables) == len(model.weights) - len(model.non_trainable_weights)
    for name, v, w in zip(names, variables, before):
        np.testing.assert_allclose(np.asarray(v), w - lr * (1 + mu) * wd * w, rtol=1e-5, atol=1e-9, err_msg=name)
